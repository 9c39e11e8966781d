#!/usr/bin/env bash
# [Log] Format=raw: the job's bytes reach its log unchanged (no framing, no time stamps),
# rotation by size keeps every byte exactly once across the files, and a reload can switch a job
# between raw and text.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

write_job raw <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'seq 1 200000; printf "no newline at the end"'
[Log]
Format=raw
MaxSize=64K
MaxFiles=1000
EOF
pmd_start
wait_until 30 job_state_is raw exited

# Oldest rotated file first (NAME.log.N … NAME.log.1), then the current one.
n=$(ls "$T/log" | grep -c '^raw\.log\.' || true)
((n >= 10)) || fail "expected many rotated files at MaxSize=64K, got $n"
{ for i in $(seq "$n" -1 1); do cat "$T/log/raw.log.$i"; done; cat "$T/log/raw.log"; } >"$T/all"
{ seq 1 200000; printf "no newline at the end"; } >"$T/expected"
cmp "$T/all" "$T/expected" || fail "raw log differs from what the job wrote"
for f in "$T"/log/raw.log.*; do
        size=$(stat -c %s "$f")
        ((size == 65536)) || fail "$f: $size bytes, not MaxSize"
done

# Switch to text on reload: lines get their time stamp and stream again.
sed -i 's/^Format=raw/Format=text/' "$T/jobs/raw.job"
kill -HUP "$PMD_PID"
wait_until 10 grep -q "raw: job file changed" "$T/pmd.out"
"$PMCTL" --socket "$T/pmd.sock" restart raw >/dev/null 2>&1 || true
wait_until 30 grep -Eq '^[0-9T:.-]+Z stdout 200000$' "$T/log/raw.log"
echo ok
