#!/usr/bin/env python3
"""A plain AF_VSOCK echo server, as it would run on a real host: nothing in it knows vmcisim.
Serves N connections (argv[2]) on port argv[1], then exits 0."""
import socket
import sys

port, conns = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
srv.bind((socket.VMADDR_CID_ANY, port))
srv.listen(conns)
print(f"listening on port {port}", flush=True)
for _ in range(conns):
    conn, (cid, peer_port) = srv.accept()
    with conn:
        data = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            conn.sendall(chunk)
            data += chunk
        print(f"echoed {len(data)} bytes to cid {cid}", flush=True)
srv.close()
