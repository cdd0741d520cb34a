/* sockutil.h - helpers for tests of VMCI sockets inside a world. */
#ifndef VMCISIM_SOCKUTIL_H
#define VMCISIM_SOCKUTIL_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vmcisim/vmci_sockets.h"

#define TEST_PORT 1234u
#define GUEST_CID 3u

static inline struct sockaddr_vm su_addr(unsigned cid, unsigned port)
{
    struct sockaddr_vm a;
    memset(&a, 0, sizeof a);
    a.svm_family = (sa_family_t)VMCISock_GetAFValue();
    a.svm_cid = cid;
    a.svm_port = port;
    return a;
}

/* socket + bind(CID_ANY, port) + listen(backlog); fails the test on error */
static inline int su_listen(unsigned port, int backlog)
{
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, port);
    ck_assert_int_eq(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(fd, backlog), 0);
    return fd;
}

/* socket + connect; returns the fd, or -errno (the socket is closed then) */
static inline int su_connect(unsigned cid, unsigned port)
{
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_vm a = su_addr(cid, port);
    if (vmci_connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        vmci_close(fd);
        return -e;
    }
    return fd;
}

static inline int su_accept(int lfd)
{
    int fd = vmci_accept(lfd, NULL, NULL);
    ck_assert_msg(fd >= 0, "accept failed: %s", strerror(errno));
    return fd;
}

static inline void su_send_all(int fd, const void *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = vmci_send(fd, (const char *)buf + off, n - off, 0);
        ck_assert_msg(r > 0, "send failed: %s", strerror(errno));
        off += (size_t)r;
    }
}

static inline void su_recv_exact(int fd, void *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = vmci_recv(fd, (char *)buf + off, n - off, 0);
        ck_assert_msg(r > 0, "recv got %zd (%s) after %zu of %zu bytes", r, strerror(errno), off,
                      n);
        off += (size_t)r;
    }
}

/* A flag shared by simulated threads: set, and wait (on simulated time) until it reaches v. */
static inline void su_set(int *flag, int v) { __atomic_store_n(flag, v, __ATOMIC_RELEASE); }
static inline void su_wait(int *flag, int v)
{
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < v)
        vmcisim_sleep(100000);
}

/* Run server and client in a fresh world (guest CID 3) with the given seed.
 * server_on_host: server in the host and client in the guest, or the other way round. */
struct su_world {
    vmcisim *sim;
    vmcisim_vm *host, *guest;
};
static inline void su_run2(uint64_t seed, int realtime, int server_on_host, void (*server)(void *),
                           void (*client)(void *), void *arg)
{
    struct vmcisim_config cfg = {.seed = seed, .realtime = realtime};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    vmcisim_vm *guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_ptr_nonnull(guest);
    vmcisim_vm *host = vmcisim_host(sim);
    ck_assert_int_eq(vmcisim_spawn(server_on_host ? host : guest, "server", server, arg), 0);
    ck_assert_int_eq(vmcisim_spawn(server_on_host ? guest : host, "client", client, arg), 0);
    int rc = vmcisim_run(sim);
    ck_assert_msg(rc == 0, "run failed (seed %llu): %s", (unsigned long long)seed,
                  vmcisim_error(sim));
    vmcisim_destroy(sim);
}

/* call fails with -1 and errno err */
#define EXPECT_ERR(call, err)                                                                    \
    do {                                                                                         \
        errno = 0;                                                                               \
        ck_assert_int_eq((call), -1);                                                            \
        ck_assert_msg(errno == (err), "%s: errno %d (%s), expected %d (%s)", #call, errno,       \
                      strerror(errno), (err), strerror(err));                                    \
    } while (0)

/* How many lines of a trace file contain needle. */
static inline int su_trace_count(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

#define FOR_SEEDS(seed) for (uint64_t seed = 1; seed <= (uint64_t)tu_seed_count(); seed++)

#endif
