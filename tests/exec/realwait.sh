#!/bin/sh
# realwait.sh VMCISIM CTL_PAIR SRCDIR - exec'd programs that block on REAL descriptors
# (tests/exec/ctl_pair.c, src/preload/realwait.c): a server and a client that agree over a
# Unix control socket outside the world when to use vsock (Linux's vsock_test structure), and a
# pipe between two threads of one program. Before, the first blocking read held the world's
# turn in the kernel and the run never ended. Deterministic over 5 seeds (each twice, and the
# same hash and output from separate processes), the bytes checked by the programs (status 0),
# and the same in realtime mode.
set -u
bin=$1
prog=$2
src=$3
. "$(dirname "$0")/../checks.sh"
sed -e "s#@CTL_PAIR@#$prog#g" -e "s#@CTL@#$tmp/ctl#g" "$src/tests/exec/realwait.vmcis.in" \
  >"$tmp/realwait.vmcis"

"$bin" run --seeds 1..5 --check-determinism "$tmp/realwait.vmcis" >"$tmp/det.txt"; rc=$?
check "5 seeds pass (every status 0), each run twice with the same trace" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS .* hash=[0-9a-f]\{16\} " "$tmp/det.txt")" -eq 5 ]'
"$bin" run --seeds 1..5 "$tmp/realwait.vmcis" >"$tmp/again.txt"; rc=$?
check "a second vmcisim process: the same 5 hashes" \
  '[ $rc -eq 0 ] && [ "$(grep "^PASS" "$tmp/det.txt" | cut -d" " -f3,4)" = \
                       "$(grep "^PASS" "$tmp/again.txt" | cut -d" " -f3,4)" ]'

"$bin" run --seed 3 --artifacts "$tmp/a" --trace "$tmp/a.trace" "$tmp/realwait.vmcis" >/dev/null
"$bin" run --seed 3 --artifacts "$tmp/b" "$tmp/realwait.vmcis" >/dev/null
a=$tmp/a/realwait.vmcis.seed3
b=$tmp/b/realwait.vmcis.seed3
check "the same seed prints the same (simulated times included)" \
  '[ -z "$(for n in srv cli piper forker bulk; do cmp -s $a/$n.stdout $b/$n.stdout || echo $n; done)" ]'
check "server: 3 rounds of payload checked byte for byte, then the control socket's EOF" \
  'grep -q "^round 0: 1007 bytes ok" $a/srv.stdout && grep -q "^round 1: 2007 bytes ok" $a/srv.stdout &&
   grep -q "^round 2: 3007 bytes ok" $a/srv.stdout && grep -q "^control eof" $a/srv.stdout'
check "client: 3 replies checked" '[ "$(grep -c "^round [012]: reply ok" $a/cli.stdout)" -eq 3 ]'
# the writer thread sleeps 1 ms before each of its 3 writes: the reader sees each at that instant
check "pipe: the main thread read each write when it was made (1, 2, 3 ms), 300 bytes" \
  '[ "$(grep "^read" $a/piper.stdout)" = "$(printf "read 100 at t_us=1000\nread 100 at t_us=2000\nread 100 at t_us=3000")" ] &&
   grep -qx "pipe ok total=300 t_us=3500" $a/piper.stdout'
check "pipe: the other thread's blocking readv waited for the main thread too" \
  'grep -q "^thread read back" $a/piper.stdout'
check "a pipe written by a forked child (outside the world): the read held the turn, no simulated time passed" \
  'grep -qx "child data read at t_us=0" $a/forker.stdout'
# the pipe holds 64 KiB: the last 64 KiB go in when the reader's 15th read (at 15 ms) makes room
check "bulk: a 1 MiB write into a pipe returned 1 MiB when its last 64 KiB fitted (15 ms)" \
  'grep -qx "write 1048576 into the pipe, done at t_us=15000" $a/bulk.stdout'
check "bulk: a 1 MiB send and a 1 MiB recv(MSG_WAITALL) on a socket pair, a 300 000-byte writev: whole counts" \
  'grep -q "^recv MSG_WAITALL 1048576 at t_us=" $a/bulk.stdout &&
   grep -q "^writev 300000 into the pipe at t_us=" $a/bulk.stdout && grep -q "^bulk ok" $a/bulk.stdout'
check "the waits were the world's (src/sim/fdwait.c wakes them at idle points)" \
  '[ "$(grep -c " real-fd-ready thread=" "$tmp/a.trace")" -ge 5 ]'

"$bin" run --realtime --seeds 1..3 "$tmp/realwait.vmcis" >"$tmp/rt.txt"; rc=$?
check "realtime: 3 runs pass (blocking in the kernel there)" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS .*mode=realtime" "$tmp/rt.txt")" -eq 3 ]'

if [ $fails -ne 0 ]; then
    cat "$tmp/det.txt" "$tmp/again.txt" "$tmp/rt.txt"
    echo "$fails check(s) failed"
    exit 1
fi
echo "all exec realwait checks passed"
