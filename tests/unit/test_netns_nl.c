/* Kernel-side tests: named namespaces, rtnetlink objects, sysctl,
 * iptables-restore, apply/teardown of a hand-built plan. They need root;
 * every test first unshares its own network and mount namespace (inside
 * Check's fork) and mounts a private /run, so nothing reaches the machine. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_bridge.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "unit.h"

#include "apply/apply.h"
#include "control/prober.h"
#include "kernel/iptables.h"
#include "kernel/addr.h"
#include "kernel/fdb.h"
#include "kernel/link.h"
#include "kernel/neigh.h"
#include "kernel/netns.h"
#include "kernel/route.h"
#include "kernel/rtnl.h"
#include "state/state.h"
#include "state/journal.h"
#include "kernel/sysctl.h"
#include "state/teardown.h"

static const uint8_t MAC_BR[6] = { 0x0a, 0x58, 0x0a, 0x2a, 0x00, 0x01 };
static const uint8_t MAC_A[6] = { 0x08, 0x00, 0x27, 0x11, 0x22, 0x33 };
static const uint8_t MAC_B[6] = { 0x0a, 0x58, 0x0a, 0x2a, 0x00, 0x05 };
static const uint8_t MAC_V[6] = { 0x8e, 0x11, 0x22, 0x33, 0x44, 0x55 };

static bool
is_root (void)
{
  return unit_have_root (__func__);
}

/* Private network + mount namespace with its own /run. */
static bool
sandbox (void)
{
  if (! is_root ())
    return false;
  ck_assert_int_eq (unshare (CLONE_NEWNET | CLONE_NEWNS), 0);
  ck_assert_int_eq (mount ("", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
  ck_assert_int_eq (mount ("tmpfs", "/run", "tmpfs", 0, "mode=0755"), 0);
  char *dir = xasprintf ("/run/nslab-test");
  setenv ("NSLAB_STATE_DIR", dir, 1);
  free (dir);
  return true;
}

static void
ok (int rc, nslab_error_t *err)
{
  if (rc < 0)
    ck_abort_msg ("unexpected error: %s (%s)", (*err)->msg, strerror ((*err)->status));
}

/* A libnl socket opened inside ns, for reading objects back independently
 * of the code under test. */
static struct nl_sock *
reader (const char *ns)
{
  nslab_error_t err = NULL;
  struct netns_guard g = NETNS_GUARD_INIT;
  ok (netns_enter (&g, ns, &err), &err);
  struct nl_sock *sk = nl_socket_alloc ();
  ck_assert_int_eq (nl_connect (sk, NETLINK_ROUTE), 0);
  netns_leave (&g);
  return sk;
}

static struct rtnl_link *
get_link (struct nl_sock *sk, const char *name)
{
  struct rtnl_link *l = NULL;
  int r = rtnl_link_get_kernel (sk, 0, name, &l);
  ck_assert_msg (r == 0, "link %s: %s", name, nl_geterror (r));
  return l;
}

static void
assert_mac (struct rtnl_link *l, const uint8_t mac[6])
{
  struct nl_addr *a = rtnl_link_get_addr (l);
  ck_assert_ptr_nonnull (a);
  ck_assert_int_eq (nl_addr_get_len (a), 6);
  ck_assert_mem_eq (nl_addr_get_binary_addr (a), mac, 6);
}

/* Read a file under /sys as seen from ns: sysfs shows the namespace of
 * whoever mounts it, so mount a fresh one while inside. */
static char *
read_sys (const char *ns, const char *rel)
{
  nslab_error_t err = NULL;
  cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
  ok (netns_enter (&g, ns, &err), &err);
  char dir[] = "/tmp/nslab-sys-XXXXXX";
  ck_assert_ptr_nonnull (mkdtemp (dir));
  ck_assert_int_eq (mount ("sysfs", dir, "sysfs", 0, NULL), 0);
  char *path = xasprintf ("%s/%s", dir, rel);
  FILE *f = fopen (path, "r");
  ck_assert_msg (f != NULL, "open %s", rel);
  char buf[256] = "";
  ck_assert_ptr_nonnull (fgets (buf, sizeof buf, f));
  fclose (f);
  free (path);
  umount2 (dir, MNT_DETACH);
  rmdir (dir);
  return xstrdup (str_trim (buf));
}

/* Run argv inside ns and return its stdout. */
static char *
run_in (const char *ns, const char *cmd)
{
  nslab_error_t err = NULL;
  cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
  ok (netns_enter (&g, ns, &err), &err);
  FILE *p = popen (cmd, "r");
  ck_assert_ptr_nonnull (p);
  struct strbuf sb;
  sb_init (&sb);
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, p)) > 0)
    sb_addn (&sb, buf, n);
  pclose (p);
  return sb_steal (&sb);
}

/* connect() from inside ns; returns 0 or the errno. */
static int
tcp_probe (const char *ns, uint32_t ip, uint16_t port)
{
  nslab_error_t err = NULL;
  cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
  ok (netns_enter (&g, ns, &err), &err);
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge (fd, 0);
  struct timeval tv = { .tv_sec = 2 };
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port), .sin_addr.s_addr = htonl (ip) };
  int r = connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? errno : 0;
  close (fd);
  return r;
}

START_TEST (test_netns_create_delete)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("t-a", &err), &err);
  ck_assert (netns_exists ("t-a"));
  /* lo is up inside, and the namespace differs from ours. */
  struct nl_sock *sk = reader ("t-a");
  struct rtnl_link *lo = get_link (sk, "lo");
  ck_assert (rtnl_link_get_flags (lo) & IFF_UP);
  rtnl_link_put (lo);
  nl_socket_free (sk);
  struct stat a, b;
  ck_assert_int_eq (stat ("/run/netns/t-a", &a), 0);
  ck_assert_int_eq (stat ("/proc/self/ns/net", &b), 0);
  ck_assert (a.st_ino != b.st_ino);

  ck_assert_int_eq (netns_create ("t-a", &err), -1);
  ck_assert_str_eq (err->msg, "t-a: create /run/netns/t-a");
  ck_assert_int_eq (err->status, EEXIST);
  nslab_error_free (&err);

  /* Same inode as ip netns would show: the bind mount is in place. */
  char *mi = NULL;
  {
    FILE *f = fopen ("/proc/self/mountinfo", "r");
    char line[1024];
    while (fgets (line, sizeof line, f))
      if (strstr (line, " /run/netns/t-a "))
        mi = xstrdup (line);
    fclose (f);
  }
  ck_assert_ptr_nonnull (mi);
  ck_assert_ptr_nonnull (strstr (mi, "nsfs"));
  free (mi);

  ok (netns_delete ("t-a", &err), &err);
  ck_assert (! netns_exists ("t-a"));
  /* Deleting again: already gone is fine. */
  ok (netns_delete ("t-a", &err), &err);
}
END_TEST

/* Entries of DIR not starting with a dot (0 when it is missing). */
static size_t
count_entries (const char *dir)
{
  size_t n = 0;
  DIR *d = opendir (dir);
  if (d == NULL)
    return 0;
  struct dirent *de;
  while ((de = readdir (d)))
    if (de->d_name[0] != '.')
      n++;
  closedir (d);
  return n;
}

static size_t
open_fds (void)
{
  return count_entries ("/proc/self/fd");
}

/* The sockets kept per namespace are bounded: past RTNL_CACHE_MAX
 * namespaces the least recently used go (a socket and a namespace fd each),
 * and one asked for again is opened again and works, also as the peer of a
 * veth made from the newest. */
START_TEST (test_rtnl_cache_bounded)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  enum { N = RTNL_CACHE_MAX + 6 };
  char names[N][16];
  for (int i = 0; i < N; i++)
    {
      snprintf (names[i], sizeof names[i], "t-c%d", i);
      ok (netns_create (names[i], &err), &err);
    }
  rtnl_close_all ();
  size_t before = open_fds ();
  for (int i = 0; i < N; i++)
    {
      int idx = 0;
      struct rtnl_ns *s = rtnl_get (names[i], &err);
      ck_assert_msg (s != NULL, "%s", err ? err->msg : "");
      ok (rtnl_ifindex (s, "lo", &idx, &err), &err);
      ck_assert_int_eq (idx, 1);
    }
  ck_assert_uint_eq (open_fds (), before + 2 * RTNL_CACHE_MAX);
  /* t-c0 was closed first; a veth from the newest into it opens it again */
  struct veth_spec ve = { .name = "vethc", .mac = MAC_V, .peer_name = "eth0", .peer_mac = MAC_B,
                          .peer_ns = names[0], .mtu = 1500 };
  ok (link_add_veth (names[N - 1], &ve, &err), &err);
  ck_assert_uint_eq (open_fds (), before + 2 * RTNL_CACHE_MAX);
  struct nl_sock *sk = reader (names[0]);
  struct rtnl_link *peer = get_link (sk, "eth0");
  ck_assert_str_eq (rtnl_link_get_type (peer), "veth");
  rtnl_link_put (peer);
  nl_socket_free (sk);
  for (int i = 0; i < N; i++)
    {
      rtnl_forget (names[i]);
      ok (netns_delete (names[i], &err), &err);
    }
  ck_assert_uint_eq (open_fds (), before);
}
END_TEST

START_TEST (test_enter_returns)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  struct stat before, inside, after;
  ck_assert_int_eq (stat ("/proc/thread-self/ns/net", &before), 0);
  ok (netns_create ("t-a", &err), &err);
  {
    cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
    ok (netns_enter (&g, "t-a", &err), &err);
    ck_assert_int_eq (stat ("/proc/thread-self/ns/net", &inside), 0);
    ck_assert (inside.st_ino != before.st_ino);
  }
  ck_assert_int_eq (stat ("/proc/thread-self/ns/net", &after), 0);
  ck_assert (after.st_ino == before.st_ino);
  ck_assert_int_eq (netns_enter (&(struct netns_guard) NETNS_GUARD_INIT, "t-missing", &err), -1);
  ck_assert_str_eq (err->msg, "t-missing: open /run/netns/t-missing");
  nslab_error_free (&err);
}
END_TEST

/* netns_spawn's child: in the namespace asked for, with exactly the three
 * descriptors given (not the caller's others, close-on-exec or not), SIGPIPE
 * and caught signals at their default and the caller's mask (it reports all
 * three); a program that cannot start is an error of the spawn (ENOENT),
 * with nothing left to reap; the caller's mask and handlers are as they
 * were. */
static void
on_usr1 (int sig)
{
  (void) sig;
}

START_TEST (test_netns_spawn)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("t-a", &err), &err);
  int nsfd = open ("/run/netns/t-a", O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge (nsfd, 0);
  struct stat want;
  ck_assert_int_eq (fstat (nsfd, &want), 0);
  /* a stray descriptor without close-on-exec: not for the child */
  int stray = open ("/dev/null", O_RDONLY);
  ck_assert_int_ge (stray, 3);
  struct sigaction usr1 = { .sa_handler = on_usr1 }, old_usr1, ign = { .sa_handler = SIG_IGN }, old_pipe;
  sigaction (SIGUSR1, &usr1, &old_usr1);
  sigaction (SIGPIPE, &ign, &old_pipe);
  sigset_t blocked, before, after;
  sigemptyset (&blocked);
  sigaddset (&blocked, SIGUSR2);
  pthread_sigmask (SIG_BLOCK, &blocked, &before);

  /* sh for the namespace and the descriptors (ls's directory is 3);
   * cat for the signals (sh clears its mask, grep catches SIGSEGV) */
  char *sh[] = { (char *) "sh", (char *) "-c",
                 (char *) "stat -L -c %i /proc/self/ns/net; ls /proc/self/fd | tr '\\n' ' '", NULL };
  char *cat[] = { (char *) "cat", (char *) "/proc/self/status", NULL };
  char *envp[] = { (char *) "PATH=/usr/bin:/bin", NULL };
  char out[2][8192];
  for (int k = 0; k < 2; k++)
    {
      int p[2];
      ck_assert_int_eq (pipe2 (p, O_CLOEXEC), 0);
      pid_t pid = k == 0 ? netns_spawn ("/bin/sh", sh, envp, nsfd, (const int[3]) { -1, p[1], -1 })
                         : netns_spawn ("/bin/cat", cat, envp, -1, (const int[3]) { -1, p[1], -1 });
      ck_assert_int_gt (pid, 0);
      close (p[1]);
      size_t len = 0;
      ssize_t n;
      while ((n = read (p[0], out[k] + len, sizeof out[k] - 1 - len)) > 0)
        len += (size_t) n;
      out[k][len] = '\0';
      close (p[0]);
      int status;
      ck_assert_int_eq (waitpid (pid, &status, 0), pid);
      ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
#ifdef __SANITIZE_ADDRESS__
      /* The child's stack was a mapping of its own; the next one of that
       * size usually lands at its address and must not inherit ASan's
       * marks of the child's frames (they never returned). */
      void *m = mmap (NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      ck_assert_ptr_ne (m, MAP_FAILED);
      ck_assert_ptr_null (__asan_region_is_poisoned (m, 64 * 1024));
      munmap (m, 64 * 1024);
#endif
    }
  ck_assert_uint_eq (strtoul (out[0], NULL, 10), (unsigned long) want.st_ino);
  ck_assert_msg (strstr (out[0], "\n0 1 2 3 ") != NULL, "%s", out[0]);
  /* blocked: SIGUSR2 (12) only; nothing caught; SIGPIPE (13) not ignored */
  ck_assert_msg (strstr (out[1], "SigBlk:\t0000000000000800\n") != NULL, "%s", out[1]);
  ck_assert_msg (strstr (out[1], "SigCgt:\t0000000000000000\n") != NULL, "%s", out[1]);
  const char *ig = strstr (out[1], "SigIgn:\t");
  ck_assert_ptr_nonnull (ig);
  ck_assert_uint_eq (strtoull (ig + 8, NULL, 16) & (1ULL << (SIGPIPE - 1)), 0);

  /* Not startable: an error of the spawn, nothing to reap. */
  errno = 0;
  ck_assert_int_eq (netns_spawn ("/nonexistent/prog", cat, envp, -1, (const int[3]) { -1, -1, -1 }), -1);
  ck_assert_int_eq (errno, ENOENT);
  ck_assert_int_eq (waitpid (-1, NULL, WNOHANG), -1);
  ck_assert_int_eq (errno, ECHILD);

  pthread_sigmask (SIG_SETMASK, &before, &after);
  ck_assert (sigismember (&after, SIGUSR2));
  struct sigaction now;
  sigaction (SIGUSR1, &old_usr1, &now);
  ck_assert_ptr_eq ((void *) now.sa_handler, (void *) on_usr1);
  sigaction (SIGPIPE, &old_pipe, &now);
  ck_assert_ptr_eq ((void *) now.sa_handler, (void *) SIG_IGN);
  close (stray);
  close (nsfd);
  ok (netns_delete ("t-a", &err), &err);
}
END_TEST

START_TEST (test_bridge_veth_hairpin)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("t-node", &err), &err);
  ok (netns_create ("t-pod", &err), &err);
  ok (link_add_bridge ("t-node", "cni0", 1450, MAC_BR, &err), &err);
  struct veth_spec ve = { .name = "veth3a5f9c21", .mac = MAC_V, .peer_name = "eth0", .peer_mac = MAC_B,
                          .peer_ns = "t-pod", .mtu = 1450 };
  ok (link_add_veth ("t-node", &ve, &err), &err);
  ok (link_set_master ("t-node", "veth3a5f9c21", "cni0", &err), &err);
  ok (link_set_hairpin ("t-node", "veth3a5f9c21", true, &err), &err);
  ok (link_set_up ("t-node", "veth3a5f9c21", &err), &err);
  ok (link_set_up ("t-node", "cni0", &err), &err);

  struct nl_sock *sk = reader ("t-node");
  struct rtnl_link *b = get_link (sk, "cni0");
  ck_assert_str_eq (rtnl_link_get_type (b), "bridge");
  ck_assert_uint_eq (rtnl_link_get_mtu (b), 1450);
  assert_mac (b, MAC_BR);
  ck_assert (rtnl_link_get_flags (b) & IFF_UP);
  struct rtnl_link *v = get_link (sk, "veth3a5f9c21");
  ck_assert_str_eq (rtnl_link_get_type (v), "veth");
  ck_assert_int_eq (rtnl_link_get_master (v), rtnl_link_get_ifindex (b));
  ck_assert (rtnl_link_get_flags (v) & IFF_UP);
  ck_assert_uint_eq (rtnl_link_get_mtu (v), 1450);
  assert_mac (v, MAC_V);
  rtnl_link_put (b);
  rtnl_link_put (v);
  /* The peer is only in the pod namespace. */
  struct rtnl_link *none = NULL;
  ck_assert_int_ne (rtnl_link_get_kernel (sk, 0, "eth0", &none), 0);
  nl_socket_free (sk);
  char *hp = read_sys ("t-node", "class/net/veth3a5f9c21/brport/hairpin_mode");
  ck_assert_str_eq (hp, "1");
  free (hp);

  sk = reader ("t-pod");
  struct rtnl_link *e = get_link (sk, "eth0");
  ck_assert_str_eq (rtnl_link_get_type (e), "veth");
  ck_assert_uint_eq (rtnl_link_get_mtu (e), 1450);
  assert_mac (e, MAC_B);
  rtnl_link_put (e);
  nl_socket_free (sk);

  /* NLM_F_EXCL: a second create of the same name fails, naming it. */
  ck_assert_int_eq (link_add_bridge ("t-node", "cni0", 1450, MAC_BR, &err), -1);
  ck_assert_int_eq (err->status, EEXIST);
  ck_assert_str_eq (err->msg, "add bridge cni0");
  nslab_error_free (&err);
  rtnl_close_all ();
}
END_TEST

static void
veth_pair (const char *ns, const char *a, const char *b)
{
  nslab_error_t err = NULL;
  struct veth_spec ve = { .name = a, .peer_name = b };
  ok (link_add_veth (ns, &ve, &err), &err);
  ok (link_set_up (ns, a, &err), &err);
  ok (link_set_up (ns, b, &err), &err);
}

START_TEST (test_vxlan_addr_route_neigh_fdb)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("t-w1", &err), &err);
  veth_pair ("t-w1", "enp0s8", "hostside");
  ok (addr_add ("t-w1", "enp0s8", (struct cidr) { IP4 (192, 168, 56, 11), 24 }, 0, &err), &err);
  veth_pair ("t-w1", "enp0s3", "natside");
  ok (link_set_mac ("t-w1", "enp0s3", MAC_A, &err), &err);
  ok (addr_add ("t-w1", "enp0s3", (struct cidr) { IP4 (10, 0, 2, 15), 24 }, 100, &err), &err);

  struct vxlan_spec vx = { .name = "flannel.1", .mac = MAC_V, .mtu = 1450, .vni = 1, .dstport = 8472,
                           .local = IP4 (192, 168, 56, 11), .dev = "enp0s8", .learning = false };
  ok (link_add_vxlan ("t-w1", &vx, &err), &err);
  ok (link_set_up ("t-w1", "flannel.1", &err), &err);
  ok (addr_add ("t-w1", "flannel.1", (struct cidr) { IP4 (10, 42, 1, 0), 32 }, 0, &err), &err);

  struct route_spec def = { .dst = { 0, 0 }, .gw = IP4 (10, 0, 2, 2), .dev = "enp0s3",
                            .src = IP4 (10, 0, 2, 15), .metric = 100, .protocol = RTPROT_DHCP };
  ok (route_add ("t-w1", &def, &err), &err);
  struct route_spec pod = { .dst = { IP4 (10, 42, 0, 0), 24 }, .gw = IP4 (10, 42, 0, 0),
                            .dev = "flannel.1", .onlink = true, .protocol = RTPROT_BOOT };
  ok (route_add ("t-w1", &pod, &err), &err);
  struct route_spec dhcp = { .dst = { IP4 (10, 0, 2, 2), 32 }, .dev = "enp0s3", .scope_link = true,
                             .src = IP4 (10, 0, 2, 15), .metric = 100, .protocol = RTPROT_DHCP };
  ok (route_add ("t-w1", &dhcp, &err), &err);
  ok (neigh_add ("t-w1", "flannel.1", IP4 (10, 42, 0, 0), MAC_B, &err), &err);
  ok (fdb_append ("t-w1", "flannel.1", MAC_B, IP4 (192, 168, 56, 10), &err), &err);

  struct nl_sock *sk = reader ("t-w1");
  /* vxlan */
  struct rtnl_link *l = get_link (sk, "flannel.1");
  struct rtnl_link *u = get_link (sk, "enp0s8");
  ck_assert_str_eq (rtnl_link_get_type (l), "vxlan");
  uint32_t id = 0, port = 0, link = 0;
  uint8_t learning = 9;
  ck_assert_int_eq (rtnl_link_vxlan_get_id (l, &id), 0);
  ck_assert_uint_eq (id, 1);
  ck_assert_int_eq (rtnl_link_vxlan_get_port (l, &port), 0);
  ck_assert_uint_eq (port, 8472);
  ck_assert_int_eq (rtnl_link_vxlan_get_link (l, &link), 0);
  ck_assert_uint_eq (link, (uint32_t) rtnl_link_get_ifindex (u));
  ck_assert_int_eq (rtnl_link_vxlan_get_learning (l), 0);
  (void) learning;
  struct nl_addr *loc = NULL;
  ck_assert_int_eq (rtnl_link_vxlan_get_local (l, &loc), 0);
  char buf[64];
  ck_assert_str_eq (nl_addr2str (loc, buf, sizeof buf), "192.168.56.11");
  nl_addr_put (loc);
  ck_assert_uint_eq (rtnl_link_get_mtu (l), 1450);
  assert_mac (l, MAC_V);
  int vx_index = rtnl_link_get_ifindex (l);
  int s3_index = 0;
  ok (link_ifindex ("t-w1", "enp0s3", &s3_index, &err), &err);
  rtnl_link_put (l);
  rtnl_link_put (u);

  /* addresses: brd for /24, none for /32 */
  struct nl_cache *ac = NULL;
  ck_assert_int_eq (rtnl_addr_alloc_cache (sk, &ac), 0);
  int found = 0;
  for (struct nl_object *o = nl_cache_get_first (ac); o; o = nl_cache_get_next (o))
    {
      struct rtnl_addr *ad = (struct rtnl_addr *) o;
      nl_addr2str (rtnl_addr_get_local (ad), buf, sizeof buf);
      char brd[64] = "";
      if (rtnl_addr_get_broadcast (ad))
        nl_addr2str (rtnl_addr_get_broadcast (ad), brd, sizeof brd);
      if (strcmp (buf, "10.0.2.15/24") == 0)
        {
          ck_assert_str_eq (brd, "10.0.2.255");
          found++;
        }
      if (strcmp (buf, "10.42.1.0/32") == 0 || strcmp (buf, "10.42.1.0") == 0)
        {
          ck_assert_int_eq (rtnl_addr_get_ifindex (ad), vx_index);
          ck_assert_str_eq (brd, "");
          found++;
        }
    }
  ck_assert_int_eq (found, 2);
  nl_cache_free (ac);

  /* routes */
  struct nl_cache *rc = NULL;
  ck_assert_int_eq (rtnl_route_alloc_cache (sk, AF_INET, 0, &rc), 0);
  found = 0;
  for (struct nl_object *o = nl_cache_get_first (rc); o; o = nl_cache_get_next (o))
    {
      struct rtnl_route *r = (struct rtnl_route *) o;
      if (rtnl_route_get_table (r) != RT_TABLE_MAIN)
        continue;
      nl_addr2str (rtnl_route_get_dst (r), buf, sizeof buf);
      struct rtnl_nexthop *nh = rtnl_route_nexthop_n (r, 0);
      char gw[64] = "";
      if (rtnl_route_nh_get_gateway (nh))
        nl_addr2str (rtnl_route_nh_get_gateway (nh), gw, sizeof gw);
      if (strcmp (buf, "none") == 0 || strcmp (buf, "0.0.0.0/0") == 0 || strcmp (buf, "default") == 0)
        {
          ck_assert_str_eq (gw, "10.0.2.2");
          ck_assert_uint_eq (rtnl_route_get_priority (r), 100);
          ck_assert_uint_eq (rtnl_route_get_protocol (r), RTPROT_DHCP);
          ck_assert_int_eq (rtnl_route_nh_get_ifindex (nh), s3_index);
          char src[64];
          ck_assert_str_eq (nl_addr2str (rtnl_route_get_pref_src (r), src, sizeof src), "10.0.2.15");
          found++;
        }
      else if (strcmp (buf, "10.42.0.0/24") == 0)
        {
          ck_assert_str_eq (gw, "10.42.0.0");
          ck_assert (rtnl_route_nh_get_flags (nh) & RTNH_F_ONLINK);
          ck_assert_int_eq (rtnl_route_nh_get_ifindex (nh), vx_index);
          ck_assert_uint_eq (rtnl_route_get_scope (r), RT_SCOPE_UNIVERSE);
          ck_assert_uint_eq (rtnl_route_get_protocol (r), RTPROT_BOOT);
          found++;
        }
      else if (strcmp (buf, "10.0.2.2") == 0)
        {
          ck_assert_uint_eq (rtnl_route_get_scope (r), RT_SCOPE_LINK);
          ck_assert_uint_eq (rtnl_route_get_priority (r), 100);
          found++;
        }
      else if (strcmp (buf, "10.0.2.0/24") == 0)
        {
          /* the prefix route of an address with IFA_RT_PRIORITY */
          ck_assert_uint_eq (rtnl_route_get_priority (r), 100);
          ck_assert_uint_eq (rtnl_route_get_protocol (r), RTPROT_KERNEL);
          found++;
        }
    }
  ck_assert_int_eq (found, 4);
  nl_cache_free (rc);

  /* neighbour and fdb */
  struct nl_cache *nc = NULL;
  ck_assert_int_eq (rtnl_neigh_alloc_cache (sk, &nc), 0);
  found = 0;
  for (struct nl_object *o = nl_cache_get_first (nc); o; o = nl_cache_get_next (o))
    {
      struct rtnl_neigh *ne = (struct rtnl_neigh *) o;
      /* Only what nslab added: permanent IPv4 and bridge (self) entries.
       * The kernel adds entries of its own once flannel.1 is up (IPv6
       * multicast neighbours for MLD, NOARP), at a time of its choosing. */
      if (rtnl_neigh_get_ifindex (ne) != vx_index || rtnl_neigh_get_state (ne) != NUD_PERMANENT
          || (rtnl_neigh_get_family (ne) != AF_INET && rtnl_neigh_get_family (ne) != AF_BRIDGE))
        continue;
      struct nl_addr *ll = rtnl_neigh_get_lladdr (ne);
      struct nl_addr *dst = rtnl_neigh_get_dst (ne);
      ck_assert_ptr_nonnull (ll);
      ck_assert_mem_eq (nl_addr_get_binary_addr (ll), MAC_B, 6);
      if (rtnl_neigh_get_family (ne) == AF_INET)
        {
          ck_assert_str_eq (nl_addr2str (dst, buf, sizeof buf), "10.42.0.0");
          ck_assert_int_eq (rtnl_neigh_get_state (ne), NUD_PERMANENT);
          found++;
        }
      else if (rtnl_neigh_get_family (ne) == AF_BRIDGE)
        {
          ck_assert_str_eq (nl_addr2str (dst, buf, sizeof buf), "192.168.56.10");
          ck_assert_int_eq (rtnl_neigh_get_state (ne), NUD_PERMANENT);
          ck_assert (rtnl_neigh_get_flags (ne) & NTF_SELF);
          found++;
        }
    }
  nl_cache_free (nc);
  nl_socket_free (sk);
  /* The fdb may come through the AF_UNSPEC dump or not depending on the
   * kernel; check it with a bridge dump too. */
  if (found < 2)
    {
      char *out = run_in ("t-w1", "bridge fdb show dev flannel.1");
      ck_assert_msg (strstr (out, "0a:58:0a:2a:00:05 dst 192.168.56.10 self permanent") != NULL, "fdb: %s", out);
      free (out);
      found++;
    }
  ck_assert_int_eq (found, 2);
  rtnl_close_all ();
}
END_TEST

START_TEST (test_kernel_error_message)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("t-w1", &err), &err);
  veth_pair ("t-w1", "enp0s8", "hostside");
  /* The gateway is on no connected network and onlink is not set. */
  struct route_spec r = { .dst = { IP4 (10, 42, 0, 0), 24 }, .gw = IP4 (10, 42, 0, 0), .dev = "enp0s8",
                          .protocol = RTPROT_BOOT };
  ck_assert_int_eq (route_add ("t-w1", &r, &err), -1);
  ck_assert_int_eq (err->status, ENETUNREACH);
  ck_assert_str_eq (err->msg, "add route 10.42.0.0/24 via 10.42.0.0 dev enp0s8: Nexthop has invalid gateway");
  nslab_error_free (&err);
  ck_assert_int_eq (addr_add ("t-w1", "nosuch0", (struct cidr) { IP4 (10, 0, 0, 1), 24 }, 0, &err), -1);
  ck_assert_int_eq (err->status, ENODEV);
  ck_assert_str_eq (err->msg, "find device nosuch0");
  nslab_error_free (&err);
  rtnl_close_all ();
}
END_TEST

/* The kernel ring buffer from now on: /dev/kmsg read from its end. -1,
 * and the check reported skipped, where there is none (a container's /dev:
 * make check-container) or it is not ours to read (the root of a user
 * namespace, which tests/run uses without root; dmesg_restrict). */
static int
kmsg_open_end (const char *where)
{
  int fd = open ("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && (errno == ENOENT || errno == EPERM || errno == EACCES))
    {
      cleanup_free char *why = xasprintf ("the kernel log is not readable here (/dev/kmsg: %s)", strerror (errno));
      unit_skip (where, why);
      return -1;
    }
  ck_assert_msg (fd >= 0, "open /dev/kmsg: %s", strerror (errno));
  ck_assert_int_ge (lseek (fd, 0, SEEK_END), 0);
  return fd;
}

static char *
kmsg_read_new (int fd)
{
  struct strbuf sb;
  sb_init (&sb);
  char rec[8192];
  for (;;)
    {
      ssize_t n = read (fd, rec, sizeof rec - 1);
      if (n < 0 && errno == EPIPE)
        continue; /* records overwritten meanwhile: go on with the next */
      if (n <= 0)
        break;
      rec[n] = '\0';
      sb_add (&sb, rec);
    }
  close (fd);
  return sb_steal (&sb);
}

/* flannel.1 the way up builds it: the kernel accepts every attribute as
 * sent (libnl's u32 IFLA_VXLAN_PORT made it log "attribute type 15 has an
 * invalid length" on every up), and ip -d link shows what was asked. */
START_TEST (test_vxlan_attributes)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("t-vx", &err), &err);
  veth_pair ("t-vx", "enp0s8", "hostside");
  ok (addr_add ("t-vx", "enp0s8", (struct cidr) { IP4 (192, 168, 56, 11), 24 }, 0, &err), &err);
  int kfd = kmsg_open_end (__func__);
  struct vxlan_spec vx = { .name = "flannel.1", .mac = MAC_V, .mtu = 1450, .vni = 1, .dstport = 8472,
                           .local = IP4 (192, 168, 56, 11), .dev = "enp0s8", .learning = false };
  ok (link_add_vxlan ("t-vx", &vx, &err), &err);
  ok (link_set_up ("t-vx", "flannel.1", &err), &err);
  if (kfd >= 0)
    {
      cleanup_free char *log = kmsg_read_new (kfd);
      ck_assert_msg (strstr (log, "invalid length") == NULL, "the kernel complained: %s", log);
    }

  cleanup_free char *out = run_in ("t-vx", "ip -d link show flannel.1");
  ck_assert_msg (strstr (out, "vxlan id 1 local 192.168.56.11 dev enp0s8 ") != NULL, "%s", out);
  ck_assert_msg (strstr (out, " dstport 8472 ") != NULL, "%s", out);
  ck_assert_msg (strstr (out, " nolearning ") != NULL, "%s", out);
  ck_assert_msg (strstr (out, " mtu 1450 ") != NULL, "%s", out);
  ck_assert_msg (strstr (out, "link/ether 8e:11:22:33:44:55 ") != NULL, "%s", out);

  /* The error path names the device in ip(8) words. */
  ck_assert_int_eq (link_add_vxlan ("t-vx", &vx, &err), -1);
  ck_assert_int_eq (err->status, EEXIST);
  ck_assert_str_eq (err->msg, "add vxlan flannel.1 id 1 local 192.168.56.11 dev enp0s8 dstport 8472 nolearning");
  nslab_error_free (&err);
  rtnl_close_all ();
}
END_TEST

/* A guard inside a guard would, when the inner one ends, return the thread
 * to the origin under the outer one's feet: refused. */
START_TEST (test_guard_does_not_nest)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("t-a", &err), &err);
  ok (netns_create ("t-b", &err), &err);
  struct stat a, here;
  ck_assert_int_eq (stat ("/run/netns/t-a", &a), 0);
  {
    cleanup_netns struct netns_guard g1 = NETNS_GUARD_INIT;
    ok (netns_enter (&g1, "t-a", &err), &err);
    cleanup_netns struct netns_guard g2 = NETNS_GUARD_INIT;
    ck_assert_int_eq (netns_enter (&g2, "t-b", &err), -1);
    ck_assert_int_eq (err->status, EBUSY);
    ck_assert_str_eq (err->msg, "t-b: enter network namespace: already inside another one");
    nslab_error_free (&err);
    ck_assert_int_eq (netns_create ("t-c", &err), -1);
    ck_assert_int_eq (err->status, EBUSY);
    nslab_error_free (&err);
    ck_assert (! netns_exists ("t-c"));
    ck_assert_int_eq (stat ("/proc/thread-self/ns/net", &here), 0);
    ck_assert (here.st_ino == a.st_ino);
  }
  /* Once out, entering works again. */
  cleanup_netns struct netns_guard g3 = NETNS_GUARD_INIT;
  ok (netns_enter (&g3, "t-b", &err), &err);
}
END_TEST

START_TEST (test_sysctl_path)
{
  char *p = sysctl_path ("net.ipv4.ip_forward");
  ck_assert_str_eq (p, "/proc/sys/net/ipv4/ip_forward");
  free (p);
  p = sysctl_path ("net/ipv6/conf/flannel.1/accept_ra");
  ck_assert_str_eq (p, "/proc/sys/net/ipv6/conf/flannel.1/accept_ra");
  free (p);
}
END_TEST

START_TEST (test_sysctl_in_namespace)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("t-a", &err), &err);
  char *v = NULL;
  ok (sysctl_read (NULL, "net.ipv4.ip_forward", &v, &err), &err);
  ck_assert_str_eq (v, "0");
  free (v);
  ok (sysctl_write ("t-a", "net.ipv4.ip_forward", "1", &err), &err);
  ok (sysctl_write ("t-a", "net/ipv4/conf/lo/rp_filter", "2", &err), &err);
  ok (sysctl_read ("t-a", "net.ipv4.ip_forward", &v, &err), &err);
  ck_assert_str_eq (v, "1");
  free (v);
  ok (sysctl_read ("t-a", "net.ipv4.conf.lo.rp_filter", &v, &err), &err);
  ck_assert_str_eq (v, "2");
  free (v);
  /* ours is untouched */
  ok (sysctl_read (NULL, "net.ipv4.ip_forward", &v, &err), &err);
  ck_assert_str_eq (v, "0");
  free (v);
  ck_assert_int_eq (sysctl_write ("t-a", "net.ipv4.no_such_key", "1", &err), -1);
  ck_assert_str_eq (err->msg, "sysctl net.ipv4.no_such_key=1: t-a: open /proc/sys/net/ipv4/no_such_key");
  nslab_error_free (&err);
}
END_TEST

START_TEST (test_iptables_restore)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("t-nat", &err), &err);
  const char *payload = "*nat\n:POSTROUTING ACCEPT [0:0]\n:NSLAB-TEST - [0:0]\n"
                        "-A POSTROUTING -s 10.0.2.0/24 -o eth0 -j MASQUERADE\nCOMMIT\n";
  ok (iptables_restore ("t-nat", payload, &err), &err);
  char *out = run_in ("t-nat", "iptables-save -t nat");
  ck_assert_msg (strstr (out, "-A POSTROUTING -s 10.0.2.0/24 -o eth0 -j MASQUERADE\n") != NULL, "%s", out);
  ck_assert_msg (strstr (out, ":NSLAB-TEST - [0:0]\n") != NULL, "%s", out);
  free (out);
  /* --noflush: a second payload adds to the table */
  ok (iptables_restore ("t-nat", "*nat\n-A NSLAB-TEST -j RETURN\nCOMMIT\n", &err), &err);
  out = run_in ("t-nat", "iptables-save -t nat");
  ck_assert_msg (strstr (out, "-A POSTROUTING -s 10.0.2.0/24 -o eth0 -j MASQUERADE\n") != NULL, "%s", out);
  ck_assert_msg (strstr (out, "-A NSLAB-TEST -j RETURN\n") != NULL, "%s", out);
  free (out);
  /* our namespace has none of it */
  out = run_in ("t-nat", "true");
  free (out);
  FILE *p = popen ("iptables-save -t nat 2>/dev/null", "r");
  char buf[4096] = "";
  size_t n = fread (buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  pclose (p);
  ck_assert_ptr_null (strstr (buf, "NSLAB-TEST"));

  ck_assert_int_eq (iptables_restore ("t-nat", "*nat\n-A NO-SUCH-CHAIN -j RETURN\nCOMMIT\n", &err), -1);
  ck_assert_msg (str_has_prefix (err->msg, "t-nat: iptables-restore: "), "%s", err->msg);
  ck_assert_msg (strstr (err->msg, "line 2") != NULL || strstr (err->msg, "line: 2") != NULL, "%s", err->msg);
  nslab_error_free (&err);
}
END_TEST

START_TEST (test_state_journal)
{
  /* nslab trusts only a state root that root owns (state.c): another
   * user's mkdtemp dir is refused before the journal is reached. */
  UNIT_REQUIRE_ROOT ();
  char dir[] = "/tmp/nslab-state-XXXXXX";
  ck_assert_ptr_nonnull (mkdtemp (dir));
  setenv ("NSLAB_STATE_DIR", dir, 1);
  nslab_error_t err = NULL;
  struct state_writer *w = NULL;
  ok (state_create ("k3s", "/labs/k3s.ini", &w, &err), &err);
  struct stat sb;
  char *ld = xasprintf ("%s/k3s", dir);
  ck_assert_int_eq (stat (ld, &sb), 0);
  ck_assert_int_eq (sb.st_mode & 0777, 0700);
  ck_assert_str_eq (state_writer_dir (w), ld);
  ok (state_record_counts (w, 3, 5, 4, &err), &err);
  ok (state_record_labhost (w, "k3s-host", &err), &err);
  ok (state_record_cidr (w, "hostonly", "vboxnet0", (struct cidr) { IP4 (192, 168, 56, 0), 24 }, &err), &err);
  ok (state_record_netns (w, "k3s-host", &err), &err);
  ok (state_record_netns (w, "k3s-cp1", &err), &err);
  struct state_process sp = { .kind = STATE_PROC_POD, .name = (char *) "demo/web-79ffc79c64-7lczb",
                              .owner = (char *) "deployment/web", .netns = (char *) "k3s-demo-web-79ffc79c64-7lczb",
                              .node = (char *) "cp1", .pid = 4242, .starttime = 123456789 };
  ok (state_record_process (w, &sp, &err), &err);
  struct state_process bad = sp;
  bad.name = (char *) "has space";
  ck_assert_int_eq (state_record_process (w, &bad, &err), -1);
  nslab_error_free (&err);

  /* Same lab again: refused while the first exists. */
  struct state_writer *w2 = NULL;
  ck_assert_int_eq (state_create ("k3s", NULL, &w2, &err), -1);
  ck_assert_str_eq (err->msg, "lab k3s is already up (nslab down k3s first)");
  nslab_error_free (&err);

  struct state *st = NULL;
  ok (state_load ("k3s", &st, &err), &err);
  ck_assert_str_eq (st->lab, "k3s");
  ck_assert_str_eq (st->scenario, "/labs/k3s.ini");
  ck_assert (! st->complete);
  ck_assert_int_eq (st->n_nodes, 3);
  ck_assert_int_eq (st->n_pods, 5);
  ck_assert_int_eq (st->n_services, 4);
  ck_assert_str_eq (st->labhost_netns, "k3s-host");
  ck_assert_uint_eq (st->n_netns, 2);
  ck_assert_str_eq (st->netns[1], "k3s-cp1");
  ck_assert_uint_eq (st->n_cidrs, 1);
  ck_assert_str_eq (st->cidrs[0].kind, "hostonly");
  ck_assert_uint_eq (st->cidrs[0].cidr.addr, IP4 (192, 168, 56, 0));
  ck_assert_uint_eq (st->n_procs, 1);
  ck_assert_str_eq (st->procs[0].owner, "deployment/web");
  ck_assert_int_eq (st->procs[0].pid, 4242);
  ck_assert_uint_eq (st->procs[0].starttime, 123456789);
  ck_assert (st->created > 0);
  state_free (st);

  /* A kill in the middle of a write leaves a cut line: ignored by the
   * reader, and cut off by the next writer so it cannot glue onto a new
   * record. */
  char *jp = xasprintf ("%s/journal", ld);
  FILE *f = fopen (jp, "a");
  fputs ("netns k3s-w", f);
  fclose (f);
  ok (state_load ("k3s", &st, &err), &err);
  ck_assert_uint_eq (st->n_netns, 2);
  state_free (st);
  state_writer_close (w);
  ok (state_open ("k3s", &w, &err), &err);
  ok (state_record_netns (w, "k3s-w2", &err), &err);
  ok (state_mark_complete (w, &err), &err);
  ok (state_load ("k3s", &st, &err), &err);
  ck_assert_uint_eq (st->n_netns, 3);
  ck_assert_str_eq (st->netns[2], "k3s-w2");
  ck_assert (st->complete);
  state_free (st);

  char **labs;
  size_t n;
  ok (state_list (&labs, &n, &err), &err);
  ck_assert_uint_eq (n, 1);
  ck_assert_str_eq (labs[0], "k3s");
  free (labs[0]);
  free (labs);

  ok (state_remove (w, &err), &err);
  state_writer_close (w);
  ck_assert_int_eq (stat (ld, &sb), -1);
  ck_assert_int_eq (state_load ("k3s", &st, &err), -1);
  ck_assert_str_eq (err->msg, "lab k3s is not up");
  nslab_error_free (&err);
  ck_assert_int_eq (state_open ("k3s", &w, &err), -1);
  ck_assert_str_eq (err->msg, "lab k3s is not up");
  nslab_error_free (&err);
  free (jp);
  free (ld);
  rmdir (dir);
}
END_TEST

/* A two-namespace plan built by hand: node with a bridge, a pod with a veth
 * into it, an address, a route, a sysctl, an iptables payload. */
struct mini {
  struct lab_network net;
  struct lab_objects objects;
  char *ns[2];
  struct plan p;
  struct plan_op ops[12];
};

static void
mini_build (struct mini *x, const char *lab, bool bad_route)
{
  memset (x, 0, sizeof *x);
  x->net = (struct lab_network) { .name = (char *) "hostonly", .kind = NET_HOSTONLY,
                                  .cidr = { IP4 (192, 168, 56, 0), 24 } };
  x->objects = (struct lab_objects) { .lab = (char *) lab, .networks = &x->net, .n_networks = 1,
                                      .pod_cidr = { IP4 (10, 42, 0, 0), 16 },
                                      .service_cidr = { IP4 (10, 43, 0, 0), 16 } };
  x->ns[0] = xasprintf ("%s-n1", lab);
  x->ns[1] = xasprintf ("%s-pod", lab);
  char *n0 = x->ns[0], *n1 = x->ns[1];
  size_t i = 0;
  x->ops[i++] = (struct plan_op) { .kind = OP_NETNS, .ns = n0, .u.netns = { .kind = PLAN_NETNS_NODE } };
  x->ops[i++] = (struct plan_op) { .kind = OP_NETNS, .ns = n1, .u.netns = { .kind = PLAN_NETNS_POD } };
  x->ops[i++] = (struct plan_op) { .kind = OP_SYSCTL, .ns = n0,
                                   .u.sysctl = { (char *) "net.ipv4.ip_forward", (char *) "1" } };
  x->ops[i++] = (struct plan_op) { .kind = OP_LINK, .ns = n0,
                                   .u.link = { .kind = LINK_BRIDGE, .name = (char *) "cni0", .mtu = 1450 } };
  x->ops[i++] = (struct plan_op) { .kind = OP_LINK, .ns = n0,
                                   .u.link = { .kind = LINK_VETH, .name = (char *) "vethab", .mtu = 1450,
                                               .peer_name = (char *) "eth0", .peer_ns = n1 } };
  x->ops[i++] = (struct plan_op) { .kind = OP_LINK_SET, .ns = n0,
                                   .u.set = { (char *) "vethab", (char *) "cni0", true, true } };
  x->ops[i++] = (struct plan_op) { .kind = OP_LINK_SET, .ns = n0, .u.set = { (char *) "cni0", NULL, false, true } };
  x->ops[i++] = (struct plan_op) { .kind = OP_ADDR, .ns = n0,
                                   .u.addr = { (char *) "cni0", { IP4 (10, 42, 0, 1), 24 }, 0 } };
  x->ops[i++] = (struct plan_op) { .kind = OP_LINK_SET, .ns = n1, .u.set = { (char *) "eth0", NULL, false, true } };
  x->ops[i++] = (struct plan_op) { .kind = OP_ADDR, .ns = n1,
                                   .u.addr = { (char *) "eth0", { IP4 (10, 42, 0, 5), 24 }, 0 } };
  x->ops[i++] = (struct plan_op) { .kind = OP_ROUTE, .ns = n1,
                                   .u.route = { .dst = { 0, 0 },
                                                .gw = bad_route ? IP4 (10, 99, 0, 1) : IP4 (10, 42, 0, 1),
                                                .dev = (char *) "eth0", .protocol = RTPROT_BOOT } };
  x->ops[i++] = (struct plan_op) { .kind = OP_IPTABLES, .ns = n0,
                                   .u.ipt = { (char *) "*filter\n:NSLAB-T - [0:0]\n-A FORWARD -j NSLAB-T\nCOMMIT\n" } };
  x->p = (struct plan) { .objects = &x->objects, .ops = x->ops, .n_ops = i };
}

static void
mini_free (struct mini *x)
{
  free (x->ns[0]);
  free (x->ns[1]);
}

static size_t
count_netns (void)
{
  return count_entries ("/run/netns");
}

START_TEST (test_apply_and_teardown)
{
  if (! sandbox ())
    return;
  struct mini x;
  mini_build (&x, "tl", false);
  nslab_error_t err = NULL;
  ok (apply_plan (&x.p, "/nowhere/tl.ini", NULL, &err), &err);
  ck_assert_uint_eq (count_netns (), 2);
  /* The pod reaches the bridge address: a TCP SYN to a closed port comes
   * back as a reset (ECONNREFUSED) only if the path works both ways. */
  ck_assert_int_eq (tcp_probe ("tl-pod", IP4 (10, 42, 0, 1), 9), ECONNREFUSED);
  char *v = NULL;
  ok (sysctl_read ("tl-n1", "net.ipv4.ip_forward", &v, &err), &err);
  ck_assert_str_eq (v, "1");
  free (v);
  struct state *st = NULL;
  ok (state_load ("tl", &st, &err), &err);
  ck_assert (st->complete);
  ck_assert_uint_eq (st->n_netns, 2);
  ck_assert_uint_eq (st->n_cidrs, 3);
  state_free (st);

  /* Up again: refused, nothing changes. */
  ck_assert_int_eq (apply_plan (&x.p, NULL, NULL, &err), -1);
  ck_assert_str_eq (err->msg, "lab tl is already up (nslab down tl first)");
  nslab_error_free (&err);

  /* A second lab on the same host-only network is refused before anything. */
  struct mini y;
  mini_build (&y, "tm", false);
  ck_assert_int_eq (apply_plan (&y.p, NULL, NULL, &err), -1);
  ck_assert_str_eq (err->msg, "lab tm clashes with lab tl, which is up: host-only network hostonly "
                              "192.168.56.0/24 overlaps its network hostonly 192.168.56.0/24");
  ck_assert_int_eq (err->exit_code, NSLAB_EXIT_INVALID);
  nslab_error_free (&err);
  ck_assert_uint_eq (count_netns (), 2);
  /* ... and accepted on another one. */
  y.net.cidr = (struct cidr) { IP4 (192, 168, 57, 0), 24 };
  ok (apply_plan (&y.p, NULL, NULL, &err), &err);
  ck_assert_uint_eq (count_netns (), 4);

  ok (teardown_lab ("tl", &err), &err);
  ok (teardown_lab ("tm", &err), &err);
  ck_assert_uint_eq (count_netns (), 0);
  char **labs;
  size_t n;
  ok (state_list (&labs, &n, &err), &err);
  ck_assert_uint_eq (n, 0);
  free (labs);
  ck_assert_int_eq (teardown_lab ("tl", &err), -1);
  ck_assert_str_eq (err->msg, "lab tl is not up");
  nslab_error_free (&err);
  mini_free (&x);
  mini_free (&y);
}
END_TEST

START_TEST (test_apply_rollback)
{
  if (! sandbox ())
    return;
  struct mini x;
  mini_build (&x, "tl", true);
  nslab_error_t err = NULL;
  ck_assert_int_eq (apply_plan (&x.p, NULL, NULL, &err), -1);
  ck_assert_str_eq (err->msg, "tl-pod: add route default via 10.99.0.1 dev eth0: Nexthop has invalid gateway");
  ck_assert_int_eq (err->status, ENETUNREACH);
  nslab_error_free (&err);
  ck_assert_uint_eq (count_netns (), 0);
  struct stat sb;
  ck_assert_int_eq (stat ("/run/nslab-test/tl", &sb), -1);
  mini_free (&x);
}
END_TEST

START_TEST (test_apply_needs_namespace_free)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("tl-pod", &err), &err);
  struct mini x;
  mini_build (&x, "tl", false);
  ck_assert_int_eq (apply_plan (&x.p, NULL, NULL, &err), -1);
  ck_assert_str_eq (err->msg, "network namespace tl-pod already exists (/run/netns/tl-pod); remove it or rename lab tl");
  nslab_error_free (&err);
  ck_assert_uint_eq (count_netns (), 1);
  mini_free (&x);
}
END_TEST

/* kubelet's prober as the loop's thread: a batch runs while the caller goes
 * on, its results come back in the order submitted once the prober's fd is
 * readable (the caller's strings may go at once: the batch has copies);
 * stopping waits for a batch still running. */
START_TEST (test_prober_thread)
{
  if (! sandbox ())
    return;
  nslab_error_t err = NULL;
  ok (netns_create ("t-probe", &err), &err);
  int lfd = -1;
  {
    cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
    ok (netns_enter (&g, "t-probe", &err), &err);
    lfd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge (lfd, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (8080), .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    ck_assert_int_eq (bind (lfd, (struct sockaddr *) &sa, sizeof sa), 0);
    ck_assert_int_eq (listen (lfd, 16), 0);
  }
  char *node = xstrdup ("t-probe"), *nosuch = xstrdup ("t-nosuch"), *path = xstrdup ("/healthz");
  const struct probe in[3] = {
    { .kind = PROBE_TCP, .node_netns = node, .ip = INADDR_LOOPBACK, .port = 8080 },
    { .kind = PROBE_TCP, .node_netns = node, .ip = INADDR_LOOPBACK, .port = 8081 },
    { .kind = PROBE_TCP, .node_netns = nosuch, .ip = INADDR_LOOPBACK, .port = 8080 },
  };
  struct prober *p = NULL;
  ok (prober_start (&p, &err), &err);
  ck_assert (! prober_busy (p));
  prober_submit (p, in, 3, 2000);
  free (node);
  free (nosuch);
  ck_assert (prober_busy (p));
  struct pollfd pfd = { .fd = prober_fd (p), .events = POLLIN };
  ck_assert_int_eq (poll (&pfd, 1, 10000), 1);
  struct probe *out = NULL;
  size_t n = 0;
  ck_assert_int_eq (prober_collect (p, &out, &n, &err), 1);
  ck_assert_uint_eq (n, 3);
  ck_assert (out[0].ok);
  ck_assert (! out[1].ok); /* refused */
  ck_assert (! out[2].ok); /* no such namespace */
  ck_assert_str_eq (out[0].node_netns, "t-probe");
  ck_assert_str_eq (out[2].node_netns, "t-nosuch");
  probes_free (out, n);
  ck_assert (! prober_busy (p));
  ck_assert_int_eq (prober_collect (p, &out, &n, &err), 0);
  ck_assert_int_eq (poll (&pfd, 1, 0), 0); /* drained */
  /* An HTTP probe the listener never answers runs to its timeout: stopped
   * meanwhile, the prober waits for it, and its batch goes with it. */
  const struct probe slow = { .kind = PROBE_HTTP, .node_netns = "t-probe", .ip = INADDR_LOOPBACK, .port = 8080,
                              .path = path };
  prober_submit (p, &slow, 1, 300);
  free (path);
  ck_assert (prober_busy (p));
  prober_stop (p);
  close (lfd);
  ok (netns_delete ("t-probe", &err), &err);
}
END_TEST


static Suite *
make_suite (void)
{
  Suite *s = suite_create ("netns_nl");
  TCase *tc = tcase_create ("kernel");
  tcase_set_timeout (tc, 30);
  tcase_add_test (tc, test_netns_create_delete);
  tcase_add_test (tc, test_enter_returns);
  tcase_add_test (tc, test_rtnl_cache_bounded);
  tcase_add_test (tc, test_netns_spawn);
  tcase_add_test (tc, test_bridge_veth_hairpin);
  tcase_add_test (tc, test_vxlan_addr_route_neigh_fdb);
  tcase_add_test (tc, test_kernel_error_message);
  tcase_add_test (tc, test_vxlan_attributes);
  tcase_add_test (tc, test_guard_does_not_nest);
  tcase_add_test (tc, test_prober_thread);
  tcase_add_test (tc, test_sysctl_path);
  tcase_add_test (tc, test_sysctl_in_namespace);
  tcase_add_test (tc, test_iptables_restore);
  tcase_add_test (tc, test_state_journal);
  tcase_add_test (tc, test_apply_and_teardown);
  tcase_add_test (tc, test_apply_rollback);
  tcase_add_test (tc, test_apply_needs_namespace_free);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
