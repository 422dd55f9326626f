/* Network devices: the bridge, veth pairs and the VXLAN device a lab is
 * made of, and the settings `ip link set` / `bridge link set` change. Each
 * create sets name, MAC and MTU in the one RTM_NEWLINK, so a device never
 * shows up with a random MAC first. */
#ifndef NSLAB_KERNEL_LINK_H
#define NSLAB_KERNEL_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

struct veth_spec {
  const char *name;
  const uint8_t *mac;       /* 6 bytes, or NULL for a kernel-chosen one */
  const char *peer_name;
  const uint8_t *peer_mac;  /* 6 bytes or NULL */
  const char *peer_ns;      /* namespace of the peer end; NULL = the same */
  uint32_t mtu;             /* both ends; 0 = default */
  bool no_queue;            /* txqueuelen 0 on both ends (else the kernel's 1000) */
};

struct vxlan_spec {
  const char *name;
  const uint8_t *mac;       /* 6 bytes or NULL */
  uint32_t mtu;             /* 0 = default */
  uint32_t vni;
  uint16_t dstport;         /* UDP port, host order (flannel: 8472) */
  uint32_t local;           /* source address, host order; 0 = none */
  const char *dev;          /* underlay device, or NULL */
  bool learning;
};

int link_add_bridge (const char *ns, const char *name, uint32_t mtu, const uint8_t *mac, nslab_error_t *err);
/* Both ends in one request; the peer goes straight into peer_ns. */
int link_add_veth (const char *ns, const struct veth_spec *v, nslab_error_t *err);
int link_add_vxlan (const char *ns, const struct vxlan_spec *v, nslab_error_t *err);

int link_set_master (const char *ns, const char *name, const char *master, nslab_error_t *err);
int link_set_hairpin (const char *ns, const char *name, bool on, nslab_error_t *err);
int link_set_up (const char *ns, const char *name, nslab_error_t *err);
int link_set_mtu (const char *ns, const char *name, uint32_t mtu, nslab_error_t *err);
int link_set_mac (const char *ns, const char *name, const uint8_t mac[6], nslab_error_t *err);
int link_ifindex (const char *ns, const char *name, int *out, nslab_error_t *err);

/* Make the kernel apply the device's pending carrier change now. The
 * kernel's linkwatch handles most carrier changes at most once a second;
 * until it does, a bridge port stays "disabled" and a bridge drops what it
 * sends, so the first packets after `up` would vanish. Asking for the
 * device (RTM_GETLINK) runs its pending event at once. */
int link_sync (const char *ns, const char *name, nslab_error_t *err);

#endif
