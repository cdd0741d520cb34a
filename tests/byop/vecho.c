/*
 * vecho.c - a small vsock echo tool written as any Linux program would be: main(argc, argv),
 * the system's <sys/socket.h> and <linux/vm_sockets.h>, select() for the accept loop, a thread
 * per connection, SIGPIPE ignored, exit statuses. Nothing in it knows about vmcisim; the tests
 * compile it unmodified with -Dmain=vecho_main and run it host<->guest with vmcisim_spawn_main
 * (docs/bring-your-own-program.md).
 *
 *   vecho -l PORT COUNT     serve COUNT connections on PORT, echoing each until its EOF
 *   vecho CID PORT TEXT     send TEXT, half-close, read the echo; exit 0 if it matches
 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static void *echo_conn(void *arg)
{
    int fd = (int)(long)arg;
    char buf[512];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w <= 0)
                goto out;
            off += w;
        }
    }
out:
    close(fd);
    return NULL;
}

static int serve(unsigned port, int count)
{
    int ls = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (ls < 0)
        return 10;
    struct sockaddr_vm a;
    memset(&a, 0, sizeof a);
    a.svm_family = AF_VSOCK;
    a.svm_cid = VMADDR_CID_ANY;
    a.svm_port = port;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, count) != 0)
        return 11;
    pthread_t *th = calloc((size_t)count, sizeof *th);
    if (!th)
        return 12;
    for (int done = 0; done < count;) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(ls, &rd);
        struct timeval tv = {5, 0};
        int r = select(ls + 1, &rd, NULL, NULL, &tv);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 13;   /* 5 s without a client */
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            return 14;
        if (pthread_create(&th[done], NULL, echo_conn, (void *)(long)c) != 0)
            return 15;
        done++;
    }
    for (int i = 0; i < count; i++)
        pthread_join(th[i], NULL);
    free(th);
    close(ls);
    return 0;
}

static int client(unsigned cid, unsigned port, const char *text)
{
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0)
        return 20;
    struct sockaddr_vm a;
    memset(&a, 0, sizeof a);
    a.svm_family = AF_VSOCK;
    a.svm_cid = cid;
    a.svm_port = port;
    for (int tries = 0; connect(s, (struct sockaddr *)&a, sizeof a) != 0; tries++) {
        if (errno != ECONNRESET || tries == 50)
            return 21;   /* not listening yet: wait and retry, as a real client would */
        close(s);
        usleep(1000);
        s = socket(AF_VSOCK, SOCK_STREAM, 0);
    }
    size_t len = strlen(text);
    if (write(s, text, len) != (ssize_t)len || shutdown(s, SHUT_WR) != 0)
        return 22;
    char got[512];
    size_t have = 0;
    for (ssize_t n; have < sizeof got && (n = read(s, got + have, sizeof got - have)) > 0;)
        have += (size_t)n;
    close(s);
    if (have != len || memcmp(got, text, len) != 0)
        return 3;
    printf("vecho: %zu bytes echoed\n", have);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "-l") == 0)
        return serve((unsigned)atoi(argv[2]), atoi(argv[3]));
    if (argc == 4)
        return client((unsigned)strtoul(argv[1], NULL, 10), (unsigned)atoi(argv[2]), argv[3]);
    fprintf(stderr, "usage: vecho -l PORT COUNT | vecho CID PORT TEXT\n");
    return 2;
}
