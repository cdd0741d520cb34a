#!/bin/sh
# exec_vtgaps.sh VMCISIM VTGAPS_PROG - what Linux's vsock_test needed (tests/exec/exec_vtgaps.c,
# docs/exec.md "Running Linux's vsock_test"): control lines written as send(MSG_MORE) + "\n"
# over loopback TCP reach the peer before the world jumps to its 10 s alarm
# (src/preload/realpush.c); recvmsg(MSG_ERRQUEUE) on vsock stream sockets is EAGAIN in every
# state and EOPNOTSUPP on a datagram socket (src/sock/vsock_ops.c); recvmsg's flags reach the
# socket and recvmsg/sendmsg with data work in direct mode (src/preload/sock.c). Deterministic over
# 5 seeds (each twice), both copy modes, and in realtime mode.
set -u
bin=$1
prog=$2
. "$(dirname "$0")/../checks.sh"

scen() { # NAME MODE
    {
        echo "scenario \"exec: vsock_test gaps $1\""
        [ "$2" = realtime ] && echo "realtime"
        echo "vm guest"
        echo "exec srv on host root \"$prog server 16102 1300\""
        echo "exec cli on guest start 10ms \"$prog client 16102 1300\""
        echo "check srv.status == 0"
        echo "check cli.status == 0"
    } >"$tmp/$1.vmcis"
}
scen det deterministic
scen rt realtime

"$bin" run --seeds 1..5 --check-determinism "$tmp/det.vmcis" >"$tmp/det.txt"; rc=$?
check "deterministic: 5 seeds pass, each twice with the same trace" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/det.txt")" -eq 5 ]'
VMCISIM_EXEC_STAGING=1 "$bin" run --seeds 1..2 "$tmp/det.vmcis" >"$tmp/staged.txt"; rc=$?
check "the staged copy mode too: 2 seeds pass" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/staged.txt")" -eq 2 ]'
"$bin" run --seed 3 --artifacts "$tmp/a" "$tmp/det.vmcis" >/dev/null
c=$tmp/a/det.vmcis.seed3/cli.stdout
s=$tmp/a/det.vmcis.seed3/srv.stdout
check "50 two-segment control lines each way, none waited for the alarm" \
  'grep -qx "ok 1 50 control lines sent as MSG_MORE + \"\\\\n\" arrived before the 10 s alarm" $c &&
   grep -q "^ok 1 50 control lines" $s'
check "MSG_ERRQUEUE: EAGAIN unconnected, connected, listening, accepted; EOPNOTSUPP on a dgram socket" \
  'grep -qx "ok 2 unconnected stream socket: EAGAIN" $c && grep -qx "ok 3 datagram socket: EOPNOTSUPP" $c &&
   grep -qx "ok 4 connected stream socket: EAGAIN" $c && grep -qx "ok 2 listening stream socket: EAGAIN" $s &&
   grep -qx "ok 3 accepted stream socket: EAGAIN" $s'
check "recvmsg: MSG_PEEK leaves the bytes, MSG_DONTWAIT does not wait" \
  'grep -qx "ok 6 recvmsg(MSG_PEEK) left the 8 bytes for the next recvmsg" $c &&
   grep -qx "ok 7 recvmsg(MSG_DONTWAIT) on an empty socket: EAGAIN" $c &&
   grep -qx "done 8" $c && grep -qx "done 4" $s'
check "sendmsg of two buffers: 8 bytes, received after the earlier send's byte" \
  'grep -qx "ok 8 sendmsg of 8 bytes in two buffers" $c &&
   grep -qx "ok 4 the peer.s send and sendmsg arrived: 9 bytes" $s'

"$bin" run --realtime --seeds 1..2 "$tmp/rt.vmcis" >"$tmp/rt.txt"; rc=$?
check "realtime: 2 runs pass" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS .*mode=realtime" "$tmp/rt.txt")" -eq 2 ]'

if [ $fails -ne 0 ]; then
    cat "$tmp/det.txt" "$tmp/staged.txt" "$tmp/rt.txt"
    echo "$fails check(s) failed"
    exit 1
fi
