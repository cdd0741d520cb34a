#!/bin/sh
# shrink_cli.sh VMCISIM SRCDIR - `vmcisim shrink` (issue 15 item 3, docs/finding-bugs.md): a
# scenario with 33 faults of which one episode matters (tests/shrink_target.vmcis) shrinks to at
# most 2 fault lines, its output fails the same expectation when run with the replay line
# printed beside it, and the before/after counts are reported. Knob values are cut to exact
# expected values (tests/shrink_knobs.vmcis), and a failure found with --sched pct:3 is taken to
# the smallest scheduler that keeps it (tests/shrink_sched.vmcis).
set -u
bin=$1
src=$2
. "$(dirname "$0")/checks.sh"
cd "$src"
f=tests/shrink_target.vmcis

"$bin" run --seed 1 $f >"$tmp/orig.txt"; rc=$?
check "the target fails at line 22 with seed 1" \
  '[ $rc -eq 1 ] && grep -q "^FAIL $f seed=1 .* $f:22: expected \"ping\" (4 bytes), got \"\" (0 bytes) (recv in server)" "$tmp/orig.txt"'

"$bin" shrink --seed 1 $f -o "$tmp/min.vmcis" >"$tmp/report.txt"; rc=$?
cat "$tmp/report.txt"
check "shrink exits 0" '[ $rc -eq 0 ]'
check "before/after counts: faults 33 -> 2, trace records fewer" \
  'grep -q "^shrunk $f seed=1: faults 33 -> 2, knob cuts 0, repeat halvings [0-9]*, trace records [0-9]* -> [0-9]*, [0-9]* runs$" "$tmp/report.txt" &&
   [ "$(sed -n "s/.*trace records \([0-9]*\) -> \([0-9]*\),.*/\1 \2/p" "$tmp/report.txt" | awk "{print (\$1 > \$2 * 3)}")" = 1 ]'
check "at most 2 fault lines are left, the ones that matter" \
  '[ "$(grep -c "^at \|^on \|^faults " "$tmp/min.vmcis")" -eq 2 ] &&
   grep -qx "at 40ms suspend busy" "$tmp/min.vmcis" && grep -qx "at 45ms resume busy" "$tmp/min.vmcis"'
check "removed lines are commented out, so the line numbers stay" \
  '[ "$(wc -l <"$tmp/min.vmcis")" -eq "$(wc -l <$f)" ] && [ "$(grep -c "^#shrunk: " "$tmp/min.vmcis")" -eq 31 ]'
replay=$(sed -n "s/^replay: //p" "$tmp/report.txt")
args=$(echo "$replay" | cut -d" " -f2-)
hash=$(echo "$replay" | sed -n "s/.* --expect-hash \([0-9a-f]*\) .*/\1/p")
"$bin" $args >"$tmp/replay.txt"; rc=$?
check "the replay line fails the same expectation with the same hash" \
  '[ $rc -eq 1 ] && [ -n "$hash" ] && grep -q "^FAIL $tmp/min.vmcis seed=1 hash=$hash .* $tmp/min.vmcis:22: expected \"ping\" (4 bytes), got \"\" (0 bytes) (recv in server)" "$tmp/replay.txt"'
"$bin" shrink --seed 1 scenarios/world_lifecycle.vmcis >/dev/null 2>"$tmp/pass.txt"; rc=$?
check "a passing run is not shrunk (exit 1)" '[ $rc -eq 1 ] && grep -q "passes with seed 1: nothing to shrink" "$tmp/pass.txt"'
"$bin" shrink $f >/dev/null 2>&1; rc=$?
check "no --seed: exit 2" '[ $rc -eq 2 ]'

# ---- knob values (fault knobs, then the built-in programs' sizes, counts and durations) ----
k=tests/shrink_knobs.vmcis
"$bin" shrink --seed 1 $k -o "$tmp/knobs.vmcis" >"$tmp/knobs.txt"; rc=$?
cat "$tmp/knobs.txt"
check "knobs: exit 0, 1 of 2 fault lines left, 35 values cut" \
  '[ $rc -eq 0 ] && grep -q "^shrunk $k seed=1: faults 2 -> 1, knob cuts 35, repeat halvings 0, trace records [0-9]* -> [0-9]*, 45 runs$" "$tmp/knobs.txt"'
cat >"$tmp/knobs.want" <<'WANT'
10,11c10,11
< faults dgram-drop 40% dgram-delay 1ms..4ms hv-latency 100us
< at 5ms faults dgram-duplicate 30%
---
> faults dgram-drop 1.25% dgram-delay 0..1953ns hv-latency 0
> #shrunk: at 5ms faults dgram-duplicate 30%
14c14
< program ping dgram-ping on pinger after echo.ready to host:3000 count 64 size 512 interval 2ms timeout 50ms
---
> program ping dgram-ping on pinger after echo.ready to host:3000 count 32 size 8 interval 1953ns timeout 50ms
WANT
diff $k "$tmp/knobs.vmcis" >"$tmp/knobs.diff"
check "knobs: drop 40% halved to 1.25%, latency to 0, delay to 0..1953ns, count 64 -> 32, size 512 -> 8 (the ping's smallest)" \
  'diff -u "$tmp/knobs.want" "$tmp/knobs.diff"'
replay=$(sed -n "s/^replay: //p" "$tmp/knobs.txt")
hash=$(echo "$replay" | sed -n "s/.* --expect-hash \([0-9a-f]*\) .*/\1/p")
"$bin" $(echo "$replay" | cut -d" " -f2-) >"$tmp/knobs_replay.txt"; rc=$?
check "knobs: the replay line fails the same check with the same hash" \
  '[ $rc -eq 1 ] && [ -n "$hash" ] && grep -q "^FAIL $tmp/knobs.vmcis seed=1 hash=$hash .* $tmp/knobs.vmcis:16: expected ping.lost == 0, got 1 (check)" "$tmp/knobs_replay.txt"'

# ---- the schedule: pct:3 down to the smallest scheduler that still fails the same way ----
r=tests/shrink_sched.vmcis
for want in "2 pct:1 3" "3 random 2" "5 pct:3 4"; do
  set -- $want
  seed=$1 to=$2 nruns=$3
  "$bin" shrink --seed $seed --sched pct:3 $r -o "$tmp/sched$seed.vmcis" >"$tmp/sched$seed.txt"; rc=$?
  cat "$tmp/sched$seed.txt"
  check "sched: seed $seed shrinks pct:3 to $to in $nruns runs" \
    '[ $rc -eq 0 ] && grep -q "^shrunk $r seed=$seed: faults 0 -> 0, knob cuts 0, sched pct:3 -> $to, repeat halvings 0, trace records [0-9]* -> [0-9]*, $nruns runs$" "$tmp/sched$seed.txt" &&
     cmp -s $r "$tmp/sched$seed.vmcis"'
  replay=$(sed -n "s/^replay: //p" "$tmp/sched$seed.txt")
  hash=$(echo "$replay" | sed -n "s/.* --expect-hash \([0-9a-f]*\) .*/\1/p")
  "$bin" $(echo "$replay" | cut -d" " -f2-) >"$tmp/sched_replay.txt"; rc=$?
  check "sched: seed $seed replays with --sched $to, the same failure and hash" \
    'echo "$replay" | grep -q " --sched $to " && [ $rc -eq 1 ] && [ -n "$hash" ] &&
     grep -q "^FAIL $tmp/sched$seed.vmcis seed=$seed hash=$hash sched=$to $tmp/sched$seed.vmcis:22: expected success, got ECONNRESET (connect in client)" "$tmp/sched_replay.txt"'
done
"$bin" shrink --seed 2 --sched pct:99 $r >/dev/null 2>"$tmp/bad.txt"; rc=$?
check "sched: a bad --sched is refused (exit 2)" \
  '[ $rc -eq 2 ] && grep -q "^vmcisim shrink: --sched expects .random. or .pct:D. (D from 1 to 16), got .pct:99.$" "$tmp/bad.txt"'

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all shrink checks passed"
