/* vmci_sockets.h - kept so that the old include path works; the header lives in <vmcisim/vmci_sockets.h>. */
#include "vmcisim/vmci_sockets.h"
