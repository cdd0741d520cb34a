#!/bin/sh
# exec_cpython.sh VMCISIM SRCDIR - CPython's own vsock tests (test.test_socket) under exec:
# 5 tests pass in a guest, deterministic over 20 seeds (each run twice with the same trace);
# then the whole test_socket module (over 600 tests) passes.
# Needs python3 (fails without it) and its test package (Debian: libpython3-testsuite;
# skipped, exit 77, without it).
set -u
bin=$1
src=$2
if ! command -v python3 >/dev/null 2>&1; then
    echo "FAIL: python3 is not installed (apt-get install python3); the exec tests need it"
    exit 1
fi
py=$(python3 -c 'import sys; print(sys.executable)')
if ! "$py" -c 'import test.test_socket' >/dev/null 2>&1; then
    echo "skip: CPython's test package is not installed (Debian: libpython3-testsuite)"
    exit 77
fi
. "$(dirname "$0")/../checks.sh"
sed -e "s#@PYTHON@#$py#g" "$src/tests/exec/cpython_vsock.vmcis.in" >"$tmp/cpy.vmcis"
"$bin" run --seeds 1..20 -j 2 --check-determinism "$tmp/cpy.vmcis" >"$tmp/d.txt"; rc=$?
check "20 seeds pass, each twice with the same trace" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/d.txt")" -eq 20 ]'
"$bin" run --seed 1 --artifacts "$tmp/a" "$tmp/cpy.vmcis" >/dev/null
e=$tmp/a/cpy.vmcis.seed1/pyt.stderr
check "unittest ran the 5 vsock tests, all ok" \
  'grep -q "^Ran 5 tests" $e && grep -qx "OK" $e && [ "$(grep -c "\.\.\. ok$" $e)" -eq 5 ]'
# The whole of CPython's test_socket (TCP, UDP, Unix and vsock sockets, threads, timeouts,
# sendfile, signals interrupting calls via alarm/setitimer), unmodified, under exec: in
# deterministic mode its blocking calls on real sockets wait in the world and its alarms are
# simulated time (docs/exec-protocol.md). It passes on every seed, but its runs are not the
# same twice: how much a real TCP socket takes per send is the kernel's (so the number of
# polls and sends of a loop varies), which is outside the world.
cat >"$tmp/whole.vmcis" <<EOF
scenario "exec: CPython's whole test_socket"
limit 600s
vm guest
exec pyt on guest "$py -m test test_socket"
check pyt.status == 0
EOF
"$bin" run --seeds 1..2 --artifacts "$tmp/w" "$tmp/whole.vmcis" >"$tmp/w.txt"; rc=$?
wo=$tmp/w/whole.vmcis.seed1/pyt.stdout
check "CPython's whole test_socket passes under exec, seeds 1 and 2" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/w.txt")" -eq 2 ] && grep -qx "Result: SUCCESS" $wo &&
   [ "$(sed -n "s/^Total tests: run=\([0-9]*\).*/\1/p" $wo)" -ge 600 ]'

if [ $fails -ne 0 ]; then
    cat "$tmp/d.txt" "$e" "$tmp/w.txt"
    tail -40 "$wo" 2>/dev/null
    echo "$fails check(s) failed"
    exit 1
fi
echo "all CPython vsock checks passed"
