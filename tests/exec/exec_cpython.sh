#!/bin/sh
# exec_cpython.sh VMCISIM SRCDIR - CPython's own vsock tests (test.test_socket) under exec:
# 5 tests pass in a guest, deterministic over 20 seeds (each run twice with the same trace).
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
if [ $fails -ne 0 ]; then
    cat "$tmp/d.txt" "$e"
    echo "$fails check(s) failed"
    exit 1
fi
echo "all CPython vsock checks passed"
