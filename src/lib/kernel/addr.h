/* IPv4 addresses on a device, as `ip addr add` (and a DHCP client, with a
 * metric) sets them. */
#ifndef NSLAB_KERNEL_ADDR_H
#define NSLAB_KERNEL_ADDR_H

#include <stdint.h>

#include "base/error.h"
#include "base/ipaddr.h"

/* ADDR with its prefix length on DEV; broadcast set below /31; metric is
 * IFA_RT_PRIORITY of the prefix route (0 = none). */
int addr_add (const char *ns, const char *dev, struct cidr addr, uint32_t metric, nslab_error_t *err);
/* `ip addr del ADDR dev DEV`; an address already gone is success. */
int addr_del (const char *ns, const char *dev, struct cidr addr, nslab_error_t *err);

#endif
