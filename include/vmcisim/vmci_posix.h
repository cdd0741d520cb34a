/*
 * vmci_posix.h - include after vmci_sockets.h so that a program written for VMCI sockets, like
 * those in VMware's guide, compiles unchanged apart from its includes: the POSIX socket calls
 * become the simulator's vmci_* calls, which pass descriptors and families that are not the
 * simulator's through to the C library (files, pipes and TCP keep working).
 */
#ifndef VMCI_POSIX_H
#define VMCI_POSIX_H

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmci_sockets.h"

#define socket(d, t, p) vmci_socket((d), (t), (p))
#define bind(f, a, l) vmci_bind((f), (a), (l))
#define listen(f, b) vmci_listen((f), (b))
#define accept(f, a, l) vmci_accept((f), (a), (l))
#define connect(f, a, l) vmci_connect((f), (a), (l))
#define send(f, b, l, fl) vmci_send((f), (b), (l), (fl))
#define recv(f, b, l, fl) vmci_recv((f), (b), (l), (fl))
#define sendto(f, b, l, fl, a, al) vmci_sendto((f), (b), (l), (fl), (a), (al))
#define recvfrom(f, b, l, fl, a, al) vmci_recvfrom((f), (b), (l), (fl), (a), (al))
#define sendmsg(f, m, fl) vmci_sendmsg((f), (m), (fl))
#define recvmsg(f, m, fl) vmci_recvmsg((f), (m), (fl))
#define read(f, b, l) vmci_read((f), (b), (l))
#define write(f, b, l) vmci_write((f), (b), (l))
#define close(f) vmci_close(f)
#define shutdown(f, h) vmci_shutdown((f), (h))
#define getsockname(f, a, l) vmci_getsockname((f), (a), (l))
#define getpeername(f, a, l) vmci_getpeername((f), (a), (l))
#define setsockopt(f, lv, n, v, l) vmci_setsockopt((f), (lv), (n), (v), (l))
#define getsockopt(f, lv, n, v, l) vmci_getsockopt((f), (lv), (n), (v), (l))
#define poll(f, n, t) vmci_poll((f), (n), (t))
#define fcntl(f, ...) vmci_fcntl((f), __VA_ARGS__)
#define ioctl(f, ...) vmci_ioctl((f), __VA_ARGS__)

#endif
