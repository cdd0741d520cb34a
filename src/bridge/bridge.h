/*
 * bridge.h - the hybrid-vsock bridge (docs/bridge.md): a Firecracker-compatible Unix socket
 * for one VM of a realtime world (formats.md §2.1, with the recommendations of §2.4).
 *
 *   outside -> guest: a program connects to PATH and sends "CONNECT <port>\n"; the bridge
 *     connects from the host (CID 2, a local port from 2^30 round-robin) to the VM's port and
 *     answers "OK <hostport>\n", then relays bytes both ways.
 *   guest -> outside: the VM's connect to host port P, where no simulated host socket listens,
 *     reaches the Unix listener at PATH_P (through the socket layer's redirect hook).
 *
 * Realtime mode only: the outside programs run on the wall clock (the scenario layer refuses a
 * `bridge` statement in deterministic mode). A bridge is one simulated root process of the host,
 * named "bridge:VM": its main thread accepts on both sides, one thread per connection relays.
 */
#ifndef VMCISIM_BRIDGE_H
#define VMCISIM_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "vmcisim/vmcisim.h"

#define BRIDGE_MAX_CONNECTIONS 1023          /* Firecracker's MAX_CONNECTIONS */
#define BRIDGE_CONNECT_TIMEOUT_MS 2000       /* CONN_REQUEST_TIMEOUT_MS */
#define BRIDGE_CMD_MAX 32                    /* the command line ends within 32 bytes */
#define BRIDGE_FIRST_HOST_PORT (1u << 30)    /* host-side ports: [2^30, 2^31), round-robin */
#define BRIDGE_PATH_MAX 96                   /* PATH plus "_4294967295" fits in sun_path */

struct bridge;

/* Binds and listens on the Unix socket at path (a stale socket file there is replaced; any
 * other file, or a socket someone listens on, is an error). NULL with the reason in err. */
struct bridge *bridge_new(vmcisim *sim, vmcisim_vm *vm, const char *path, char *err, size_t n);
/* Starts the bridge's host process (before or during vmcisim_run). 0, or -1 with err. */
int bridge_start(struct bridge *b, char *err, size_t n);
/* Asks its threads to close every connection and end (from any thread; idempotent). */
void bridge_stop(struct bridge *b);
/* After vmcisim_destroy: closes what is left, removes the socket file, frees b. */
void bridge_free(struct bridge *b);

const char *bridge_path(const struct bridge *b);
/* 1 once the bridge takes connections from both sides, 0 before, -1 if it never will (it
 * failed to start or was stopped). The world's other processes wait for it at their start, so
 * that a guest's first connect to PATH_P finds the bridge ready (interp.c). */
int bridge_ready(const struct bridge *b);
/* Lines describing its connections ("conn ..."), as docs/bridge.md shows; the length written
 * (at most n - 1, always terminated). */
size_t bridge_describe(struct bridge *b, const char *vm_name, char *buf, size_t n);

/* The command line of formats.md §2.1: line[0..len) holds the bytes up to and including the
 * '\n'. 0 and *port for "connect <u32>" (keyword in any case, blanks between, an optional '\r'
 * before the '\n'); -1 for anything else. */
int bridge_parse_connect(const char *line, size_t len, uint32_t *port);

#endif
