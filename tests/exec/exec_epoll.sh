#!/bin/sh
# exec_epoll.sh VMCISIM EPOLL_PROG ECHO_PROG - the epoll semantics of an exec'd program on
# vsock descriptors, which are the world's sockepoll's as in-process (src/preload/epoll.c,
# src/exec/epolls.c; tests/exec/exec_epoll.c): exact outcomes, deterministic over 10 seeds and
# the same in realtime mode.
set -u
bin=$1
prog=$2
echo_prog=$3
. "$(dirname "$0")/../checks.sh"

scen() { # NAME MODE PROG_ARGS
    {
        echo "scenario \"exec: epoll $1\""
        [ "$2" = realtime ] && echo "realtime"
        echo "vm guest"
        echo "exec srv1 on host root \"$echo_prog server 5005\""
        echo "exec srv2 on host root \"$echo_prog server 5006\""
        echo "exec e on guest start 1ms \"$prog epoll 2 5005$3\""
        echo "check srv1.status == 0"
        echo "check srv2.status == 0"
        echo "check e.status == 0"
    } >"$tmp/$1.vmcis"
}
scen det deterministic ""
scen rt realtime " rt"

"$bin" run --seeds 1..10 --check-determinism "$tmp/det.vmcis" >"$tmp/det.txt"; rc=$?
check "deterministic: 10 seeds pass, each twice with the same trace" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/det.txt")" -eq 10 ]'
"$bin" run --seed 3 --artifacts "$tmp/a" "$tmp/det.vmcis" >/dev/null
o=$tmp/a/det.vmcis.seed3/e.stdout
check "57 ok lines, none failed" '[ "$(grep -c "^ok " $o)" -eq 57 ] && ! grep -q "^FAIL" $o'
check "EPOLLET: one event per edge, none for data left unread" \
  'grep -q "^ok 6 unread, but the edge was reported:" $o &&
   grep -q "^ok 9 the second echo is a new edge:" $o'
check "EPOLLONESHOT: disarmed until MOD, which reports a ready socket at once" \
  'grep -q "^ok 18 disarmed:" $o &&
   grep -q "^ok 20 ready when re-armed:" $o'
check "level-triggered members rotate (maxevents 1)" 'grep -Eqx "rotation (11 12 11 12|12 11 12 11)" $o'
check "epoll_ctl: EINVAL, EEXIST, ENOENT, EFAULT as in-process" \
  'grep -q "^ok 30 EPOLLEXCLUSIVE|EPOLLONESHOT:" $o &&
   grep -q "^ok 32 MOD of an EPOLLEXCLUSIVE member:" $o &&
   grep -q "^ok 33 ADD twice:" $o &&
   grep -q "^ok 34 DEL of a non-member:" $o &&
   grep -q "^ok 36 event at " $o'
check "a pipe written after a simulated sleep wakes the wait; both kinds reported" \
  'grep -q "^ok 44 a write into the pipe after a sleep wakes the wait:" $o &&
   grep -q "^ok 49 level-triggered:" $o'
check "a member closed with its only descriptor reports nothing more" \
  'grep -q "^ok 54 the member went with it:" $o'
"$bin" run --seed 3 --trace "$tmp/t.txt" "$tmp/det.vmcis" >/dev/null
check "the trace has the in-process epoll records" \
  'grep -q "op=epoll_ctl_add" "$tmp/t.txt" && grep -q "op=epoll_ctl_mod" "$tmp/t.txt" &&
   grep -q "op=epoll_wait " "$tmp/t.txt"'

"$bin" run --artifacts "$tmp/r" "$tmp/rt.vmcis" >"$tmp/rt.txt"; rc=$?
o=$(ls "$tmp"/r/*/e.stdout 2>/dev/null | head -1)
check "realtime: passes, 57 ok lines" \
  '[ $rc -eq 0 ] && [ -n "$o" ] && [ "$(grep -c "^ok " "$o")" -eq 57 ]'

if [ $fails -ne 0 ]; then
    cat "$tmp/det.txt" "$tmp/rt.txt"
    for f in "$tmp"/a/*/*.stdout "$tmp"/r/*/*.stdout "$tmp"/r/*/*.stderr; do
        [ -f "$f" ] && { echo "== $f"; cat "$f"; }
    done
    echo "$fails check(s) failed"
    exit 1
fi
echo "all exec epoll checks passed"
