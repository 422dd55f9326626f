/* rtnetlink per namespace through libnl-route-3. A socket is bound to the
 * namespace it was opened in, so one socket per namespace is opened while
 * inside it (as `ip -n NAME` does) and cached; every later operation on that
 * namespace is a plain send/ack on the socket, no namespace switch. Requests
 * are built with libnl; acks are read here so the kernel's extended ACK text
 * ends up in the error: "k3s-w1: add route 10.42.0.0/24 via 10.42.0.0 dev
 * flannel.1: Network is unreachable". Functions are prefixed nlr_ to stay
 * clear of libnl's own nl_ namespace. */
#ifndef NSLAB_NL_H
#define NSLAB_NL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/ipaddr.h"
#include "plan/plan.h"

/* Open a socket in the namespace the thread is in now, cache it as NS and
 * bring lo up. Used by netns_create right after unshare. */
int nlr_adopt_current (const char *ns, nslab_error_t *err);
/* Close the cached socket of NS (before deleting it). */
void nlr_forget (const char *ns);
void nlr_close_all (void);

/* ifindex of NAME inside NS (cached per namespace). */
/* Make the kernel apply the device's pending carrier change now. The
 * kernel's linkwatch handles most carrier changes at most once a second;
 * until it does, a bridge port stays "disabled" and a bridge drops what it
 * sends, so the first packets after `up` would vanish. Asking for the
 * device (RTM_GETLINK) runs its pending event at once. */
int nlr_link_sync (const char *ns, const char *name, nslab_error_t *err);
int nlr_ifindex (const char *ns, const char *name, int *out, nslab_error_t *err);

/* Create l->name inside NS: bridge, veth (peer created directly in
 * peer_ns_name) or vxlan; MACs and MTU set in the same request. */
int nlr_link_add (const char *ns, const struct plan_link *l, const char *peer_ns_name, nslab_error_t *err);
/* Master, then hairpin, then up (the order the kernel needs). */
int nlr_link_set (const char *ns, const struct plan_link_set *s, nslab_error_t *err);
int nlr_link_set_up (const char *ns, const char *name, nslab_error_t *err);
int nlr_link_set_mtu (const char *ns, const char *name, uint32_t mtu, nslab_error_t *err);
int nlr_link_set_mac (const char *ns, const char *name, const uint8_t mac[6], nslab_error_t *err);
int nlr_link_set_hairpin (const char *ns, const char *name, bool on, nslab_error_t *err);
int nlr_addr_add (const char *ns, const struct plan_addr *a, nslab_error_t *err);
int nlr_route_add (const char *ns, const struct plan_route *r, nslab_error_t *err);
int nlr_neigh_add (const char *ns, const struct plan_neigh *n, nslab_error_t *err);
int nlr_fdb_append (const char *ns, const struct plan_fdb *f, nslab_error_t *err);

/* "08:00:27:aa:bb:cc" into buf (18 bytes). */
char *nlr_mac_fmt (const uint8_t mac[6], char *buf);

#endif
