#!/bin/sh
# scenario_pcap.sh TEST_SCENARIO_PCAP [VMCISIM SRCDIR] - reads the capture writer's output back with tshark
# (issue 6): a synthetic connection (control packets, stream payload both ways, a datagram, the
# disconnect) must show as vSocket records with the right op, CIDs, ports, transport NO_INFO,
# the 56-byte control header length and the payload bytes. tshark is installed if missing
# (as root); without root and without tshark the test is skipped (exit 77).
# Given the vmcisim tool too, it also captures scenarios/suspend_resume.vmcis end to end, once
# the sockets layer makes that scenario pass (until then that part says it is not run).
set -eu
bin=$1
tool=${2:-}
src=${3:-}
if ! command -v tshark >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: tshark is not installed and installing it needs root"
    exit 77
  fi
  echo "installing tshark"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" --write "$dir/s.pcap"
tshark -r "$dir/s.pcap" -T fields -E separator=, -e frame.number -e vsock.src_cid \
  -e vsock.src_port -e vsock.dst_cid -e vsock.dst_port -e vsock.op -e vsock.trans \
  -e vsock.trans_len -e vsock.payload -e frame.time_epoch >"$dir/fields.txt" 2>"$dir/err.txt" || {
  cat "$dir/err.txt"; exit 1; }
cat >"$dir/want.txt" <<'WANT'
1,3,1025,2,1234,1,1,56,,0.000002000
2,2,1234,3,1025,1,1,56,,0.000003000
3,3,1025,2,1234,1,1,56,,0.000004000
4,2,1234,3,1025,1,1,56,,0.000005000
5,3,1025,2,1234,3,1,56,,0.000006000
6,3,1025,2,1234,4,1,0,68656c6c6f,0.000007000
7,2,1234,3,1025,4,1,0,776f726c6421,0.000008000
8,4,1100,2,2049,4,1,0,70696e67,0.000009000
9,3,1025,2,1234,2,1,56,,0.000010000
10,4,1100,2,2049,4,1,24,706f6e67,0.000011000
11,3,1025,2,1234,3,1,56,,0.000012000
WANT
if ! diff -u "$dir/want.txt" "$dir/fields.txt"; then
  echo "FAIL: tshark reads the capture differently (diff above: - expected, + tshark)"
  exit 1
fi
# the one-line summary names the records as Wireshark's vsock dissector does
tshark -r "$dir/s.pcap" 2>/dev/null >"$dir/summary.txt"
for want in "3 → host  *vSocket 88 \[Connect\] No info" "vSocket 37 \[Payload\]" \
            "host → 3  *vSocket 38 \[Payload\]" "vSocket 88 \[Disconnect\]" "vSocket 88 \[Control\]"; do
  grep -q "$want" "$dir/summary.txt" || { echo "FAIL: no line matching '$want' in:"; \
    cat "$dir/summary.txt"; exit 1; }
done
echo "PASS: tshark decodes connect, control, payload and disconnect records"

# tools/wireshark/vmci.lua names what is inside: the control packets' types and fields and the
# datagram header. tshark ignores Lua scripts as root, so it runs as nobody there.
lua="$(dirname "$0")/../tools/wireshark/vmci.lua"
cp "$lua" "$dir/vmci.lua"
chmod 755 "$dir"
chmod 644 "$dir/vmci.lua" "$dir/s.pcap"
as_user=""
[ "$(id -u)" -eq 0 ] && as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
HOME="$dir" $as_user tshark -X lua_script:"$dir/vmci.lua" -r "$dir/s.pcap" -T fields \
  -E separator=, -e frame.number -e _ws.col.Protocol -e vmci.type_name -e vmci.size \
  -e vmci.proto -e vmci.qp_handle.context -e vmci.mode -e vmci.wait.generation \
  -e vmci.wait.offset -e vmci.dg.src.context -e vmci.dg.src.resource -e vmci.dg.dst.resource \
  -e vmci.dg.payload_size >"$dir/lua.txt" 2>"$dir/lua-err.txt" || { cat "$dir/lua-err.txt"; exit 1; }
cat >"$dir/lua-want.txt" <<'WANT'
1,VMCI,REQUEST2,262144,0x0000,,,,,4294967295,1,1,32
2,VMCI,NEGOTIATE2,262144,0x0000,,,,,4294967295,1,1,32
3,VMCI,OFFER,,0x0000,262144,,,,4294967295,1,1,32
4,VMCI,ATTACH,,0x0000,262144,,,,4294967295,1,1,32
5,VMCI,WROTE,,0x0000,,,,,4294967295,1,1,32
6,vSocket,,,,,,,,,,,
7,vSocket,,,,,,,,,,,
8,vSocket,,,,,,,,,,,
9,VMCI,SHUTDOWN,,0x0000,,0x0000000000000003,,,4294967295,1,1,32
10,VMCI,,,,,,,,4,1100,2049,4
11,VMCI,WAITING_READ,,0x0000,,,7,4096,4294967295,1,1,32
WANT
if ! diff -u "$dir/lua-want.txt" "$dir/lua.txt"; then
  echo "FAIL: vmci.lua decodes the capture differently (diff above: - expected, + tshark)"
  exit 1
fi
HOME="$dir" $as_user tshark -X lua_script:"$dir/vmci.lua" -r "$dir/s.pcap" 2>/dev/null >"$dir/lua-summary.txt"
for want in "VMCI REQUEST2 size=262144 proto=none" "VMCI SHUTDOWN mode=RCV|SEND" \
            "VMCI DATAGRAM 4:1100 -> 2:2049 size=4" "VMCI WAITING_READ generation=7 offset=4096"; do
  grep -qF "$want" "$dir/lua-summary.txt" || { echo "FAIL: no line with '$want' in:"; \
    cat "$dir/lua-summary.txt"; exit 1; }
done
echo "PASS: vmci.lua names the control packets, their fields and the datagram header"

[ -n "$tool" ] || exit 0
if ! "$tool" run --seed 1 --pcap "$dir/e2e.pcap" "$src/scenarios/suspend_resume.vmcis" >"$dir/e2e.txt"; then
  echo "end-to-end capture not checked: the scenario does not pass yet (sockets layer?):"
  cut -c1-200 "$dir/e2e.txt"
  exit 0
fi
tshark -r "$dir/e2e.pcap" -T fields -E separator=, -e vsock.src_cid -e vsock.dst_cid \
  -e vsock.dst_port -e vsock.op -e vsock.trans_len -e vsock.payload 2>/dev/null >"$dir/e2e-fields.txt"
for want in "7,2,5000,1,56," "2,7,.*,1,56," "7,2,5000,4,0,68656c6c6f" "2,7,.*,4,0,776f726c64" \
            "7,2,5000,4,0,616761696e" "2,7,.*,4,0,66696e65"; do
  grep -q "^$want\$" "$dir/e2e-fields.txt" || { echo "FAIL: end to end, no record '$want' in:"; \
    cat "$dir/e2e-fields.txt"; exit 1; }
done
echo "PASS: end to end, the capture of suspend_resume shows its connects and payloads"

# pcapng: the same frames, plus a comment on an empty frame for each lifecycle action and for
# the failed expectation.
"$tool" run --seed 3 --pcap "$dir/e2e.pcapng" "$src/scenarios/suspend_resume.vmcis" >/dev/null
tshark -r "$dir/e2e.pcapng" -T fields -E separator=, -e frame.time_epoch -e frame.len \
  -e vsock.op -e frame.comment 2>/dev/null >"$dir/ng.txt"
for want in "0.010100000,0,,vmcisim: suspend guest (cid 7)" "0.030100000,0,,vmcisim: resume guest (cid 7)" \
            "0.000100000,88,1," "0.000100000,37,4,"; do
  grep -qF "$want" "$dir/ng.txt" || { echo "FAIL: pcapng, no record '$want' in:"; cat "$dir/ng.txt"; exit 1; }
done
[ "$(grep -c ',88,1,delivered at ' "$dir/ng.txt")" = "$(tshark -r "$dir/e2e.pcap" -Y 'vsock.op == 1' 2>/dev/null | wc -l)" ] || {
  echo "FAIL: pcapng and pcap disagree on the connect records"; exit 1; }
"$tool" run --seed 8 --pcap "$dir/fail.pcapng" "$src/tests/scenario_broken.vmcis" >/dev/null || true
tshark -r "$dir/fail.pcapng" -T fields -e frame.comment 2>/dev/null >"$dir/ngf.txt"
grep -q "^expectation failed: .*scenario_broken.vmcis:12: expected success, got EINVAL (suspend in operator)$" "$dir/ngf.txt" || {
  echo "FAIL: pcapng, the failed expectation is not a comment:"; cat "$dir/ngf.txt"; exit 1; }
echo "PASS: pcapng carries the frames and comments for lifecycle actions and the failed expectation"

# ... and a comment where the hypervisor dropped a datagram (here the scenario's drop knob),
# at the drop's time, without changing the run's hash.
"$tool" run --seed 2 --pcap "$dir/drop.pcapng" "$src/scenarios/dgram_loss.vmcis" >"$dir/drop.out"
"$tool" run --seed 2 "$src/scenarios/dgram_loss.vmcis" >"$dir/drop2.out"
tshark -r "$dir/drop.pcapng" -T fields -e frame.comment -Y frame.comment 2>/dev/null >"$dir/drops.txt"
grep -q "^vmcisim: dg-drop src=[0-9]*:[0-9]* dst=[0-9]*:[0-9]* size=[0-9]* reason=fault-drop$" "$dir/drops.txt" || {
  echo "FAIL: pcapng, no comment for a dropped datagram:"; head -5 "$dir/drops.txt"; exit 1; }
[ "$(sed 's/.* hash=\([0-9a-f]*\) .*/\1/' "$dir/drop.out")" = "$(sed 's/.* hash=\([0-9a-f]*\) .*/\1/' "$dir/drop2.out")" ] || {
  echo "FAIL: writing the capture changed the run's hash"; exit 1; }
echo "PASS: pcapng comments where datagrams were dropped, the hash unchanged"

# Delivery times (docs/scenarios.md §10): in pcapng each frame's timestamp is its send time and
# its comment says when it arrived. In clog.vmcis the guest is clogged for 50 ms from 0.1 ms
# (docs/scenarios.md §6, "Holds and clogs": delayed, never lost): its WROTE notice and three
# datagrams sent at 5.1 ms arrive at 50.1 ms, while the stream bytes sit in the queue pair at
# once.
"$tool" run --seed 2 --pcap "$dir/clog.pcapng" "$src/scenarios/clog.vmcis" >"$dir/clog.out"
"$tool" run --seed 2 "$src/scenarios/clog.vmcis" >"$dir/clog2.out"
tshark -r "$dir/clog.pcapng" -T fields -E separator=, -e frame.number -e frame.time_epoch \
  -e vsock.src_cid -e vsock.dst_cid -e vsock.op -e frame.len -e frame.comment 2>/dev/null \
  | sed 's/ *$//' >"$dir/clog.txt"
cat >"$dir/clog-want.txt" <<'WANT'
1,0.000100000,9,2,1,88,delivered at 0.000100000 (+0.000000000)
2,0.000100000,2,9,1,88,delivered at 0.000100000 (+0.000000000)
3,0.000100000,9,2,1,88,delivered at 0.000100000 (+0.000000000)
4,0.000100000,2,9,1,88,delivered at 0.000100000 (+0.000000000)
5,0.005100000,9,2,4,37,delivered at 0.005100000 (+0.000000000)
6,0.005100000,9,2,3,88,delivered at 0.050100000 (+0.045000000)
7,0.005100000,9,2,4,59,delivered at 0.050100000 (+0.045000000)
8,0.005100000,9,2,4,59,delivered at 0.050100000 (+0.045000000)
9,0.005100000,9,2,4,61,delivered at 0.050100000 (+0.045000000)
10,0.050100000,2,9,4,35,delivered at 0.050100000 (+0.000000000)
11,0.050100000,2,9,3,88,delivered at 0.050100000 (+0.000000000)
WANT
if ! diff -u "$dir/clog-want.txt" "$dir/clog.txt"; then
  echo "FAIL: pcapng delivery times differ (diff above: - expected, + tshark)"; exit 1
fi
[ "$(sed 's/.* hash=\([0-9a-f]*\) .*/\1/' "$dir/clog.out")" = "$(sed 's/.* hash=\([0-9a-f]*\) .*/\1/' "$dir/clog2.out")" ] || {
  echo "FAIL: writing delivery times changed the run's hash"; exit 1; }
# A dropped datagram never arrives: as many frames say so as the hypervisor dropped datagrams.
ndrop=$(grep -c "^vmcisim: dg-drop " "$dir/drops.txt")
nlost=$(tshark -r "$dir/drop.pcapng" -T fields -e frame.comment 2>/dev/null | grep -c "^not delivered by the end of the run *$")
[ "$ndrop" -gt 0 ] && [ "$ndrop" = "$nlost" ] || {
  echo "FAIL: $ndrop datagrams dropped but $nlost frames not delivered"; exit 1; }
# vmci.lua reads the comments into fields
mkdir -p "$dir/lua"
cp "$dir/clog.pcapng" "$dir/drop.pcapng" "$dir/lua/"
chmod 755 "$dir/lua"; chmod 644 "$dir/lua/"*
HOME="$dir" $as_user tshark -X lua_script:"$dir/vmci.lua" -r "$dir/lua/clog.pcapng" -T fields \
  -E separator=, -e frame.number -e vmci.type_name -e vmci.delivered -e vmci.transit \
  -Y 'vmci.transit > 0.04' >"$dir/lua-clog.txt" 2>"$dir/lua-err.txt" || { cat "$dir/lua-err.txt"; exit 1; }
cat >"$dir/lua-clog-want.txt" <<'WANT'
6,WROTE,0.0501,0.045
7,,0.0501,0.045
8,,0.0501,0.045
9,,0.0501,0.045
WANT
if ! diff -u "$dir/lua-clog-want.txt" "$dir/lua-clog.txt"; then
  echo "FAIL: vmci.lua shows delivery times differently (diff above: - expected, + tshark)"; exit 1
fi
HOME="$dir" $as_user tshark -X lua_script:"$dir/vmci.lua" -r "$dir/lua/clog.pcapng" 2>/dev/null >"$dir/lua-clog-sum.txt"
grep -qF "VMCI WROTE delivered +0.045000000s" "$dir/lua-clog-sum.txt" || {
  echo "FAIL: vmci.lua's Info column lacks the delivery:"; cat "$dir/lua-clog-sum.txt"; exit 1; }
nundel=$(HOME="$dir" $as_user tshark -X lua_script:"$dir/vmci.lua" -r "$dir/lua/drop.pcapng" -Y vmci.undelivered 2>/dev/null | wc -l)
[ "$nundel" = "$ndrop" ] || { echo "FAIL: vmci.undelivered on $nundel frames, $ndrop dropped"; exit 1; }
echo "PASS: pcapng frames carry their delivery time (held ones late, dropped ones never), read by vmci.lua"
