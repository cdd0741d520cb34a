/*
 * nfs_storage.c - the guide's "network storage with datagram VMCI sockets" use case: the host
 * serves the home directories of three guests (one Windows, two Linux) with a small NFS-like
 * file service over datagram sockets. Datagrams can be lost, so every request is retried
 * until its reply (matched by transaction id) arrives; writes and reads are idempotent, so a
 * retried request is harmless. The run loses datagrams on purpose (the world's fault knobs) and
 * still ends with every file written and read back intact.
 *
 * Usage: nfs_storage [seed]   exit status 0 when every client verified its files.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <vmcisim.h>
#include <vmci_sockets.h>
#include <vmci_posix.h>

#define NFS_PORT 2049
#define NAME_MAX_LEN 32
#define CHUNK 1024
#define FILE_SIZE (16 * CHUNK)
#define MAX_FILES 8

enum { OP_WRITE = 1, OP_READ = 2, OP_GETATTR = 3, OP_STOP = 4 };

struct request {
    uint32_t xid;
    uint32_t op;
    char name[NAME_MAX_LEN];
    uint32_t offset, len;
    unsigned char data[CHUNK];
};

struct reply {
    uint32_t xid;
    int32_t status;   /* 0, or an errno value */
    uint32_t len;     /* bytes read, or the file size for GETATTR */
    unsigned char data[CHUNK];
};

/* ---- the host's file service --------------------------------------------------------------- */

struct file {
    char name[NAME_MAX_LEN];
    uint32_t size;
    unsigned char bytes[FILE_SIZE];
};

static struct file files[MAX_FILES];
static uint32_t stopped_cids[8];
static int stops_seen;

/* A retried STOP must not count twice: remember who stopped. */
static void note_stop(uint32_t cid)
{
    for (int i = 0; i < stops_seen; i++)
        if (stopped_cids[i] == cid)
            return;
    if (stops_seen < 8)
        stopped_cids[stops_seen++] = cid;
}

static struct file *lookup(const char *name, int create)
{
    for (int i = 0; i < MAX_FILES; i++)
        if (files[i].name[0] && strncmp(files[i].name, name, NAME_MAX_LEN) == 0)
            return &files[i];
    if (!create)
        return NULL;
    for (int i = 0; i < MAX_FILES; i++)
        if (!files[i].name[0]) {
            memcpy(files[i].name, name, NAME_MAX_LEN);
            files[i].name[NAME_MAX_LEN - 1] = 0;
            return &files[i];
        }
    return NULL;
}

static void server_main(void *arg)
{
    int nclients = *(int *)arg;
    int fd = socket(VMCISock_GetAFValue(), SOCK_DGRAM, 0);
    struct sockaddr_vm me = {.svm_family = (sa_family_t)VMCISock_GetAFValue(),
                             .svm_cid = VMADDR_CID_ANY, .svm_port = NFS_PORT};
    if (fd == -1 || bind(fd, (struct sockaddr *)&me, sizeof me) == -1) {
        perror("nfsd: bind");
        return;
    }
    int rcvbuf = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    while (stops_seen < nclients) {
        struct request rq;
        struct reply rp;
        struct sockaddr_vm from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, &rq, sizeof rq, 0, (struct sockaddr *)&from, &flen);
        if (n < (ssize_t)offsetof(struct request, data))
            continue;
        memset(&rp, 0, offsetof(struct reply, data));
        rp.xid = rq.xid;
        struct file *f = lookup(rq.name, rq.op == OP_WRITE);
        if (rq.op == OP_STOP) {
            note_stop(from.svm_cid);
        } else if (!f) {
            rp.status = rq.op == OP_WRITE ? 28 /* ENOSPC */ : 2 /* ENOENT */;
        } else if (rq.offset > FILE_SIZE || rq.len > CHUNK || rq.offset + rq.len > FILE_SIZE) {
            rp.status = 22; /* EINVAL */
        } else if (rq.op == OP_WRITE) {
            memcpy(f->bytes + rq.offset, rq.data, rq.len);
            if (rq.offset + rq.len > f->size)
                f->size = rq.offset + rq.len;
            rp.len = rq.len;
        } else if (rq.op == OP_READ) {
            uint32_t end = rq.offset + rq.len > f->size ? f->size : rq.offset + rq.len;
            rp.len = end > rq.offset ? end - rq.offset : 0;
            memcpy(rp.data, f->bytes + rq.offset, rp.len);
        } else if (rq.op == OP_GETATTR) {
            rp.len = f->size;
        }
        sendto(fd, &rp, offsetof(struct reply, data) + (rq.op == OP_READ ? rp.len : 0), 0,
               (struct sockaddr *)&from, flen);
    }
    close(fd);
}

/* ---- a guest's client ------------------------------------------------------------------------ */

struct client {
    const char *os;
    char home[NAME_MAX_LEN];
    int requests, retries, verified;
};

/* Send rq until a reply with its xid arrives (timeout 20 ms of simulated time per try). */
static int call(int fd, struct client *c, struct request *rq, size_t rqlen, struct reply *rp)
{
    static uint32_t next_xid = 1;
    rq->xid = next_xid++;
    c->requests++;
    for (int attempt = 0; attempt < 100; attempt++) {
        if (attempt)
            c->retries++;
        if (send(fd, rq, rqlen, 0) == -1)
            continue;
        for (;;) {
            ssize_t n = recv(fd, rp, sizeof *rp, 0);
            if (n == -1)
                break; /* timed out: retry */
            if (n >= (ssize_t)offsetof(struct reply, data) && rp->xid == rq->xid)
                return rp->status;
            /* a late reply to an earlier attempt: ignore it */
        }
    }
    return -1;
}

static void client_main(void *arg)
{
    struct client *c = arg;
    int fd = socket(VMCISock_GetAFValue(), SOCK_DGRAM, 0);
    struct sockaddr_vm srv = {.svm_family = (sa_family_t)VMCISock_GetAFValue(),
                              .svm_cid = VMADDR_CID_HOST, .svm_port = NFS_PORT};
    struct timeval tv = {.tv_sec = 0, .tv_usec = 20000};
    if (fd == -1 || connect(fd, (struct sockaddr *)&srv, sizeof srv) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1) {
        perror("client: setup");
        return;
    }
    vmcisim_sleep(1000000); /* let the server bind */
    struct request rq;
    struct reply rp;
    memset(&rq, 0, sizeof rq);
    memcpy(rq.name, c->home, NAME_MAX_LEN);
    for (uint32_t off = 0; off < FILE_SIZE; off += CHUNK) {
        rq.op = OP_WRITE;
        rq.offset = off;
        rq.len = CHUNK;
        for (uint32_t i = 0; i < CHUNK; i++)
            rq.data[i] = (unsigned char)(c->home[0] + off / CHUNK + i);
        if (call(fd, c, &rq, sizeof rq, &rp) != 0)
            goto out;
    }
    rq.op = OP_GETATTR;
    if (call(fd, c, &rq, offsetof(struct request, data), &rp) != 0 || rp.len != FILE_SIZE)
        goto out;
    for (uint32_t off = 0; off < FILE_SIZE; off += CHUNK) {
        rq.op = OP_READ;
        rq.offset = off;
        rq.len = CHUNK;
        if (call(fd, c, &rq, offsetof(struct request, data), &rp) != 0 || rp.len != CHUNK)
            goto out;
        for (uint32_t i = 0; i < CHUNK; i++)
            if (rp.data[i] != (unsigned char)(c->home[0] + off / CHUNK + i))
                goto out;
    }
    c->verified = 1;
out:
    rq.op = OP_STOP;
    call(fd, c, &rq, offsetof(struct request, data), &rp);
    close(fd);
}

int main(int argc, char **argv)
{
    struct vmcisim_config cfg = {.seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1};
    vmcisim *sim = vmcisim_create(&cfg);
    /* lose one datagram in ten, and deliver the rest 0.1-2 ms late */
    struct vmcisim_faults faults = {.dg_drop = 0.1, .dg_delay_min_ns = 100000,
                                    .dg_delay_max_ns = 2000000};
    if (vmcisim_set_faults(sim, &faults) != 0) {
        fprintf(stderr, "nfs_storage: %s\n", vmcisim_error(sim));
        return 1;
    }
    struct client clients[3] = {{.os = "windows", .home = "C:/Users/ada"},
                                {.os = "linux", .home = "/home/brian"},
                                {.os = "linux", .home = "/home/carol"}};
    const char *names[3] = {"windows-desktop", "linux-build", "linux-dev"};
    int nclients = 3;
    if (vmcisim_spawn(vmcisim_host(sim), "nfsd", server_main, &nclients) != 0)
        return 1;
    for (int i = 0; i < 3; i++) {
        vmcisim_vm *vm = vmcisim_vm_create(sim, names[i], VMADDR_CID_ANY);
        if (!vm || vmcisim_spawn(vm, "nfs-client", client_main, &clients[i]) != 0) {
            fprintf(stderr, "nfs_storage: %s\n", vmcisim_error(sim));
            return 1;
        }
    }
    int rc = vmcisim_run(sim);
    int ok = rc == 0;
    for (int i = 0; i < 3; i++) {
        printf("nfs_storage: %-16s (%s) home=%-14s requests=%d retries=%d verified=%s\n",
               names[i], clients[i].os, clients[i].home, clients[i].requests, clients[i].retries,
               clients[i].verified ? "yes" : "NO");
        ok = ok && clients[i].verified;
    }
    printf("nfs_storage: seed=%llu result=%s trace_hash=%016llx\n",
           (unsigned long long)cfg.seed, ok ? "PASS" : "FAIL",
           (unsigned long long)vmcisim_trace_hash(sim));
    vmcisim_destroy(sim);
    return ok ? 0 : 1;
}
