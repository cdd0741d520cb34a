#!/usr/bin/env python3
"""client.py SOCKET BYTES... - the outside end of the bridge tests (tests/bridge_cli.sh).

Connects to a Unix stream socket, sends each argument (Python escapes, e.g. 'CONNECT 5000\\n'),
one write per argument, then reads until end of file or 3 s of silence and prints what it read
as a Python bytes literal, then 'eof' or 'timeout'. Exit 0; 3 when it cannot connect.
"""
import socket
import sys


def main():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sys.argv[1])
    except OSError as e:
        print("connect failed: %s" % e)
        return 3
    for a in sys.argv[2:]:
        s.sendall(a.encode("latin-1").decode("unicode_escape").encode("latin-1"))
    s.settimeout(3.0)
    got = b""
    end = "eof"
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except socket.timeout:
        end = "timeout"
    except ConnectionResetError:
        end = "reset"
    print(repr(got))
    print(end)
    return 0


if __name__ == "__main__":
    sys.exit(main())
