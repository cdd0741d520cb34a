/*
 * fortified.c - a client built with -O2 -D_FORTIFY_SOURCE=2 (as Ubuntu's compiler builds every
 * optimised program, and Debian its packages): its receive buffers are stack arrays of a known
 * size and its lengths come from the command line, so the compiler calls the C library's
 * checked variants (__recv_chk, __read_chk, __recvfrom_chk, __poll_chk) instead of recv, read,
 * recvfrom and poll. Under `exec` they must reach the world like the plain calls
 * (src/preload/fortify.c).
 *
 * `fortified CID PORT LEN`: connects to the echo server (vsock_echo server PORT), and three
 * times sends a word, waits with poll, and reads the upper-cased echo back with one of the three
 * calls, asking for LEN bytes. Prints each echo; exit 0 when all three came back right.
 */
#define _GNU_SOURCE
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: fortified CID PORT LEN\n");
        return 2;
    }
    size_t len = strtoul(argv[3], NULL, 10); /* not known to the compiler */
    nfds_t one = (nfds_t)(len / 32);         /* neither is the poll count (LEN 32 or 33: 1) */
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK,
                            .svm_port = (unsigned)atoi(argv[2]),
                            .svm_cid = (unsigned)atoi(argv[1])};
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        return 3;
    }
    static const char *const words[3] = {"recv", "read", "recvfrom"};
    static const char *const want[3] = {"RECV", "READ", "RECVFROM"};
    for (int i = 0; i < 3; i++) {
        char buf[32] = {0};
        struct pollfd p[1] = {{.fd = s, .events = POLLIN}};
        if (send(s, words[i], strlen(words[i]), 0) != (ssize_t)strlen(words[i]) ||
            poll(p, one, -1) != 1)
            return 4;
        ssize_t n = i == 0 ? recv(s, buf, len, 0)
                    : i == 1 ? read(s, buf, len)
                             : recvfrom(s, buf, len, 0, NULL, NULL);
        printf("%s -> %.*s\n", words[i], (int)(n > 0 ? n : 0), buf);
        if (n != (ssize_t)strlen(want[i]) || memcmp(buf, want[i], (size_t)n) != 0)
            return 10 + i;
    }
    shutdown(s, SHUT_WR);
    char b[8];
    if (recv(s, b, len < sizeof b ? len : sizeof b, 0) != 0)
        return 5;
    close(s);
    return 0;
}
