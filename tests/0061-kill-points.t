#!/bin/sh
# Kill at exact points: the fault shim (tests/fault/shim.c) SIGKILLs the
# runner right after its Nth rename/link/unlink/rmdir (counted over the
# runners of one `rapid build -j 1`, in order, so the same N is the same
# moment every time), for every N until a build completes without reaching
# N, in three scenarios:
#   first   a first build;
#   change  a rebuild after an input changed, checked again once the input
#           is reverted (the key of the outputs' previous content);
#   force   `build --force` of a built tree.
# After each kill, `rapid plan` must not call up to date an instance whose
# outputs differ from what its recipe makes of the current inputs, and the
# next `rapid build` converges: exit 0, outputs right, `plan --exit-code` 0.
# The number of points of each scenario is printed as a TAP comment.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault.sh"
fault_shim
S=$T_TMP/seed; mkdir -p "$S/in"; cd "$S" || exit 1
# a -> b, two instances each; b has a file and a directory output
cat > Rapidfile <<'RF'
ps = x y
target a
    foreach p in $(ps)
    input in = in/{p}.txt
    output o = out/a/{p}.txt
    run sh -c 'cat "$1" > "$2"; echo a >> "$2"' x {in} {o}
target b
    foreach p in $(ps)
    input m = a.o
    output one = out/b/{p}/one.txt
    output dir = out/b/{p}/d/
    run sh -c 'cat "$1" > "$2"; echo b1 >> "$2"; mkdir -p "$3/s"; cat "$1" > "$3/s/f.txt"; echo b2 >> "$3/s/f.txt"' x {m} {one} {dir}
RF
echo x1 > in/x.txt
echo y1 > in/y.txt

# check.py [all]: every instance plan calls up to date has the outputs its
# recipe makes of the current inputs, and nothing more in its directory
# output ("all": and every instance is up to date). Prints what is wrong.
cat > "$T_TMP/check.py" <<'PY'
import json, os, subprocess, sys
r = subprocess.run([os.environ["RAPID"], "plan", "--json"], capture_output=True, text=True)
try:
    j = json.loads(r.stdout)
except ValueError:
    print("plan --json: exit %d: %s" % (r.returncode, r.stderr.strip()))
    sys.exit(1)
stale = {(t["name"], i["wildcards"].get("p")) for t in j["targets"] for i in t["not_up_to_date"]}
def rd(p):
    try:
        with open(p) as f:
            return f.read()
    except OSError as e:
        return "<%s>" % e.strerror
bad = []
if len(sys.argv) > 1 and stale:
    bad.append("not up to date: %s" % sorted(stale))
for p in ("x", "y"):
    a = rd("in/%s.txt" % p) + "a\n"
    want = {("a", p): {"out/a/%s.txt" % p: a},
            ("b", p): {"out/b/%s/one.txt" % p: a + "b1\n", "out/b/%s/d/s/f.txt" % p: a + "b2\n"}}
    for inst, files in want.items():
        if inst in stale:
            continue
        for f, c in files.items():
            if rd(f) != c:
                bad.append("%s %s p=%s is up to date but %s holds %r, not %r" % (inst[0], "", p, f, rd(f), c))
        d = "out/b/%s/d" % p
        if inst[0] == "b":
            found = sorted(os.path.relpath(os.path.join(w, n), d) for w, _, ns in os.walk(d) for n in ns)
            if found != ["s/f.txt"]:
                bad.append("b p=%s is up to date but %s holds %s" % (p, d, found))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
check() { python3 "$T_TMP/check.py" "$@" 2>&1; }

# scenario NAME SEED BUILD-ARGS [revert]: kill at every point of the
# build from a copy of SEED; count the points and collect the failures.
scenario() {
	_name=$1 _seed=$2 _args=$3 _revert=${4:-}
	_n=0 _bad="" _conv=""
	while [ $_n -lt 3000 ]; do
		_n=$((_n + 1))
		rm -rf "$T_TMP/w" "$T_TMP/reached"
		cp -a "$_seed" "$T_TMP/w"
		cd "$T_TMP/w" || exit 1
		[ -n "$_revert" ] && echo x2 > in/x.txt # the same size as x1
		# shellcheck disable=SC2086
		shimmed FAULTSHIM_KILL_AT=$_n FAULTSHIM_REACHED="$T_TMP/reached" -- \
			"$RAPID" build -j 1 $_args >"$T_TMP/b.out" 2>"$T_TMP/b.err"
		if [ ! -e "$T_TMP/reached" ]; then
			_n=$((_n - 1))
			break
		fi
		_c=$(check) || _bad="$_bad
point $_n: $_c"
		if [ -n "$_revert" ]; then
			echo x1 > in/x.txt
			_c=$(check) || _bad="$_bad
point $_n, input reverted: $_c"
		fi
		"$RAPID" build -j 1 >"$T_TMP/c.out" 2>"$T_TMP/c.err" || _conv="$_conv
point $_n: the next build failed: $(cat "$T_TMP/c.err")"
		_c=$(check all) || _conv="$_conv
point $_n, after the next build: $_c"
		"$RAPID" plan --exit-code >/dev/null 2>&1 || _conv="$_conv
point $_n: plan --exit-code is not 0 after the next build"
	done
	cd "$T_TMP" || exit 1
	echo "# $_name: $_n kill points"
	ok "$([ $_n -gt 10 ]; echo $?)" "$_name: the build has kill points ($_n)"
	is "$_bad" "" "$_name: at no point does plan call wrong outputs up to date"
	is "$_conv" "" "$_name: at every point the next build converges"
}

scenario first "$S" ""
cd "$S" && "$RAPID" build -j 1 >/dev/null 2>&1
ok "$(check all >/dev/null; echo $?)" "the seed builds"
B=$T_TMP/built; cp -a "$S" "$B"
scenario change "$B" "" revert
scenario force "$B" "--force"
done_testing
