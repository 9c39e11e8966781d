#!/usr/bin/env bash
# Job output through pmd's pipes (issue 6): both streams in order per stream, unfinished lines
# (flushed when the pipe goes quiet and when the job ends), a 10 MB line split into marked 64 KiB
# entries, binary junk and invalid UTF-8 in json format (jq parses every line), and the copy to
# pmd's stdout with Console=yes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_cmd jq

write_job both <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'i=0; while [ \$\$i -lt 2000 ]; do echo "o \$\$i"; echo "e \$\$i" >&2; i=\$\$((i+1)); done'
EOF
write_job partial <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'printf first-half; sleep 1; printf "second\\\\n"; printf tail-without-newline'
EOF
write_job big <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'head -c 10000000 /dev/zero | tr "\\\\0" x; echo; echo after'
EOF
write_job junk <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'head -c 300000 /dev/urandom; printf "\\\\n\\\\377\\\\376 invalid \\\\300\\\\257\\\\n"; echo é-ok >&2'
[Log]
Format=json
EOF
write_job loud <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo to-the-console'
[Log]
Console=yes
EOF

pmd_start
for j in both partial big junk loud; do
        wait_until 20 job_state_is $j exited
done

# Both streams, each in order, every line once.
L=$T/log/both.log
[[ $(grep -c ' stdout o ' "$L") == 2000 ]] || fail "stdout lines: $(grep -c ' stdout o ' "$L")"
[[ $(grep -c ' stderr e ' "$L") == 2000 ]] || fail "stderr lines: $(grep -c ' stderr e ' "$L")"
diff <(grep ' stdout ' "$L" | awk '{print $4}') <(seq 0 1999) >/dev/null || fail "stdout out of order"
diff <(grep ' stderr ' "$L" | awk '{print $4}') <(seq 0 1999) >/dev/null || fail "stderr out of order"
# Every line starts with an RFC 3339 UTC time with microseconds and the stream.
if grep -vqE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z (stdout|stderr) ' "$L"; then
        fail "a line without the text prefix: $(grep -vE '^[0-9-]+T[0-9:.]+Z (stdout|stderr) ' "$L" | head -1)"
fi

# Unfinished lines: the first half went out when the pipe was quiet, the tail at the end.
L=$T/log/partial.log
grep -q ' stdout first-half$' "$L" || fail "unfinished line not flushed when quiet: $(cat "$L")"
grep -q ' stdout second$' "$L" || fail "line after the pause: $(cat "$L")"
grep -q ' stdout tail-without-newline$' "$L" || fail "unfinished last line lost: $(cat "$L")"

# 10 MB line: 153 entries (152 of 64 KiB marked "stdout+"), 10,000,000 x in all, then "after".
L=$T/log/big.log
[[ $(grep -c ' stdout+ ' "$L") == 152 ]] || fail "marked pieces: $(grep -c ' stdout+ ' "$L")"
total=$(grep -E ' stdout\+? x' "$L" | awk '{n += length($3)} END {print n}')
[[ "$total" == 10000000 ]] || fail "the 10 MB line has $total bytes"
tail -n 1 "$L" | grep -q ' stdout after$' || fail "line after the big one"

# Junk in json: jq parses every line, the invalid bytes are there as \xNN text.
L=$T/log/junk.log
jq -e . "$L" >/dev/null || fail "jq cannot parse junk.log"
n=$(jq -s 'length' "$L")
((n > 100)) || fail "only $n entries from 300 kB of random bytes"
# (jq 1.6's -e looks at the last input only: count matches with -s instead.)
[[ $(jq -s 'map(select(.msg == "\\xff\\xfe invalid \\xc0\\xaf")) | length' "$L") == 1 ]] ||
        fail "invalid UTF-8 not escaped: $(grep -a " invalid " "$L" | cut -c 1-200)"
[[ $(jq -s 'map(select(.stream == "stderr" and .msg == "é-ok" and .job == "junk" and .pid > 0)) | length' "$L") == 1 ]] ||
        fail "valid UTF-8 on stderr"
if [[ $(jq -s 'map(select(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z$") | not)) | length' "$L") != 0 ]]; then
        fail "a ts that is not RFC 3339 with µs"
fi

# Console=yes: a copy on pmd's stdout.
grep -q '^loud | to-the-console$' "$T/pmd.out" || fail "no console copy"
grep -q ' stdout to-the-console$' "$T/log/loud.log" || fail "console job's file"
echo ok
