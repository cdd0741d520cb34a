#!/bin/sh
# shrink_cli.sh VMCISIM SRCDIR - `vmcisim shrink` (issue 15 item 3, docs/finding-bugs.md): a
# scenario with 33 faults of which one episode matters (tests/shrink_target.vmcis) shrinks to at
# most 2 fault lines, its output fails the same expectation when run with the replay line
# printed beside it, and the before/after counts are reported.
set -u
bin=$1
src=$2
cd "$src"
f=tests/shrink_target.vmcis
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

"$bin" run --seed 1 $f >"$tmp/orig.txt"; rc=$?
check "the target fails at line 22 with seed 1" \
  '[ $rc -eq 1 ] && grep -q "^FAIL $f seed=1 .* $f:22: expected \"ping\" (4 bytes), got \"\" (0 bytes) (recv in server)" "$tmp/orig.txt"'

"$bin" shrink --seed 1 $f -o "$tmp/min.vmcis" >"$tmp/report.txt"; rc=$?
cat "$tmp/report.txt"
check "shrink exits 0" '[ $rc -eq 0 ]'
check "before/after counts: faults 33 -> 2, trace records fewer" \
  'grep -q "^shrunk $f seed=1: faults 33 -> 2, repeat halvings [0-9]*, trace records [0-9]* -> [0-9]*, [0-9]* runs$" "$tmp/report.txt" &&
   [ "$(sed -n "s/.*trace records \([0-9]*\) -> \([0-9]*\),.*/\1 \2/p" "$tmp/report.txt" | awk "{print (\$1 > \$2 * 3)}")" = 1 ]'
check "at most 2 fault lines are left, the ones that matter" \
  '[ "$(grep -c "^at \|^on \|^faults " "$tmp/min.vmcis")" -eq 2 ] &&
   grep -qx "at 40ms suspend busy" "$tmp/min.vmcis" && grep -qx "at 45ms resume busy" "$tmp/min.vmcis"'
check "removed lines are commented out, so the line numbers stay" \
  '[ "$(wc -l <"$tmp/min.vmcis")" -eq "$(wc -l <$f)" ] && [ "$(grep -c "^#shrunk: " "$tmp/min.vmcis")" -eq 31 ]'
replay=$(sed -n "s/^replay: //p" "$tmp/report.txt")
args=$(echo "$replay" | cut -d" " -f2-)
"$bin" $args >"$tmp/replay.txt"; rc=$?
check "the replay line fails the same expectation with the same hash" \
  '[ $rc -eq 1 ] && grep -q "^FAIL $tmp/min.vmcis seed=1 .* $tmp/min.vmcis:22: expected \"ping\" (4 bytes), got \"\" (0 bytes) (recv in server)" "$tmp/replay.txt"'
"$bin" shrink --seed 1 scenarios/world_lifecycle.vmcis >/dev/null 2>"$tmp/pass.txt"; rc=$?
check "a passing run is not shrunk (exit 1)" '[ $rc -eq 1 ] && grep -q "passes with seed 1: nothing to shrink" "$tmp/pass.txt"'
"$bin" shrink $f >/dev/null 2>&1; rc=$?
check "no --seed: exit 2" '[ $rc -eq 2 ]'

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all shrink checks passed"
