"""asyncio over AF_VSOCK, unmodified: the event loop waits with epoll on vsock descriptors,
sleeps with an epoll timeout (simulated time), learns its CID from /dev/vsock, and sends on a
os.dup() of a vsock descriptor. Prints what it saw; exit status 0 when all of it held."""
import asyncio
import fcntl
import os
import socket
import struct
import sys
PORT = 7700
async def main():
    loop = asyncio.get_running_loop()
    srv = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    srv.bind((socket.VMADDR_CID_ANY, PORT)); srv.listen(); srv.setblocking(False)
    cli = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM); cli.setblocking(False)
    cid = socket.VMADDR_CID_HOST
    with open("/dev/vsock", "rb") as f:
        cid = struct.unpack("I", fcntl.ioctl(f, socket.IOCTL_VM_SOCKETS_GET_LOCAL_CID, b"    "))[0]
    conn_task = asyncio.ensure_future(loop.sock_accept(srv))
    await loop.sock_connect(cli, (cid, PORT))
    conn, addr = await conn_task
    await loop.sock_sendall(cli, b"hello asyncio" * 1000)
    got = b""
    while len(got) < 13000:
        got += await loop.sock_recv(conn, 65536)
    d = os.dup(conn.fileno())
    s2 = socket.socket(fileno=d)
    await loop.sock_sendall(s2, b"back")
    r = await loop.sock_recv(cli, 10)
    await asyncio.sleep(0.5)
    print("asyncio ok", len(got), r, cid, addr[0], loop.time() >= 0.5, flush=True)
    sys.exit(0 if len(got) == 13000 and r == b"back" else 1)
asyncio.run(main())
