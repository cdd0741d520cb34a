#!/bin/sh
# bridge_cli.sh VMCISIM SRCDIR - the hybrid-vsock bridge (docs/bridge.md, formats.md §2.1)
# from outside the world, as a user drives it: socat and Python on the bridge's Unix socket,
# a guest reaching an outside `socat UNIX-LISTEN` at PATH_P, bad command lines, the refusal of
# a deterministic run, and `vmcisim serve` with `vmcisim ctl` against the running world.
# Every check compares exact bytes or exit statuses. Realtime (ctest label realtime).
set -u
bin=$1
src=$2
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
for tool in socat python3; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "FAIL: $tool is missing; install it (Debian: apt-get install $tool)"
        exit 1
    fi
done
# sun_path holds 108 bytes: a short directory
tmp=$(mktemp -d /tmp/vbr.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
client="python3 $src/tests/bridge/client.py"

wait_listen() { # PATH: until a socket listens there, 10 s at most (the file appears at bind,
                # before listen: a connect in between would be refused)
    i=0
    while [ $i -lt 200 ] && ! awk -v p="$1" '$NF == p && $4 == "00010000" { f = 1 } END { exit !f }' /proc/net/unix; do
        sleep 0.05
        i=$((i + 1))
    done
}

# ---- outside -> guest with socat: the OK line, host port 2^30, bytes both ways
cat >"$tmp/a.vmcis" <<EOS
scenario "bridge: socat reaches a guest listener"
limit 60s
vm g1 cid 3
bridge g1 "$tmp/v.sock"
process server on g1
  l = socket stream
  bind l any:5000
  listen l 4
  c = accept l
  getpeername c -> host:1073741824   # formats.md §2.1: the first host-side port is 2^30
  recv c 6 waitall -> "hello\n"      # the bytes after CONNECT's newline are stream data
  send c "world\n" -> 6
  recv c 10 -> eof                   # socat's end of input reaches the guest as EOF
  close c
end
EOS
timeout 60 "$bin" run --realtime "$tmp/a.vmcis" >"$tmp/a.out" 2>&1 &
pid=$!
wait_listen "$tmp/v.sock"
(printf 'CONNECT 5000\nhello\n'; sleep 2) | timeout 20 socat -t 5 - "UNIX-CONNECT:$tmp/v.sock" >"$tmp/a.got"
wait $pid; rc=$?
printf 'OK 1073741824\nworld\n' >"$tmp/a.want"
check "socat gets exactly 'OK 1073741824\\nworld\\n'" 'cmp -s "$tmp/a.got" "$tmp/a.want"'
check "the guest's expectations hold (exit 0, PASS)" '[ $rc -eq 0 ] && grep -q "^PASS " "$tmp/a.out"'
check "the socket file is removed at the end" '[ ! -e "$tmp/v.sock" ]'

# ---- bad command lines close with no text; lowercase connect works; data after \n is kept
cat >"$tmp/b.vmcis" <<EOS
scenario "bridge: command lines"
limit 60s
vm g1 cid 3
bridge g1 "$tmp/v.sock"
process server on g1
  l = socket stream
  bind l any:5001
  listen l 4
  mark listening
  c = accept l
  getpeername c -> host:1073741825   # round-robin: the refused attempt took 2^30
  recv c 3 waitall -> "abc"
  send c "def" -> 3
  sleep 1s                           # the bridge reads "def" before the close (§2.12)
  close c
end
EOS
timeout 60 "$bin" run --realtime "$tmp/b.vmcis" >"$tmp/b.out" 2>&1 &
pid=$!
wait_listen "$tmp/v.sock"
: >"$tmp/b.got"
for cmd in 'HELLO 5001\n' 'CONNECT x\n' 'CONNECT\n' 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' 'CONNECT 5999\n' \
           'connect 5001\nabc'; do
    $client "$tmp/v.sock" "$cmd" >>"$tmp/b.got"
done
wait $pid; rc=$?
cat >"$tmp/b.want" <<'EOS'
b''
eof
b''
eof
b''
eof
b''
eof
b''
eof
b'OK 1073741825\ndef'
eof
EOS
check "wrong keyword, bad port, no port, 32 bytes with no newline and a refused port: closed with no text; 'connect' in lower case works and keeps 'abc'" 'cmp -s "$tmp/b.got" "$tmp/b.want"'
check "the guest's expectations hold (exit 0)" '[ $rc -eq 0 ] && grep -q "^PASS " "$tmp/b.out"'

# ---- guest -> outside: connect to host port P reaches PATH_P; nothing there: ECONNRESET
cat >"$tmp/c.vmcis" <<EOS
scenario "bridge: a guest reaches outside listeners"
limit 60s
vm g1 cid 3
bridge g1 "$tmp/v.sock"
process client on g1
  s = socket stream
  connect s host:52
  getpeername s -> host:52
  send s "ping from guest\n" -> 16
  recv s 5 waitall -> "pong\n"
  sleep 1s                           # the bridge reads the ping before the close (§2.12)
  close s
  t = socket stream
  connect t host:53 -> ECONNRESET    # nothing at PATH_53: reset, as Firecracker (§2.1, vmci-semantics §2.5)
end
EOS
(printf 'pong\n'; sleep 2) | timeout 30 socat -t 5 "UNIX-LISTEN:$tmp/v.sock_52" - >"$tmp/c.got" &
spid=$!
wait_listen "$tmp/v.sock_52"
timeout 60 "$bin" run --realtime "$tmp/c.vmcis" >"$tmp/c.out" 2>&1; rc=$?
wait $spid
printf 'ping from guest\n' >"$tmp/c.want"
check "the outside socat UNIX-LISTEN at PATH_52 gets exactly the guest's bytes" 'cmp -s "$tmp/c.got" "$tmp/c.want" || { cat "$tmp/c.out"; false; }'
check "the guest reads 'pong\\n' and a connect to an empty PATH_53 fails with ECONNRESET (exit 0)" \
  '[ $rc -eq 0 ] && grep -q "^PASS " "$tmp/c.out"'

# ---- a deterministic run refuses a bridge: bad input, exit 2, says why
"$bin" run "$tmp/a.vmcis" >"$tmp/d.out" 2>&1; rc=$?
check "vmcisim run (deterministic) with a bridge exits 2" '[ $rc -eq 2 ]'
check "... naming the line and the reason" \
  'grep -q "a.vmcis:4:1: expected a realtime run (vmcisim run --realtime, a .realtime. line in the file, or vmcisim serve), got a deterministic one: .bridge. lets programs outside the world in, and they run on the wall clock" "$tmp/d.out"'
check "... and runs nothing (no socket file)" '[ ! -e "$tmp/v.sock" ]'

# ---- vmcisim serve + vmcisim ctl against the running world
cat >"$tmp/e.vmcis" <<EOS
scenario "served echo"
vm g1 cid 3
bridge g1 "$tmp/s.sock"
program echo echo-server on g1 port 5000
EOS
"$bin" serve "$tmp/e.vmcis" --control "$tmp/ctl.sock" >"$tmp/e.out" 2>&1 &
pid=$!
wait_listen "$tmp/ctl.sock"
timeout 120 python3 "$src/tests/bridge/serve_driver.py" "$bin" "$tmp/s.sock" "$tmp/ctl.sock" >"$tmp/e.got" 2>&1
kill -INT $pid
wait $pid; rc=$?
cat >"$tmp/e.want" <<EOS
echo: b'OK 1073741824\nabc'
ctl status -> 0
  out: vm host cid 2 running ft=off
  out: vm g1 cid 3 running ft=off
  out: bridge g1 $tmp/s.sock
  out: conn g1 1 outside->guest host:1073741824 -> g1:5000 open to_guest=3 to_outside=3
ctl suspend g1 -> 0
while suspended: nothing
connect while suspended: b'' after 2 s or more
ctl status -> 0
  out: vm host cid 2 running ft=off
  out: vm g1 cid 3 suspended ft=off
  out: bridge g1 $tmp/s.sock
  out: conn g1 1 outside->guest host:1073741824 -> g1:5000 open to_guest=3 to_outside=3
ctl resume g1 -> 0
after resume: b''
reconnected: b'OK 1073741826\nagain'
ctl migrate g1 -> 0
after migrate: b''
reconnected: b'OK 1073741827\nthird'
ctl ft-failover g1 -> 0
after ft-failover: b''
reconnected: b'OK 1073741828\nfourth'
ctl power-off g1 -> 0
after power-off: b''
ctl resume g1 -> 1
  err: vmcisim ctl: resume g1 refused: EINVAL (VM is powered-off)
ctl suspend g2 -> 2
  err: vmcisim ctl: no VM 'g2'; did you mean 'g1'?
ctl reboot g1 -> 2
  err: vmcisim ctl: expected 'status' or an action and a VM (suspend, resume, migrate, power-off, ft-on, ft-off, ft-failover, hold, release), got 'reboot g1'
ctl status -> 0
  out: vm host cid 2 running ft=off
  out: vm g1 cid 3 powered-off ft=off
  out: bridge g1 $tmp/s.sock
EOS
check "serve + ctl: status; suspend holds traffic and a new CONNECT times out (2000 ms) with no text; resume, migrate, ft-failover and power-off end the outside stream; errors exit 1/2" \
  'cmp -s "$tmp/e.got" "$tmp/e.want" || { diff "$tmp/e.want" "$tmp/e.got"; false; }'
cat >"$tmp/e.want2" <<EOS
serving $tmp/e.vmcis (realtime; SIGINT or SIGTERM stops it)
bridge g1 $tmp/s.sock
control $tmp/ctl.sock
stopped by SIGINT
EOS
check "serve prints its paths, stops on SIGINT with exit 0" \
  '[ $rc -eq 0 ] && cmp -s "$tmp/e.out" "$tmp/e.want2" || { cat "$tmp/e.out"; false; }'
check "serve removes the bridge and control sockets" '[ ! -e "$tmp/s.sock" ] && [ ! -e "$tmp/ctl.sock" ]'

# ---- serve --until-done ends with the file's processes and judges the file
cat >"$tmp/f.vmcis" <<EOS
scenario "served until done"
vm g1 cid 3
bridge g1 "$tmp/u.sock"
process server on g1
  l = socket stream
  bind l any:6000
  listen l 1
  c = accept l
  recv c 4 waitall -> "done"
  sleep 200ms
  close c
end
check server.accepted == 1
EOS
timeout 60 "$bin" serve --until-done "$tmp/f.vmcis" >"$tmp/f.out" 2>&1 &
pid=$!
wait_listen "$tmp/u.sock"
$client "$tmp/u.sock" 'CONNECT 6000\ndone' >"$tmp/f.got"
wait $pid; rc=$?
cat >"$tmp/f.want" <<'EOS'
b'OK 1073741824\n'
eof
EOS
check "serve --until-done: the outside end sees OK, then EOF when the guest closes" \
  'cmp -s "$tmp/f.got" "$tmp/f.want" || { cat "$tmp/f.got"; false; }'
check "serve --until-done ends with the processes, judges the checks: PASS, exit 0" \
  '[ $rc -eq 0 ] && grep -q "^PASS $tmp/f.vmcis seed=1 mode=realtime " "$tmp/f.out" || { cat "$tmp/f.out"; false; }'

# ---- a failure while served is reported when a signal stops it: exit 1
cat >"$tmp/g.vmcis" <<EOS
vm g1 cid 3
bridge g1 "$tmp/g.sock"
process p on g1
  s = socket stream
  connect s host:9 -> 0              # nothing at host:9 nor at PATH_9: ECONNRESET
end
EOS
"$bin" serve "$tmp/g.vmcis" >"$tmp/g.out" 2>&1 &
pid=$!
wait_listen "$tmp/g.sock"
sleep 1   # the connect fails within milliseconds of the start; nothing outside shows it
kill -TERM $pid
wait $pid; rc=$?
check "serve stopped by SIGTERM after a failed expectation exits 1 and names it" \
  '[ $rc -eq 1 ] && grep -qx "stopped by SIGTERM after a failure: $tmp/g.vmcis:5: expected 0, got ECONNRESET (connect in p)" "$tmp/g.out" || { cat "$tmp/g.out"; false; }'

if [ $fails -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all bridge checks passed"
