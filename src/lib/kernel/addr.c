/* IPv4 addresses (see addr.h). Built with libnl-route's address object;
 * IFA_RT_PRIORITY, which libnl does not know, is appended to its message. */
#include "kernel/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel/rtnl.h"

/* The address object of ADDR on DEV in NS, with the namespace's handle in
 * *sp; NULL (err set) when the namespace or device cannot be found. */
static struct rtnl_addr *
addr_object (const char *ns, const char *dev, struct cidr addr, struct rtnl_ns **sp, nslab_error_t *err)
{
  struct rtnl_ns *s = rtnl_get (ns, err);
  int idx;
  if (s == NULL || rtnl_ifindex (s, dev, &idx, err) < 0)
    return NULL;
  struct rtnl_addr *a = rtnl_addr_alloc ();
  if (a == NULL)
    abort ();
  rtnl_addr_set_ifindex (a, idx);
  rtnl_addr_set_family (a, AF_INET);
  struct nl_addr *local = rtnl_ip4 (addr.addr, addr.len);
  rtnl_addr_set_local (a, local);
  nl_addr_put (local);
  rtnl_addr_set_prefixlen (a, addr.len);
  *sp = s;
  return a;
}

int
addr_add (const char *ns, const char *dev, struct cidr addr, uint32_t metric, nslab_error_t *err)
{
  struct rtnl_ns *s;
  struct rtnl_addr *a = addr_object (ns, dev, addr, &s, err);
  if (a == NULL)
    return -1;
  /* What DHCP clients and the CNI bridge plugin set (brd shows in `ip a`). */
  if (addr.len < 31)
    {
      struct nl_addr *brd = rtnl_ip4 (cidr_broadcast (addr), 32);
      rtnl_addr_set_broadcast (a, brd);
      nl_addr_put (brd);
    }
  struct nl_msg *msg = NULL;
  int r = rtnl_addr_build_add_request (a, NLM_F_CREATE | NLM_F_EXCL, &msg);
  rtnl_addr_put (a);
  struct rtnl_ack ack = { 0 };
  if (r < 0)
    snprintf (ack.text, sizeof ack.text, "%s", nl_geterror (r));
  else if (metric && nla_put_u32 (msg, IFA_RT_PRIORITY, metric) < 0)
    abort ();
  if (r < 0 || rtnl_talk (s, msg, NULL, NULL, &ack) < 0)
    {
      char c[CIDR_STRLEN];
      return rtnl_fail (err, &ack, "add address %s dev %s", cidr_fmt (addr, c), dev);
    }
  return 0;
}

int
addr_del (const char *ns, const char *dev, struct cidr addr, nslab_error_t *err)
{
  struct rtnl_ns *s;
  struct rtnl_addr *a = addr_object (ns, dev, addr, &s, err);
  if (a == NULL)
    return -1;
  struct nl_msg *msg = NULL;
  int r = rtnl_addr_build_delete_request (a, 0, &msg);
  rtnl_addr_put (a);
  struct rtnl_ack ack = { 0 };
  if (r < 0)
    snprintf (ack.text, sizeof ack.text, "%s", nl_geterror (r));
  if (r < 0 || (rtnl_talk (s, msg, NULL, NULL, &ack) < 0 && ack.status != EADDRNOTAVAIL))
    {
      char c[CIDR_STRLEN];
      return rtnl_fail (err, &ack, "delete address %s dev %s", cidr_fmt (addr, c), dev);
    }
  return 0;
}
