"""An AF_VSOCK client written against Python's own socket module: it exchanges data with the
host's echo server, then waits on the connection while the scenario migrates its VM. Linux
(and vmci-semantics.md, vMotion) says: the read sees end of file, a write then fails with EPIPE;
it reconnects and talks again. Prints each step; exit status 0 only if all of it held."""
import errno
import os
import socket
import sys
import time

port = int(sys.argv[1])
migrate = len(sys.argv) < 3 or sys.argv[2] != "nomigrate"


def connect():
    # Realtime: the server may still be starting (VMCI refuses with ECONNRESET): try again.
    for _ in range(1000):
        s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        try:
            s.connect((socket.VMADDR_CID_HOST, port))
            return s
        except ConnectionResetError:
            s.close()
            time.sleep(0.01)
    sys.exit(7)


s = connect()
msg = os.urandom(8).hex().encode() + b" from the guest"
s.sendall(msg)
got = b""
while len(got) < len(msg):
    got += s.recv(4096)
print("echo1", got == msg, time.monotonic(), flush=True)
if not migrate:                       # realtime: no fault timing to rely on
    s.close()
    sys.exit(0 if got == msg else 6)
b = s.recv(4096)                      # the VM migrates while we wait here
print("eof after migrate", b == b"", flush=True)
try:
    s.send(b"x")
    print("send after eof succeeded", flush=True)
    sys.exit(4)
except BrokenPipeError as e:
    print("send after eof", errno.errorcode[e.errno], flush=True)
s.close()
s = connect()
s.sendall(b"again")
got = s.recv(4096)
print("echo2", got, flush=True)
s.close()
sys.exit(0 if got == b"again" else 5)
