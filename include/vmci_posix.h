/* vmci_posix.h - kept so that the old include path works; the header lives in <vmcisim/vmci_posix.h>. */
#include "vmcisim/vmci_posix.h"
