#include "runtime/enter.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/proc.h"

static const char *const ns_names[ENTER_NS_N] = { "ipc", "uts", "net", "pid", "mnt" };
static const int ns_types[ENTER_NS_N] = { CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWNS };

void
enter_fds_init (struct enter_fds *f)
{
  for (int i = 0; i < ENTER_NS_N; i++)
    f->fd[i] = -1;
}

void
enter_fds_close (struct enter_fds *f)
{
  for (int i = 0; i < ENTER_NS_N; i++)
    if (f->fd[i] >= 0)
      {
        close (f->fd[i]);
        f->fd[i] = -1;
      }
}

int
enter_open_proc (pid_t pid, uint64_t starttime, const char *what, const char *lab, struct enter_fds *f,
                 nslab_error_t *err)
{
  cleanup_close int pidfd = proc_open_verified (pid, starttime);
  if (pidfd < 0)
    return nslab_error (err, 0, "%s is not running (pid %d gone); try nslab status %s", what, (int) pid, lab);
  for (int i = 0; i < ENTER_NS_N; i++)
    {
      cleanup_free char *path = xasprintf ("/proc/%d/ns/%s", (int) pid, ns_names[i]);
      f->fd[i] = open (path, O_RDONLY | O_CLOEXEC);
      if (f->fd[i] < 0)
        {
          int e = errno;
          enter_fds_close (f);
          return nslab_error (err, e, "open %s", path);
        }
    }
  /* The pid could have been recycled between the check and the opens; the
   * pidfd still names the process we checked. */
  if (!proc_pidfd_alive (pidfd) || !proc_alive (pid, starttime))
    {
      enter_fds_close (f);
      return nslab_error (err, 0, "%s is not running (pid %d gone); try nslab status %s", what, (int) pid, lab);
    }
  return 0;
}

int
enter_open_netns (const char *path, const char *what, const char *lab, struct enter_fds *f, nslab_error_t *err)
{
  f->fd[2] = open (path, O_RDONLY | O_CLOEXEC);
  if (f->fd[2] < 0)
    return nslab_error (err, errno, "%s of lab %s is gone (%s); try nslab status %s", what, lab, path, lab);
  return 0;
}

/* Joining a PID namespace moves only our children into it; joining a mount
 * namespace gives us the target's /proc, where we are not. Before we exit
 * both go back: a sanitizer's leak check forks a tracer at exit that must
 * find us in its /proc and be in our PID namespace. */
static int own_pidns = -1, own_mntns = -1;

void
enter_leave (void)
{
  if (own_pidns >= 0 && setns (own_pidns, CLONE_NEWPID) == 0)
    {
      close (own_pidns);
      own_pidns = -1;
    }
  if (own_mntns >= 0 && setns (own_mntns, CLONE_NEWNS) == 0)
    {
      close (own_mntns);
      own_mntns = -1;
    }
}

int
enter_join (struct enter_fds *f, nslab_error_t *err)
{
  int rc = 0;
  bool mnt = f->fd[ENTER_NS_N - 1] >= 0;
  static bool saved;
  if (!saved)
    {
      saved = true;
      own_pidns = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
      own_mntns = open ("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
      atexit (enter_leave);
    }
  for (int k = 0; k < ENTER_NS_N && rc == 0; k++)
    if (f->fd[k] >= 0 && setns (f->fd[k], ns_types[k]) < 0)
      rc = nslab_error (err, errno, "setns %s%s", ns_names[k], errno == EPERM ? " (needs root)" : "");
  enter_fds_close (f);
  if (rc == 0 && mnt && chdir ("/") < 0)
    rc = nslab_error (err, errno, "chdir /");
  return rc;
}
