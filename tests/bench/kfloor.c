/* The kernel floor of make bench: what the kernel itself needs to build the
 * pod network of NODES nodes x PODS pods, with no bookkeeping, no state, no
 * names and no mounts. Per node: a network namespace held by a minimal
 * process, a cni0 bridge with its gateway address. Per pod: one minimal
 * process in new network, UTS, IPC and mount namespaces (what a pause
 * process holds), a veth pair (node side on cni0, up; pod side eth0), lo and
 * eth0 up, the pod address and two routes. Down kills and reaps every
 * process, as nslab's down must (nothing may be left when it returns).
 * With KFLOOR_APP=1 each pod has a second minimal process in its network
 * namespace, as an nslab pod has its app beside the pause process: the
 * floor for the same number of processes.
 *
 *   kfloor NODES PODS [PIDFILE]
 *       prints "up USEC", waits for a line on stdin, tears down, prints
 *       "down USEC". With PIDFILE, up writes every process's pid there
 *       (untimed) for kfloor-down, the teardown as a separate command,
 *       to run before that line; the processes it killed are reaped here.
 *
 * Raw syscalls and rtnetlink, one synchronous request at a time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void __attribute__ ((noreturn, format (printf, 1, 2)))
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("kfloor: ", stderr);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (1);
}

static uint64_t
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

struct req {
  struct nlmsghdr h;
  char buf[1024];
};

static struct rtattr *
attr (struct req *r, unsigned short type, const void *data, size_t len)
{
  struct rtattr *a = (struct rtattr *) ((char *) r + NLMSG_ALIGN (r->h.nlmsg_len));
  a->rta_type = type;
  a->rta_len = (unsigned short) RTA_LENGTH (len);
  if (len)
    memcpy (RTA_DATA (a), data, len);
  r->h.nlmsg_len = NLMSG_ALIGN (r->h.nlmsg_len) + RTA_ALIGN (a->rta_len);
  return a;
}

static void
nest_end (struct req *r, struct rtattr *a)
{
  a->rta_len = (unsigned short) ((char *) r + r->h.nlmsg_len - (char *) a);
}

static void
req_init (struct req *r, int type, int flags, const void *body, size_t len)
{
  memset (r, 0, sizeof *r);
  r->h.nlmsg_len = NLMSG_LENGTH (len);
  r->h.nlmsg_type = (unsigned short) type;
  r->h.nlmsg_flags = (unsigned short) (NLM_F_REQUEST | NLM_F_ACK | flags);
  memcpy (NLMSG_DATA (&r->h), body, len);
}

static void
talk (int fd, struct req *r, const char *what)
{
  if (send (fd, r, r->h.nlmsg_len, 0) < 0)
    die ("%s: send: %s", what, strerror (errno));
  char buf[4096];
  ssize_t n = recv (fd, buf, sizeof buf, 0);
  if (n < 0)
    die ("%s: recv: %s", what, strerror (errno));
  struct nlmsghdr *h = (struct nlmsghdr *) buf;
  if (h->nlmsg_type == NLMSG_ERROR)
    {
      struct nlmsgerr *e = NLMSG_DATA (h);
      if (e->error)
        die ("%s: %s", what, strerror (-e->error));
    }
}

static int
rtnl (void)
{
  int fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    die ("socket: %s", strerror (errno));
  return fd;
}

static void
link_up (int fd, int ifindex, const char *what)
{
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  struct req r;
  req_init (&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  talk (fd, &r, what);
}

static void
addr_add (int fd, int ifindex, uint32_t ip, int plen, const char *what)
{
  struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (unsigned char) plen, .ifa_index = (unsigned) ifindex };
  struct req r;
  req_init (&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  attr (&r, IFA_LOCAL, &ip, 4);
  attr (&r, IFA_ADDRESS, &ip, 4);
  talk (fd, &r, what);
}

static void
route_add (int fd, int ifindex, uint32_t dst, int plen, uint32_t gw, const char *what)
{
  struct rtmsg rt = { .rtm_family = AF_INET, .rtm_dst_len = (unsigned char) plen, .rtm_table = RT_TABLE_MAIN,
                      .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };
  struct req r;
  req_init (&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
  if (plen)
    attr (&r, RTA_DST, &dst, 4);
  attr (&r, RTA_GATEWAY, &gw, 4);
  attr (&r, RTA_OIF, &ifindex, 4);
  talk (fd, &r, what);
}

/* A process that holds new namespaces and does nothing: fork semantics
 * (no CLONE_VM), so the child has its own copy of this small program. */
static pid_t
holder (int flags)
{
  pid_t pid = (pid_t) syscall (SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
  if (pid < 0)
    die ("clone: %s", strerror (errno));
  if (pid == 0)
    {
      for (;;)
        pause ();
    }
  return pid;
}

static int
ns_open (pid_t pid)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/ns/net", (int) pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    die ("open %s: %s", path, strerror (errno));
  return fd;
}

int
main (int argc, char **argv)
{
  if (argc != 3 && argc != 4)
    die ("usage: kfloor NODES PODS [PIDFILE]");
  int nodes = atoi (argv[1]), pods = atoi (argv[2]);
  if (nodes < 1 || nodes > 250 || pods < 0 || pods / nodes > 1000)
    die ("NODES 1..250, at most 1000 pods per node");
  const char *app_env = getenv ("KFLOOR_APP");
  int apps = app_env && strcmp (app_env, "1") == 0 ? pods : 0;
  int procs = nodes + pods + apps;
  /* One queue per CPU: the kernel's default count for a veth is one per
   * possible CPU, which this count equals wherever every possible CPU is
   * present (as on the bench's machines; nslab reads the possible ones). */
  unsigned queues = (unsigned) sysconf (_SC_NPROCESSORS_CONF);
  pid_t *pids = calloc ((size_t) procs, sizeof *pids);
  int *node_rt = calloc ((size_t) nodes, sizeof *node_rt);
  int *bridge = calloc ((size_t) nodes, sizeof *bridge);
  if (!pids || !node_rt || !bridge)
    die ("out of memory");
  int self = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    die ("open own netns: %s", strerror (errno));
  signal (SIGCHLD, SIG_DFL);

  uint64_t t0 = now_us ();
  for (int n = 0; n < nodes; n++)
    {
      pids[n] = holder (CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS);
      int nsfd = ns_open (pids[n]);
      if (setns (nsfd, CLONE_NEWNET) < 0)
        die ("setns: %s", strerror (errno));
      node_rt[n] = rtnl ();
      if (setns (self, CLONE_NEWNET) < 0)
        die ("setns back: %s", strerror (errno));
      close (nsfd);
      struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
      struct req r;
      req_init (&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
      attr (&r, IFLA_IFNAME, "cni0", 5);
      unsigned mtu = 1450;
      attr (&r, IFLA_MTU, &mtu, 4);
      struct rtattr *li = attr (&r, IFLA_LINKINFO, NULL, 0);
      attr (&r, IFLA_INFO_KIND, "bridge", 6);
      nest_end (&r, li);
      talk (node_rt[n], &r, "add cni0");
      link_up (node_rt[n], 1, "lo up");
      /* Bridge ifindex in a fresh namespace: lo is 1, cni0 the next. */
      bridge[n] = 2;
      uint32_t gw = htonl (0x0a2a0001u + ((uint32_t) n << 10));
      addr_add (node_rt[n], bridge[n], gw, 22, "cni0 address");
    }
  for (int p = 0; p < pods; p++)
    {
      int n = p % nodes, k = p / nodes;
      pid_t pid = pids[nodes + p] = holder (CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS);
      int podns = ns_open (pid);
      char host[IFNAMSIZ];
      snprintf (host, sizeof host, "veth%08x", (unsigned) p);
      struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
      struct req r;
      req_init (&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
      attr (&r, IFLA_IFNAME, host, strlen (host) + 1);
      unsigned mtu = 1450;
      attr (&r, IFLA_MTU, &mtu, 4);
      attr (&r, IFLA_MASTER, &bridge[n], 4);
      /* The queue counts nslab names (link_add_veth): without them the
       * kernel cuts a new veth's real queues to one and waits for an RCU
       * grace period each time. */
      attr (&r, IFLA_NUM_TX_QUEUES, &queues, 4);
      attr (&r, IFLA_NUM_RX_QUEUES, &queues, 4);
      struct rtattr *li = attr (&r, IFLA_LINKINFO, NULL, 0);
      attr (&r, IFLA_INFO_KIND, "veth", 5);
      struct rtattr *data = attr (&r, IFLA_INFO_DATA, NULL, 0);
      struct ifinfomsg pi = { .ifi_family = AF_UNSPEC };
      struct rtattr *peer = attr (&r, VETH_INFO_PEER, &pi, sizeof pi);
      attr (&r, IFLA_IFNAME, "eth0", 5);
      attr (&r, IFLA_MTU, &mtu, 4);
      attr (&r, IFLA_NET_NS_FD, &podns, 4);
      attr (&r, IFLA_NUM_TX_QUEUES, &queues, 4);
      attr (&r, IFLA_NUM_RX_QUEUES, &queues, 4);
      nest_end (&r, peer);
      nest_end (&r, data);
      nest_end (&r, li);
      talk (node_rt[n], &r, "add veth");

      if (setns (podns, CLONE_NEWNET) < 0)
        die ("setns pod: %s", strerror (errno));
      int fd = rtnl ();
      int eth0 = (int) if_nametoindex ("eth0");
      /* The app: forked while this thread is in the pod's namespace. */
      if (apps)
        pids[nodes + pods + p] = holder (0);
      if (setns (self, CLONE_NEWNET) < 0)
        die ("setns back: %s", strerror (errno));
      close (podns);
      if (eth0 == 0)
        die ("no eth0 in the pod");
      link_up (fd, 1, "lo up");
      uint32_t ip = htonl (0x0a2a0002u + ((uint32_t) n << 10) + (uint32_t) k);
      uint32_t gw = htonl (0x0a2a0001u + ((uint32_t) n << 10));
      addr_add (fd, eth0, ip, 22, "pod address");
      link_up (fd, eth0, "eth0 up");
      route_add (fd, eth0, htonl (0x0a2a0000u), 16, gw, "pod cluster route");
      route_add (fd, eth0, 0, 0, gw, "pod default route");
      close (fd);
    }
  uint64_t t1 = now_us ();
  if (argc == 4)
    {
      FILE *pf = fopen (argv[3], "we");
      if (pf == NULL)
        die ("%s: %s", argv[3], strerror (errno));
      for (int i = 0; i < procs; i++)
        fprintf (pf, "%d\n", (int) pids[i]);
      if (fclose (pf) != 0)
        die ("%s: %s", argv[3], strerror (errno));
    }
  printf ("up %llu\n", (unsigned long long) (t1 - t0));
  fflush (stdout);

  char line[16];
  if (fgets (line, sizeof line, stdin) == NULL)
    { /* EOF: tear down all the same. */ }

  t0 = now_us ();
  for (int i = 0; i < nodes; i++)
    close (node_rt[i]);
  for (int i = 0; i < procs; i++)
    kill (pids[i], SIGKILL);
  for (int i = 0; i < procs; i++)
    while (waitpid (pids[i], NULL, 0) < 0 && errno == EINTR)
      ;
  t1 = now_us ();
  printf ("down %llu\n", (unsigned long long) (t1 - t0));
  return 0;
}
