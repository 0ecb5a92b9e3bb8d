#!/bin/sh
# The recipe directory: locally a recipe runs in the Rapidfile's
# directory (as make's do), whatever the caller's cwd (-C dir or -f
# path/Rapidfile). check and plan warn about a run word that names a file
# beside the Rapidfile but is not an input.
. "$(dirname "$0")/lib.sh"
P=$T_TMP/proj; mkdir -p "$P/scripts" "$P/data" "$P/lib.d" "$T_TMP/elsewhere"
cd "$P" || exit 1
P=$(pwd -P)
printf '#!/bin/sh\necho "proc $(pwd -P) $(cat "$1")" > "$2"\n' > scripts/proc.sh
chmod +x scripts/proc.sh
printf 'echo "qc $(cat "$1")" > "$2"\n' > scripts/qc.sh
echo cat > cat   # a file named like a program on PATH
for p in a b; do echo "$p" > "data/$p.txt"; done
cat > Rapidfile <<'RF'
target proc
    foreach p in a b
    input   in  = data/{p}.txt
    output  out = out/{p}.proc
    run ./scripts/proc.sh {in} {out}

target qc
    foreach p in a b
    input   in  = data/{p}.txt
    output  out = out/{p}.qc
    run sh scripts/qc.sh {in} {out}

target shq
    foreach p in a b
    input   in   = data/{p}.txt
    input   tool = scripts/qc.sh
    output  out  = out/{p}.sh
    run sh -c 'cat {in} > {out}; sh  scripts/proc.sh {in} {out}.x; sh {tool} {in} {out}; echo lib.d scripts/proc.sh {p} cat >/dev/null'
RF
W1="rapid: Rapidfile:5:9: './scripts/proc.sh' is not an input: its changes will not rebuild, and it will not reach a container (declare it: input proc = scripts/proc.sh, then run {proc} ...)"
W2="rapid: Rapidfile:11:12: 'scripts/qc.sh' is not an input: its changes will not rebuild, and it will not reach a container (declare it: input qc = scripts/qc.sh, then write {qc} in the run line)"
W3="rapid: Rapidfile:18:38: 'scripts/proc.sh' is not an input: its changes will not rebuild, and it will not reach a container (declare it: input proc = scripts/proc.sh, then write {proc} in the script)"
W4="rapid: Rapidfile:18:121: 'cat' is not an input: its changes will not rebuild, and it will not reach a container (declare it: input cat = cat, then write {cat} in the script)"

run "$RAPID" check
is "$RC" 0 "check succeeds with the warnings"
is "$ERR" "$W1
$W2
$W3
$W4" "check warns once per target and word, not for inputs, directories, placeholders or commands from PATH"

cd "$T_TMP/elsewhere" || exit 1
run "$RAPID" -f ../proj/Rapidfile plan
is "$RC" 0 "plan from elsewhere with -f"
like "$ERR" "^rapid: \.\./proj/Rapidfile:5:9: './scripts/proc.sh' is not an input" "plan warns too, naming the file as given"
is "$(printf '%s\n' "$ERR" | grep -c 'is not an input')" 4 "plan: the same four warnings"

run "$RAPID" -f ../proj/Rapidfile build proc
is "$RC" 0 "build -f ../proj/Rapidfile from another directory: ./scripts/proc.sh is found"
is "$(cat "$P/out/a.proc")" "proc $P a" "the recipe ran in the Rapidfile's directory"
run "$RAPID" -C ../proj build
is "$RC" 0 "build -C ../proj: relative words of the recipe resolve there"
is "$(cat "$P/out/b.qc")" "qc b" "sh scripts/qc.sh ran"
is "$(cat "$P/out/a.sh")" "qc a" "sh -c script with a declared input"
ok "$([ ! -e "$T_TMP/elsewhere/out" ]; echo $?)" "nothing was written in the caller's directory"

# Declared, the script is in the key: editing it rebuilds, no warning.
cd "$P" || exit 1
cat > Rapidfile <<'RF'
target proc
    foreach p in a b
    input   in   = data/{p}.txt
    input   proc = ./scripts/proc.sh
    output  out  = out/{p}.proc
    run {proc} {in} {out}
RF
run "$RAPID" check
is "$ERR" "" "a declared script: no warning"
run "$RAPID" build
is "$RC" 0 "build with the declared script"
run "$RAPID" plan --exit-code
is "$RC" 0 "up to date"
echo '# changed' >> scripts/proc.sh
run "$RAPID" plan --exit-code
is "$RC" 1 "editing the declared script makes the instances stale"

# The runner's spec carries the folder ("workdir"); the recipe starts
# there with PWD naming it; one that cannot be entered fails the instance
# with the reason, and no spec workdir means the scratch folder. (The
# recipe is not a shell, which would mend a wrong PWD itself.)
R=$T_TMP/root/
mkdir -p "$T_TMP/wd"
WD=$(cd "$T_TMP/wd" && pwd -P)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# spec NAME WORKDIR-JSON: NAME.json, writing NAME.txt under $R
spec() {
	cat > "$1.json" <<JSON
{"schema": 1, "target": "t", "key": "0123456789abcdef0123456789abcdef", "root": "$R",
 "sentinel_dir": "${R}.rapid/sentinels/t/$1/", "log_dir": "${R}.rapid/logs/t/",
 "argv": [["$PY"], ["-c"], ["import os, sys; open(sys.argv[1], 'w').write(os.getcwd() + ' ' + os.environ.get('PWD', ''))"], [{"output": "o"}]],
 "outputs": [{"name": "o", "uri": "o.txt", "path": "${R}$1.txt", "dir": false}],
 "workdir": $2}
JSON
}
cd "$T_TMP" || exit 1
spec s1 "\"$WD\""
run "$RAPID" runner --spec s1.json
is "$RC" 0 "runner: a spec with a workdir"
is "$(cat "${R}s1.txt")" "$WD $WD" "the recipe starts in workdir, with PWD set to it"
spec s2 "\"$WD/nowhere\""
run "$RAPID" runner --spec s2.json
is "$RC" 1 "runner: a workdir that does not exist fails the instance"
like "$ERR" "cannot change to the recipe's folder '$WD/nowhere': No such file or directory" "the reason names the folder"
spec s3 null
run "$RAPID" runner --spec s3.json
is "$RC" 0 "runner: no workdir"
like "$(cat "${R}s3.txt")" "^$R\.rapid/scratch/" "without a workdir the recipe runs in its scratch folder"
done_testing
