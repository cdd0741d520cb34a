#!/usr/bin/env python3
"""A plain AF_VSOCK client, as it would run in a real guest: connects to the host (CID 2) on
port argv[1], retrying while the server is not up yet, sends a greeting, half-closes, and checks
that the echo is exactly what it sent. Exit status 0 when it is, 1 otherwise."""
import socket
import sys
import time

port = int(sys.argv[1])
msg = b"hello from the guest " * 100
for attempt in range(100):
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    try:
        s.connect((socket.VMADDR_CID_HOST, port))
        break
    except (ConnectionResetError, ConnectionRefusedError, TimeoutError):
        s.close()
        time.sleep(0.01)  # simulated time under vmcisim: costs no wall time
else:
    sys.exit("server never came up")
s.sendall(msg)
s.shutdown(socket.SHUT_WR)
echo = b""
while chunk := s.recv(4096):
    echo += chunk
s.close()
print(f"got {len(echo)} bytes back, {'same' if echo == msg else 'DIFFERENT'}", flush=True)
sys.exit(0 if echo == msg else 1)
