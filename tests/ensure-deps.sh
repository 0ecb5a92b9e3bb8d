#!/bin/sh
# ensure-deps.sh build|test: make sure the dependencies are here.
#   build  what building rapid and `make demo` need: a C compiler, make,
#          pkg-config and the -dev packages of libcurl, OpenSSL, cJSON,
#          xxHash, LMDB and expat (and gzip, which the demo's data uses)
#   test   that, and what `make check` needs as well: prove, curl, Debian's
#          python3 with botocore and PyYAML (the AWS emulator), Debian's aws,
#          node and npm, then the npm packages the tests pin in a
#          package-lock.json: the emulator's s3rver (tests/emu) and the
#          CloudFormation resource schemas @aws-cdk/aws-service-spec
#          (tests/lint, read by tests/lint/cfn-check.py), each installed by
#          npm ci only when its node_modules is missing or older than its lock;
#          and podman, buildah, skopeo, runc, docker-registry, debootstrap,
#          uidmap, slirp4netns and fuse-overlayfs for the real containers
# As root, the missing Debian packages are installed with apt-get; otherwise
# they are named, with the apt-get line to run as root, and the script fails.
what=${1:-test}
case $what in build|test) ;; *) echo "usage: sh tests/ensure-deps.sh build|test" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
need=""
for pc in libcurl:libcurl4-openssl-dev openssl:libssl-dev libcjson:libcjson-dev \
          libxxhash:libxxhash-dev lmdb:liblmdb-dev expat:libexpat1-dev; do
	mod=${pc%%:*}; pkg=${pc#*:}
	pkg-config --exists "$mod" 2>/dev/null || need="$need $pkg"
done
command -v pkg-config >/dev/null 2>&1 || need="pkg-config $need"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
command -v gzip >/dev/null 2>&1 || need="$need gzip"
if [ "$what" = test ]; then
	command -v prove >/dev/null 2>&1 || need="$need perl"
	command -v python3 >/dev/null 2>&1 || need="$need python3"
	command -v curl >/dev/null 2>&1 || need="$need curl"
	# The emulator runs on Debian's python3 with Debian's botocore (and PyYAML
	# for CloudFormation templates), and the tests use Debian's aws, whatever
	# python3 or aws comes first on PATH.
	/usr/bin/python3 -c 'import botocore' >/dev/null 2>&1 || need="$need python3-botocore"
	/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need="$need python3-yaml"
	[ -x /usr/bin/aws ] || need="$need awscli"
	command -v node >/dev/null 2>&1 || need="$need nodejs"
	command -v npm >/dev/null 2>&1 || need="$need npm"
	# Real containers (tests/containers.sh): podman with runc, the image
	# tools, Debian's registry, and debootstrap for the base image.
	for tool in podman:podman buildah:buildah skopeo:skopeo runc:runc \
	            docker-registry:docker-registry debootstrap:debootstrap newuidmap:uidmap \
	            slirp4netns:slirp4netns fuse-overlayfs:fuse-overlayfs; do
		command -v "${tool%%:*}" >/dev/null 2>&1 || need="$need ${tool#*:}"
	done
fi
if [ -n "$need" ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "rapid: installing Debian packages:$need" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $need >/dev/null || {
			echo "rapid: apt-get install failed" >&2; exit 1; }
	else
		echo "rapid: missing packages:$need; run as root:" >&2
		echo "  apt-get install$need" >&2
		exit 1
	fi
fi
[ "$what" = test ] || exit 0
# npm_ci DIR WHAT: npm ci in DIR unless done since its lock last changed.
# npm ci writes node_modules/.package-lock.json last: it stands for the install.
npm_ci() {
	stamp=$1/node_modules/.package-lock.json
	if [ ! -f "$stamp" ] || [ -n "$(find "$1/package-lock.json" -newer "$stamp")" ]; then
		echo "rapid: installing $2 (npm ci in tests/${1##*/})" >&2
		log=$(cd "$1" && npm ci --no-audit --no-fund --loglevel=error 2>&1) || {
			printf '%s\n' "$log" >&2
			echo "rapid: npm ci failed in $1" >&2
			exit 1
		}
	fi
}
npm_ci "$here/emu" "the test emulator's s3rver"
npm_ci "$here/lint" "the CloudFormation resource schemas @aws-cdk/aws-service-spec"
exit 0
