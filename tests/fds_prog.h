/* fds_prog.h - the system-header vsock program of test_fds.c (fds_prog.c). */
#ifndef VMCISIM_TEST_FDS_PROG_H
#define VMCISIM_TEST_FDS_PROG_H

#include <stddef.h>

struct fdsprog_abi {
    size_t size, off_family, off_port, off_cid, off_flags;
    int af;
    int opt_buffer_size, opt_buffer_min, opt_buffer_max, opt_peer_host_vm_id, opt_trusted,
        opt_connect_timeout, opt_nonblock_txrx;
    unsigned long ioctl_get_local_cid;
    unsigned cid_any, cid_host;
};

struct fdsprog_result {
    int ready;
    int fd_listen, fd_client, fd_isset;
    unsigned peer_cid, local_cid;
    size_t bytes;
    char echo[64];
};

void fdsprog_abi(struct fdsprog_abi *a);
int fdsprog_server(unsigned port, struct fdsprog_result *r);
int fdsprog_client(unsigned port, const char *msg, struct fdsprog_result *r);

#endif
