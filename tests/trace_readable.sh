#!/bin/sh
# trace_readable.sh VMCISIM SRCDIR - the readable trace speaks the script's language
# (docs/scenarios.md §9, "The readable trace"): descriptors and sockets carry the names the script gave them, states
# and types their names, data records their first payload bytes on request
# (--trace-payload[=N]); none of it is hashed, so the run's hash is the one it had before.
set -u
bin=$1
src=$2
. "$(dirname "$0")/checks.sh"
cd "$src"
scen=tests/trace_readable.vmcis
hash_of() { sed 's/.* hash=\([0-9a-f]*\) .*/\1/' "$1"; }

only=event=sock-create,event=call,event=accepted,event=peer-shutdown,event=peer-detach,event=sock-release
"$bin" run --seed 1 --trace "$tmp/t.txt" --trace-payload --trace-filter $only $scen >"$tmp/t.out"
cat >"$tmp/want.txt" <<'WANT'
0.000000000 host/2 server sock-create sock=server.l(1) type=STREAM fd=l(67108864)
0.000000000 host/2 server call op=socket fd=-1 rc=l(67108864)
0.000000000 host/2 server call op=bind fd=l(67108864) rc=0
0.000000000 host/2 server call op=listen fd=l(67108864) rc=0
0.000100000 guest/7 client sock-create sock=client.s(2) type=STREAM fd=s(67108864)
0.000100000 guest/7 client call op=socket fd=-1 rc=s(67108864)
0.000100000 host/2 server accepted sock=server.c(3) fd=c(67108865) remote=7:345556590
0.000100000 host/2 server call op=accept fd=l(67108864) rc=c(67108865)
0.000100000 guest/7 client call op=connect fd=s(67108864) rc=0
0.000100000 guest/7 client call op=send fd=s(67108864) rc=12 data[12]=68656c6c6f20776f726c6421 "hello world!"
0.000100000 guest/7 client call op=shutdown fd=s(67108864) rc=0
0.000100000 host/2 kworker peer-shutdown sock=server.c(3) mode=SEND
0.000100000 host/2 server call op=recv fd=c(67108865) rc=12 data[12]=68656c6c6f20776f726c6421 "hello world!"
0.000100000 host/2 server call op=recv fd=c(67108865) rc=0
0.000100000 host/2 server sock-release sock=server.c(3) state=ESTABLISHED
0.000100000 host/2 server call op=close fd=c(67108865) rc=0
0.000100000 guest/7 kworker peer-detach sock=client.s(2) why=QP_PEER_DETACH state=CLOSE unread=0
0.000100000 host/2 server sock-release sock=server.l(1) state=LISTEN
0.000100000 host/2 server call op=close fd=l(67108864) rc=0
0.001600000 guest/7 client sock-release sock=client.s(2) state=CLOSE
0.001600000 guest/7 client call op=close fd=s(67108864) rc=0
WANT
if diff -u "$tmp/want.txt" "$tmp/t.txt" >"$tmp/diff.txt"; then
  ok "names of descriptors and sockets, state and type names, 16 payload bytes (exact records)"
else
  bad "the readable trace differs (- expected, + got):"; cat "$tmp/diff.txt"
fi

# The hash is that of the canonical records: the same without a trace, with a plain trace, and
# the one this run had before names existed (recorded then).
"$bin" run --seed 1 $scen >"$tmp/plain.out"
"$bin" run --seed 1 --trace "$tmp/p.txt" $scen >"$tmp/p.out"
check "the hash is the same with and without the readable text" \
  '[ "$(hash_of "$tmp/t.out")" = "$(hash_of "$tmp/plain.out")" ] && [ "$(hash_of "$tmp/p.out")" = "$(hash_of "$tmp/plain.out")" ]'
check "... and the one recorded before names and payloads were shown" \
  '[ "$(hash_of "$tmp/plain.out")" = 717dbb3b4abc1a31 ]'
check "without --trace-payload no data is shown" '! grep -q "data\[" "$tmp/p.txt" && grep -q " fd=s(67108864) rc=12$" "$tmp/p.txt"'

# --trace-payload=N: N bytes, ".." when the record moved more
"$bin" run --seed 1 --trace "$tmp/n.txt" --trace-payload=5 --trace-filter event=call,proc=client $scen >/dev/null
check "--trace-payload=5 shows 5 bytes and marks the rest" \
  'grep -qxF "0.000100000 guest/7 client call op=send fd=s(67108864) rc=12 data[12]=68656c6c6f.. \"hello\"" "$tmp/n.txt"'
"$bin" run --seed 1 --trace "$tmp/x.txt" --trace-payload=0 $scen >/dev/null 2>"$tmp/e.txt"; rc=$?
check "--trace-payload=0 is bad input (exit 2)" \
  '[ $rc -eq 2 ] && grep -q "^vmcisim run: --trace-payload= expects a byte count in 1..256, got .0.$" "$tmp/e.txt"'

# A refused connect names the errno of the stream's failure, not 104.
"$bin" run --seed 1 --trace "$tmp/r.txt" --trace-filter event=connect-failed scenarios/refused_backlog.vmcis >/dev/null
check "connect-failed shows errno=ECONNRESET on a named socket" \
  'grep -q "^0.000100000 client-vm/20 kworker connect-failed sock=client.s1(4) errno=ECONNRESET$" "$tmp/r.txt"'

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all readable-trace checks passed"
