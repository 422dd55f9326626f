/* rtnetlink per namespace (see nl.h). Requests are built with libnl-route-3
 * objects where libnl knows the object (links, addresses, routes,
 * neighbours) and with libnl's message API where it does not (bridge port
 * protinfo, FDB entries, IFA_RT_PRIORITY). Acks are read here, with libmnl
 * walking the kernel's extended ACK attributes, because libnl drops the
 * kernel's error text. */
#include "kernel/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel/netns.h"
#include "base/util.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct ifent {
  char *name;
  int index;
};

struct nsock {
  char *ns;
  struct nl_sock *sk;
  int nsfd;             /* kept for IFLA_NET_NS_FD (veth peers created here) */
  struct ifent *ifs;
  size_t n_ifs;
};

static struct nsock *socks;
static size_t n_socks;

char *
nlr_mac_fmt (const uint8_t m[6], char *buf)
{
  snprintf (buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

static struct nsock *
find_sock (const char *ns)
{
  for (size_t i = 0; i < n_socks; i++)
    if (strcmp (socks[i].ns, ns) == 0)
      return &socks[i];
  return NULL;
}

static void
free_sock (struct nsock *s)
{
  nl_socket_free (s->sk);
  if (s->nsfd >= 0)
    close (s->nsfd);
  for (size_t i = 0; i < s->n_ifs; i++)
    free (s->ifs[i].name);
  free (s->ifs);
  free (s->ns);
}

void
nlr_forget (const char *ns)
{
  struct nsock *s = find_sock (ns);
  if (s == NULL)
    return;
  free_sock (s);
  size_t i = (size_t) (s - socks);
  memmove (&socks[i], &socks[i + 1], (n_socks - i - 1) * sizeof *socks);
  n_socks--;
}

void
nlr_close_all (void)
{
  for (size_t i = 0; i < n_socks; i++)
    free_sock (&socks[i]);
  free (socks);
  socks = NULL;
  n_socks = 0;
}

/* Open a socket in the current namespace and cache it under NS. */
static struct nsock *
open_here (const char *ns, nslab_error_t *err)
{
  struct nl_sock *sk = nl_socket_alloc ();
  if (sk == NULL)
    abort ();
  int r = nl_connect (sk, NETLINK_ROUTE);
  if (r < 0)
    {
      nl_socket_free (sk);
      nslab_error (err, 0, "%s: netlink socket: %s", ns, nl_geterror (r));
      return NULL;
    }
  int fd = nl_socket_get_fd (sk);
  int one = 1;
  /* Ask for the kernel's error text, without the echoed request. Old
   * kernels reject the options; errors then carry strerror only. */
  (void) setsockopt (fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void) setsockopt (fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  fcntl (fd, F_SETFD, FD_CLOEXEC);
  nl_socket_disable_seq_check (sk);
  int nsfd = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    {
      nl_socket_free (sk);
      nslab_error (err, errno, "%s: open /proc/thread-self/ns/net", ns);
      return NULL;
    }
  struct nsock *s = VEC_PUSH (socks, n_socks);
  s->ns = xstrdup (ns);
  s->sk = sk;
  s->nsfd = nsfd;
  return s;
}

static struct nsock *
get_sock (const char *ns, nslab_error_t *err)
{
  struct nsock *s = find_sock (ns);
  if (s)
    return s;
  cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
  if (netns_enter (&g, ns, err) < 0)
    return NULL;
  return open_here (ns, err);
}

typedef int (*reply_fn) (const struct nlmsghdr *nlh, void *arg);

/* Why the request failed, in the kernel's words when it gave some. */
static void
ack_error (const struct nlmsghdr *nlh, const char *ns, const char *what, nslab_error_t *err)
{
  const struct nlmsgerr *e = mnl_nlmsg_get_payload (nlh);
  int status = -e->error;
  const char *text = NULL;
  if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
    {
      size_t off = sizeof *e;
      if (! (nlh->nlmsg_flags & NLM_F_CAPPED))
        off += e->msg.nlmsg_len - sizeof (struct nlmsghdr);
      const char *base = (const char *) e + off;
      const char *end = (const char *) nlh + nlh->nlmsg_len;
      const struct nlattr *a = (const struct nlattr *) base;
      while ((const char *) a + sizeof *a <= end && a->nla_len >= sizeof *a
             && (const char *) a + a->nla_len <= end)
        {
          if (mnl_attr_get_type (a) == NLMSGERR_ATTR_MSG && mnl_attr_get_payload_len (a) > 0)
            text = mnl_attr_get_str (a);
          a = (const struct nlattr *) ((const char *) a + MNL_ALIGN (a->nla_len));
        }
    }
  if (text && *text)
    nslab_error (err, status, "%s: %s: %s", ns, what, text);
  else
    nslab_error (err, status, "%s: %s", ns, what);
}

/* Send msg (consumed) and wait for its ack; replies with the same sequence
 * number go to fn. */
static int
talk (struct nsock *s, struct nl_msg *msg, reply_fn fn, void *arg, const char *what, nslab_error_t *err)
{
  nl_complete_msg (s->sk, msg);
  uint32_t seq = nlmsg_hdr (msg)->nlmsg_seq;
  int r = nl_send (s->sk, msg);
  nlmsg_free (msg);
  if (r < 0)
    return nslab_error (err, 0, "%s: %s: netlink send: %s", s->ns, what, nl_geterror (r));
  int fd = nl_socket_get_fd (s->sk);
  static char buf[32768] __attribute__ ((aligned (4)));
  for (;;)
    {
      ssize_t n = recv (fd, buf, sizeof buf, 0);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return nslab_error (err, errno, "%s: %s: netlink receive", s->ns, what);
        }
      const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf;
      int len = (int) n;
      for (; mnl_nlmsg_ok (nlh, len); nlh = mnl_nlmsg_next (nlh, &len))
        {
          if (nlh->nlmsg_seq != seq)
            continue;
          if (nlh->nlmsg_type == NLMSG_ERROR)
            {
              const struct nlmsgerr *e = mnl_nlmsg_get_payload (nlh);
              if (e->error == 0)
                return 0;
              ack_error (nlh, s->ns, what, err);
              return -1;
            }
          if (nlh->nlmsg_type == NLMSG_DONE)
            return 0;
          if (fn)
            fn (nlh, arg);
        }
    }
}

static int
got_ifindex (const struct nlmsghdr *nlh, void *arg)
{
  if (nlh->nlmsg_type == RTM_NEWLINK)
    {
      const struct ifinfomsg *ifi = mnl_nlmsg_get_payload (nlh);
      *(int *) arg = ifi->ifi_index;
    }
  return 0;
}

/* RTM_GETLINK for one device by name. Besides the index it has a side
 * effect we rely on: rtnl_getlink() runs the device's pending linkwatch
 * event (linkwatch_sync_dev), see nlr_link_sync(). */
static int
sock_getlink (struct nsock *s, const char *name, int *out, nslab_error_t *err)
{
  struct nl_msg *msg = nlmsg_alloc_simple (RTM_GETLINK, 0);
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  if (msg == NULL || nlmsg_append (msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0
      || nla_put_string (msg, IFLA_IFNAME, name) < 0
      || nla_put_u32 (msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
    abort ();
  int idx = 0;
  cleanup_free char *what = xasprintf ("find device %s", name);
  if (talk (s, msg, got_ifindex, &idx, what, err) < 0)
    return -1;
  if (idx <= 0)
    return nslab_error (err, ENODEV, "%s: %s", s->ns, what);
  *out = idx;
  return 0;
}

static int
sock_ifindex (struct nsock *s, const char *name, int *out, nslab_error_t *err)
{
  for (size_t i = 0; i < s->n_ifs; i++)
    if (strcmp (s->ifs[i].name, name) == 0)
      {
        *out = s->ifs[i].index;
        return 0;
      }
  int idx;
  if (sock_getlink (s, name, &idx, err) < 0)
    return -1;
  struct ifent *e = VEC_PUSH (s->ifs, s->n_ifs);
  e->name = xstrdup (name);
  e->index = idx;
  *out = idx;
  return 0;
}

int
nlr_link_sync (const char *ns, const char *name, nslab_error_t *err)
{
  struct nsock *s = get_sock (ns, err);
  if (s == NULL)
    return -1;
  int idx;
  return sock_getlink (s, name, &idx, err);
}

int
nlr_ifindex (const char *ns, const char *name, int *out, nslab_error_t *err)
{
  struct nsock *s = get_sock (ns, err);
  if (s == NULL)
    return -1;
  return sock_ifindex (s, name, out, err);
}

static struct nl_addr *
lladdr (const uint8_t mac[6])
{
  struct nl_addr *a = nl_addr_build (AF_LLC, mac, 6);
  if (a == NULL)
    abort ();
  return a;
}

static struct nl_addr *
ip4addr (uint32_t ip, int prefixlen)
{
  uint32_t be = htonl (ip);
  struct nl_addr *a = nl_addr_build (AF_INET, &be, 4);
  if (a == NULL)
    abort ();
  nl_addr_set_prefixlen (a, prefixlen);
  return a;
}

/* Link attributes libnl should put in a create request. */
static void
set_common (struct rtnl_link *link, const char *name, uint32_t mtu, const uint8_t *mac)
{
  rtnl_link_set_name (link, name);
  if (mtu)
    rtnl_link_set_mtu (link, mtu);
  if (mac)
    {
      struct nl_addr *a = lladdr (mac);
      rtnl_link_set_addr (link, a);
      nl_addr_put (a);
    }
}

int
nlr_link_add (const char *ns, const struct plan_link *l, const char *peer_ns_name, nslab_error_t *err)
{
  struct nsock *s = get_sock (ns, err);
  if (s == NULL)
    return -1;
  struct rtnl_link *link = NULL;
  cleanup_free char *what = NULL;
  int r;
  switch (l->kind)
    {
    case LINK_BRIDGE:
      link = rtnl_link_alloc ();
      if (link == NULL || rtnl_link_set_type (link, "bridge") < 0)
        abort ();
      set_common (link, l->name, l->mtu, l->has_mac ? l->mac : NULL);
      what = xasprintf ("add bridge %s", l->name);
      break;

    case LINK_VETH:
      {
        const char *pns = peer_ns_name ? peer_ns_name : ns;
        struct nsock *ps = get_sock (pns, err);
        if (ps == NULL)
          return -1;
        /* get_sock may have grown the array: look ours up again. */
        s = find_sock (ns);
        link = rtnl_link_veth_alloc ();
        if (link == NULL)
          abort ();
        set_common (link, l->name, l->mtu, l->has_mac ? l->mac : NULL);
        struct rtnl_link *peer = rtnl_link_veth_get_peer (link);
        set_common (peer, l->peer_name, l->mtu, l->peer_has_mac ? l->peer_mac : NULL);
        if (strcmp (pns, ns) != 0)
          rtnl_link_set_ns_fd (peer, ps->nsfd);
        rtnl_link_put (peer);
        what = xasprintf ("add veth %s peer %s netns %s", l->name, l->peer_name, pns);
        break;
      }

    case LINK_VXLAN:
      {
        int dev = 0;
        if (l->dev && sock_ifindex (s, l->dev, &dev, err) < 0)
          return -1;
        link = rtnl_link_vxlan_alloc ();
        if (link == NULL)
          abort ();
        set_common (link, l->name, l->mtu, l->has_mac ? l->mac : NULL);
        rtnl_link_vxlan_set_id (link, l->vni);
        if (l->local)
          {
            struct nl_addr *a = ip4addr (l->local, 32);
            rtnl_link_vxlan_set_local (link, a);
            nl_addr_put (a);
          }
        if (dev)
          rtnl_link_vxlan_set_link (link, (uint32_t) dev);
        rtnl_link_vxlan_set_port (link, l->dstport);
        rtnl_link_vxlan_set_learning (link, l->learning ? 1 : 0);
        char ip[IP_STRLEN];
        what = xasprintf ("add vxlan %s id %u local %s dev %s dstport %u%s", l->name, l->vni,
                          ip_fmt (l->local, ip), l->dev ? l->dev : "-", l->dstport,
                          l->learning ? "" : " nolearning");
        break;
      }
    default:
      return nslab_error (err, EINVAL, "%s: unknown link kind %d", ns, (int) l->kind);
    }

  struct nl_msg *msg = NULL;
  r = rtnl_link_build_add_request (link, NLM_F_CREATE | NLM_F_EXCL, &msg);
  rtnl_link_put (link);
  if (r < 0)
    return nslab_error (err, 0, "%s: %s: %s", ns, what, nl_geterror (r));
  return talk (s, msg, NULL, NULL, what, err);
}

/* RTM_NEWLINK on an existing device, as `ip link set` sends it. */
static struct nl_msg *
setlink_msg (int family, int index, unsigned flags, unsigned change)
{
  struct nl_msg *msg = nlmsg_alloc_simple (family == AF_BRIDGE ? RTM_SETLINK : RTM_NEWLINK, 0);
  struct ifinfomsg ifi = { .ifi_family = (unsigned char) family, .ifi_index = index,
                           .ifi_flags = flags, .ifi_change = change };
  if (msg == NULL || nlmsg_append (msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0)
    abort ();
  return msg;
}

static int
resolve (const char *ns, const char *name, struct nsock **s, int *idx, nslab_error_t *err)
{
  *s = get_sock (ns, err);
  if (*s == NULL)
    return -1;
  return sock_ifindex (*s, name, idx, err);
}

int
nlr_link_set_up (const char *ns, const char *name, nslab_error_t *err)
{
  struct nsock *s;
  int idx;
  if (resolve (ns, name, &s, &idx, err) < 0)
    return -1;
  cleanup_free char *what = xasprintf ("set %s up", name);
  return talk (s, setlink_msg (AF_UNSPEC, idx, IFF_UP, IFF_UP), NULL, NULL, what, err);
}

int
nlr_link_set_mtu (const char *ns, const char *name, uint32_t mtu, nslab_error_t *err)
{
  struct nsock *s;
  int idx;
  if (resolve (ns, name, &s, &idx, err) < 0)
    return -1;
  struct nl_msg *msg = setlink_msg (AF_UNSPEC, idx, 0, 0);
  if (nla_put_u32 (msg, IFLA_MTU, mtu) < 0)
    abort ();
  cleanup_free char *what = xasprintf ("set %s mtu %u", name, mtu);
  return talk (s, msg, NULL, NULL, what, err);
}

int
nlr_link_set_mac (const char *ns, const char *name, const uint8_t mac[6], nslab_error_t *err)
{
  struct nsock *s;
  int idx;
  if (resolve (ns, name, &s, &idx, err) < 0)
    return -1;
  struct nl_msg *msg = setlink_msg (AF_UNSPEC, idx, 0, 0);
  if (nla_put (msg, IFLA_ADDRESS, 6, mac) < 0)
    abort ();
  char m[18];
  cleanup_free char *what = xasprintf ("set %s address %s", name, nlr_mac_fmt (mac, m));
  return talk (s, msg, NULL, NULL, what, err);
}

int
nlr_link_set_hairpin (const char *ns, const char *name, bool on, nslab_error_t *err)
{
  struct nsock *s;
  int idx;
  if (resolve (ns, name, &s, &idx, err) < 0)
    return -1;
  /* `bridge link set dev X hairpin on`: the port option travels in a
   * nested IFLA_PROTINFO of an AF_BRIDGE request. */
  struct nl_msg *msg = setlink_msg (AF_BRIDGE, idx, 0, 0);
  struct nlattr *nest = nla_nest_start (msg, IFLA_PROTINFO | NLA_F_NESTED);
  if (nest == NULL || nla_put_u8 (msg, IFLA_BRPORT_MODE, on ? 1 : 0) < 0)
    abort ();
  nla_nest_end (msg, nest);
  cleanup_free char *what = xasprintf ("set %s hairpin %s", name, on ? "on" : "off");
  return talk (s, msg, NULL, NULL, what, err);
}

int
nlr_link_set (const char *ns, const struct plan_link_set *ls, nslab_error_t *err)
{
  struct nsock *s;
  int idx;
  if (resolve (ns, ls->name, &s, &idx, err) < 0)
    return -1;
  if (ls->master)
    {
      int midx;
      if (sock_ifindex (s, ls->master, &midx, err) < 0)
        return -1;
      struct nl_msg *msg = setlink_msg (AF_UNSPEC, idx, 0, 0);
      if (nla_put_u32 (msg, IFLA_MASTER, (uint32_t) midx) < 0)
        abort ();
      cleanup_free char *what = xasprintf ("set %s master %s", ls->name, ls->master);
      if (talk (s, msg, NULL, NULL, what, err) < 0)
        return -1;
    }
  if (ls->hairpin && nlr_link_set_hairpin (ns, ls->name, true, err) < 0)
    return -1;
  if (ls->up)
    {
      cleanup_free char *what = xasprintf ("set %s up", ls->name);
      if (talk (s, setlink_msg (AF_UNSPEC, idx, IFF_UP, IFF_UP), NULL, NULL, what, err) < 0)
        return -1;
    }
  return 0;
}

int
nlr_adopt_current (const char *ns, nslab_error_t *err)
{
  nlr_forget (ns);
  struct nsock *s = open_here (ns, err);
  if (s == NULL)
    return -1;
  /* lo is always ifindex 1 in a fresh namespace. */
  if (talk (s, setlink_msg (AF_UNSPEC, 1, IFF_UP, IFF_UP), NULL, NULL, "set lo up", err) < 0)
    {
      nlr_forget (ns);
      return -1;
    }
  return 0;
}

int
nlr_addr_add (const char *ns, const struct plan_addr *pa, nslab_error_t *err)
{
  struct nsock *s;
  int idx;
  if (resolve (ns, pa->dev, &s, &idx, err) < 0)
    return -1;
  struct rtnl_addr *a = rtnl_addr_alloc ();
  if (a == NULL)
    abort ();
  rtnl_addr_set_ifindex (a, idx);
  rtnl_addr_set_family (a, AF_INET);
  struct nl_addr *local = ip4addr (pa->addr.addr, pa->addr.len);
  rtnl_addr_set_local (a, local);
  nl_addr_put (local);
  rtnl_addr_set_prefixlen (a, pa->addr.len);
  /* What DHCP clients and the CNI bridge plugin set (brd shows in `ip a`). */
  if (pa->addr.len < 31)
    {
      struct nl_addr *brd = ip4addr (cidr_broadcast (pa->addr), 32);
      rtnl_addr_set_broadcast (a, brd);
      nl_addr_put (brd);
    }
  struct nl_msg *msg = NULL;
  char c[CIDR_STRLEN];
  cleanup_free char *what = xasprintf ("add address %s dev %s", cidr_fmt (pa->addr, c), pa->dev);
  int r = rtnl_addr_build_add_request (a, NLM_F_CREATE | NLM_F_EXCL, &msg);
  rtnl_addr_put (a);
  if (r < 0)
    return nslab_error (err, 0, "%s: %s: %s", ns, what, nl_geterror (r));
  if (pa->metric && nla_put_u32 (msg, IFA_RT_PRIORITY, pa->metric) < 0)
    abort ();
  return talk (s, msg, NULL, NULL, what, err);
}

int
nlr_route_add (const char *ns, const struct plan_route *pr, nslab_error_t *err)
{
  struct nsock *s;
  int idx;
  if (resolve (ns, pr->dev, &s, &idx, err) < 0)
    return -1;
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

  struct rtnl_route *r = rtnl_route_alloc ();
  if (r == NULL)
    abort ();
  rtnl_route_set_family (r, AF_INET);
  rtnl_route_set_table (r, RT_TABLE_MAIN);
  rtnl_route_set_type (r, RTN_UNICAST);
  rtnl_route_set_scope (r, pr->scope_link ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
  rtnl_route_set_protocol (r, pr->protocol ? pr->protocol : RTPROT_BOOT);
  struct nl_addr *dst = ip4addr (pr->dst.addr, pr->dst.len);
  rtnl_route_set_dst (r, dst);
  nl_addr_put (dst);
  if (pr->metric)
    rtnl_route_set_priority (r, pr->metric);
  if (pr->src)
    {
      struct nl_addr *src = ip4addr (pr->src, 32);
      rtnl_route_set_pref_src (r, src);
      nl_addr_put (src);
    }
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc ();
  if (nh == NULL)
    abort ();
  rtnl_route_nh_set_ifindex (nh, idx);
  if (pr->gw)
    {
      struct nl_addr *gw = ip4addr (pr->gw, 32);
      rtnl_route_nh_set_gateway (nh, gw);
      nl_addr_put (gw);
    }
  if (pr->onlink)
    rtnl_route_nh_set_flags (nh, RTNH_F_ONLINK);
  rtnl_route_add_nexthop (r, nh);
  struct nl_msg *msg = NULL;
  int rc = rtnl_route_build_add_request (r, NLM_F_CREATE | NLM_F_EXCL, &msg);
  rtnl_route_put (r);
  if (rc < 0)
    return nslab_error (err, 0, "%s: %s: %s", ns, what, nl_geterror (rc));
  return talk (s, msg, NULL, NULL, what, err);
}

int
nlr_neigh_add (const char *ns, const struct plan_neigh *pn, nslab_error_t *err)
{
  struct nsock *s;
  int idx;
  if (resolve (ns, pn->dev, &s, &idx, err) < 0)
    return -1;
  char b[IP_STRLEN], m[18];
  cleanup_free char *what = xasprintf ("add neigh %s lladdr %s dev %s", ip_fmt (pn->ip, b),
                                       nlr_mac_fmt (pn->lladdr, m), pn->dev);
  struct rtnl_neigh *n = rtnl_neigh_alloc ();
  if (n == NULL)
    abort ();
  rtnl_neigh_set_ifindex (n, idx);
  rtnl_neigh_set_family (n, AF_INET);
  struct nl_addr *dst = ip4addr (pn->ip, 32);
  rtnl_neigh_set_dst (n, dst);
  nl_addr_put (dst);
  struct nl_addr *ll = lladdr (pn->lladdr);
  rtnl_neigh_set_lladdr (n, ll);
  nl_addr_put (ll);
  rtnl_neigh_set_state (n, NUD_PERMANENT);
  struct nl_msg *msg = NULL;
  int rc = rtnl_neigh_build_add_request (n, NLM_F_CREATE | NLM_F_EXCL, &msg);
  rtnl_neigh_put (n);
  if (rc < 0)
    return nslab_error (err, 0, "%s: %s: %s", ns, what, nl_geterror (rc));
  return talk (s, msg, NULL, NULL, what, err);
}

int
nlr_fdb_append (const char *ns, const struct plan_fdb *pf, nslab_error_t *err)
{
  struct nsock *s;
  int idx;
  if (resolve (ns, pf->dev, &s, &idx, err) < 0)
    return -1;
  char b[IP_STRLEN], m[18];
  cleanup_free char *what = xasprintf ("fdb append %s dev %s dst %s self permanent",
                                       nlr_mac_fmt (pf->lladdr, m), pf->dev, ip_fmt (pf->dst, b));
  /* `bridge fdb append ... self`: an AF_BRIDGE neighbour with NTF_SELF,
   * which the vxlan driver keeps as a remote for that MAC. */
  struct nl_msg *msg = nlmsg_alloc_simple (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND);
  struct ndmsg nd = { .ndm_family = AF_BRIDGE, .ndm_ifindex = idx, .ndm_state = NUD_PERMANENT,
                      .ndm_flags = NTF_SELF };
  uint32_t dst = htonl (pf->dst);
  if (msg == NULL || nlmsg_append (msg, &nd, sizeof nd, NLMSG_ALIGNTO) < 0
      || nla_put (msg, NDA_LLADDR, 6, pf->lladdr) < 0 || nla_put (msg, NDA_DST, 4, &dst) < 0)
    abort ();
  return talk (s, msg, NULL, NULL, what, err);
}
