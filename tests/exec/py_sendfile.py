"""Python's own sendfile users over AF_VSOCK, unmodified (src/preload/sendfile.c): socket.sendfile()
on a blocking socket and asyncio's loop.sock_sendfile() (os.sendfile on a non-blocking socket,
waiting with epoll whenever the queue is full) each send a 1 MiB file of known bytes to the host
server (exec_sendfile.c `check`), which checks every byte. Usage: py_sendfile.py CID PORT DIR.
Prints what it saw; exit status 0 when all of it held."""
import asyncio
import os
import socket
import sys

SIZE = 1024 * 1024
cid, port, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
path = os.path.join(d, "py_sendfile.%d.data" % os.getpid())  # runs may overlap
with open(path, "wb") as f:
    f.write(bytes(((i * 7 + i // 251 + 3) & 0xFF) for i in range(SIZE)))
ok = True


def report(what, got, want):
    global ok
    ok = ok and got == want
    print("%s %s: %r" % ("ok" if got == want else "FAIL", what, got))


def finish(s):
    # the host must read it all before the guest's close takes the queue away (exec_sendfile.c)
    s.shutdown(socket.SHUT_WR)
    report("the server read everything and closed", s.recv(1), b"")
    s.close()


with open(path, "rb") as f:
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.connect((cid, port))
    report("socket.sendfile sent", s.sendfile(f), SIZE)
    report("the file's position after it", f.tell(), SIZE)
    finish(s)


async def main():
    loop = asyncio.get_running_loop()
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.setblocking(False)
    await loop.sock_connect(s, (cid, port))
    with open(path, "rb") as f:
        report("loop.sock_sendfile sent", await loop.sock_sendfile(s, f, 0, fallback=False), SIZE)
    s.shutdown(socket.SHUT_WR)
    report("the server read everything and closed", await loop.sock_recv(s, 1), b"")
    s.close()


asyncio.run(main())
os.unlink(path)
sys.exit(0 if ok else 1)
