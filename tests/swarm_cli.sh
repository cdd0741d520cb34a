#!/bin/sh
# swarm_cli.sh VMCISIM SRCDIR - `vmcisim run --swarm` (issue 15 item 2, docs/finding-bugs.md):
# a two-knob bug (tests/swarm_two_knob.vmcis: the file's dgram-delay plus hv-latency) that a
# fixed-knob sweep of 1,000 seeds never finds and a swarm sweep of the same seeds does; the
# profile is printed with every result, follows from the seed alone, and its replay line
# reproduces the failure and its trace hash.
set -u
bin=$1
src=$2
. "$(dirname "$0")/checks.sh"
cd "$src"
f=tests/swarm_two_knob.vmcis

"$bin" run -j 2 --seeds 1..1000 $f >"$tmp/fixed.txt"; rc=$?
check "fixed knobs: 1000 seeds, all pass (exit 0)" '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/fixed.txt")" -eq 1000 ]'

"$bin" run -j 2 --swarm --seeds 1..1000 $f >"$tmp/swarm.txt"; rc=$?
check "swarm: the same 1000 seeds find it (exit 1)" '[ $rc -eq 1 ]'
check "swarm: 111 of 1000 seeds fail, each on the late check" \
  '[ "$(grep -c "^FAIL $f seed=[0-9]* hash=[0-9a-f]* sched=[^ ]* $f:16: expected ping.late == 0, got " "$tmp/swarm.txt")" -eq 111 ]'
check "every failing profile has hv-latency on (the second knob), 110 of them at 5000us" \
  '[ "$(grep "^FAIL " "$tmp/swarm.txt" | grep -c "| swarm: faults[^;]* hv-latency ")" -eq 111 ] &&
   [ "$(grep "^FAIL " "$tmp/swarm.txt" | grep -c "| swarm: faults[^;]* hv-latency 5000us")" -eq 110 ]'
check "every line carries its profile" '[ "$(grep -c " | swarm: faults " "$tmp/swarm.txt")" -eq 1000 ]'
check "the file's own knob is never drawn" '! grep -q "swarm: faults[^;]*dgram-delay" "$tmp/swarm.txt"'
first=$(grep -m1 "^FAIL " "$tmp/swarm.txt")
check "the first failure is seed 3" 'echo "$first" | grep -q "^FAIL $f seed=3 "'

# the replay line: the profile comes back from the seed alone, with the same trace
replay=$(echo "$first" | sed 's/.* | replay: \(.*\) | swarm: .*/\1/')
check "the replay line asks for --swarm" 'echo "$replay" | grep -q -- " --swarm "'
replay_bin=$(echo "$replay" | cut -d" " -f1)
args=$(echo "$replay" | cut -d" " -f2-)
"$bin" $args >"$tmp/replay.txt"; rc=$?
check "replay fails again, same hash and profile (exit 1)" \
  '[ $rc -eq 1 ] && [ "$(sed "s/ | replay: .* | swarm:/ | swarm:/" "$tmp/replay.txt")" = "$(echo "$first" | sed "s/ | replay: .* | swarm:/ | swarm:/")" ]'
"$bin" run --seed 3 $f >"$tmp/noswarm.txt"; rc=$?
check "without --swarm seed 3 passes and prints no profile" '[ $rc -eq 0 ] && ! grep -q "| swarm:" "$tmp/noswarm.txt"'

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all swarm checks passed"
