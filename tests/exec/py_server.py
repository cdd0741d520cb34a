"""An AF_VSOCK echo server written against Python's own socket module (no vmcisim code): it
serves CONNS connections one after another, echoing each until the peer is gone, and prints
what it saw. Exit status 0 when every connection was served, 3 otherwise."""
import socket
import sys

port, conns = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
srv.bind((socket.VMADDR_CID_ANY, port))
srv.listen(4)
served = 0
for i in range(conns):
    c, (cid, cport) = srv.accept()
    print(f"conn {i} from cid {cid}", flush=True)
    total = 0
    while True:
        try:
            b = c.recv(65536)
        except OSError as e:          # the connection was reset (the guest migrated)
            print(f"conn {i} error {e.errno}", flush=True)
            break
        if not b:
            break
        c.sendall(b)
        total += len(b)
    print(f"conn {i} echoed {total}", flush=True)
    c.close()
    served += 1
srv.close()
sys.exit(0 if served == conns else 3)
