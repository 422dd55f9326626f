/* Forwarding entries on a VXLAN device: which remote VTEP (underlay IP)
 * answers for a MAC, as flannel's `bridge fdb append ... self` does. */
#ifndef NSLAB_KERNEL_FDB_H
#define NSLAB_KERNEL_FDB_H

#include <stdint.h>

#include "base/error.h"

int fdb_append (const char *ns, const char *dev, const uint8_t lladdr[6], uint32_t dst, nslab_error_t *err);

#endif
