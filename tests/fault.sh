# tests/fault.sh - the fault shim of the data-safety tests
# (tests/fault/shim.c: counts, traces, fails or SIGKILLs the file-system
# calls of rapid's runners). Source it after lib.sh.

# fault_shim: build the shim into $T_TMP/shim.so and set SHIM. A sanitized
# rapid cannot take a plain LD_PRELOAD library first, and a machine
# without a C compiler cannot build it: the whole test is skipped then.
fault_shim() {
	if grep -q __asan_init "$RAPID"; then
		echo "1..0 # SKIP the fault shim (LD_PRELOAD) runs in the plain pass only"
		exit 0
	fi
	SHIM=$T_TMP/shim.so
	if ! ${CC:-cc} -shared -fPIC -O1 -o "$SHIM" "$TESTS_DIR/fault/shim.c" -ldl 2>"$T_TMP/shim.err"; then
		echo "1..0 # SKIP cannot build the fault shim: $(head -n 1 "$T_TMP/shim.err")"
		exit 0
	fi
}

# shimmed VAR=value... -- CMD...: run CMD with the shim and the FAULTSHIM_
# settings given (the rest of the environment unchanged).
shimmed() {
	_env=""
	while [ "$1" != "--" ]; do _env="$_env $1"; shift; done
	shift
	# shellcheck disable=SC2086
	env LD_PRELOAD="$SHIM" $_env "$@"
}
