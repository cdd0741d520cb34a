#!/bin/sh
# exec_sendfile.sh VMCISIM EXEC_SENDFILE SRCDIR - sendfile(2) and splice(2) from a pipe onto
# vsock descriptors of exec'd programs (src/preload/sendfile.c, splice.c; tests/exec/
# exec_sendfile.c, py_sendfile.py): every byte of a 1 MiB file arrives, exact results and errno
# for offsets, count 0, a full non-blocking queue (what did not go stays in the file's offset or
# in the pipe), the peer's close (EPIPE + SIGPIPE) and bad arguments; Python's socket.sendfile()
# and asyncio's loop.sock_sendfile(); 20 seeds, each twice with the same trace; staged payload
# gives the same traces as direct copies.
# python3 is a Debian package (python3): without it this test fails and says so.
set -u
bin=$1
prog=$2
src=$3
if ! command -v python3 >/dev/null 2>&1; then
    echo "FAIL: python3 is not installed (apt-get install python3); the exec tests need it"
    exit 1
fi
py=$(python3 -c 'import sys; print(sys.executable)')
. "$(dirname "$0")/../checks.sh"
mkdir "$tmp/data"
sed -e "s#@EXEC_SENDFILE@#$prog#g" -e "s#@DIR@#$tmp/data#g" -e "s#@PYTHON@#$py#g" \
    -e "s#@SRC@#$src#g" "$src/tests/exec/sendfile.vmcis.in" >"$tmp/sendfile.vmcis"

"$bin" run --seeds 1..20 -j 2 --check-determinism "$tmp/sendfile.vmcis" >"$tmp/det.txt"; rc=$?
check "20 seeds pass, each run twice with the same trace (statuses 0)" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/det.txt")" -eq 20 ]'

"$bin" run --seed 7 --artifacts "$tmp/a" "$tmp/sendfile.vmcis" >/dev/null
d=$tmp/a/sendfile.vmcis.seed7
check "every sendfile and splice check held (61 ok lines, none failed)" \
  '[ "$(grep -c "^ok " $d/cli.stdout)" -eq 61 ] && ! grep -q "^FAIL" $d/cli.stdout'
check "the server read the file, 360000 bytes of it again, the file, 120000 bytes: every byte right" \
  'grep -qx "conn 1: 1408576 bytes, all as sent" $d/srv.stdout &&
   grep -qx "conn 2: 1048576 bytes, all as sent" $d/srv.stdout &&
   grep -qx "conn 4: 120000 bytes, all as sent" $d/srv.stdout'
check "offset given: *offset advanced, the file position not" \
  'grep -qx "ok 7 \*offset advanced to 300000: r=300000 errno=-" $d/cli.stdout &&
   grep -qx "ok 8 the file position unchanged: r=1048576 errno=-" $d/cli.stdout'
check "a full non-blocking queue: 99999 bytes, then EAGAIN, *offset by exactly what went" \
  'grep -qx "ok 30 non-blocking sendfile of 1 MiB: what the queue takes: r=99999 errno=-" $d/cli.stdout &&
   grep -qx "ok 32 the queue is full: EAGAIN: r=-1 errno=Resource temporarily unavailable" $d/cli.stdout &&
   grep -qx "ok 33 \*offset unchanged: r=99999 errno=-" $d/cli.stdout'
check "after the peer closed: EPIPE and SIGPIPE" \
  'grep -qx "ok 41 sendfile after the peer closed: r=-1 errno=Broken pipe" $d/cli.stdout &&
   grep -qx "ok 42 one SIGPIPE: r=1 errno=-" $d/cli.stdout'
check "bad in_fd EBADF, bad offset pointer EFAULT, a vsock in_fd EINVAL" \
  'grep -qx "ok 11 bad in_fd: r=-1 errno=Bad file descriptor" $d/cli.stdout &&
   grep -qx "ok 12 bad offset pointer: r=-1 errno=Bad address" $d/cli.stdout &&
   grep -qx "ok 18 in_fd a vsock socket: r=-1 errno=Invalid argument" $d/cli.stdout'
check "splice from a pipe onto a non-blocking socket whose queue fills: 39999, the pipe keeps 20001" \
  'grep -qx "ok 62 splice the second: what the queue still takes: r=39999 errno=-" $d/cli.stdout &&
   grep -qx "ok 63 the pipe keeps the rest: r=20001 errno=-" $d/cli.stdout &&
   grep -qx "ok 64 the queue is full: EAGAIN: r=-1 errno=Resource temporarily unavailable" $d/cli.stdout'
check "splice after the peer closed: EPIPE and SIGPIPE, the pipe keeps its bytes" \
  'grep -qx "ok 48 splice after the peer closed: r=-1 errno=Broken pipe" $d/cli.stdout &&
   grep -q "^ok 49 three SIGPIPEs, and the pipe still holds the 10 bytes: r=1 " $d/cli.stdout'
check "Python: socket.sendfile() and loop.sock_sendfile() each sent the file, every byte right" \
  'grep -qx "ok socket.sendfile sent: 1048576" $d/py.stdout &&
   grep -qx "ok loop.sock_sendfile sent: 1048576" $d/py.stdout && ! grep -q "^FAIL" $d/py.stdout &&
   grep -qx "conn 1: 1048576 bytes, all as sent" $d/pysrv.stdout &&
   grep -qx "conn 2: 1048576 bytes, all as sent" $d/pysrv.stdout'
check "the programs removed their files" '[ -z "$(ls "$tmp/data")" ]'

# the bytes staged through the area instead of copied by the world: the same calls, the same trace
"$bin" run --seeds 1..5 "$tmp/sendfile.vmcis" | grep "^PASS" | cut -d' ' -f1-4 >"$tmp/direct.txt"
VMCISIM_EXEC_STAGING=1 "$bin" run --seeds 1..5 "$tmp/sendfile.vmcis" | grep "^PASS" |
    cut -d' ' -f1-4 >"$tmp/staged.txt"
check "staged payload: 5 seeds pass with the traces of direct copies" \
  '[ "$(wc -l <"$tmp/direct.txt")" -eq 5 ] && cmp -s "$tmp/direct.txt" "$tmp/staged.txt"'

if [ $fails -ne 0 ]; then
    cat "$tmp/det.txt" "$tmp/direct.txt" "$tmp/staged.txt"
    echo "$fails check(s) failed"
    exit 1
fi
echo "all exec sendfile checks passed"
