#!/bin/sh
# exec_python.sh VMCISIM MT_PROG SRCDIR - Python's own AF_VSOCK code and Python threads, and a
# pthreads C program, under `exec`:
#  - server on the host, client in a guest, data both ways, a migrate of the guest (EOF, EPIPE,
#    reconnect), exit statuses: 20 seeds, each twice with the same trace; the same seed from
#    two vmcisim processes gives the same line and the same program output;
#  - threads (mt_prog.c, py_threads.py): deterministic over 20 seeds, the same order for the
#    same seed, different orders across seeds;
#  - the same client/server and threads in realtime mode.
# python3 is a Debian package (python3): without it this test fails and says so.
set -u
bin=$1
mt=$2
src=$3
if ! command -v python3 >/dev/null 2>&1; then
    echo "FAIL: python3 is not installed (apt-get install python3); the exec tests need it"
    exit 1
fi
# the interpreter itself, not a wrapper script (pyenv's shims work too, but cost a shell)
py=$(python3 -c 'import sys; print(sys.executable)')
. "$(dirname "$0")/../checks.sh"
for f in py_migrate py_rt threads py_asyncio; do
    sed -e "s#@PYTHON@#$py#g" -e "s#@SRC@#$src#g" -e "s#@MT_PROG@#$mt#g" \
        "$src/tests/exec/$f.vmcis.in" >"$tmp/$f.vmcis"
done

# --- python client/server and migrate
"$bin" run --seeds 1..20 -j 2 --check-determinism "$tmp/py_migrate.vmcis" >"$tmp/m.txt"; rc=$?
check "python + migrate: 20 seeds pass, each twice with the same trace" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/m.txt")" -eq 20 ]'
"$bin" run --seed 3 --artifacts "$tmp/a" "$tmp/py_migrate.vmcis" >"$tmp/m3a.txt"
"$bin" run --seed 3 --artifacts "$tmp/b" "$tmp/py_migrate.vmcis" >"$tmp/m3b.txt"
check "the same seed from two processes: the same line" 'cmp -s "$tmp/m3a.txt" "$tmp/m3b.txt"'
d=$tmp/a/py_migrate.vmcis.seed3
check "... and the same output" 'cmp -s $d/cli.stdout "$tmp/b/py_migrate.vmcis.seed3/cli.stdout"'
# vmci-semantics.md (vMotion): the connection is dropped; Linux: EOF, then EPIPE on a write
check "client: echo, EOF after the migrate, EPIPE, reconnect" \
  '[ "$(cat $d/cli.stdout)" = "$(printf "echo1 True 1000.001\neof after migrate True\nsend after eof EPIPE\necho2 b'"'"'again'"'"'")" ]'
check "server: two connections from cid 3" \
  'grep -qx "conn 0 from cid 3" $d/srv.stdout && grep -qx "conn 1 from cid 3" $d/srv.stdout &&
   grep -qx "conn 1 echoed 5" $d/srv.stdout'
check "no Python traceback" '[ ! -s $d/cli.stderr ] && [ ! -s $d/srv.stderr ]'
"$bin" run --seed 3 --trace "$tmp/m3.trace" "$tmp/py_migrate.vmcis" >/dev/null
check "the EPIPE write's SIGPIPE is in the trace, ignored (Python ignores SIGPIPE)" \
  '[ "$(grep -c " cli signal pid=[0-9]* sig=SIGPIPE action=ignored$" "$tmp/m3.trace")" -eq 1 ]'

# --- threads
"$bin" run --seeds 1..20 -j 2 --check-determinism "$tmp/threads.vmcis" >"$tmp/t.txt"; rc=$?
check "threads: 20 seeds pass, each twice with the same trace" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/t.txt")" -eq 20 ]'
for s in 1 2 3; do
    "$bin" run --seed $s --artifacts "$tmp/t$s" "$tmp/threads.vmcis" >/dev/null
done
"$bin" run --seed 1 --artifacts "$tmp/t1b" "$tmp/threads.vmcis" >/dev/null
o1=$tmp/t1/threads.vmcis.seed1
check "pthreads: counts right, timed wait ended by simulated time" \
  'grep -qx "counter 100" $o1/mt.stdout && grep -qx "consumed 820" $o1/mt.stdout &&
   grep -qx "timedwait ETIMEDOUT" $o1/mt.stdout && grep -qx "count 60" $o1/pyt.stdout'
check "the same seed: the same thread order (C and Python)" \
  'cmp -s $o1/mt.stdout "$tmp/t1b/threads.vmcis.seed1/mt.stdout" &&
   cmp -s $o1/pyt.stdout "$tmp/t1b/threads.vmcis.seed1/pyt.stdout"'
n=$(cat "$tmp"/t[123]/threads.vmcis.seed*/mt.stdout | grep "^order" | sort -u | wc -l)
check "other seeds: other orders (3 seeds, 3 orders)" '[ "$n" -eq 3 ]'

# --- asyncio: epoll, epoll timeouts on simulated time, dup
"$bin" run --seeds 1..20 -j 2 --check-determinism "$tmp/py_asyncio.vmcis" >"$tmp/aio.txt"; rc=$?
check "asyncio: 20 seeds pass, each twice with the same trace" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^PASS " "$tmp/aio.txt")" -eq 20 ]'
"$bin" run --seed 2 --artifacts "$tmp/aio" "$tmp/py_asyncio.vmcis" >/dev/null
check "asyncio: 13000 bytes one way, 4 back over a dup, CID 3, sleep on simulated time" \
  'grep -q "^asyncio ok 13000 b.back. 3 3 True$" "$tmp/aio/py_asyncio.vmcis.seed2/aio.stdout"'

# --- realtime: the same programs run freely
"$bin" run --seeds 1..3 "$tmp/py_rt.vmcis" >"$tmp/rt.txt"; rc=$?
"$bin" run --realtime --seeds 1..3 "$tmp/threads.vmcis" >>"$tmp/rt.txt"; rc2=$?
check "realtime (a realtime line, and --realtime): python client/server and threads pass" \
  '[ $rc -eq 0 ] && [ $rc2 -eq 0 ] && [ "$(grep -c "^PASS .* mode=realtime" "$tmp/rt.txt")" -eq 6 ]'

if [ $fails -ne 0 ]; then
    cat "$tmp/m.txt" "$tmp/t.txt" "$tmp/aio.txt" "$tmp/rt.txt"
    echo "$fails check(s) failed"
    exit 1
fi
echo "all exec python/threads checks passed"
