/*
 * vmci_transport.h - the VMCI transports of the socket core (like Linux's vmci_transport.c,
 * which registers one transport for streams and datagrams): the stream transport
 * (vmci_stream.c), the datagram transport (vmci_dgram.c), and what both share
 * (vmci_transport.c).
 */
#ifndef VMCISIM_VMCI_TRANSPORT_H
#define VMCISIM_VMCI_TRANSPORT_H

#include "sock/vsock.h"

extern const struct vsock_transport vmci_stream_transport;
extern const struct vsock_transport vmci_dgram_transport;

/* Register both with the sockets layer of a world (vsock_core_register). 0 or a negative
 * errno value. */
int vmci_transport_register(struct sock_world *sw);

/* The errno value for a VMCI error code (§1.7). */
int vmci_error_to_errno(int vmci_error);

/* lifecycle: drop every connection of the context (resume, vMotion, fault tolerance) */
void vmci_stream_drop_all(struct vsock_ctx *ctx, const char *why);

#endif
