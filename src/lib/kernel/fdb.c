/* VXLAN FDB entries (see fdb.h). libnl has no object for an AF_BRIDGE
 * neighbour with NTF_SELF, so the request is built by hand. */
#include "kernel/fdb.h"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdlib.h>

#include "base/ipaddr.h"
#include "kernel/rtnl.h"

int
fdb_append (const char *ns, const char *dev, const uint8_t lladdr[6], uint32_t dst, nslab_error_t *err)
{
  struct rtnl_ns *s = rtnl_get (ns, err);
  int idx;
  if (s == NULL || rtnl_ifindex (s, dev, &idx, err) < 0)
    return -1;
  /* The vxlan driver keeps an NTF_SELF entry as a remote for that MAC. */
  struct nl_msg *msg = nlmsg_alloc_simple (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND);
  struct ndmsg nd = { .ndm_family = AF_BRIDGE, .ndm_ifindex = idx, .ndm_state = NUD_PERMANENT, .ndm_flags = NTF_SELF };
  uint32_t be = htonl (dst);
  if (msg == NULL || nlmsg_append (msg, &nd, sizeof nd, NLMSG_ALIGNTO) < 0 || nla_put (msg, NDA_LLADDR, 6, lladdr) < 0
      || nla_put (msg, NDA_DST, 4, &be) < 0)
    abort ();
  struct rtnl_ack ack;
  if (rtnl_talk (s, msg, NULL, NULL, &ack) < 0)
    {
      char b[IP_STRLEN], m[18];
      return rtnl_fail (err, &ack, "fdb append %s dev %s dst %s self permanent", rtnl_mac_fmt (lladdr, m), dev,
                        ip_fmt (dst, b));
    }
  return 0;
}
