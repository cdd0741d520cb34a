#!/bin/sh
# guest_close_loses.sh VMCISIM SRCDIR - a guest's close with bytes its host peer has not read:
# the host sees end of file (the scenario checks it) and the trace names the loss exactly once,
# on the guest's queue-pair detach, with the 12 bytes the guest wrote (vmci-semantics.md §2.12;
# "stream data is never lost except where the real system loses it, and then the trace says so").
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for seed in 1 2 3 4 5; do
  "$bin" run --seed "$seed" --trace "$tmp/t" "$src/tests/guest_close_loses.vmcis" >"$tmp/out" 2>&1 || {
    cat "$tmp/out"; echo "FAIL: seed $seed: the scenario did not pass"; exit 1; }
  n=$(grep -c ' qp-detach ctx=7 .* state=SHUTDOWN_NO_MEM lost=12$' "$tmp/t")
  [ "$n" -eq 1 ] || { grep qp-detach "$tmp/t"; echo "FAIL: seed $seed: $n detach records with lost=12, want 1"; exit 1; }
  all=$(grep -c 'lost=' "$tmp/t")
  [ "$all" -eq 1 ] || { grep 'lost=' "$tmp/t"; echo "FAIL: seed $seed: $all records name a loss, want 1"; exit 1; }
done
echo "ok: over seeds 1..5 the host read end of file and the trace names the 12 lost bytes"
