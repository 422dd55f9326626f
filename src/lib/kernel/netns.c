/* Named network namespaces (see netns.h). The namespace is created by
 * unshare(CLONE_NEWNET) in the calling thread and bind-mounted while the
 * thread is still inside, then the thread returns with setns(): no fork, so
 * creating hundreds of namespaces stays cheap. lo is brought up with an
 * ioctl while inside, so this file needs no netlink and rtnl.c can build on
 * it without a cycle. */
#include "kernel/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/proc.h"

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

/* Namespaces opened ahead (netns_pin): set before any thread starts, only
 * read afterwards. */
static struct pinned {
  char *name;
  int fd;
} *pinned;
static size_t n_pinned;

int
netns_pin (const char *name, nslab_error_t *err)
{
  for (size_t i = 0; i < n_pinned; i++)
    if (strcmp (pinned[i].name, name) == 0)
      return 0;
  cleanup_free char *p = netns_path (name);
  int fd = open (p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return nslab_error (err, errno, "%s: open %s", name, p);
  struct pinned *e = VEC_PUSH (pinned, n_pinned);
  e->name = xstrdup (name);
  e->fd = fd;
  return 0;
}

void
netns_unpin_all (void)
{
  for (size_t i = 0; i < n_pinned; i++)
    {
      free (pinned[i].name);
      close (pinned[i].fd);
    }
  free (pinned);
  pinned = NULL;
  n_pinned = 0;
}

int
netns_open (const char *name, nslab_error_t *err)
{
  for (size_t i = 0; i < n_pinned; i++)
    if (strcmp (pinned[i].name, name) == 0)
      {
        int fd = fcntl (pinned[i].fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
          return nslab_error (err, errno, "%s: dup", name);
        return fd;
      }
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
  return netns_create_recorded (name, NULL, NULL, err);
}

int
netns_create_recorded (const char *name, netns_record_fn record, void *arg, nslab_error_t *err)
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
    /* The identity goes to the caller's record before the namespace gets
     * its name: a bind mount on /run/netns/NAME then always carries an
     * identity that was recorded first (see netns_delete_owned). */
    struct stat ns;
    if (record && (stat ("/proc/thread-self/ns/net", &ns) < 0
                   ? nslab_error (err, errno, "%s: stat new network namespace", name)
                   : record (name, (uint64_t) ns.st_dev, (uint64_t) ns.st_ino, arg, err)) < 0)
      goto fail;
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

/* Only what the record proves to be ours goes. The journal holds "netns
 * NAME" before the placeholder file exists and "netns-ino NAME DEV INO"
 * (recorded by netns_create_recorded) before the namespace is mounted on
 * it, so after a kill at any point /run/netns/NAME is one of:
 * - absent: nothing to do;
 * - an nsfs mount: ours only if its st_dev/st_ino are the recorded ones.
 *   A mount without a recorded identity cannot be ours (we record before
 *   mounting), so it is refused: e.g. another tool's namespace that took
 *   the name after our up died before creating it;
 * - an empty regular file on /run/netns itself: the placeholder, from a
 *   kill between creating it and mounting. It holds no namespace and no
 *   data; the name carries our lab's prefix and our intent was recorded
 *   under the lab lock before it was made, so removing it is what the
 *   record asks for (at worst it is `ip netns add` of a name our journal
 *   claims, caught before its mount, and that fails cleanly).
 * Anything else (a directory, a symlink, a file with content) is refused. */
int
netns_delete_owned (const char *name, bool have_ident, uint64_t dev, uint64_t ino, nslab_error_t *err)
{
  if (name == NULL || *name == '\0' || strchr (name, '/') || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return nslab_error (err, 0, "netns '%s': not a namespace name: left as it is", name ? name : "");
  cleanup_free char *path = netns_path (name);
  struct stat st, dir;
  if (lstat (path, &st) < 0)
    return errno == ENOENT ? 0 : nslab_error (err, errno, "%s: stat %s", name, path);
  if (stat (NETNS_RUN_DIR, &dir) < 0)
    return nslab_error (err, errno, "stat %s", NETNS_RUN_DIR);
  if (! S_ISREG (st.st_mode))
    return nslab_error (err, 0, "%s: %s is not a namespace: left as it is", name, path);
  if (st.st_dev != dir.st_dev)
    {
      if (! have_ident || (uint64_t) st.st_dev != dev || (uint64_t) st.st_ino != ino)
        return nslab_error (err, 0, "%s: %s is not the namespace this lab created: left as it is", name, path);
      if (umount2 (path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
        return nslab_error (err, errno, "%s: unmount %s", name, path);
      if (lstat (path, &st) < 0)
        return errno == ENOENT ? 0 : nslab_error (err, errno, "%s: stat %s", name, path);
      if (! S_ISREG (st.st_mode) || st.st_dev != dir.st_dev)
        return nslab_error (err, 0, "%s: %s is still mounted over: left as it is", name, path);
    }
  if (st.st_size != 0)
    return nslab_error (err, 0, "%s: %s is not an empty namespace placeholder: left as it is", name, path);
  if (unlink (path) < 0 && errno != ENOENT)
    return nslab_error (err, errno, "%s: remove %s", name, path);
  return 0;
}

/* What netns_spawn's child reads, and where it says what failed: its
 * parent waits (CLONE_VFORK), so both may live on the parent's stack. */
struct spawn_args {
  const char *prog;
  char *const *argv, *const *envp;
  int nsfd;
  int fds[3];
  sigset_t mask;
  int err;
};

/* The child: system calls only, in its parent's memory (nothing it writes
 * but args->err may matter to the parent). */
static PROC_VFORK_CHILD int
spawn_child (void *arg)
{
  struct spawn_args *a = arg;
  if (a->nsfd >= 0 && setns (a->nsfd, CLONE_NEWNET) < 0)
    goto fail;
  /* Sources moved above 2 first, so no dup2 below replaces another's
   * source; close_range then closes them and everything else. */
  int src[3];
  for (int i = 0; i < 3; i++)
    {
      src[i] = a->fds[i] >= 0 ? fcntl (a->fds[i], F_DUPFD, 10) : open ("/dev/null", O_RDWR);
      if (src[i] < 0)
        goto fail;
    }
  for (int i = 0; i < 3; i++)
    if (dup2 (src[i], i) < 0)
      goto fail;
  if (close_range (3, ~0U, 0) < 0)
    goto fail;
  /* SIGPIPE too: a caller that ignores it must not pass that on. */
  signal (SIGPIPE, SIG_DFL);
  proc_vfork_exec_signals (&a->mask);
  execve (a->prog, a->argv, a->envp);
fail:
  a->err = errno ? errno : EIO;
  _exit (127);
}

pid_t
netns_spawn (const char *prog, char *const argv[], char *const envp[], int nsfd, const int fds[3])
{
  struct spawn_args a = { .prog = prog, .argv = argv, .envp = envp, .nsfd = nsfd, .fds = { fds[0], fds[1], fds[2] } };
  /* The program gets this thread's mask, restored right before its execve. */
  pthread_sigmask (SIG_SETMASK, NULL, &a.mask);
  pid_t pid = proc_vfork_call (spawn_child, &a);
  if (pid < 0)
    return -1;
  if (a.err != 0)
    {
      /* It has exited (the parent resumes at its execve or exit). */
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      errno = a.err;
      return -1;
    }
  return pid;
}

int
netns_exec_stdin_start (const char *ns, const char *prog, char *const argv[], const char *payload,
                        struct child_job *job, nslab_error_t *err)
{
  child_job_init (job);
  const char *where = ns ? ns : "this namespace";
  cleanup_close int nsfd = -1;
  if (ns && (nsfd = netns_open (ns, err)) < 0)
    return -1;
  int in[2], ep[2];
  if (pipe2_two (in, ep, O_CLOEXEC) < 0)
    return nslab_error (err, errno, "pipe");
  size_t len = strlen (payload);
  /* Let the whole payload sit in the pipe when it fits, so writing never
   * waits for the child. */
  if (len > 65536)
    (void) fcntl (in[1], F_SETPIPE_SZ, (int) (len < (1 << 20) ? len : (1 << 20)));

  char *envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };
  pid_t pid = netns_spawn (prog, argv, envp, nsfd, (const int[3]) { in[0], -1, ep[1] });
  int e = errno;
  close (in[0]);
  close (ep[1]);
  if (pid < 0)
    {
      close (in[1]);
      close (ep[0]);
      return nslab_error (err, e, "%s: start %s (%s)", where, argv[0], prog);
    }
  job->pid = pid;
  job->err_fd = ep[0];
  job->ns = xstrdup (where);

  struct sigaction ign = { .sa_handler = SIG_IGN }, old;
  sigaction (SIGPIPE, &ign, &old);
  /* A failure (EPIPE) means the child gave up; its stderr says why. */
  (void) fd_write_all (in[1], payload, len);
  sigaction (SIGPIPE, &old, NULL);
  close (in[1]);
  return 0;
}

int
netns_exec_finish (struct child_job *job, const char *name, nslab_error_t *err)
{
  cleanup_free char *msg = NULL, *ns = NULL;
  int status;
  if (!child_job_reap (job, &status, &msg, &ns) || (WIFEXITED (status) && WEXITSTATUS (status) == 0))
    return 0;
  str_trim (msg);
  /* The first line names the failing input line; the rest repeats it. */
  char *nl = strchr (msg, '\n');
  if (nl)
    *nl = '\0';
  if (WIFSIGNALED (status))
    return nslab_error (err, 0, "%s: %s killed by signal %d", ns, name, WTERMSIG (status));
  /* A program that names itself first ("iptables-restore v1.8.9
   * (nf_tables): line 42 failed"): the message already does. */
  const char *text = msg;
  const char *colon = strstr (msg, ": ");
  const char *last = strrchr (name, '-');
  if (colon && colon - msg < 64 && last && strncmp (msg, name, (size_t) (last - name)) == 0
      && memmem (msg, (size_t) (colon - msg), last + 1, strlen (last + 1)))
    text = colon + 2;
  return nslab_error (err, 0, "%s: %s: %s", ns, name, *text ? text : "failed");
}
