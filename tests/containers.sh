# tests/containers.sh - real containers for the .t tests: Debian's podman
# with runc, on a storage of the tests' own, a small base image made once
# per machine and cached, and Debian's docker-registry on loopback. Source
# it after lib.sh, then:
#   ctr_setup            skip the test, saying why, where podman cannot run
#                        a container at all; otherwise export CONTAINERS_CONF
#                        and CONTAINERS_STORAGE_CONF (so that every podman,
#                        `rapid build --container podman`'s included, uses
#                        the tests' configuration and storage) and make sure
#                        the base image is there: CTR_BASE (rapid-test-base,
#                        also tagged with its key). CTR_MARK is a file only
#                        the base image has, holding CTR_KEY: a recipe that
#                        reads it ran inside. At exit, the registry is
#                        stopped and the rapid-* containers are removed.
#   ctr_registry_start   docker-registry on a free loopback port, with a
#                        configuration of our own (no auth) and its data in
#                        the test's folder; CTR_REGISTRY=127.0.0.1:PORT.
#                        Stopped, by its PID, when the test exits.
#   ctr_registry_stop
#   ctr_run [OPTION...] IMAGE [ARG...]
#                        podman run --rm --network host --pull=never, with
#                        -e NAME for each AWS_*, ECS_* and RAPID_* variable
#                        of the environment (what a Batch child is given:
#                        by name, the values are never in a command line)
#   ctr_left             the containers of rapid (named rapid-*) still there
#   ctr_forget NAME...   untag these image names when the test exits
#
# The base image: `debootstrap --variant=minbase` of bookworm with what
# building rapid needs (which brings the runtime libraries), imported with
# `podman import`. It serves as runner/Containerfile's BUILDER and BASE.
# It is the tests' one download (about a minute, once per machine, from
# the mirror in RAPID_TEST_MIRROR, default http://deb.debian.org/debian)
# and is kept, with the storage, in RAPID_TEST_IMAGES (default
# /var/cache/rapid-test-images), outside the tree: later runs reuse it and
# the image layers built from it. The key names what goes in it; a new
# package list makes a new image. Podman's runtime state lives on tmpfs,
# under /run/rapid-test-images/.
#
# Podman here needs runc (crun fails on these hybrid cgroups), higher
# default ulimits, cgroupfs (no systemd) and file events (no journald): the
# containers.conf written below. The tests use --network host (loopback
# services) or none, so podman makes no network and no iptables chains.

CTR_PACKAGES="gcc make pkgconf libc6-dev libcurl4-openssl-dev libssl-dev libcjson-dev libxxhash-dev liblmdb-dev libexpat1-dev ca-certificates"
CTR_SUITE=bookworm
# Bump when the way the image is made changes.
CTR_RECIPE=1
CTR_IMAGES=${RAPID_TEST_IMAGES:-/var/cache/rapid-test-images}
CTR_MIRROR=${RAPID_TEST_MIRROR:-http://deb.debian.org/debian}
CTR_MARK=/etc/rapid-test-base
CTR_REGISTRY_PID=

_ctr_skip() {
	echo "1..0 # SKIP $1"
	exit 0
}

# _ctr_probe: can podman run anything here? A rootfs of the host's own
# /bin/true and its libraries, no image needed. Empty output when it can.
_ctr_probe() {
	_p=$T_TMP/ctr-probe
	mkdir -p "$_p/bin" "$_p/proc" "$_p/dev" "$_p/sys"
	cp /bin/true "$_p/bin/true" || return 1
	for _l in $(ldd /bin/true | grep -o '/[^ ]*'); do
		mkdir -p "$_p$(dirname "$_l")" && cp -L "$_l" "$_p$_l"
	done
	podman run --rm --network none --rootfs "$_p" /bin/true 2>&1 | head -3
}

_ctr_make_base() {
	_root=$CTR_IMAGES/rootfs.$$
	rm -rf "$_root"
	_pk=$(printf '%s' "$CTR_PACKAGES" | tr ' ' ',')
	echo "# making the base image rapid-test-base:$CTR_KEY (debootstrap $CTR_SUITE, once per machine)" >&2
	if ! debootstrap --variant=minbase --include="$_pk" "$CTR_SUITE" "$_root" "$CTR_MIRROR" \
		>"$CTR_IMAGES/debootstrap.log" 2>&1; then
		tail -20 "$CTR_IMAGES/debootstrap.log" >&2
		rm -rf "$_root"
		return 1
	fi
	# What an image needs none of: downloaded packages, the indexes, docs.
	rm -rf "$_root"/var/cache/apt/archives/*.deb "$_root"/var/lib/apt/lists/* \
		"$_root"/usr/share/doc/* "$_root"/usr/share/man/* "$_root"/usr/share/locale/*
	printf '%s\n' "$CTR_KEY" >"$_root$CTR_MARK"
	tar -C "$_root" -c . | podman import -q --change 'CMD ["/bin/sh"]' - "localhost/rapid-test-base:$CTR_KEY" >/dev/null
	_rc=$?
	rm -rf "$_root"
	return $_rc
}

ctr_setup() {
	for _t in podman skopeo docker-registry debootstrap runc; do
		command -v "$_t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$_t" >/dev/null 2>&1 ||
			_ctr_skip "real containers: $_t is not installed (make check installs it as root)"
	done
	[ "$(id -u)" = 0 ] || _ctr_skip "real containers: debootstrap makes the base image as root only"
	PATH=$PATH:/usr/sbin:/sbin
	# podman's runtime state: on tmpfs, one folder per storage
	_run=/run/rapid-test-images/$(printf '%s' "$CTR_IMAGES" | sha256sum | cut -c1-12)
	mkdir -p "$CTR_IMAGES" "$_run" || _ctr_skip "real containers: cannot create $CTR_IMAGES and $_run"
	CONTAINERS_CONF=$CTR_IMAGES/containers.conf
	CONTAINERS_STORAGE_CONF=$CTR_IMAGES/storage.conf
	export CONTAINERS_CONF CONTAINERS_STORAGE_CONF
	cat >"$CONTAINERS_CONF.$$" <<EOF
[containers]
default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$_run/libpod"
EOF
	cat >"$CONTAINERS_STORAGE_CONF.$$" <<EOF
[storage]
driver = "overlay"
graphroot = "$CTR_IMAGES/storage"
runroot = "$_run/storage"
EOF
	mv "$CONTAINERS_CONF.$$" "$CONTAINERS_CONF" && mv "$CONTAINERS_STORAGE_CONF.$$" "$CONTAINERS_STORAGE_CONF"
	_why=$(_ctr_probe)
	[ -z "$_why" ] || _ctr_skip "podman cannot run a container here: $(printf '%s' "$_why" | head -1)"
	CTR_KEY=$(printf '%s\n' "$CTR_RECIPE" "$CTR_SUITE" "$CTR_PACKAGES" | sha256sum | cut -c1-16)
	CTR_BASE=localhost/rapid-test-base
	# One test makes the image, a second one at the same time waits for it.
	exec 9>"$CTR_IMAGES/lock"
	flock 9
	if ! podman image exists "$CTR_BASE:$CTR_KEY"; then
		if ! _ctr_make_base; then
			exec 9>&-
			_report 1 "the base image rapid-test-base:$CTR_KEY is made"
			done_testing
			exit 1
		fi
	fi
	podman tag "$CTR_BASE:$CTR_KEY" "$CTR_BASE:latest"
	exec 9>&-
	# the registry and the tests' containers go when the test exits
	trap >"$T_TMP/ctr-traps"
	eval "set -- $(sed -n "s/^trap -- \(.*\) EXIT\$/\1/p" "$T_TMP/ctr-traps")"
	trap "_ctr_at_exit; ${1:-}" EXIT
}

CTR_FORGET=
_ctr_at_exit() {
	ctr_registry_stop
	_ctr_remove_left
	for _n in $CTR_FORGET; do podman untag "$_n" "$_n" >/dev/null 2>&1; done
}

# ctr_forget NAME...: remove these image names when the test exits (the
# images stay, as the layer cache of later builds, until pruned).
ctr_forget() {
	CTR_FORGET="$CTR_FORGET $*"
}

ctr_left() {
	podman ps -a --filter name=rapid- --format '{{.Names}}'
}

_ctr_remove_left() {
	for _c in $(ctr_left); do podman rm -f -t 0 "$_c" >/dev/null 2>&1; done
}

ctr_registry_start() {
	_rd=$T_TMP/registry
	mkdir -p "$_rd/data"
	_i=0
	while [ $_i -lt 5 ]; do
		_i=$((_i + 1))
		_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		cat >"$_rd/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $_rd/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$_port
EOF
		docker-registry serve "$_rd/config.yml" </dev/null >>"$_rd/log" 2>&1 &
		CTR_REGISTRY_PID=$!
		_w=0
		while [ $_w -lt 300 ] && kill -0 "$CTR_REGISTRY_PID" 2>/dev/null; do
			if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$_port/v2/")" = 200 ]; then
				CTR_REGISTRY=127.0.0.1:$_port
				return 0
			fi
			sleep 0.1
			_w=$((_w + 1))
		done
		ctr_registry_stop # the port was taken in between, or it hangs: another port
	done
	_report 1 "docker-registry starts on loopback" "$(tail -5 "$_rd/log")"
	done_testing
	exit 1
}

ctr_registry_stop() {
	[ -n "$CTR_REGISTRY_PID" ] || return 0
	kill "$CTR_REGISTRY_PID" 2>/dev/null
	wait "$CTR_REGISTRY_PID" 2>/dev/null
	CTR_REGISTRY_PID=
}

ctr_run() {
	for _e in $(env | sed -n 's/^\(\(AWS\|ECS\|RAPID\)_[A-Za-z0-9_]*\)=.*/\1/p'); do
		set -- -e "$_e" "$@"
	done
	podman run --rm --network host --pull=never "$@"
}
