/*
 * vmci_defs.c - names of VMCI result codes, for the trace and error messages.
 */
#include "vmci/vmci_defs.h"

const char *vmci_strerror(int code)
{
    static const char *const ok[] = {"VMCI_SUCCESS", "VMCI_SUCCESS_ENTRY_DEAD",
                                     "VMCI_SUCCESS_ACCESS_GRANTED", "VMCI_SUCCESS_LAST_DETACH",
                                     "VMCI_SUCCESS_QUEUEPAIR_CREATE",
                                     "VMCI_SUCCESS_QUEUEPAIR_ATTACH"};
    static const char *const err_full[] = {
#define E(x) "VMCI_ERROR_" #x
        E(INVALID_RESOURCE), E(INVALID_ARGS), E(NO_MEM), E(DATAGRAM_FAILED), E(MORE_DATA),
        E(NO_MORE_DATAGRAMS), E(NO_ACCESS), E(NO_HANDLE), E(DUPLICATE_ENTRY), E(DST_UNREACHABLE),
        E(PAYLOAD_TOO_LARGE), E(INVALID_PRIV), E(GENERIC), E(PAGE_ALREADY_SHARED),
        E(CANNOT_SHARE_PAGE), E(CANNOT_UNSHARE_PAGE), E(NO_PROCESS), E(NO_DATAGRAM),
        E(NO_RESOURCES), E(UNAVAILABLE), E(NOT_FOUND), E(ALREADY_EXISTS), E(NOT_PAGE_ALIGNED),
        E(INVALID_SIZE), E(REGION_ALREADY_SHARED), E(TIMEOUT), E(DATAGRAM_INCOMPLETE),
        E(INCORRECT_IRQL), E(EVENT_UNKNOWN), E(OBSOLETE), E(QUEUEPAIR_MISMATCH),
        E(QUEUEPAIR_NOTSET), E(QUEUEPAIR_NOTOWNER), E(QUEUEPAIR_NOTATTACHED),
        E(QUEUEPAIR_NOSPACE), E(QUEUEPAIR_NODATA), E(BUSMEM_INVALIDATION), E(MODULE_NOT_LOADED),
        E(DEVICE_NOT_FOUND), E(QUEUEPAIR_NOT_READY), E(WOULD_BLOCK)
#undef E
    };
    if (code >= 0 && code < (int)(sizeof ok / sizeof ok[0]))
        return ok[code];
    if (code < 0 && -code <= (int)(sizeof err_full / sizeof err_full[0]))
        return err_full[-code - 1];
    return "VMCI_ERROR_UNKNOWN";
}
