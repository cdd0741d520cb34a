/*
 * dgram_guide.c - the VMCI Sockets Programming Guide's datagram server and client (chapter 4):
 * the server binds, reports its address with getsockname and answers with recvfrom/sendto; the
 * client sends with sendto, then uses connect() and send() as the guide suggests.
 */
#include <stdio.h>
#include <string.h>

#include <vmcisim.h>
#include <vmci_sockets.h>
#include <vmci_posix.h>

#define BUFSIZE 4096
#define SERVER_PORT 15001

static int server_ready;

static void server_main(void *arg)
{
    (void)arg;
    int afVMCI = VMCISock_GetAFValue();
    int sockfd;
    char buf[BUFSIZE];
    struct sockaddr_vm my_addr = {0}, their_addr;
    socklen_t my_addr_size, their_addr_size;

    if ((sockfd = socket(afVMCI, SOCK_DGRAM, 0)) == -1) {
        perror("socket");
        return;
    }
    my_addr.svm_family = afVMCI;
    my_addr.svm_cid = VMADDR_CID_ANY;
    my_addr.svm_port = SERVER_PORT;
    if (bind(sockfd, (struct sockaddr *)&my_addr, sizeof my_addr) == -1) {
        perror("bind");
        goto close;
    }
    my_addr_size = sizeof my_addr;
    if (getsockname(sockfd, (struct sockaddr *)&my_addr, &my_addr_size) == -1) {
        perror("getsockname");
        goto close;
    }
    printf("server: bound to port %u\n", my_addr.svm_port);
    server_ready = 1;
    for (int i = 0; i < 2; i++) {
        their_addr_size = sizeof their_addr;
        ssize_t n = recvfrom(sockfd, buf, sizeof buf, 0, (struct sockaddr *)&their_addr,
                             &their_addr_size);
        if (n == -1) {
            perror("recvfrom");
            goto close;
        }
        printf("server: %zd bytes from cid %u port %u: %.*s\n", n, their_addr.svm_cid,
               their_addr.svm_port, (int)n, buf);
        if (sendto(sockfd, buf, (size_t)n, 0, (struct sockaddr *)&their_addr, their_addr_size) ==
            -1) {
            perror("sendto");
            goto close;
        }
    }
close:
    close(sockfd);
}

static void client_main(void *arg)
{
    (void)arg;
    int afVMCI = VMCISock_GetAFValue();
    int sockfd;
    char buf[BUFSIZE];
    struct sockaddr_vm their_addr = {0};

    while (!server_ready)
        vmcisim_sleep(1000000);
    if ((sockfd = socket(afVMCI, SOCK_DGRAM, 0)) == -1) {
        perror("socket");
        return;
    }
    their_addr.svm_family = afVMCI;
    their_addr.svm_cid = VMADDR_CID_HOST;
    their_addr.svm_port = SERVER_PORT;
    if (sendto(sockfd, "first", 5, 0, (struct sockaddr *)&their_addr, sizeof their_addr) == -1) {
        perror("sendto");
        goto close;
    }
    ssize_t n = recvfrom(sockfd, buf, sizeof buf, 0, NULL, NULL);
    printf("client: reply %.*s\n", (int)(n > 0 ? n : 0), buf);
    /* connect once, then send() without an address */
    if (connect(sockfd, (struct sockaddr *)&their_addr, sizeof their_addr) == -1) {
        perror("connect");
        goto close;
    }
    if (send(sockfd, "second", 6, 0) == -1) {
        perror("send");
        goto close;
    }
    n = recv(sockfd, buf, sizeof buf, 0);
    printf("client: reply %.*s\n", (int)(n > 0 ? n : 0), buf);
close:
    close(sockfd);
}

int main(void)
{
    struct vmcisim_config cfg = {.seed = 7};
    vmcisim *sim = vmcisim_create(&cfg);
    vmcisim_vm *guest = vmcisim_vm_create(sim, "linux-guest", 3);
    if (!guest || vmcisim_spawn(vmcisim_host(sim), "server", server_main, NULL) != 0 ||
        vmcisim_spawn(guest, "client", client_main, NULL) != 0) {
        fprintf(stderr, "dgram_guide: %s\n", vmcisim_error(sim));
        return 1;
    }
    int rc = vmcisim_run(sim);
    printf("dgram_guide: run=%d trace_hash=%016llx\n", rc,
           (unsigned long long)vmcisim_trace_hash(sim));
    vmcisim_destroy(sim);
    return rc == 0 ? 0 : 1;
}
