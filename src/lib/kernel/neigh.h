/* Permanent IPv4 neighbour (ARP) entries, as flannel writes them for each
 * remote node's VTEP. */
#ifndef NSLAB_KERNEL_NEIGH_H
#define NSLAB_KERNEL_NEIGH_H

#include <stdint.h>

#include "base/error.h"

int neigh_add (const char *ns, const char *dev, uint32_t ip, const uint8_t lladdr[6], nslab_error_t *err);

#endif
