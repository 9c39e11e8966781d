#!/usr/bin/env bash
# pmd as the init of a VM: a real Debian kernel boots an initramfs whose /init is pmd, under qemu
# with software emulation. pmd mounts the API file systems, sets the hostname, starts the two jobs
# of /etc/pmd/jobs; one of them sends SIGRTMIN+4 (kill -38 1, poweroff) to PID 1, and pmd stops
# the jobs and powers the machine off: the kernel prints its power-down line, never a panic, and
# qemu exits by itself. Needs network access to Debian's archive (skips without it).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vm-lib.sh"

require_cmd qemu-system-x86_64 busybox cpio apt-get dpkg-deb ldd
[[ -x "$PMD" ]] || fail "pmd binary not found: $PMD"

rc=0
vm_fetch_kernel "$T/kernel" || rc=$?
((rc != 2)) || skip "cannot download the kernel package from Debian's archive: $(tail -n3 "$T/kernel/apt.log" 2>/dev/null | tr '\n' ' ')"
((rc == 0)) || fail "could not unpack vmlinuz from the kernel package"

root=$T/root
vm_root_base "$root"
vm_root_add_binary "$root" "$PMD" /init
mkdir -p "$root/etc/pmd/jobs"
printf '[Daemon]\nBus=none\nHttp=off\n' >"$root/etc/pmd/pmd.conf"
cat >"$root/etc/pmd/jobs/ticker.job" <<'EOF2'
[Service]
ExecStart=/bin/sleep 1000
EOF2
cat >"$root/etc/pmd/jobs/stopper.job" <<'EOF2'
[Unit]
After=ticker
[Service]
ExecStart=/bin/sh -c 'sleep 2; kill -38 1; sleep 1000'
EOF2
vm_cpio "$root" "$T/initrd"

rc=0
vm_boot "$T/kernel/vmlinuz" "$T/initrd" "$T/console" 120 || rc=$?
cp "$T/console" "$T/pmd.out" # shown by the cleanup when the test fails
((rc != 124)) || fail "the VM did not power off within 120 s"
((rc == 0)) || fail "qemu exited $rc"
c=$T/console
! grep -q "Kernel panic" "$c" || fail "the kernel panicked"
for what in /proc /sys /dev /dev/pts /run; do
        grep -q "Boot: $what mounted" "$c" || fail "no sign that pmd mounted $what"
done
grep -q "Boot: hostname set up" "$c" || fail "hostname not set"
grep -q "Boot: loopback set up" "$c" || fail "loopback not brought up"
grep -q "ticker: running" "$c" || fail "ticker did not run"
grep -q "stopper: running" "$c" || fail "stopper did not run"
grep -q "poweroff requested" "$c" || fail "SIGRTMIN+4 was not taken as poweroff"
grep -q "ticker: stopped" "$c" || fail "ticker was not stopped"
grep -q "powering off" "$c" || fail "pmd did not say it powers off"
grep -q "reboot: Power down" "$c" || fail "no power-down line from the kernel"
echo ok
