/* A node's /run/netns entries for its pods (see node_netns.h). The work is
 * done by a child (proc_vfork_call: no copy of a large caller's page
 * tables): setns(CLONE_NEWNS) needs a task that shares its filesystem
 * context with nobody, and the caller's own mount namespace must stay as
 * it is. The child takes detached copies of the sources' mounts first
 * (open_tree, in our namespace, where the sources are), then enters the
 * node's and moves them into place: the new mount API is what lets a mount
 * cross into another mount namespace. */
#include "runtime/node_netns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/proc.h"
#include "runtime/sandbox.h"

#define NODE_NETNS_DIR SANDBOX_NETNS_DIR

/* What the child reports on failure: which entry, which step, errno. */
struct child_report {
  int errnum;
  int index;
  int step;
};

enum { STEP_OPEN_TREE, STEP_SETNS, STEP_DIR, STEP_CREATE, STEP_MOVE, STEP_PRIVATE, STEP_UMOUNT, STEP_UNLINK };
static const char *const step_names[] = {
  [STEP_OPEN_TREE] = "open_tree", [STEP_SETNS] = "setns into the node's mount namespace",
  [STEP_DIR] = ("open " NODE_NETNS_DIR), [STEP_CREATE] = "create the mount point",
  [STEP_MOVE] = "move_mount", [STEP_PRIVATE] = "make private", [STEP_UMOUNT] = "umount", [STEP_UNLINK] = "unlink",
};

static PROC_VFORK_CHILD void __attribute__ ((noreturn))
child_fail (int fd, int step, int index)
{
  struct child_report r = { .errnum = errno, .index = index, .step = step };
  ssize_t w = write (fd, &r, sizeof r);
  (void) w;
  _exit (1);
}

struct child_args {
  int report, pidfd;
  char *const *sources, *const *names;
  size_t n;
  int *trees;
};

/* Run in the child, in its parent's memory: only system calls. */
static PROC_VFORK_CHILD int
child_run (void *arg)
{
  const struct child_args *a = arg;
  int report = a->report, pidfd = a->pidfd, *trees = a->trees;
  char *const *sources = a->sources, *const *names = a->names;
  size_t n = a->n;
  for (size_t i = 0; sources && i < n; i++)
    {
      trees[i] = open_tree (AT_FDCWD, sources[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
      if (trees[i] < 0)
        child_fail (report, STEP_OPEN_TREE, (int) i);
    }
  if (setns (pidfd, CLONE_NEWNS) < 0)
    child_fail (report, STEP_SETNS, -1);
  int dir = open (NODE_NETNS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    child_fail (report, STEP_DIR, -1);
  for (size_t i = 0; i < n; i++)
    {
      if (sources)
        {
          /* Mode 0 and O_EXCL, as iproute2's netns add makes its mount points. */
          int f = openat (dir, names[i], O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
          if (f < 0)
            child_fail (report, STEP_CREATE, (int) i);
          close (f);
          if (move_mount (trees[i], "", dir, names[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
            {
              int e = errno;
              unlinkat (dir, names[i], 0);
              errno = e;
              child_fail (report, STEP_MOVE, (int) i);
            }
          close (trees[i]);
          /* The clone of the host's shared mount is its peer: private, so
           * that nothing mounted on either side reaches the other. */
          if (fchdir (dir) < 0 || mount (NULL, names[i], NULL, MS_PRIVATE, NULL) < 0)
            child_fail (report, STEP_PRIVATE, (int) i);
        }
      else
        {
          if (fchdir (dir) < 0)
            child_fail (report, STEP_DIR, -1);
          if (umount2 (names[i], MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
            child_fail (report, STEP_UMOUNT, (int) i);
          if (unlinkat (dir, names[i], 0) < 0 && errno != ENOENT)
            child_fail (report, STEP_UNLINK, (int) i);
        }
    }
  _exit (0);
}

static int
in_node (pid_t node_pid, uint64_t node_start, char *const *sources, char *const *names, size_t n,
         nslab_error_t *err)
{
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (names[i] == NULL || names[i][0] == '\0' || strchr (names[i], '/') || strcmp (names[i], ".") == 0
        || strcmp (names[i], "..") == 0)
      return nslab_error_invalid (err, "node netns name '%s' is not a plain name", names[i] ? names[i] : "");
  /* A pidfd: the setns is into that very process's namespace, however
   * late the child runs. */
  cleanup_close int pidfd = proc_open_verified (node_pid, node_start);
  if (pidfd < 0)
    {
      if (sources == NULL)
        return 0;
      return nslab_error (err, ESRCH, "node pause process %d is gone", (int) node_pid);
    }
  cleanup_free int *trees = xcalloc (n, sizeof *trees);
  int pfd[2];
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return nslab_error (err, errno, "pipe2");
  struct child_args args = { .report = pfd[1], .pidfd = pidfd, .sources = sources, .names = names, .n = n,
                            .trees = trees };
  pid_t pid = proc_vfork_call (child_run, &args);
  if (pid < 0)
    {
      int e = errno;
      close (pfd[0]);
      close (pfd[1]);
      return nslab_error (err, e, "clone");
    }
  close (pfd[1]);
  struct child_report r;
  ssize_t got;
  do
    got = read (pfd[0], &r, sizeof r);
  while (got < 0 && errno == EINTR);
  close (pfd[0]);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (got == (ssize_t) sizeof r)
    {
      const char *what = r.step >= 0 && (size_t) r.step < ARRAY_SIZE (step_names) ? step_names[r.step] : "?";
      if (r.index >= 0 && (size_t) r.index < n)
        return nslab_error (err, r.errnum, "node pause process %d: %s " NODE_NETNS_DIR "/%s", (int) node_pid, what,
                            names[r.index]);
      return nslab_error (err, r.errnum, "node pause process %d: %s", (int) node_pid, what);
    }
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return nslab_error (err, 0, "node pause process %d: " NODE_NETNS_DIR " helper died", (int) node_pid);
  return 0;
}

int
node_netns_add (pid_t node_pid, uint64_t node_start, char *const *sources, char *const *names, size_t n,
                nslab_error_t *err)
{
  if (n > 0 && sources == NULL)
    return nslab_error_invalid (err, "node_netns_add: no sources");
  return in_node (node_pid, node_start, sources, names, n, err);
}

int
node_netns_remove (pid_t node_pid, uint64_t node_start, char *const *names, size_t n, nslab_error_t *err)
{
  return in_node (node_pid, node_start, NULL, names, n, err);
}
