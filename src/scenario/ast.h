/*
 * ast.h - a parsed scenario: the world (VMs), processes (scripted or built-in programs), the
 * fault timeline, and the final checks. Every name is resolved to an index by the parser, so
 * the interpreter never looks anything up by text and a parsed script is immutable.
 */
#ifndef VMCISIM_SCEN_AST_H
#define VMCISIM_SCEN_AST_H

#include <stddef.h>
#include <stdint.h>

#include "vmcisim/vmcisim.h"

#define SCEN_NAME_MAX 40
#define SCEN_HOST_VM 0 /* index of the host in scen_script.vms */

enum scen_cmp { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

/* Counters every process keeps; built-ins and scripted statements update them. */
enum scen_counter {
    C_CONNECTED,        /* connect() returned 0 */
    C_REFUSED,          /* connect() failed with ECONNRESET (VMCI's "refused") */
    C_CONNECT_ERRORS,   /* connect() failed otherwise */
    C_ACCEPTED,
    C_BYTES_SENT,
    C_BYTES_RECEIVED,
    C_DGRAMS_SENT,
    C_DGRAMS_RECEIVED,
    C_EOF,              /* reads that returned end of file */
    C_EPIPE,            /* writes that failed with EPIPE */
    C_ERRORS,           /* other failed calls inside built-ins */
    C_STREAMS_OK,       /* sink: complete streams whose checksum matched */
    C_CHECKSUM_BAD,     /* sink: complete streams whose checksum did not */
    C_TRUNCATED,        /* sink: streams that ended early */
    C_REQUESTS,         /* rr: requests sent (client) or served (server) */
    C_RESPONSES,        /* rr-client: complete, correct responses */
    C_REPLIES,          /* dgram-ping: distinct sequence numbers answered */
    C_LOST,             /* dgram-ping: requests never answered */
    C_DUPLICATES,       /* dgram-ping: answers seen more than once */
    C_LATE,             /* dgram-ping: answers that came after their timeout */
    C_KILLED,           /* instances ended by a power off */
    C_STATUS,           /* exec: the program's exit status (128+N: signal N ended it) */
    C_SIGNAL,           /* exec: the signal that ended the program, or 0 */
    SCEN_NCOUNTERS
};
const char *scen_counter_name(int c);
int scen_counter_by_name(const char *s, size_t n);

/* Lifecycle and world actions: statements of processes, `at` and `on` lines. */
enum scen_action {
    ACT_SUSPEND, ACT_RESUME, ACT_MIGRATE, ACT_POWER_OFF, ACT_FT_ON, ACT_FT_OFF,
    ACT_HOLD, ACT_RELEASE, ACT_CLOG,   /* clog: hold, release after stmt.num ns */
};

enum scen_cidref { CIDREF_NUM, CIDREF_VM, CIDREF_SELF };

struct scen_addr {
    int var;                /* >= 0: an address variable of the process; else a literal */
    int cidref;             /* enum scen_cidref */
    uint32_t cid;           /* CIDREF_NUM */
    int vm;                 /* CIDREF_VM */
    uint32_t port;
};

enum scen_expect_kind {
    EX_DEFAULT,   /* nothing written: the call must succeed */
    EX_ANY,       /* any result */
    EX_OK,        /* not -1 */
    EX_RANGE,     /* lo <= result <= hi (a single number: lo == hi) */
    EX_ERRNO,     /* -1 with that errno */
    EX_ERROR,     /* -1 with any errno (where the errno is not pinned down) */
    EX_DATA,      /* the bytes read (recv, recvfrom), so also their count */
    EX_EOF,       /* 0 from a read */
    EX_POLL,      /* poll: exactly these revents (0: timed out) */
    EX_ADDR,      /* getsockname, getpeername */
    EX_STATE,     /* unused by statements; checks use it */
};

struct scen_expect {
    int kind;
    int line, col;
    int64_t lo, hi;
    int err;
    unsigned char *data;
    size_t len;
    short revents;
    struct scen_addr addr;
    int has_from;           /* recvfrom ... -> "x" from ADDR */
};

/* Fault knobs with a mask of those the statement names (the others are kept). */
enum {
    FK_DELAY = 1, FK_DROP = 2, FK_DUP = 4, FK_REORDER = 8, FK_QPFAIL = 16, FK_LATENCY = 32,
    FK_ALL = 63,
};
struct scen_faults {
    unsigned mask;
    struct vmcisim_faults v;
};

enum scen_op {
    OP_SOCKET, OP_BIND, OP_LISTEN, OP_ACCEPT, OP_CONNECT, OP_SEND, OP_RECV, OP_SENDTO,
    OP_RECVFROM, OP_SHUTDOWN, OP_CLOSE, OP_POLL, OP_SETSOCKOPT, OP_GETSOCKOPT,
    OP_GETSOCKNAME, OP_GETPEERNAME, OP_SLEEP, OP_MARK, OP_WAIT, OP_ACTION, OP_FAULTS,
    OP_REPEAT, OP_NOTE,
};
const char *scen_op_name(int op);

/* Socket options a statement may set or read. */
enum scen_opt {
    OPT_BUFFER_SIZE, OPT_BUFFER_MIN, OPT_BUFFER_MAX, OPT_CONNECT_TIMEOUT, OPT_TRUSTED,
    OPT_RCVTIMEO, OPT_SNDTIMEO, OPT_RCVLOWAT, OPT_RCVBUF, OPT_NONBLOCK, OPT_ERROR, OPT_TYPE,
    OPT_PEER_HOST_VM_ID,
};

struct scen_stmt {
    int op;
    int line, col;
    int dst;                /* variable assigned (socket, accept), or -1 */
    int fd;                 /* descriptor variable operand, or -1 */
    int sock_type;          /* SOCK_STREAM / SOCK_DGRAM / SOCK_SEQPACKET */
    struct scen_addr addr;  /* bind, connect, sendto */
    int64_t num;            /* backlog, length, ns, count, option value */
    unsigned char *data;    /* send, sendto, note (owned) */
    size_t len;
    int fill;               /* send N bytes of pattern instead of data */
    int flags;              /* MSG_* */
    int how;                /* shutdown */
    int opt;                /* enum scen_opt */
    short events;           /* poll */
    int action, vm;         /* OP_ACTION */
    int event;              /* OP_MARK, OP_WAIT */
    int from_var;           /* recvfrom ... as VAR, or -1 */
    struct scen_faults faults;
    struct scen_expect ex;
    struct scen_stmt *body; /* OP_REPEAT */
    size_t nbody;
};

enum scen_builtin {
    B_NONE, B_ECHO_SERVER, B_SINK, B_SOURCE, B_RR_SERVER, B_RR_CLIENT, B_DGRAM_PONG,
    B_DGRAM_PING, B_EXEC,   /* exec: an unmodified program (src/exec) */
};
const char *scen_builtin_name(int b);

struct scen_bparams {
    uint32_t port;          /* servers */
    int has_port;
    struct scen_addr to;    /* clients */
    int has_to;
    int64_t conns;          /* servers: finish after this many connections (0: serve until done) */
    int64_t backlog;
    int64_t count;          /* dgram-ping: datagrams; dgram-pong: finish after (0: until done) */
    int64_t bytes;          /* source */
    int64_t chunk;          /* source: bytes per send */
    int64_t requests;       /* rr-client, per connection */
    int64_t size;           /* rr-client request, dgram-ping datagram */
    int64_t reply;          /* rr-server / dgram-pong reply size (0: as big as the request) */
    int64_t connections;    /* clients: sequential connections */
    uint64_t interval_ns;   /* dgram-ping, clients between connections */
    uint64_t timeout_ns;    /* dgram-ping per datagram */
    uint64_t hold_ns;       /* clients keep each connection this long before closing */
    int64_t buffer;         /* SO_VMCI_BUFFER_SIZE to set (0: leave) */
    int nosignal;
};

struct scen_proc {
    char name[SCEN_NAME_MAX];
    int line, col;
    int vm;
    int root;
    int daemon;             /* may still be running when everything else is done */
    int64_t instances;
    uint64_t start_ns;
    int after_event;        /* -1: none */
    int builtin;            /* enum scen_builtin; B_NONE: scripted */
    struct scen_bparams bp;
    struct scen_stmt *body;
    size_t nbody;
    int nvars;
    char (*varnames)[SCEN_NAME_MAX];
    int *var_is_addr;
    int ready_event;        /* NAME.ready (built-in servers), or -1 */
    char *cmdline;          /* exec: the command line (owned) */
    int done_event;         /* NAME.done */
};

struct scen_vm {
    char name[SCEN_NAME_MAX];
    int line;
    uint32_t cid;           /* VMADDR_CID_ANY: the lowest free */
    unsigned flags;         /* VMCISIM_VM_RESTRICTED | VMCISIM_VM_TRUSTED */
};

/* A timeline entry: `at TIME ...` or `on EVENT [after DUR] ...`. */
struct scen_timed {
    int line;
    uint64_t at_ns;         /* at: absolute; on: delay after the event */
    int on_event;           /* -1 for `at` */
    struct scen_stmt stmt;  /* OP_ACTION, OP_FAULTS or OP_MARK */
};

enum scen_lhs { LHS_COUNTER, LHS_TIME, LHS_VM_STATE, LHS_VM_FT, LHS_EVENT };

struct scen_check {
    int line, col;
    int lhs;
    int proc;               /* -1: every process (*.counter) */
    int counter;
    int vm;
    int event;              /* LHS_EVENT: times marked */
    int cmp;                /* enum scen_cmp */
    int64_t value;          /* or the vm state / ft flag */
    int64_t hi;             /* a range `x 1..5` uses value..hi with cmp == -1 */
    int cov;                /* 0: a plain check; VMCISIM_COV_ALWAYS / _SOMETIMES: counted in
                               the coverage report (`check always ...`, `check sometimes ...`) */
};

/* `bridge VM "PATH"`: a hybrid-vsock Unix socket for the VM (docs/bridge.md; realtime only). */
#define SCEN_BRIDGE_PATH_MAX 96
struct scen_bridge {
    int vm;
    int line, col;
    char path[SCEN_BRIDGE_PATH_MAX];
};

struct scen_script {
    char *path;             /* as given, for messages */
    char name[64];
    uint64_t seed_lo, seed_hi;
    int has_seeds;
    int realtime;           /* a `realtime` line: runs are realtime without --realtime */
    uint64_t limit_ns;      /* simulated-time limit of a run */
    int limit_line;         /* its `limit` line; 1 for the default */
    struct scen_vm *vms;    /* [0] is the host */
    size_t nvms;
    struct scen_proc *procs;
    size_t nprocs;
    struct scen_timed *timed;
    size_t ntimed;
    struct scen_check *checks;
    size_t nchecks;
    char (*events)[SCEN_NAME_MAX * 2];
    size_t nevents;
    struct scen_faults faults; /* the `faults` line(s) before the run */
    struct vmcisim_cost cost;  /* the `cost` line(s): what moving data costs in simulated time */
    int has_cost;
    int faults_line;
    struct scen_bridge *bridges;
    size_t nbridges;
};

void scen_script_free(struct scen_script *s);

#endif
