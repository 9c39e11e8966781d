#!/usr/bin/env bash
# PID-1 figures for bench/README.md:
#   1. reap: time for pmd as PID 1 (of a PID namespace) to reap 10 000 orphans killed at once;
#   2. boot: a VM (qemu, -accel tcg) from qemu's start to the first job running, pmd as init,
#      against busybox's init running the same job with the same kernel (ratio pmd/busybox);
#   3. reexec: pmctl daemon-reexec with 1000 jobs running, from "Re-executing" to the new image's
#      "running (re-executed)" (pmd's own log timestamps).
# Medians of RUNS runs (default 3). usage: bench/bench-pid1.sh [BUILD_DIR]   env: RUNS, SKIP_VM=1
set -euo pipefail
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${1:-$SRC_DIR/build}" && pwd)
export PMD=$BUILD_DIR/daemon/pmd PMCTL=$BUILD_DIR/ctl/pmctl SRC_DIR BUILD_DIR
RUNS=${RUNS:-3}
. "$SRC_DIR/test/integration/lib-pid1.sh"
. "$SRC_DIR/test/integration/vm-lib.sh"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# ---- 1. reaping 10 000 orphans ----
reap_once() {
        rm -rf "$T/jobs"/* "$T/state"/* "$T/go" "$T/spawned"
        cat >"$T/orphans.sh" <<EOF2
#!/bin/sh
for i in \$(seq 10000); do (sleep 1000 &); done
touch "$T/spawned"
while [ ! -e "$T/go" ]; do sleep 0.05; done
kill -KILL 0
EOF2
        chmod +x "$T/orphans.sh"
        printf '[Service]\nExecStart=%s\nKillMode=process\n' "$T/orphans.sh" >"$T/jobs/orphans.job"
        pid1_start --log-level warning
        wait_until 300 test -e "$T/spawned"
        local t0 t1
        t0=$(_now_us)
        touch "$T/go"
        while (($(children_of "$PMD_PID") > 0)) || [[ -n "$(zombies_of "$PMD_PID")" ]]; do :; done
        t1=$(_now_us)
        kill -TERM "$PMD_PID" || { echo "pmd died:" >&2; tail -n 20 "$T/pmd.out" >&2; return 1; }
        pid1_wait_exit 30
        echo $(((t1 - t0) / 1000))
}
reap=()
for _ in $(seq "$RUNS"); do reap+=("$(reap_once)"); done
reap_med=$(printf '%s\n' "${reap[@]}" | median)
echo "reap 10000 orphans (ms): ${reap[*]} -> median $reap_med"

# ---- 3. re-exec with 1000 jobs ----
rm -rf "$T/jobs"/* "$T/state"/*
for i in $(seq 1000); do printf '[Service]\nExecStart=/bin/sleep 10000\nStandardOutput=null\n' >"$T/jobs/j$i.job"; done
pid1_start
all_running() { [[ "$(sql "SELECT count(*) FROM jobs WHERE state='running'")" == 1000 ]]; }
wait_until 120 all_running
reexec=()
for r in $(seq "$RUNS"); do
        n=$(grep -c "running (re-executed)" "$T/pmd.out" || true)
        nsenter -t "$PMD_PID" --pid --mount "$PMCTL" --socket "$T/pmd.sock" daemon-reexec
        wait_until 30 eval "(( \$(grep -c 'running (re-executed)' '$T/pmd.out') > $n ))"
        a=$(grep '"Re-executing' "$T/pmd.out" | tail -n1 | sed 's/.*"ts":"\([^"]*\)".*/\1/')
        b=$(grep 'running (re-executed)' "$T/pmd.out" | tail -n1 | sed 's/.*"ts":"\([^"]*\)".*/\1/')
        reexec+=("$(python3 -c "import datetime as d,sys; f=lambda s: d.datetime.fromisoformat(s.rstrip('Z')); print(round((f(sys.argv[2])-f(sys.argv[1])).total_seconds()*1000, 1))" "$a" "$b")")
        sleep 1
done
[[ "$(sql "SELECT count(*) FROM runs")" == 1000 ]] || echo "warning: jobs were restarted by the re-execution" >&2
kill -TERM "$PMD_PID"
pid1_wait_exit 60
reexec_med=$(printf '%s\n' "${reexec[@]}" | median)
echo "re-exec with 1000 jobs (ms): ${reexec[*]} -> median $reexec_med"

# ---- 2. VM boot to the first job ----
[[ "${SKIP_VM:-0}" == 1 ]] && exit 0
rc=0
vm_fetch_kernel "$T/kernel" || rc=$?
((rc == 0)) || { echo "boot: skipped, no kernel (apt-get download failed)"; exit 0; }
stamp() { while IFS= read -r l; do echo "$(_now_us) $l"; done; }
boot_once() { # ROOT → ms from qemu's start to the marker
        local t0 t
        vm_cpio "$1" "$T/initrd"
        t0=$(_now_us)
        timeout 120 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -kernel "$T/kernel/vmlinuz" \
                -initrd "$T/initrd" -append 'console=ttyS0 init=/init panic=-1 quiet' </dev/null 2>&1 |
                stamp >"$T/boot.log" || true
        t=$(grep -m1 FIRST-JOB-RUNNING "$T/boot.log" | cut -d' ' -f1)
        [[ -n "$t" ]] || { echo "boot: no marker" >&2; tail "$T/boot.log" >&2; return 1; }
        echo $(((t - t0) / 1000))
}
job='echo FIRST-JOB-RUNNING >/dev/console'
pmd_root=$T/root-pmd bb_root=$T/root-bb
vm_root_base "$pmd_root"
vm_root_add_binary "$pmd_root" "$PMD" /init
mkdir -p "$pmd_root/etc/pmd/jobs"
printf '[Daemon]\nBus=none\nHttp=off\n' >"$pmd_root/etc/pmd/pmd.conf"
printf '[Service]\nExecStart=/bin/sh -c '"'"'%s; kill -38 1; exec sleep 1000'"'"'\n' "$job" >"$pmd_root/etc/pmd/jobs/first.job"
vm_root_base "$bb_root"
ln -sf bin/busybox "$bb_root/init"
printf '::sysinit:/bin/sh -c '"'"'%s; poweroff -f'"'"'\n' "$job" >"$bb_root/etc/inittab"
pb=() bb=()
for _ in $(seq "$RUNS"); do
        pb+=("$(boot_once "$pmd_root")")
        bb+=("$(boot_once "$bb_root")")
done
pm=$(printf '%s\n' "${pb[@]}" | median) bm=$(printf '%s\n' "${bb[@]}" | median)
echo "boot to first job (ms): pmd ${pb[*]} -> median $pm; busybox init ${bb[*]} -> median $bm; ratio $(awk -v a="$pm" -v b="$bm" 'BEGIN { printf "%.2f", a / b }')"
