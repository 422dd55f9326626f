/* rtnetlink sockets per namespace, and the ack reader (see rtnl.h). The
 * sockets are kept as an array of pointers so that a pointer handed out by
 * rtnl_get stays valid when opening another namespace's socket grows the
 * array. Acks are parsed with libmnl, which walks the extended-ACK
 * attributes libnl ignores. */
#include "kernel/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netlink/addr.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/netns.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct ifent {
  char *name;
  int index;
};

struct rtnl_ns {
  char *ns;
  struct nl_sock *sk;
  int nsfd;
  struct ifent *ifs;
  size_t n_ifs;
};

/* The sockets, least recently used first. At most RTNL_CACHE_MAX: up of
 * 1000 pods would otherwise hold two fds per namespace (a socket and the
 * namespace), and every process it spawns copies its fd table and closes
 * the lot again at exec (~2000 fds: posix_spawn held up 1.5 ms a pod, 0.9
 * ms with the cap). A caller holds at most two entries at once
 * (link_add_veth: the peer's, then its own), the most recent ones, which
 * an eviction never takes. */
static struct rtnl_ns **socks;
static size_t n_socks;

char *
rtnl_mac_fmt (const uint8_t m[6], char *buf)
{
  snprintf (buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

static size_t
find_sock (const char *ns)
{
  for (size_t i = 0; i < n_socks; i++)
    if (strcmp (socks[i]->ns, ns) == 0)
      return i;
  return SIZE_MAX;
}

static void
free_sock (struct rtnl_ns *s)
{
  nl_socket_free (s->sk);
  if (s->nsfd >= 0)
    close (s->nsfd);
  for (size_t i = 0; i < s->n_ifs; i++)
    free (s->ifs[i].name);
  free (s->ifs);
  free (s->ns);
  free (s);
}

void
rtnl_forget (const char *ns)
{
  size_t i = find_sock (ns);
  if (i == SIZE_MAX)
    return;
  free_sock (socks[i]);
  memmove (&socks[i], &socks[i + 1], (n_socks - i - 1) * sizeof *socks);
  n_socks--;
}

void
rtnl_close_all (void)
{
  for (size_t i = 0; i < n_socks; i++)
    free_sock (socks[i]);
  free (socks);
  socks = NULL;
  n_socks = 0;
}

static struct rtnl_ns *
open_here (const char *ns, nslab_error_t *err)
{
  struct nl_sock *sk = nl_socket_alloc ();
  if (sk == NULL)
    abort ();
  int r = nl_connect (sk, NETLINK_ROUTE);
  if (r < 0)
    {
      nl_socket_free (sk);
      return nslab_error (err, 0, "netlink socket: %s", nl_geterror (r)), NULL;
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
      int e = errno;
      nl_socket_free (sk);
      return nslab_error (err, e, "open /proc/thread-self/ns/net"), NULL;
    }
  struct rtnl_ns *s = xcalloc (1, sizeof *s);
  s->ns = xstrdup (ns);
  s->sk = sk;
  s->nsfd = nsfd;
  if (n_socks == RTNL_CACHE_MAX)
    {
      free_sock (socks[0]);
      memmove (&socks[0], &socks[1], (n_socks - 1) * sizeof *socks);
      n_socks--;
    }
  *VEC_PUSH (socks, n_socks) = s;
  return s;
}

int
rtnl_open_here (const char *ns, nslab_error_t *err)
{
  rtnl_forget (ns);
  return open_here (ns, err) ? 0 : -1;
}

struct rtnl_ns *
rtnl_get (const char *ns, nslab_error_t *err)
{
  size_t i = find_sock (ns);
  if (i != SIZE_MAX)
    {
      /* the most recently used last */
      struct rtnl_ns *s = socks[i];
      memmove (&socks[i], &socks[i + 1], (n_socks - i - 1) * sizeof *socks);
      socks[n_socks - 1] = s;
      return s;
    }
  cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
  if (netns_enter (&g, ns, err) < 0)
    return NULL;
  return open_here (ns, err);
}

struct nl_addr *
rtnl_ip4 (uint32_t ip, int prefixlen)
{
  uint32_t be = htonl (ip);
  struct nl_addr *a = nl_addr_build (AF_INET, &be, 4);
  if (a == NULL)
    abort ();
  nl_addr_set_prefixlen (a, prefixlen);
  return a;
}

int
rtnl_nsfd (const struct rtnl_ns *s)
{
  return s->nsfd;
}

int
rtnl_fail (nslab_error_t *err, const struct rtnl_ack *ack, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *what = xvasprintf (fmt, ap);
  va_end (ap);
  /* The kernel's own words (extended ACK), when it gave some. */
  if (ack->text[0])
    return nslab_error (err, ack->status, "%s: %s", what, ack->text);
  return nslab_error (err, ack->status, "%s", what);
}

static void
ack_text (const struct nlmsghdr *nlh, struct rtnl_ack *ack)
{
  const struct nlmsgerr *e = mnl_nlmsg_get_payload (nlh);
  ack->status = -e->error;
  ack->text[0] = '\0';
  if (! (nlh->nlmsg_flags & NLM_F_ACK_TLVS))
    return;
  size_t off = sizeof *e;
  if (! (nlh->nlmsg_flags & NLM_F_CAPPED))
    off += e->msg.nlmsg_len - sizeof (struct nlmsghdr);
  const char *base = (const char *) e + off;
  const char *end = (const char *) nlh + nlh->nlmsg_len;
  const struct nlattr *a = (const struct nlattr *) base;
  while ((const char *) a + sizeof *a <= end && a->nla_len >= sizeof *a && (const char *) a + a->nla_len <= end)
    {
      if (mnl_attr_get_type (a) == NLMSGERR_ATTR_MSG && mnl_attr_get_payload_len (a) > 0)
        snprintf (ack->text, sizeof ack->text, "%.*s", (int) mnl_attr_get_payload_len (a),
                  (const char *) mnl_attr_get_payload (a));
      a = (const struct nlattr *) ((const char *) a + MNL_ALIGN (a->nla_len));
    }
}

int
rtnl_talk (struct rtnl_ns *s, struct nl_msg *msg, rtnl_reply_fn fn, void *arg, struct rtnl_ack *ack)
{
  nl_complete_msg (s->sk, msg);
  uint32_t seq = nlmsg_hdr (msg)->nlmsg_seq;
  int r = nl_send (s->sk, msg);
  nlmsg_free (msg);
  if (r < 0)
    {
      ack->status = 0;
      snprintf (ack->text, sizeof ack->text, "netlink send: %s", nl_geterror (r));
      return -1;
    }
  int fd = nl_socket_get_fd (s->sk);
  static char buf[32768] __attribute__ ((aligned (4)));
  for (;;)
    {
      ssize_t n = recv (fd, buf, sizeof buf, 0);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          ack->status = errno;
          snprintf (ack->text, sizeof ack->text, "netlink receive");
          return -1;
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
              ack_text (nlh, ack);
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

int
rtnl_getlink (struct rtnl_ns *s, const char *name, int *out, nslab_error_t *err)
{
  struct nl_msg *msg = nlmsg_alloc_simple (RTM_GETLINK, 0);
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  if (msg == NULL || nlmsg_append (msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0
      || nla_put_string (msg, IFLA_IFNAME, name) < 0 || nla_put_u32 (msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
    abort ();
  int idx = 0;
  struct rtnl_ack ack;
  if (rtnl_talk (s, msg, got_ifindex, &idx, &ack) < 0)
    return rtnl_fail (err, &ack, "find device %s", name);
  if (idx <= 0)
    return nslab_error (err, ENODEV, "find device %s", name);
  *out = idx;
  return 0;
}

int
rtnl_ifindex (struct rtnl_ns *s, const char *name, int *out, nslab_error_t *err)
{
  for (size_t i = 0; i < s->n_ifs; i++)
    if (strcmp (s->ifs[i].name, name) == 0)
      {
        *out = s->ifs[i].index;
        return 0;
      }
  int idx;
  if (rtnl_getlink (s, name, &idx, err) < 0)
    return -1;
  struct ifent *e = VEC_PUSH (s->ifs, s->n_ifs);
  e->name = xstrdup (name);
  e->index = idx;
  *out = idx;
  return 0;
}
