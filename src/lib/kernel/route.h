/* IPv4 routes in the main table, as `ip route add` makes them. */
#ifndef NSLAB_KERNEL_ROUTE_H
#define NSLAB_KERNEL_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/ipaddr.h"

struct route_spec {
  struct cidr dst;      /* 0.0.0.0/0 for default */
  uint32_t gw;          /* 0 = none */
  const char *dev;
  uint32_t src;         /* preferred source, 0 = none */
  uint32_t metric;
  uint8_t protocol;     /* 0 = RTPROT_BOOT, what ip route add uses */
  bool onlink;
  bool scope_link;      /* direct route with no gateway */
};

int route_add (const char *ns, const struct route_spec *r, nslab_error_t *err);

#endif
