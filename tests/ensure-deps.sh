#!/bin/sh
# Make sure the build and test dependencies are here. As root, install the
# missing Debian packages; otherwise print the exact apt-get line and fail.
need=""
for pc in libcurl:libcurl4-openssl-dev openssl:libssl-dev libcjson:libcjson-dev \
          libxxhash:libxxhash-dev lmdb:liblmdb-dev expat:libexpat1-dev; do
	mod=${pc%%:*}; pkg=${pc#*:}
	pkg-config --exists "$mod" 2>/dev/null || need="$need $pkg"
done
command -v pkg-config >/dev/null 2>&1 || need="pkg-config $need"
command -v prove >/dev/null 2>&1 || need="$need perl"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v gzip >/dev/null 2>&1 || need="$need gzip"
[ -n "$need" ] || exit 0
if [ "$(id -u)" = 0 ]; then
	echo "rapid: installing Debian packages:$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $need >/dev/null || {
		echo "rapid: apt-get install failed" >&2; exit 1; }
else
	echo "rapid: missing packages; run as root:" >&2
	echo "  apt-get install$need" >&2
	exit 1
fi
