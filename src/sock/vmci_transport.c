/*
 * vmci_transport.c - what the two VMCI transports share: their registration with the socket
 * core (Linux's vmci_transport_init registers VMCI for streams and datagrams at once) and the
 * mapping of VMCI errors to errno values.
 */
#include "sock/vmci_transport.h"

#include <errno.h>

#include "guest/vmci_kapi.h"

int vmci_transport_register(struct sock_world *sw)
{
    int rc = vsock_core_register(sw, &vmci_stream_transport, VSOCK_TRANSPORT_F_STREAM);
    if (rc == 0)
        rc = vsock_core_register(sw, &vmci_dgram_transport, VSOCK_TRANSPORT_F_DGRAM);
    return rc;
}

/* §1.7 */
int vmci_error_to_errno(int e)
{
    switch (e) {
    case VMCI_ERROR_NO_MEM:
        return ENOMEM;
    case VMCI_ERROR_DUPLICATE_ENTRY:
    case VMCI_ERROR_ALREADY_EXISTS:
        return EADDRINUSE;
    case VMCI_ERROR_NO_ACCESS:
        return EPERM;
    case VMCI_ERROR_NO_RESOURCES:
        return ENOBUFS;
    case VMCI_ERROR_INVALID_RESOURCE:
        return EHOSTUNREACH;
    default:
        return EINVAL;
    }
}
