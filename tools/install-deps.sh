#!/usr/bin/env bash
# Installs the Debian 12 packages pmd needs: by default everything to build it and run every test
# (make check), with --build-only just what `make` and `make demo` need. Idempotent and silent
# when nothing is missing; otherwise runs `apt-get update` once and installs only what is missing.
# Services that come with test packages (nginx, redis: a unit test parses their .service files)
# must not start: a policy-rc.d that refuses every start is in place during the install.
set -euo pipefail

# The one list: GROUP PACKAGE [why]. Groups: build (make), demo (make demo), fuzz (clang builds),
# test (make check).
PACKAGES='
# compiler, build system, man pages
build   build-essential
build   pkg-config
build   meson
build   ninja-build
build   scdoc
# libraries of SPEC section 1
build   libsystemd-dev
build   libsqlite3-dev
build   libyaml-dev
build   libjansson-dev
build   libinih-dev
build   libmicrohttpd-dev       HTTP API
build   libjwt-dev              HTTP auth tokens
build   libcurl4-openssl-dev    etcd client
build   libssl-dev
# the example jobs of make demo
demo    python3
# libFuzzer and the sanitizer runtimes for clang (Debian 12 ships them apart from clang)
fuzz    clang
fuzz    libclang-rt-14-dev
# tools the tests use
test    sqlite3
test    dbus-daemon             a private bus for integration tests
test    jq
test    curl
test    procps
test    psmisc
test    util-linux              unshare, nsenter, flock
test    python3
test    systemd                 systemd-notify, busctl
test    python3-systemd         sd_notify from python (test-notify-*)
test    prometheus              promtool and a real Prometheus server (test-http-*)
test    wrk                     bench/bench-http.sh
test    qemu-system-x86         test-vm-boot: pmd as the init of a VM (tcg)
test    busybox-static          sh, sleep and kill inside the VM
test    cpio                    the initramfs of the VM
# stock .service files that test-system-units parses; installed, never started
test    nginx
test    redis-server
'

groups='build demo fuzz test'
case "${1:-}" in
        "") ;;
        --build-only) groups='build demo' ;;
        -h|--help)
                echo "usage: $0 [--build-only]"
                exit 0 ;;
        *)
                echo "usage: $0 [--build-only]" >&2
                exit 2 ;;
esac

wanted=()
while read -r group pkg _; do
        [[ -z "${group:-}" || "$group" == \#* ]] && continue
        [[ " $groups " == *" $group "* ]] || continue
        [[ " ${wanted[*]} " == *" $pkg "* ]] || wanted+=("$pkg")
done <<<"$PACKAGES"

missing=()
for pkg in "${wanted[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

((${#missing[@]} == 0)) && exit 0

if ((EUID != 0)); then
        echo "install-deps: missing Debian packages: ${missing[*]}" >&2
        echo "install-deps: run as root, or: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
        exit 1
fi

# pids of running nginx/redis processes, to prove the install started none.
daemon_pids() {
        local d comm
        for d in /proc/[0-9]*; do
                comm=$(cat "$d/comm" 2>/dev/null) || continue
                case "$comm" in
                        nginx|redis-server|redis-check-*) echo "${d#/proc/}" ;;
                esac
        done
}

# Refuse every service start while dpkg runs; put back whatever policy-rc.d was there before.
policy=/usr/sbin/policy-rc.d
saved=
if [[ -e "$policy" ]]; then
        saved=$(mktemp /usr/sbin/policy-rc.d.pmd-saved.XXXXXX)
        cp -p "$policy" "$saved"
fi
restore_policy() {
        if [[ -n "$saved" ]]; then
                mv -f "$saved" "$policy"
        else
                rm -f "$policy"
        fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# written by pmd tools/install-deps.sh for the duration of an install\nexit 101\n' >"$policy"
chmod 0755 "$policy"

before=$(daemon_pids | sort)

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt-get "${apt_opts[@]}" update
apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"

after=$(daemon_pids | sort)
started=$(comm -13 <(echo "$before") <(echo "$after") | grep . || true)
if [[ -n "$started" ]]; then
        echo "install-deps: BUG: the install started services (pids: $(echo $started)); they must not run" >&2
        ps -o pid,comm,args -p "$(echo $started | tr ' ' ,)" >&2 || true
        exit 1
fi

still=()
for pkg in "${missing[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [[ "$status" == "install ok installed" ]] || still+=("$pkg")
done
if ((${#still[@]})); then
        echo "install-deps: still missing after install: ${still[*]}" >&2
        exit 1
fi
echo "install-deps: done"
