#!/usr/bin/env bash
# Write-behind: a log that grows does not stay in the page cache. pmd starts the write-back of
# every 4 MiB it writes and drops what the disk has written from the cache, keeping only the
# last steps; every line still arrives, in order. The job writes 64 MiB in 8 MiB steps half a
# second apart, so that a disk of 25 MB/s or more has written each step (11 MiB of log) while pmd
# still tries to drop it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_cmd fincore
case $(stat -f -c %T "$T/log") in
tmpfs | ramfs) skip "the log directory is in memory ($(stat -f -c %T "$T/log")): nothing to drop" ;;
esac

cat >"$T/gen.sh" <<'EOF'
for c in 0 1 2 3 4 5 6 7; do
        awk -v c="$c" 'BEGIN { for (i = c * 83886; i < (c + 1) * 83886; i++) printf "%099d\n", i }'
        sleep 0.5
done
EOF
write_job big <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh $T/gen.sh
[Log]
MaxSize=1G
EOF
pmd_start
wait_until 60 job_state_is big exited

log=$T/log/big.log
# Before anything reads the log back into the cache.
size=$(stat -c %s "$log")
read -r res < <(fincore --bytes --noheadings --output RES "$log")
echo "log $size bytes, $res of them in the page cache"
((res < size / 2)) || fail "$res of $size bytes of the log are still in the page cache"

lines=$(wc -l <"$log")
((lines == 8 * 83886)) || fail "expected $((8 * 83886)) lines, got $lines"
awk '$2 != "stdout" || $3 + 0 != NR - 1 { print "line " NR ": " $0; bad = 1; exit } END { exit bad }' "$log" ||
        fail "lines missing, repeated or out of order"
echo ok
