#!/usr/bin/env python3
"""serve_driver.py VMCISIM BRIDGE CONTROL - drives `vmcisim serve` for tests/bridge_cli.sh.

An outside connection through the bridge to the guest's echo server, then `vmcisim ctl` status,
suspend, resume, power-off against the running world; every outcome is printed, one per line,
for the shell test to compare with the expected transcript.
"""
import socket
import subprocess
import sys
import time

vmcisim, bridge, control = sys.argv[1:4]


def ctl(*args):
    p = subprocess.run([vmcisim, "ctl", control] + list(args), capture_output=True, text=True,
                       timeout=20)
    print("ctl %s -> %d" % (" ".join(args), p.returncode))
    for line in p.stdout.splitlines():
        print("  out: " + line)
    for line in p.stderr.splitlines():
        print("  err: " + line)


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        b = s.recv(n - len(got))
        if not b:
            break
        got += b
    return got


def connect(data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(bridge)
    s.sendall(data)
    return s


# data both ways, then the world as `status` shows it
s = connect(b"CONNECT 5000\nabc")
print("echo: %r" % recv_exact(s, len(b"OK 1073741824\nabc")))
ctl("status")
# suspend: the guest stops, what the outside sends waits
ctl("suspend", "g1")
s.sendall(b"xyz")
s.settimeout(0.5)
try:
    print("while suspended: %r" % s.recv(100))
except socket.timeout:
    print("while suspended: nothing")
s.settimeout(10)
# a new connection to a suspended guest gets no answer: closed with no text after 2000 ms
t = connect(b"CONNECT 5000\n")
t0 = time.monotonic()
got = t.recv(100)
waited = time.monotonic() - t0
print("connect while suspended: %r after %s" % (got, "2 s or more" if waited >= 1.9 else "%.3f s" % waited))
t.close()
ctl("status")
# resume: VMCI streams of the VM are lost (vmci-semantics.md §6): the outside reads EOF
ctl("resume", "g1")
print("after resume: %r" % s.recv(100))
s.close()
# a new connection works again; vMotion and an FT failover drop it as well
s = connect(b"CONNECT 5000\nagain")
print("reconnected: %r" % recv_exact(s, len(b"OK 1073741826\nagain")))
ctl("migrate", "g1")
print("after migrate: %r" % s.recv(100))
s.close()
s = connect(b"CONNECT 5000\nthird")
print("reconnected: %r" % recv_exact(s, len(b"OK 1073741827\nthird")))
ctl("ft-failover", "g1")
print("after ft-failover: %r" % s.recv(100))
s.close()
s = connect(b"CONNECT 5000\nfourth")
print("reconnected: %r" % recv_exact(s, len(b"OK 1073741828\nfourth")))
# power-off ends the guest: the outside end reads EOF
ctl("power-off", "g1")
print("after power-off: %r" % s.recv(100))
s.close()
ctl("resume", "g1")
ctl("suspend", "g2")
ctl("reboot", "g1")
ctl("status")
