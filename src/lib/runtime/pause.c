/* Starting pause processes (see pause.h): fork, record, release, and
 * collect the child's report. The child's own work is in sandbox.c, the
 * pause process's main loop in src/apps/pause_main.c. */
#include "runtime/pause.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/netns.h"
#include "kernel/proc.h"
#include "runtime/sandbox.h"
#include "runtime/spawner.h"

static void
reap_quietly (pid_t pid)
{
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

/* Wait until the process behind PIDFD has exited, and collect it if it is
 * our child (reparented to us as a subreaper or PID 1); otherwise whoever
 * it was reparented to does. */
static void
collect_pause (int pidfd, pid_t pid)
{
  struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
  while (pidfd >= 0 && poll (&pfd, 1, -1) < 0 && errno == EINTR)
    ;
  while (waitpid (pid, NULL, __WALL) < 0 && errno == EINTR)
    ;
}

/* What a pause process wrote on its error pipe before it ended (or exec'd:
 * then nothing): how many bytes of *ce arrived. */
static size_t
read_sandbox_error (int errfd, struct sandbox_error *ce)
{
  size_t got = 0;
  while (got < sizeof *ce)
    {
      ssize_t r = read (errfd, (char *) ce + got, sizeof *ce - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      got += (size_t) r;
    }
  return got;
}

/* What a pause process that failed before it could send its pid reported
 * on the error pipe (all writers have exited: the go socket hit EOF). */
static int
early_failure (int errfd, int fallback, nslab_error_t *err)
{
  struct sandbox_error ce;
  size_t got = read_sandbox_error (errfd, &ce);
  if (got == sizeof ce)
    {
      ce.msg[sizeof ce.msg - 1] = '\0';
      return nslab_error (err, ce.errnum, "%s", ce.msg);
    }
  return nslab_error (err, fallback, "pause process: no pid received");
}

bool
pause_helper_path (const char *name, char out[PATH_MAX])
{
  char exe[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return false;
  exe[n] = '\0';
  char *slash = strrchr (exe, '/');
  if (slash == NULL)
    return false;
  *slash = '\0';
  static const char *const rel[] = { "", "../lib/nslab/" };
  for (size_t i = 0; i < ARRAY_SIZE (rel); i++)
    {
      char cand[PATH_MAX];
      struct stat st;
      if (snprintf (cand, sizeof cand, "%s/%s%s", exe, rel[i], name) >= (int) sizeof cand)
        continue;
      if (stat (cand, &st) == 0 && S_ISREG (st.st_mode) && (st.st_uid == 0 || st.st_uid == geteuid ())
          && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 && access (cand, X_OK) == 0)
        {
          memcpy (out, cand, PATH_MAX);
          return true;
        }
    }
  return false;
}

/* The program pause processes run: nslab-pause, a small static program
 * whose start and exit do not pay for our shared libraries; else
 * ourselves, which dispatch on argv[0] as well. */
static const char *
pause_program (void)
{
  static char found[PATH_MAX];
  static bool looked;
  if (!looked)
    {
      looked = true;
      if (!pause_helper_path ("nslab-pause", found))
        found[0] = '\0';
    }
  return found[0] ? found : "/proc/self/exe";
}

/* Ask the spawner in network namespace NODE_NETNS, which must be process
 * SPAWNER_PID (as we see it), to fork a pause process with FDS (NFDS of
 * them), TITLE and ENV (spawner.h). 0 once the request is handed over; -1
 * with *err when there is no such spawner (the caller spawns itself). */
static int
spawner_request (const char *node_netns, pid_t spawner_pid, const char *title, char *const *env,
                 const int *fds, size_t nfds, nslab_error_t *err)
{
  if (nfds < SPAWNER_FD_TEMPLATE || nfds > SPAWNER_MAX_FDS)
    return nslab_error_invalid (err, "spawner request: %zu fds", nfds);
  struct strbuf msg;
  sb_init (&msg);
  sb_addn (&msg, title, strlen (title) + 1);
  for (char *const *e = env; e && *e; e++)
    sb_addn (&msg, *e, strlen (*e) + 1);
  sb_addn (&msg, "", 1);
  size_t len = msg.len;
  cleanup_free char *buf = sb_steal (&msg);
  if (len > SPAWNER_MSG_MAX)
    return nslab_error (err, E2BIG, "spawner request: %zu bytes", len);

  /* The socket is made in the node's network namespace, where the
   * abstract name lives; it stays connected there when we leave. */
  cleanup_close int fd = -1;
  {
    cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
    if (netns_enter (&g, node_netns, err) < 0)
      return -1;
    fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return nslab_error (err, errno, "%s: spawner socket", node_netns);
    struct sockaddr_un sa;
    socklen_t sl = spawner_address (&sa);
    if (connect (fd, (struct sockaddr *) &sa, sl) < 0)
      return nslab_error (err, errno, "%s: connect to the spawner", node_netns);
  }
  /* Whoever listens there must be the node's pause process: anything else
   * root runs in the node could have taken the name. */
  struct ucred peer;
  socklen_t pl = sizeof peer;
  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &peer, &pl) < 0)
    return nslab_error (err, errno, "%s: spawner credentials", node_netns);
  if (peer.pid != spawner_pid || peer.uid != 0)
    return nslab_error (err, EPERM, "%s: the spawner is process %d, not the node's %d", node_netns, (int) peer.pid,
                        (int) spawner_pid);

  union {
    char buf[CMSG_SPACE (SPAWNER_MAX_FDS * sizeof (int))];
    struct cmsghdr align;
  } u;
  memset (&u, 0, sizeof u);
  struct iovec iov = { .iov_base = buf, .iov_len = len };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = CMSG_SPACE (nfds * sizeof (int)) };
  struct cmsghdr *cm = CMSG_FIRSTHDR (&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN (nfds * sizeof (int));
  memcpy (CMSG_DATA (cm), fds, nfds * sizeof (int));
  ssize_t w;
  do
    w = sendmsg (fd, &mh, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w != (ssize_t) len)
    return nslab_error (err, w < 0 ? errno : EIO, "%s: send to the spawner", node_netns);
  return 0;
}

/* ARGV as one title string ("nslab-pause LAB NS/POD"). */
static char *
join_title (char *const *argv)
{
  struct strbuf b;
  sb_init (&b);
  for (char *const *a = argv; *a; a++)
    {
      if (a != argv)
        sb_add (&b, " ");
      sb_add (&b, *a);
    }
  return sb_steal (&b);
}

/* A pod's pause process forked by its node's (spec->spawner_pid), with the
 * fds an exec'd one would get. False when the node cannot (no spawner, or
 * not the node's): the caller spawns it itself. */
static bool
spawn_via_node (const struct pause_spec *spec, char *const *argv, char *const *env, int go_child, int err_child)
{
  if (spec->spawner_pid <= 0 || spec->spawner_netns == NULL || spec->netns_path == NULL)
    return false;
  cleanup_close int nsfd = open (spec->netns_path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return false;
  int fds[SPAWNER_MAX_FDS] = { [SPAWNER_FD_GO] = go_child, [SPAWNER_FD_ERR] = err_child,
                               [SPAWNER_FD_NETNS] = nsfd, [SPAWNER_FD_TEMPLATE] = spec->mnt_template };
  size_t nfds = spec->mnt_template > 0 ? SPAWNER_MAX_FDS : SPAWNER_FD_TEMPLATE;
  cleanup_free char *title = join_title (argv);
  nslab_error_t e = NULL;
  int rc = spawner_request (spec->spawner_netns, spec->spawner_pid, title, env, fds, nfds, &e);
  nslab_error_free (&e);
  return rc == 0;
}

int
pause_spawn_begin (const struct pause_spec *spec, struct pause_start *out, nslab_error_t *err)
{
  int go[2], ep[2];

  out->pid = -1;
  out->errfd = -1;
  out->pid_ns = -1;
  out->spawned = -1;
  out->gofd = -1;
  out->payload = NULL;
  out->payload_len = 0;
  if (spec == NULL)
    return nslab_error_invalid (err, "pause_spawn: no spec");
  if (spec->app && spec->app->kind == PAUSE_APP_COMMAND
      && (spec->app->argv == NULL || spec->app->argv[0] == NULL))
    return nslab_error_invalid (err, "pause_spawn: app command is empty");
  /* A socket, not a pipe, for the go byte: send(MSG_NOSIGNAL) cannot kill
   * us with SIGPIPE if the child is already gone. */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) < 0)
    return nslab_error (err, errno, "socketpair");
  int one = 1;
  if (setsockopt (go[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
    {
      int e = errno;
      close (go[0]);
      close (go[1]);
      return nslab_error (err, e, "setsockopt SO_PASSCRED");
    }
  if (pipe2 (ep, O_CLOEXEC) < 0)
    {
      int e = errno;
      close (go[0]);
      close (go[1]);
      return nslab_error (err, e, "pipe2");
    }
  size_t payload_len = 0;
  char **argv = sandbox_title_argv (spec->title);
  char **env = sandbox_build_env (spec);
  pid_t pid = -1;
  int spawn_err = 0;
  /* A pod whose node has a spawner is forked by it: no exec, and no wait
   * here for one. */
  bool by_node = spawn_via_node (spec, argv, env, go[0], ep[1]);
  char *payload = sandbox_encode (spec, by_node, &payload_len);
  /* Otherwise posix_spawn: vfork semantics, so the (possibly large)
   * address space of nslab is never copied; the new process is nslab-pause
   * from its first instruction and waits for the go byte before doing
   * anything. The fds it gets are moved out of the way of 3-5 first, so no
   * dup2 clobbers another's source. */
  int src_go = by_node ? -2 : fcntl (go[0], F_DUPFD_CLOEXEC, 10);
  int src_err = by_node ? -2 : fcntl (ep[1], F_DUPFD_CLOEXEC, 10);
  int src_tmpl = !by_node && spec->mnt_template > 0 ? fcntl (spec->mnt_template, F_DUPFD_CLOEXEC, 10) : -2;
  /* A pod's pause process is spawned in its node's PID namespace (our
   * namespace for new children, for this one spawn: setns changes no
   * namespace of ours), where it makes its own with one fork; spawned in
   * ours it would have to join the node's and fork into it first, one
   * process more per pod. */
  cleanup_close int own_pidns = -1;
  if (by_node)
    ;
  else if (src_go == -1 || src_err == -1 || src_tmpl == -1)
    spawn_err = errno;
  else if (spec->pid_ns > 0
           && ((own_pidns = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0
               || setns (spec->pid_ns, CLONE_NEWPID) < 0))
    spawn_err = errno;
  else
    {
      posix_spawn_file_actions_t fa;
      posix_spawnattr_t at;
      posix_spawn_file_actions_init (&fa);
      posix_spawnattr_init (&at);
      posix_spawn_file_actions_adddup2 (&fa, src_go, SANDBOX_GO_FD);
      if (src_tmpl >= 0)
        posix_spawn_file_actions_adddup2 (&fa, src_tmpl, SANDBOX_TEMPLATE_FD);
      posix_spawn_file_actions_adddup2 (&fa, src_err, SANDBOX_ERR_FD);
      sigset_t mask;
      sandbox_start_mask (&mask);
      posix_spawnattr_setsigmask (&at, &mask);
      posix_spawnattr_setflags (&at, POSIX_SPAWN_SETSIGMASK);
      fflush (NULL);
      spawn_err = posix_spawn (&pid, pause_program (), &fa, &at, argv, env);
      posix_spawn_file_actions_destroy (&fa);
      posix_spawnattr_destroy (&at);
    }
  /* Back to our own active namespace for every later child (iptables-restore,
   * the daemons, a rollback's): entering it cannot be refused, having entered
   * the node's, a descendant of it, with the same privileges. */
  int restore_err = own_pidns >= 0 && setns (own_pidns, CLONE_NEWPID) < 0 ? errno : 0;
  for (char **a = argv; *a; a++)
    free (*a);
  free (argv);
  for (char **a = env; *a; a++)
    free (*a);
  free (env);
  if (src_go >= 0)
    close (src_go);
  if (src_err >= 0)
    close (src_err);
  if (src_tmpl >= 0)
    close (src_tmpl);
  if (spawn_err != 0 || restore_err != 0)
    {
      close (go[0]);
      close (go[1]);
      close (ep[0]);
      close (ep[1]);
      free (payload);
      if (restore_err == 0)
        return nslab_error (err, spawn_err, "spawn the pause process");
      /* Spawned, but not to be released: its pause process exits as the
       * go socket closes, the spawned one after its fork. */
      if (spawn_err == 0 && pid > 0)
        reap_quietly (pid);
      return nslab_error (err, restore_err, "return to our own PID namespace for new processes");
    }
  close (go[0]);
  close (ep[1]);
  out->spawned = pid;
  out->gofd = go[1];
  out->errfd = ep[0];
  out->payload = payload;
  out->payload_len = payload_len;
  return 0;
}

void
pause_spawn_abandon (struct pause_start *ps)
{
  /* The pause process may already wait for its go byte: its pid first, so
   * that it can be collected once the closed socket has made it exit. */
  pid_t pid = ps->gofd >= 0 ? proc_receive_pid (ps->gofd) : 0;
  int pidfd = pid > 0 ? (int) syscall (SYS_pidfd_open, pid, 0) : -1;
  if (ps->gofd >= 0)
    close (ps->gofd);
  if (ps->spawned > 0)
    reap_quietly (ps->spawned);
  if (pidfd >= 0)
    {
      collect_pause (pidfd, pid);
      close (pidfd);
    }
  if (ps->errfd >= 0)
    close (ps->errfd);
  if (ps->pid_ns >= 0)
    close (ps->pid_ns);
  free (ps->payload);
  ps->gofd = ps->errfd = ps->pid_ns = -1;
  ps->spawned = -1;
  ps->payload = NULL;
}

int
pause_spawn_release (struct pause_start *ps, pause_record_fn record, void *arg, nslab_error_t *err)
{
  uint64_t starttime = 0;
  cleanup_close int gofd = ps->gofd;
  cleanup_close int errfd = ps->errfd;
  cleanup_free char *payload = ps->payload;
  size_t payload_len = ps->payload_len;
  ps->gofd = ps->errfd = -1;
  ps->payload = NULL;

  /* The spawned process makes the PID namespace (nested in spec->pid_ns)
   * and forks the pause process into it as PID 1, then exits; the pause
   * process sends its pid and waits for the go byte. */
  pid_t spawned = ps->spawned;
  ps->spawned = -1;
  pid_t pid = proc_receive_pid (gofd);
  int recv_errno = errno;
  /* None when the node's spawner forked it: the node reaps its own. */
  if (spawned > 0)
    reap_quietly (spawned);
  if (pid <= 0)
    return early_failure (errfd, recv_errno, err);
  cleanup_close int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    {
      int e = errno;
      return nslab_error (err, e, "pidfd_open %d", (int) pid);
    }
  char nspath[64];
  snprintf (nspath, sizeof nspath, "/proc/%d/ns/pid", (int) pid);
  cleanup_close int pidns = open (nspath, O_RDONLY | O_CLOEXEC);
  if (pidns < 0)
    {
      int e = errno;
      close (gofd);
      gofd = -1;
      collect_pause (pidfd, pid);
      return nslab_error (err, e, "open %s", nspath);
    }

  if (proc_starttime (pid, &starttime, err) < 0 || record (pid, starttime, arg, err) < 0)
    {
      /* Closing the socket without the go byte makes the child exit. */
      close (gofd);
      gofd = -1;
      collect_pause (pidfd, pid);
      return -1;
    }
  bool sent = send (gofd, "g", 1, MSG_NOSIGNAL) == 1;
  for (size_t off = 0; sent && off < payload_len;)
    {
      ssize_t w = send (gofd, payload + off, payload_len - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      sent = w > 0;
      off += sent ? (size_t) w : 0;
    }
  if (! sent)
    {
      int e = errno;
      close (gofd);
      gofd = -1;
      collect_pause (pidfd, pid);
      return nslab_error (err, e, "start pause process %d", (int) pid);
    }
  ps->pid = pid;
  ps->starttime = starttime;
  ps->errfd = errfd;
  ps->pid_ns = pidns;
  errfd = -1;
  pidns = -1;
  return 0;
}

int
pause_spawn_start (const struct pause_spec *spec, pause_record_fn record, void *arg,
                   struct pause_start *out, nslab_error_t *err)
{
  if (record == NULL)
    return nslab_error_invalid (err, "pause_spawn: no record callback");
  if (pause_spawn_begin (spec, out, err) < 0)
    return -1;
  return pause_spawn_release (out, record, arg, err);
}

int
pause_spawn_finish (struct pause_start *ps, nslab_error_t *err)
{
  cleanup_close int errfd = ps->errfd;
  /* Only closed on return (clang: otherwise unused). */
  cleanup_close int pidns __attribute__ ((unused)) = ps->pid_ns;
  pid_t pid = ps->pid;
  uint64_t starttime = ps->starttime;
  ps->errfd = -1;
  ps->pid_ns = -1;

  /* The error pipe reaches EOF when the pause process has started its app
   * (and a command app exec'd: O_CLOEXEC), or carries what went wrong. */
  struct sandbox_error ce;
  size_t got = read_sandbox_error (errfd, &ce);
  if (got > 0)
    {
      if (got < sizeof ce)
        {
          ce.errnum = 0;
          snprintf (ce.msg, sizeof ce.msg, "truncated error report");
        }
      ce.msg[sizeof ce.msg - 1] = '\0';
      /* The pause process may be running (its app failed): take it down,
       * with its group, then collect it. */
      nslab_error_t kerr = NULL;
      proc_kill (pid, starttime, &kerr);
      nslab_error_free (&kerr);
      /* Ours to collect only if it was reparented to us. */
      while (waitpid (pid, NULL, WNOHANG) < 0 && errno == EINTR)
        ;
      /* The caller names the step (start pod default/x); say only what went wrong. */
      return nslab_error (err, ce.errnum, "%s", ce.msg);
    }
  return 0;
}

int
pause_spawn (const struct pause_spec *spec, pause_record_fn record, void *arg, pid_t *pid_out, nslab_error_t *err)
{
  struct pause_start ps;
  if (pause_spawn_start (spec, record, arg, &ps, err) < 0)
    return -1;
  pid_t pid = ps.pid;
  if (pause_spawn_finish (&ps, err) < 0)
    return -1;
  if (pid_out)
    *pid_out = pid;
  return 0;
}

int
pause_open_ns (pid_t pid, uint64_t starttime, const char *ns, int *fd_out, nslab_error_t *err)
{
  cleanup_close int pidfd = proc_open_verified (pid, starttime);
  if (pidfd < 0)
    return nslab_error (err, ESRCH, "pause process %d is gone", (int) pid);
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/ns/%s", (int) pid, ns);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return nslab_error (err, errno, "open %s", path);
  /* The pid could have been recycled between the check and the open. */
  if (!proc_pidfd_alive (pidfd) || !proc_alive (pid, starttime))
    {
      close (fd);
      return nslab_error (err, ESRCH, "pause process %d is gone", (int) pid);
    }
  *fd_out = fd;
  return 0;
}

int
pause_open_pid_ns (pid_t pid, uint64_t starttime, int *fd_out, nslab_error_t *err)
{
  return pause_open_ns (pid, starttime, "pid", fd_out, err);
}

int
pause_mnt_template (int *fd_out, bool *sys_rdonly, nslab_error_t *err)
{
  int ready[2], hold[2];
  if (pipe2_two (ready, hold, O_CLOEXEC) < 0)
    return nslab_error (err, errno, "pipe2");
  fflush (NULL);
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (ready[0]);
      close (ready[1]);
      close (hold[0]);
      close (hold[1]);
      return nslab_error (err, e, "fork");
    }
  if (pid == 0)
    {
      /* Report 0 or an errno and whether /sys is read-only, then stay
       * until the parent has opened our mount namespace (it closes the
       * hold pipe, or dies). */
      close (ready[0]);
      close (hold[1]);
      int e[2] = { 0, sandbox_sys_rdonly () };
      if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0
          || sandbox_detach_netns_mounts () < 0 || sandbox_hide_netns_dir () < 0 || sandbox_make_sa_mountpoint () < 0
          || sandbox_unmount_proc_sys () < 0)
        e[0] = errno;
      ssize_t w = write (ready[1], e, sizeof e);
      (void) w;
      char c;
      ssize_t r = read (hold[0], &c, 1);
      (void) r;
      _exit (0);
    }
  close (ready[1]);
  close (hold[0]);
  int e[2] = { 0, 0 };
  ssize_t r;
  do
    r = read (ready[0], e, sizeof e);
  while (r < 0 && errno == EINTR);
  int rc = 0;
  if (r != (ssize_t) sizeof e)
    rc = nslab_error (err, 0, "template mount namespace: helper %d died", (int) pid);
  else if (e[0] != 0)
    rc = nslab_error (err, e[0], "template mount namespace");
  else
    {
      *sys_rdonly = e[1] != 0;
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/mnt", (int) pid);
      *fd_out = open (path, O_RDONLY | O_CLOEXEC);
      if (*fd_out < 0)
        rc = nslab_error (err, errno, "open %s", path);
    }
  close (ready[0]);
  close (hold[1]);
  reap_quietly (pid);
  return rc;
}
