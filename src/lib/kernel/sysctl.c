/* sysctl in a namespace (see sysctl.h). */
#include "kernel/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/netns.h"
#include "base/util.h"

char *
sysctl_path (const char *key)
{
  char *p = xasprintf ("/proc/sys/%s", key);
  if (strchr (key, '/') == NULL)
    for (char *c = p + strlen ("/proc/sys/"); *c; c++)
      if (*c == '.')
        *c = '/';
  return p;
}

static int
open_in (const char *ns, const char *path, int flags, nslab_error_t *err)
{
  cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
  if (ns && netns_enter (&g, ns, err) < 0)
    return -1;
  int fd = open (path, flags | O_CLOEXEC);
  if (fd < 0)
    return nslab_error (err, errno, "%s: open %s", ns ? ns : "-", path);
  return fd;
}

int
sysctl_write (const char *ns, const char *key, const char *value, nslab_error_t *err)
{
  cleanup_free char *path = sysctl_path (key);
  cleanup_close int fd = open_in (ns, path, O_WRONLY, err);
  if (fd < 0)
    {
      /* net.bridge.* exists only once br_netfilter is loaded. */
      if (err && *err && (*err)->status == ENOENT
          && (str_has_prefix (key, "net.bridge.") || str_has_prefix (key, "net/bridge/")))
        nslab_error_hint (err, "is br_netfilter loaded? modprobe br_netfilter (on the host, when in a container)");
      /* Docker and podman mount /proc/sys read-only unless told not to. */
      if (err && *err && (*err)->status == EROFS)
        nslab_error_hint (err, "/proc/sys is read-only: run the container with --security-opt "
                               "systempaths=unconfined (or --privileged); see docs/containers.md");
      return nslab_error_wrap (err, "sysctl %s=%s", key, value);
    }
  size_t len = strlen (value);
  ssize_t n = write (fd, value, len);
  if (n < 0 || (size_t) n != len)
    return nslab_error (err, n < 0 ? errno : EIO, "%s: sysctl %s=%s", ns ? ns : "-", key, value);
  return 0;
}

int
sysctl_read (const char *ns, const char *key, char **out, nslab_error_t *err)
{
  cleanup_free char *path = sysctl_path (key);
  cleanup_close int fd = open_in (ns, path, O_RDONLY, err);
  if (fd < 0)
    return -1;
  char buf[4096];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n < 0)
    return nslab_error (err, errno, "%s: read %s", ns ? ns : "-", path);
  buf[n] = '\0';
  str_trim (buf);
  *out = xstrdup (buf);
  return 0;
}
