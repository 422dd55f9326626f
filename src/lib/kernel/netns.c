/* Named network namespaces (see netns.h). The namespace is created by
 * unshare(CLONE_NEWNET) in the calling thread and bind-mounted while the
 * thread is still inside, then the thread returns with setns(): no fork, so
 * creating hundreds of namespaces stays cheap. lo is brought up with an
 * ioctl while inside, so this file needs no netlink and rtnl.c can build on
 * it without a cycle. */
#include "kernel/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

static int origin_fd = -1;
/* Whether this thread is inside a foreign namespace through a guard: a
 * second guard would return to the origin when it ends, under the first
 * one's feet. */
static _Thread_local bool inside;

char *
netns_path (const char *name)
{
  return xasprintf ("%s/%s", NETNS_RUN_DIR, name);
}

bool
netns_exists (const char *name)
{
  cleanup_free char *p = netns_path (name);
  return access (p, F_OK) == 0;
}

int
netns_origin_fd (nslab_error_t *err)
{
  if (origin_fd >= 0)
    return origin_fd;
  origin_fd = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (origin_fd < 0)
    return nslab_error (err, errno, "open /proc/thread-self/ns/net");
  return origin_fd;
}

int
netns_open (const char *name, nslab_error_t *err)
{
  cleanup_free char *p = netns_path (name);
  int fd = open (p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return nslab_error (err, errno, "%s: open %s", name, p);
  return fd;
}

void
netns_leave (struct netns_guard *g)
{
  if (! g->entered)
    return;
  /* origin_fd is always open once something was entered. */
  if (setns (origin_fd, CLONE_NEWNET) < 0)
    {
      /* Going on would create or delete objects in a lab namespace while
       * believing we are in the original one: stop right here. */
      fprintf (stderr, "nslab: cannot return to the original network namespace: %s\n", strerror (errno));
      abort ();
    }
  g->entered = false;
  inside = false;
}

void
netns_guard_cleanup (struct netns_guard *g)
{
  netns_leave (g);
}

int
netns_enter_fd (struct netns_guard *g, int fd, const char *name, nslab_error_t *err)
{
  if (inside)
    return nslab_error (err, EBUSY, "%s: enter network namespace: already inside another one", name);
  if (netns_origin_fd (err) < 0)
    return -1;
  if (setns (fd, CLONE_NEWNET) < 0)
    return nslab_error (err, errno, "%s: enter network namespace", name);
  g->entered = true;
  inside = true;
  return 0;
}

int
netns_enter (struct netns_guard *g, const char *name, nslab_error_t *err)
{
  cleanup_close int fd = netns_open (name, err);
  if (fd < 0)
    return -1;
  return netns_enter_fd (g, fd, name, err);
}

/* iproute2 makes /run/netns a shared mount (bind-mounting it onto itself
 * first if it is not a mount point yet), so the namespace bind mounts show
 * in every mount namespace that shares it and disappear from all of them on
 * delete. Done once per process. */
static int
prepare_run_dir (nslab_error_t *err)
{
  static bool done;
  if (done)
    return 0;
  if (mkdir (NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST)
    return nslab_error (err, errno, "mkdir %s", NETNS_RUN_DIR);
  if (mount ("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
    {
      if (errno != EINVAL)
        return nslab_error (err, errno, "make %s a shared mount", NETNS_RUN_DIR);
      if (mount (NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
        return nslab_error (err, errno, "bind mount %s", NETNS_RUN_DIR);
      if (mount ("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
        return nslab_error (err, errno, "make %s a shared mount", NETNS_RUN_DIR);
    }
  done = true;
  return 0;
}

/* ifconfig lo up in the namespace the thread is in. */
static int
lo_up (const char *name, nslab_error_t *err)
{
  cleanup_close int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return nslab_error (err, errno, "%s: socket", name);
  struct ifreq ifr = { 0 };
  snprintf (ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
    return nslab_error (err, errno, "%s: get flags of lo", name);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
    return nslab_error (err, errno, "%s: set lo up", name);
  return 0;
}

int
netns_create (const char *name, nslab_error_t *err)
{
  if (inside)
    return nslab_error (err, EBUSY, "%s: create network namespace: inside another one", name);
  if (netns_origin_fd (err) < 0 || prepare_run_dir (err) < 0)
    return -1;
  cleanup_free char *path = netns_path (name);
  int fd = open (path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0)
    return nslab_error (err, errno, "%s: create %s", name, path);
  close (fd);

  {
    cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
    if (unshare (CLONE_NEWNET) < 0)
      {
        nslab_error (err, errno, "%s: unshare network namespace", name);
        goto fail;
      }
    g.entered = true;
    inside = true;
    if (mount ("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
      {
        nslab_error (err, errno, "%s: bind mount namespace on %s", name, path);
        goto fail;
      }
    if (lo_up (name, err) < 0)
      {
        umount2 (path, MNT_DETACH);
        goto fail;
      }
  }
  return 0;

fail:
  unlink (path);
  return -1;
}

int
netns_delete (const char *name, nslab_error_t *err)
{
  cleanup_free char *path = netns_path (name);
  if (umount2 (path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return nslab_error (err, errno, "%s: unmount %s", name, path);
  if (unlink (path) < 0 && errno != ENOENT)
    return nslab_error (err, errno, "%s: remove %s", name, path);
  return 0;
}
