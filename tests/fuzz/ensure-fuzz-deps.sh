#!/bin/sh
# Make sure clang and its libFuzzer runtime are here (make fuzz, and the
# brief fuzz run of make check). As root, install the missing Debian
# packages; otherwise print the exact apt-get line and fail. A one-line
# program linked with -fsanitize=fuzzer is the test that the runtime works.
CC=${FUZZ_CC:-clang}
probe() {
	d=$(mktemp -d "${TMPDIR:-/tmp}/rapid-fuzz.XXXXXX") || return 1
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' > "$d/p.c"
	"$CC" -fsanitize=fuzzer,address,undefined -o "$d/p" "$d/p.c" >/dev/null 2>&1 && "$d/p" -runs=1 >/dev/null 2>&1
	r=$?
	rm -rf "$d"
	return $r
}
probe && exit 0
need="clang libclang-rt-14-dev"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "rapid: installing Debian packages for the fuzzers: $need" >&2
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends $need >/dev/null; }; } || {
		echo "rapid: apt-get install failed" >&2; exit 1; }
	probe && exit 0
	echo "rapid: $CC cannot link a libFuzzer program (-fsanitize=fuzzer)" >&2
	exit 1
fi
echo "rapid: no libFuzzer; run as root:" >&2
echo "  apt-get install $need" >&2
exit 1
