/* IPv4 routes (see route.h), built with libnl-route's route object. The
 * error names the route in `ip route` words, since that is what a learner
 * compares it with. */
#include "kernel/route.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "kernel/rtnl.h"

static int
route_fail (nslab_error_t *err, const struct rtnl_ack *ack, const struct route_spec *pr)
{
  struct strbuf sb;
  char b1[CIDR_STRLEN], b2[IP_STRLEN];
  sb_init (&sb);
  if (pr->dst.len == 0 && pr->dst.addr == 0)
    sb_add (&sb, "add route default");
  else
    sb_addf (&sb, "add route %s", cidr_fmt (pr->dst, b1));
  if (pr->gw)
    sb_addf (&sb, " via %s", ip_fmt (pr->gw, b2));
  sb_addf (&sb, " dev %s", pr->dev);
  if (pr->scope_link)
    sb_add (&sb, " scope link");
  if (pr->src)
    sb_addf (&sb, " src %s", ip_fmt (pr->src, b2));
  if (pr->metric)
    sb_addf (&sb, " metric %u", pr->metric);
  if (pr->onlink)
    sb_add (&sb, " onlink");
  cleanup_free char *what = sb_steal (&sb);
  return rtnl_fail (err, ack, "%s", what);
}

int
route_add (const char *ns, const struct route_spec *pr, nslab_error_t *err)
{
  struct rtnl_ns *s = rtnl_get (ns, err);
  int idx;
  if (s == NULL || rtnl_ifindex (s, pr->dev, &idx, err) < 0)
    return -1;
  struct rtnl_route *r = rtnl_route_alloc ();
  if (r == NULL)
    abort ();
  rtnl_route_set_family (r, AF_INET);
  rtnl_route_set_table (r, RT_TABLE_MAIN);
  rtnl_route_set_type (r, RTN_UNICAST);
  rtnl_route_set_scope (r, pr->scope_link ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
  rtnl_route_set_protocol (r, pr->protocol ? pr->protocol : RTPROT_BOOT);
  struct nl_addr *dst = rtnl_ip4 (pr->dst.addr, pr->dst.len);
  rtnl_route_set_dst (r, dst);
  nl_addr_put (dst);
  if (pr->metric)
    rtnl_route_set_priority (r, pr->metric);
  if (pr->src)
    {
      struct nl_addr *src = rtnl_ip4 (pr->src, 32);
      rtnl_route_set_pref_src (r, src);
      nl_addr_put (src);
    }
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc ();
  if (nh == NULL)
    abort ();
  rtnl_route_nh_set_ifindex (nh, idx);
  if (pr->gw)
    {
      struct nl_addr *gw = rtnl_ip4 (pr->gw, 32);
      rtnl_route_nh_set_gateway (nh, gw);
      nl_addr_put (gw);
    }
  if (pr->onlink)
    rtnl_route_nh_set_flags (nh, RTNH_F_ONLINK);
  rtnl_route_add_nexthop (r, nh);
  struct nl_msg *msg = NULL;
  int rc = rtnl_route_build_add_request (r, NLM_F_CREATE | NLM_F_EXCL, &msg);
  rtnl_route_put (r);
  struct rtnl_ack ack = { 0 };
  if (rc < 0)
    {
      snprintf (ack.text, sizeof ack.text, "%s", nl_geterror (rc));
      return route_fail (err, &ack, pr);
    }
  if (rtnl_talk (s, msg, NULL, NULL, &ack) < 0)
    return route_fail (err, &ack, pr);
  return 0;
}
