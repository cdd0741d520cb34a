/* vmcisim.h - kept so that the old include path works; the header lives in <vmcisim/vmcisim.h>. */
#include "vmcisim/vmcisim.h"
