/*
 * stream_guide.c - the VMCI Sockets Programming Guide's stream server and client (chapter 3),
 * written as the guide writes them (socket, bind, listen, accept, recv, send, close with
 * perror), compiled against the simulator through vmci_posix.h. The server runs on the host,
 * the client in a guest; main() builds the world and runs both.
 */
#include <stdio.h>
#include <string.h>

#include <vmcisim.h>
#include <vmci_sockets.h>
#include <vmci_posix.h>

#define BUFSIZE 4096
#define SERVER_PORT 15000

static int server_ready;

/* ---- the guide's server ------------------------------------------------------------------- */
static void server_main(void *arg)
{
    (void)arg;
    int afVMCI = VMCISock_GetAFValue();
    int sockfd, newfd;
    char buf[BUFSIZE];
    struct sockaddr_vm my_addr = {0}, their_addr;
    socklen_t their_addr_size = sizeof their_addr;

    if ((sockfd = socket(afVMCI, SOCK_STREAM, 0)) == -1) {
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
    if (listen(sockfd, 5) == -1) {
        perror("listen");
        goto close;
    }
    server_ready = 1;
    if ((newfd = accept(sockfd, (struct sockaddr *)&their_addr, &their_addr_size)) == -1) {
        perror("accept");
        goto close;
    }
    printf("server: connection from cid %u port %u\n", their_addr.svm_cid, their_addr.svm_port);
    ssize_t n;
    while ((n = recv(newfd, buf, sizeof buf, 0)) > 0) {
        printf("server: received %zd bytes: %.*s\n", n, (int)n, buf);
        if (send(newfd, buf, (size_t)n, 0) == -1) {
            perror("send");
            break;
        }
    }
    if (n == -1)
        perror("recv");
    close(newfd);
close:
    close(sockfd);
}

/* ---- the guide's client ------------------------------------------------------------------- */
static void client_main(void *arg)
{
    (void)arg;
    int afVMCI = VMCISock_GetAFValue();
    int sockfd;
    char buf[BUFSIZE];
    struct sockaddr_vm their_addr = {0};

    while (!server_ready)
        vmcisim_sleep(1000000); /* the host starts first */
    if ((sockfd = socket(afVMCI, SOCK_STREAM, 0)) == -1) {
        perror("socket");
        return;
    }
    their_addr.svm_family = afVMCI;
    their_addr.svm_cid = VMADDR_CID_HOST;
    their_addr.svm_port = SERVER_PORT;
    if (connect(sockfd, (struct sockaddr *)&their_addr, sizeof their_addr) == -1) {
        perror("connect");
        goto close;
    }
    printf("client: connected from cid %u\n", VMCISock_GetLocalCID());
    const char *msg = "hello from the guest";
    if (send(sockfd, msg, strlen(msg), 0) == -1) {
        perror("send");
        goto close;
    }
    ssize_t n = recv(sockfd, buf, sizeof buf, 0);
    if (n == -1) {
        perror("recv");
        goto close;
    }
    printf("client: echo %.*s\n", (int)n, buf);
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
        fprintf(stderr, "stream_guide: %s\n", vmcisim_error(sim));
        return 1;
    }
    int rc = vmcisim_run(sim);
    printf("stream_guide: run=%d trace_hash=%016llx\n", rc,
           (unsigned long long)vmcisim_trace_hash(sim));
    vmcisim_destroy(sim);
    return rc == 0 ? 0 : 1;
}
