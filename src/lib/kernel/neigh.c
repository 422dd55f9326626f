/* Permanent neighbours (see neigh.h), built with libnl-route's object. */
#include "kernel/neigh.h"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/ipaddr.h"
#include "kernel/rtnl.h"

int
neigh_add (const char *ns, const char *dev, uint32_t ip, const uint8_t lladdr[6], nslab_error_t *err)
{
  struct rtnl_ns *s = rtnl_get (ns, err);
  int idx;
  if (s == NULL || rtnl_ifindex (s, dev, &idx, err) < 0)
    return -1;
  struct rtnl_neigh *n = rtnl_neigh_alloc ();
  if (n == NULL)
    abort ();
  rtnl_neigh_set_ifindex (n, idx);
  rtnl_neigh_set_family (n, AF_INET);
  uint32_t be = htonl (ip);
  struct nl_addr *dst = nl_addr_build (AF_INET, &be, 4);
  struct nl_addr *ll = nl_addr_build (AF_LLC, lladdr, 6);
  if (dst == NULL || ll == NULL)
    abort ();
  rtnl_neigh_set_dst (n, dst);
  rtnl_neigh_set_lladdr (n, ll);
  nl_addr_put (dst);
  nl_addr_put (ll);
  rtnl_neigh_set_state (n, NUD_PERMANENT);
  struct nl_msg *msg = NULL;
  int rc = rtnl_neigh_build_add_request (n, NLM_F_CREATE | NLM_F_EXCL, &msg);
  rtnl_neigh_put (n);
  struct rtnl_ack ack = { 0 };
  if (rc < 0)
    snprintf (ack.text, sizeof ack.text, "%s", nl_geterror (rc));
  if (rc < 0 || rtnl_talk (s, msg, NULL, NULL, &ack) < 0)
    {
      char b[IP_STRLEN], m[18];
      return rtnl_fail (err, &ack, "add neigh %s lladdr %s dev %s", ip_fmt (ip, b), rtnl_mac_fmt (lladdr, m), dev);
    }
  return 0;
}
