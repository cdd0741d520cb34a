/*
 * names.c - the words of the scenario language that name C values: errno names, counters,
 * operations, built-in programs. Kept in one place so the parser (text -> value) and the
 * reports (value -> text) cannot disagree.
 */
#include <errno.h>
#include <string.h>

#include "scenario/ast.h"
#include "scenario/names.h"

struct errno_name {
    const char *name;
    int value;
};

/* The first name of a value is the one reports use (EAGAIN, not EWOULDBLOCK). */
static const struct errno_name errnos[] = {
    {"EPERM", EPERM},
    {"ENOENT", ENOENT},
    {"EINTR", EINTR},
    {"EIO", EIO},
    {"EBADF", EBADF},
    {"EAGAIN", EAGAIN},
    {"EWOULDBLOCK", EWOULDBLOCK},
    {"ENOMEM", ENOMEM},
    {"EACCES", EACCES},
    {"EFAULT", EFAULT},
    {"EBUSY", EBUSY},
    {"EEXIST", EEXIST},
    {"ENODEV", ENODEV},
    {"EINVAL", EINVAL},
    {"ENFILE", ENFILE},
    {"EMFILE", EMFILE},
    {"ENOTTY", ENOTTY},
    {"ENOSPC", ENOSPC},
    {"EPIPE", EPIPE},
    {"ERANGE", ERANGE},
    {"ENOSYS", ENOSYS},
    {"ENOTSOCK", ENOTSOCK},
    {"EDESTADDRREQ", EDESTADDRREQ},
    {"EMSGSIZE", EMSGSIZE},
    {"EPROTOTYPE", EPROTOTYPE},
    {"ENOPROTOOPT", ENOPROTOOPT},
    {"EPROTONOSUPPORT", EPROTONOSUPPORT},
    {"ESOCKTNOSUPPORT", ESOCKTNOSUPPORT},
    {"EOPNOTSUPP", EOPNOTSUPP},
    {"ENOTSUP", ENOTSUP},
    {"EPFNOSUPPORT", EPFNOSUPPORT},
    {"EAFNOSUPPORT", EAFNOSUPPORT},
    {"EADDRINUSE", EADDRINUSE},
    {"EADDRNOTAVAIL", EADDRNOTAVAIL},
    {"ENETDOWN", ENETDOWN},
    {"ENETUNREACH", ENETUNREACH},
    {"ENETRESET", ENETRESET},
    {"ECONNABORTED", ECONNABORTED},
    {"ECONNRESET", ECONNRESET},
    {"ENOBUFS", ENOBUFS},
    {"EISCONN", EISCONN},
    {"ENOTCONN", ENOTCONN},
    {"ESHUTDOWN", ESHUTDOWN},
    {"ETIMEDOUT", ETIMEDOUT},
    {"ECONNREFUSED", ECONNREFUSED},
    {"EHOSTDOWN", EHOSTDOWN},
    {"EHOSTUNREACH", EHOSTUNREACH},
    {"EALREADY", EALREADY},
    {"EINPROGRESS", EINPROGRESS},
    {"EPROTO", EPROTO},
    {"ENOTEMPTY", ENOTEMPTY},
    {"ESRCH", ESRCH},
    {"E2BIG", E2BIG},
    {"ECHILD", ECHILD},
    {"EDEADLK", EDEADLK},
    {"ENOLINK", ENOLINK},
    {"EOVERFLOW", EOVERFLOW},
    {"EILSEQ", EILSEQ},
    {"ERESTART", ERESTART},
    {"ECANCELED", ECANCELED},
};

int scen_errno_by_name(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        if (strlen(errnos[i].name) == n && memcmp(errnos[i].name, s, n) == 0)
            return errnos[i].value;
    return -1;
}

const char *scen_errno_name(int e)
{
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        if (errnos[i].value == e)
            return errnos[i].name;
    return NULL;
}

static const char *const counters[SCEN_NCOUNTERS] = {
    [C_CONNECTED] = "connected",
    [C_REFUSED] = "refused",
    [C_CONNECT_ERRORS] = "connect_errors",
    [C_ACCEPTED] = "accepted",
    [C_BYTES_SENT] = "bytes_sent",
    [C_BYTES_RECEIVED] = "bytes_received",
    [C_DGRAMS_SENT] = "dgrams_sent",
    [C_DGRAMS_RECEIVED] = "dgrams_received",
    [C_EOF] = "eof",
    [C_EPIPE] = "epipe",
    [C_ERRORS] = "errors",
    [C_STREAMS_OK] = "streams_ok",
    [C_CHECKSUM_BAD] = "checksum_bad",
    [C_TRUNCATED] = "truncated",
    [C_REQUESTS] = "requests",
    [C_RESPONSES] = "responses",
    [C_REPLIES] = "replies",
    [C_LOST] = "lost",
    [C_DUPLICATES] = "duplicates",
    [C_LATE] = "late",
    [C_KILLED] = "killed",
    [C_STATUS] = "status",
    [C_SIGNAL] = "signal",
};

const char *scen_counter_name(int c)
{
    return c >= 0 && c < SCEN_NCOUNTERS ? counters[c] : "?";
}

int scen_counter_by_name(const char *s, size_t n)
{
    for (int i = 0; i < SCEN_NCOUNTERS; i++)
        if (strlen(counters[i]) == n && memcmp(counters[i], s, n) == 0)
            return i;
    return -1;
}

const char *scen_op_name(int op)
{
    static const char *const names[] = {
        [OP_SOCKET] = "socket",       [OP_BIND] = "bind",
        [OP_LISTEN] = "listen",       [OP_ACCEPT] = "accept",
        [OP_CONNECT] = "connect",     [OP_SEND] = "send",
        [OP_RECV] = "recv",           [OP_SENDTO] = "sendto",
        [OP_RECVFROM] = "recvfrom",   [OP_SHUTDOWN] = "shutdown",
        [OP_CLOSE] = "close",         [OP_POLL] = "poll",
        [OP_SETSOCKOPT] = "setsockopt", [OP_GETSOCKOPT] = "getsockopt",
        [OP_GETSOCKNAME] = "getsockname", [OP_GETPEERNAME] = "getpeername",
        [OP_SLEEP] = "sleep",         [OP_MARK] = "mark",
        [OP_WAIT] = "wait",           [OP_ACTION] = "action",
        [OP_FAULTS] = "faults",       [OP_REPEAT] = "repeat",
        [OP_NOTE] = "note",
    };
    return op >= 0 && (size_t)op < sizeof names / sizeof names[0] && names[op] ? names[op] : "?";
}

static const char *const builtins[] = {
    [B_NONE] = "process",         [B_ECHO_SERVER] = "echo-server", [B_SINK] = "sink",
    [B_SOURCE] = "source",        [B_RR_SERVER] = "rr-server",     [B_RR_CLIENT] = "rr-client",
    [B_DGRAM_PONG] = "dgram-pong", [B_DGRAM_PING] = "dgram-ping", [B_EXEC] = "exec",
};

const char *scen_builtin_name(int b)
{
    return b >= 0 && (size_t)b < sizeof builtins / sizeof builtins[0] ? builtins[b] : "?";
}

int scen_builtin_by_name(const char *s, size_t n)
{
    for (size_t i = 1; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strlen(builtins[i]) == n && memcmp(builtins[i], s, n) == 0)
            return (int)i;
    return -1;
}

static const char *const actions[] = {
    [ACT_SUSPEND] = "suspend",     [ACT_RESUME] = "resume", [ACT_MIGRATE] = "migrate",
    [ACT_POWER_OFF] = "power-off", [ACT_FT_ON] = "ft-on",   [ACT_FT_OFF] = "ft-off",
    [ACT_HOLD] = "hold",           [ACT_RELEASE] = "release", [ACT_CLOG] = "clog",
};

const char *scen_action_name(int a)
{
    return a >= 0 && (size_t)a < sizeof actions / sizeof actions[0] ? actions[a] : "?";
}

int scen_action_by_name(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strlen(actions[i]) == n && memcmp(actions[i], s, n) == 0)
            return (int)i;
    return -1;
}

const char *scen_vm_state_name(int st)
{
    switch (st) {
    case VMCISIM_VM_RUNNING: return "running";
    case VMCISIM_VM_SUSPENDED: return "suspended";
    case VMCISIM_VM_POWERED_OFF: return "powered-off";
    default: return "?";
    }
}
