/* One rtnetlink socket per network namespace. A netlink socket talks to the
 * namespace it was opened in, so the socket is opened once while inside (as
 * `ip -n NAME` does) and kept: every later request on that namespace is a
 * plain send/ack, no namespace switch. Acks are read here rather than by
 * libnl because libnl drops the kernel's extended-ACK text, which is the
 * most useful part of an error ("Nexthop has invalid gateway").
 *
 * link.c, addr.c, route.c, neigh.c and fdb.c build the requests; they name
 * the object in an error, the caller names the namespace. */
#ifndef NSLAB_KERNEL_RTNL_H
#define NSLAB_KERNEL_RTNL_H

#include <stdint.h>

#include "base/error.h"

struct nl_msg;
struct nlmsghdr;
struct rtnl_ns;

/* Open a socket in the namespace the calling thread is in now and keep it
 * as NS, replacing an older one of that name. For a namespace just created
 * by the caller, which then needs no entering. */
int rtnl_open_here (const char *ns, nslab_error_t *err);
/* Close the socket kept for NS, if any (before NS is deleted). */
void rtnl_forget (const char *ns);
void rtnl_close_all (void);

/* ---- for the request builders in kernel/ ---------------------------- */

/* The socket for NS, opened on first use (entering NS for that). At most
 * RTNL_CACHE_MAX are kept, the least recently used closed first: a pointer
 * stays valid while fewer than that many other namespaces are asked for. */
#define RTNL_CACHE_MAX 64
struct rtnl_ns *rtnl_get (const char *ns, nslab_error_t *err);
/* fd of NS (for IFLA_NET_NS_FD), valid while the socket is kept. */
int rtnl_nsfd (const struct rtnl_ns *s);
/* ifindex of device NAME, remembered per namespace. */
int rtnl_ifindex (struct rtnl_ns *s, const char *name, int *out, nslab_error_t *err);
/* The same, bypassing the cache (RTM_GETLINK; see link_sync for the side
 * effect that matters). */
int rtnl_getlink (struct rtnl_ns *s, const char *name, int *out, nslab_error_t *err);

/* Why the kernel refused a request: errno and its extended-ACK text. */
struct rtnl_ack {
  int status;
  char text[256];
};
typedef int (*rtnl_reply_fn) (const struct nlmsghdr *nlh, void *arg);
/* Send msg (consumed) and wait for its ack; replies to it go to fn. On
 * failure returns -1 with *ack filled; the caller then builds its error
 * with rtnl_fail, so no text is formatted for requests that succeed. */
int rtnl_talk (struct rtnl_ns *s, struct nl_msg *msg, rtnl_reply_fn fn, void *arg, struct rtnl_ack *ack);
/* "WHAT: kernel text" (or just WHAT) with the ack's errno. Returns -1. */
int rtnl_fail (nslab_error_t *err, const struct rtnl_ack *ack, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* "08:00:27:aa:bb:cc" into buf (18 bytes). */
char *rtnl_mac_fmt (const uint8_t mac[6], char *buf);

/* An IPv4 libnl address in host byte order (caller puts it). */
struct nl_addr;
struct nl_addr *rtnl_ip4 (uint32_t ip, int prefixlen);

#endif
