/* Network devices (see link.h). Bridge and veth requests are built from
 * libnl-route link objects. The VXLAN request is built by hand: libnl 3.7
 * puts IFLA_VXLAN_PORT in as a u32 while the kernel wants a be16, and the
 * kernel then logs "attribute type 15 has an invalid length" on every up. */
#include "kernel/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ipaddr.h"
#include "base/util.h"
#include "kernel/rtnl.h"

/* Name, MTU and MAC, which every create request carries. */
static void
set_common (struct rtnl_link *link, const char *name, uint32_t mtu, const uint8_t *mac)
{
  rtnl_link_set_name (link, name);
  if (mtu)
    rtnl_link_set_mtu (link, mtu);
  if (mac)
    {
      struct nl_addr *a = nl_addr_build (AF_LLC, mac, 6);
      if (a == NULL)
        abort ();
      rtnl_link_set_addr (link, a);
      nl_addr_put (a);
    }
}

static int
send_new (struct rtnl_ns *s, struct rtnl_link *link, struct rtnl_ack *ack)
{
  struct nl_msg *msg = NULL;
  int r = rtnl_link_build_add_request (link, NLM_F_CREATE | NLM_F_EXCL, &msg);
  rtnl_link_put (link);
  if (r < 0)
    {
      ack->status = 0;
      snprintf (ack->text, sizeof ack->text, "%s", nl_geterror (r));
      return -1;
    }
  return rtnl_talk (s, msg, NULL, NULL, ack);
}

int
link_add_bridge (const char *ns, const char *name, uint32_t mtu, const uint8_t *mac, nslab_error_t *err)
{
  struct rtnl_ns *s = rtnl_get (ns, err);
  if (s == NULL)
    return -1;
  struct rtnl_link *link = rtnl_link_alloc ();
  if (link == NULL || rtnl_link_set_type (link, "bridge") < 0)
    abort ();
  set_common (link, name, mtu, mac);
  struct rtnl_ack ack;
  if (send_new (s, link, &ack) < 0)
    return rtnl_fail (err, &ack, "add bridge %s", name);
  return 0;
}

/* How many queues a veth gets from the kernel when its request names
 * none: one per possible CPU (veth_get_num_queues). Named explicitly, the
 * device is made with that many real queues. Left out, veth_newlink makes
 * the device, then cuts its real queues to one, and that cut waits for an
 * RCU grace period with the RTNL held (synchronize_net). On this VM that
 * wait takes 1-4 ms per veth while the other CPU is busy: 30-50 ms of
 * a 100-pod up. `ip -d link` shows the same numtxqueues and numrxqueues
 * either way; only the real count differs (tx-1 and rx-1 under
 * /sys/class/net/DEV/queues). 0 when the count cannot be read: the
 * request then names none, as before. */
static uint32_t possible_cpus;
static pthread_once_t possible_cpus_once = PTHREAD_ONCE_INIT;

static void
count_possible_cpus (void)
{
  /* A CPU list: "0-1", "0,2-5". */
  char buf[256];
  FILE *f = fopen ("/sys/devices/system/cpu/possible", "re");
  if (f == NULL)
    return;
  bool ok = fgets (buf, sizeof buf, f) != NULL;
  fclose (f);
  uint32_t n = 0;
  for (char *p = buf; ok && *p != '\0' && *p != '\n';)
    {
      char *end;
      unsigned long a = strtoul (p, &end, 10), b = a;
      if (end == p)
        return;
      if (*end == '-')
        {
          p = end + 1;
          b = strtoul (p, &end, 10);
          if (end == p || b < a)
            return;
        }
      n += (uint32_t) (b - a + 1);
      p = *end == ',' ? end + 1 : end;
    }
  /* rtnl_create_link's own limit. */
  possible_cpus = n > 4096 ? 4096 : n;
}

int
link_add_veth (const char *ns, const struct veth_spec *v, nslab_error_t *err)
{
  const char *pns = v->peer_ns ? v->peer_ns : ns;
  struct rtnl_ns *ps = rtnl_get (pns, err);
  if (ps == NULL)
    return -1;
  struct rtnl_ns *s = rtnl_get (ns, err);
  if (s == NULL)
    return -1;
  struct rtnl_link *link = rtnl_link_veth_alloc ();
  if (link == NULL)
    abort ();
  set_common (link, v->name, v->mtu, v->mac);
  struct rtnl_link *peer = rtnl_link_veth_get_peer (link);
  set_common (peer, v->peer_name, v->mtu, v->peer_mac);
  pthread_once (&possible_cpus_once, count_possible_cpus);
  if (possible_cpus > 0)
    {
      rtnl_link_set_num_tx_queues (link, possible_cpus);
      rtnl_link_set_num_rx_queues (link, possible_cpus);
      rtnl_link_set_num_tx_queues (peer, possible_cpus);
      rtnl_link_set_num_rx_queues (peer, possible_cpus);
    }
  if (v->no_queue)
    {
      rtnl_link_set_txqlen (link, 0);
      rtnl_link_set_txqlen (peer, 0);
    }
  if (strcmp (pns, ns) != 0)
    rtnl_link_set_ns_fd (peer, rtnl_nsfd (ps));
  rtnl_link_put (peer);
  struct rtnl_ack ack;
  if (send_new (s, link, &ack) < 0)
    return rtnl_fail (err, &ack, "add veth %s peer %s netns %s", v->name, v->peer_name, pns);
  return 0;
}

/* RTM_NEWLINK for an existing device (ifindex) or a new one (index 0). */
static struct nl_msg *
link_msg (int type, int family, int flags, int index)
{
  struct nl_msg *msg = nlmsg_alloc_simple (type, flags);
  struct ifinfomsg ifi = { .ifi_family = (unsigned char) family, .ifi_index = index };
  if (msg == NULL || nlmsg_append (msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0)
    abort ();
  return msg;
}

int
link_add_vxlan (const char *ns, const struct vxlan_spec *v, nslab_error_t *err)
{
  struct rtnl_ns *s = rtnl_get (ns, err);
  if (s == NULL)
    return -1;
  int dev = 0;
  if (v->dev && rtnl_ifindex (s, v->dev, &dev, err) < 0)
    return -1;
  /* What `ip link add NAME type vxlan id VNI local IP dev DEV dstport PORT
   * nolearning` sends, with the attribute sizes the kernel's vxlan policy
   * expects (PORT is a be16, LEARNING a u8). */
  struct nl_msg *msg = link_msg (RTM_NEWLINK, AF_UNSPEC, NLM_F_CREATE | NLM_F_EXCL, 0);
  if (nla_put_string (msg, IFLA_IFNAME, v->name) < 0 || (v->mtu && nla_put_u32 (msg, IFLA_MTU, v->mtu) < 0)
      || (v->mac && nla_put (msg, IFLA_ADDRESS, 6, v->mac) < 0))
    abort ();
  struct nlattr *info = nla_nest_start (msg, IFLA_LINKINFO);
  if (info == NULL || nla_put_string (msg, IFLA_INFO_KIND, "vxlan") < 0)
    abort ();
  struct nlattr *data = nla_nest_start (msg, IFLA_INFO_DATA);
  uint32_t local = htonl (v->local);
  if (data == NULL || nla_put_u32 (msg, IFLA_VXLAN_ID, v->vni) < 0
      || (v->local && nla_put (msg, IFLA_VXLAN_LOCAL, 4, &local) < 0)
      || (dev && nla_put_u32 (msg, IFLA_VXLAN_LINK, (uint32_t) dev) < 0)
      || nla_put_u16 (msg, IFLA_VXLAN_PORT, htons (v->dstport)) < 0
      || nla_put_u8 (msg, IFLA_VXLAN_LEARNING, v->learning ? 1 : 0) < 0)
    abort ();
  nla_nest_end (msg, data);
  nla_nest_end (msg, info);
  struct rtnl_ack ack;
  if (rtnl_talk (s, msg, NULL, NULL, &ack) < 0)
    {
      char ip[IP_STRLEN];
      return rtnl_fail (err, &ack, "add vxlan %s id %u local %s dev %s dstport %u%s", v->name, v->vni,
                        ip_fmt (v->local, ip), v->dev ? v->dev : "-", v->dstport, v->learning ? "" : " nolearning");
    }
  return 0;
}

static int
resolve (const char *ns, const char *name, struct rtnl_ns **s, int *idx, nslab_error_t *err)
{
  *s = rtnl_get (ns, err);
  if (*s == NULL)
    return -1;
  return rtnl_ifindex (*s, name, idx, err);
}

int
link_set_up (const char *ns, const char *name, nslab_error_t *err)
{
  struct rtnl_ns *s;
  int idx;
  if (resolve (ns, name, &s, &idx, err) < 0)
    return -1;
  struct nl_msg *msg = nlmsg_alloc_simple (RTM_NEWLINK, 0);
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = idx, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  if (msg == NULL || nlmsg_append (msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0)
    abort ();
  struct rtnl_ack ack;
  if (rtnl_talk (s, msg, NULL, NULL, &ack) < 0)
    return rtnl_fail (err, &ack, "set %s up", name);
  return 0;
}

int
link_set_mtu (const char *ns, const char *name, uint32_t mtu, nslab_error_t *err)
{
  struct rtnl_ns *s;
  int idx;
  if (resolve (ns, name, &s, &idx, err) < 0)
    return -1;
  struct nl_msg *msg = link_msg (RTM_NEWLINK, AF_UNSPEC, 0, idx);
  if (nla_put_u32 (msg, IFLA_MTU, mtu) < 0)
    abort ();
  struct rtnl_ack ack;
  if (rtnl_talk (s, msg, NULL, NULL, &ack) < 0)
    return rtnl_fail (err, &ack, "set %s mtu %u", name, mtu);
  return 0;
}

int
link_set_mac (const char *ns, const char *name, const uint8_t mac[6], nslab_error_t *err)
{
  struct rtnl_ns *s;
  int idx;
  if (resolve (ns, name, &s, &idx, err) < 0)
    return -1;
  struct nl_msg *msg = link_msg (RTM_NEWLINK, AF_UNSPEC, 0, idx);
  if (nla_put (msg, IFLA_ADDRESS, 6, mac) < 0)
    abort ();
  struct rtnl_ack ack;
  if (rtnl_talk (s, msg, NULL, NULL, &ack) < 0)
    {
      char m[18];
      return rtnl_fail (err, &ack, "set %s address %s", name, rtnl_mac_fmt (mac, m));
    }
  return 0;
}

int
link_set_hairpin (const char *ns, const char *name, bool on, nslab_error_t *err)
{
  struct rtnl_ns *s;
  int idx;
  if (resolve (ns, name, &s, &idx, err) < 0)
    return -1;
  /* `bridge link set dev X hairpin on`: the port option travels in a
   * nested IFLA_PROTINFO of an AF_BRIDGE request. */
  struct nl_msg *msg = link_msg (RTM_SETLINK, AF_BRIDGE, 0, idx);
  struct nlattr *nest = nla_nest_start (msg, IFLA_PROTINFO | NLA_F_NESTED);
  if (nest == NULL || nla_put_u8 (msg, IFLA_BRPORT_MODE, on ? 1 : 0) < 0)
    abort ();
  nla_nest_end (msg, nest);
  struct rtnl_ack ack;
  if (rtnl_talk (s, msg, NULL, NULL, &ack) < 0)
    return rtnl_fail (err, &ack, "set %s hairpin %s", name, on ? "on" : "off");
  return 0;
}

int
link_set_master (const char *ns, const char *name, const char *master, nslab_error_t *err)
{
  struct rtnl_ns *s;
  int idx, midx;
  if (resolve (ns, name, &s, &idx, err) < 0 || rtnl_ifindex (s, master, &midx, err) < 0)
    return -1;
  struct nl_msg *msg = link_msg (RTM_NEWLINK, AF_UNSPEC, 0, idx);
  if (nla_put_u32 (msg, IFLA_MASTER, (uint32_t) midx) < 0)
    abort ();
  struct rtnl_ack ack;
  if (rtnl_talk (s, msg, NULL, NULL, &ack) < 0)
    return rtnl_fail (err, &ack, "set %s master %s", name, master);
  return 0;
}

int
link_ifindex (const char *ns, const char *name, int *out, nslab_error_t *err)
{
  struct rtnl_ns *s = rtnl_get (ns, err);
  if (s == NULL)
    return -1;
  return rtnl_ifindex (s, name, out, err);
}

int
link_sync (const char *ns, const char *name, nslab_error_t *err)
{
  struct rtnl_ns *s = rtnl_get (ns, err);
  if (s == NULL)
    return -1;
  /* rtnl_getlink() in the kernel runs linkwatch_sync_dev() for the device. */
  int idx;
  return rtnl_getlink (s, name, &idx, err);
}
