#!/bin/sh
# The main job: build vmcisim, then run the guide's RabbitMQ use case as a scenario (a message
# broker on the host, publishers and consumers in three guests, over VMCI stream sockets) over
# five seeds, each checked for determinism, and show a piece of the trace of seed 1.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
out=$(mktemp -d)
echo "== vmcisim run --seeds 1..5 --check-determinism scenarios/amqp_broker.vmcis"
./build/vmcisim run --seeds 1..5 --check-determinism \
  --trace "$out/broker.txt" --pcap "$out/broker.pcap" scenarios/amqp_broker.vmcis
echo
echo "== the handshake of the first connection, from the trace of seed 1 ($out/broker.amqp_broker.1.txt)"
grep -m 12 -E "call op=(socket|listen|connect|accept)|pkt-send type=(REQUEST2|NEGOTIATE2|OFFER|ATTACH)|established" \
  "$out/broker.amqp_broker.1.txt" || true
echo
echo "A LINKTYPE_VSOCK capture of each run is in $out (open it with wireshark or tshark -r)."
