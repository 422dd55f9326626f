#include "runtime/pause.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include "apps/echo.h"
#include "base/util.h"

/* How long pause_kill waits for a SIGKILLed process to be gone, and how long
 * a pause process gives its app after SIGTERM. */
#define KILL_WAIT_MS 10000
#define TERM_GRACE_MS 2000
#define PAUSE_APP_PID_ENV "NSLAB_APP_PID"

/* The environment every pod's app starts from, as a container runtime sets
 * it; the pod's own variables (POD_NAME ...) come first and win. */
static const char *const base_env[] = {
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "HOME=/root",
};

extern char **environ;

/* Fields of /proc/PID/stat we need. Returns 0 or -errno. */
static int
read_stat (pid_t pid, char *state, pid_t *pgrp, uint64_t *starttime)
{
  char path[64], buf[4096];
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n < 0)
    return -errno;
  buf[n] = '\0';
  /* comm (field 2) may contain spaces and parentheses: fields resume after
   * the last ')'. */
  char *p = strrchr (buf, ')');
  if (p == NULL)
    return -EINVAL;
  p++;
  char *save = NULL;
  int field = 2;
  for (char *tok = strtok_r (p, " ", &save); tok; tok = strtok_r (NULL, " ", &save))
    {
      field++;
      if (field == 3 && state)
        *state = tok[0];
      else if (field == 5 && pgrp)
        *pgrp = (pid_t) strtol (tok, NULL, 10);
      else if (field == 22)
        {
          char *end;
          errno = 0;
          unsigned long long v = strtoull (tok, &end, 10);
          if (errno || end == tok)
            return -EINVAL;
          if (starttime)
            *starttime = v;
          return 0;
        }
    }
  return -EINVAL;
}

int
proc_starttime (pid_t pid, uint64_t *out, nslab_error_t *err)
{
  int r = read_stat (pid, NULL, NULL, out);
  if (r < 0)
    return nslab_error (err, -r, "read /proc/%d/stat", (int) pid);
  return 0;
}

bool
pause_alive (pid_t pid, uint64_t starttime)
{
  char state = '?';
  uint64_t st = 0;
  if (pid <= 0 || read_stat (pid, &state, NULL, &st) < 0)
    return false;
  /* A zombie has exited; only its parent has not collected it yet. */
  return st == starttime && state != 'Z' && state != 'X';
}

static int
sys_pidfd_open (pid_t pid)
{
  return (int) syscall (SYS_pidfd_open, pid, 0);
}

static int
sys_pidfd_send_signal (int pidfd, int sig)
{
  return (int) syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int
pause_kill_start (pid_t pid, uint64_t starttime, nslab_error_t *err)
{
  char state = '?';
  pid_t pgrp = 0;
  uint64_t st = 0;

  if (pid <= 0)
    return nslab_error_invalid (err, "pause_kill: invalid pid %d", (int) pid);
  /* Open the pidfd first, then check the start time: if it matches, the
   * pidfd names our process and no recycled pid can be hit afterwards. */
  int pidfd = sys_pidfd_open (pid);
  if (pidfd < 0)
    {
      if (errno == ESRCH)
        return -1;
      return nslab_error (err, errno, "pidfd_open %d", (int) pid);
    }
  int r = read_stat (pid, &state, &pgrp, &st);
  if (r == -ENOENT || r == -ESRCH || (r == 0 && st != starttime))
    {
      /* gone, or the pid now belongs to someone else: ours is long gone */
      close (pidfd);
      return -1;
    }
  if (r < 0)
    {
      close (pidfd);
      return nslab_error (err, -r, "read /proc/%d/stat", (int) pid);
    }

  /* A pause process leads its own session and process group, which holds
   * its app and whatever the app started: kill them all, so nothing of the
   * pod outlives it. The group id stays reserved while the verified leader
   * (even as a zombie) exists, so this cannot hit an unrelated group. */
  if (pgrp == pid && kill (-pid, SIGKILL) < 0 && errno != ESRCH)
    {
      close (pidfd);
      return nslab_error (err, errno, "kill process group %d", (int) pid);
    }
  if (state != 'Z' && state != 'X' && sys_pidfd_send_signal (pidfd, SIGKILL) < 0 && errno != ESRCH)
    {
      close (pidfd);
      return nslab_error (err, errno, "kill %d", (int) pid);
    }
  return pidfd;
}

int
pause_kill_wait (int pidfd, pid_t pid, nslab_error_t *err)
{
  /* Not our child (usually): waitpid cannot be used, but the pidfd turns
   * readable once the process has exited. */
  cleanup_close int fd = pidfd;
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  for (;;)
    {
      int n = poll (&pfd, 1, KILL_WAIT_MS);
      if (n > 0)
        return 0;
      if (n == 0)
        return nslab_error (err, ETIMEDOUT, "process %d did not exit after SIGKILL", (int) pid);
      if (errno != EINTR)
        return nslab_error (err, errno, "poll pidfd of %d", (int) pid);
    }
}

int
pause_kill (pid_t pid, uint64_t starttime, nslab_error_t *err)
{
  nslab_error_t e = NULL;
  int fd = pause_kill_start (pid, starttime, &e);
  if (fd < 0)
    {
      if (e == NULL)
        return 0;
      *err = e;
      return -1;
    }
  return pause_kill_wait (fd, pid, err);
}

/* ---- spawning -------------------------------------------------------- */

/* What a failing child tells pause_spawn through the error pipe. */
struct child_error {
  int errnum;
  char msg[500];
};

static void __attribute__ ((noreturn, format (printf, 3, 4)))
child_fail (int errfd, int errnum, const char *fmt, ...)
{
  struct child_error ce = { .errnum = errnum };
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (ce.msg, sizeof ce.msg, fmt, ap);
  va_end (ap);
  /* One write below PIPE_BUF is atomic: the parent gets all or nothing. */
  ssize_t w = write (errfd, &ce, sizeof ce);
  (void) w;
  _exit (127);
}

static int
write_file (const char *dir, const char *name, const char *content, char **path_out)
{
  char *path = xasprintf ("%s/%s", dir, name);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      free (path);
      return -1;
    }
  size_t len = strlen (content), off = 0;
  while (off < len)
    {
      ssize_t w = write (fd, content + off, len - off);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          int e = errno;
          close (fd);
          free (path);
          errno = e;
          return -1;
        }
      off += (size_t) w;
    }
  if (fchmod (fd, 0644) < 0 || close (fd) < 0)
    {
      free (path);
      return -1;
    }
  *path_out = path;
  return 0;
}

/* Write one /etc file into files_dir and bind-mount it over the real one in
 * our private mount namespace: the host's file is never written. */
static void
provide_etc_file (int errfd, const char *dir, const char *name, const char *content)
{
  cleanup_free char *src = NULL;
  cleanup_free char *dst = xasprintf ("/etc/%s", name);
  if (write_file (dir, name, content, &src) < 0)
    child_fail (errfd, errno, "write %s/%s", dir, name);
  if (mount (src, dst, NULL, MS_BIND, NULL) < 0)
    child_fail (errfd, errno, "bind-mount %s over %s", src, dst);
}

static char **
build_env (const struct pause_spec *spec)
{
  char **env = NULL;
  size_t n = 0;
  if (spec->env)
    for (char *const *e = spec->env; *e; e++)
      *VEC_PUSH (env, n) = *e;
  char *host = spec->hostname ? xasprintf ("HOSTNAME=%s", spec->hostname) : NULL;
  const char *defaults[ARRAY_SIZE (base_env) + 1];
  size_t nd = 0;
  for (size_t i = 0; i < ARRAY_SIZE (base_env); i++)
    defaults[nd++] = base_env[i];
  if (host)
    defaults[nd++] = host;
  for (size_t i = 0; i < nd; i++)
    {
      size_t klen = strcspn (defaults[i], "=") + 1;
      bool set = false;
      for (size_t j = 0; j < n && !set; j++)
        set = strncmp (env[j], defaults[i], klen) == 0;
      if (!set)
        *VEC_PUSH (env, n) = (char *) defaults[i];
    }
  *VEC_PUSH (env, n) = NULL;
  return env;
}

/* The pod's app, child of the (future) pause process. Never returns. */
static void __attribute__ ((noreturn))
start_app (const struct pause_spec *spec, char **env, pid_t pause_pid, int errfd)
{
  /* If the pause process dies, so does the app; the parent may already be
   * gone between fork and prctl, so check afterwards. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    child_fail (errfd, errno, "prctl PR_SET_PDEATHSIG");
  if (getppid () != pause_pid)
    _exit (1);

  /* Start from a clean signal state, as a fresh container process does: an
   * ignored signal would survive exec. */
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      signal (s, SIG_DFL);

  if (spec->app->kind == APP_HTTP)
    {
      nslab_error_t err = NULL;
      int fd = -1;
      if (echo_listen (spec->app->port, &fd, &err) < 0)
        {
          int e = err->status;
          child_fail (errfd, e, "app http:%u: %s", spec->app->port, err->msg);
        }
      if (fd == ECHO_LISTEN_FD)
        {
          if (fcntl (fd, F_SETFD, 0) < 0)
            child_fail (errfd, errno, "fcntl");
        }
      else if (dup2 (fd, ECHO_LISTEN_FD) < 0)
        child_fail (errfd, errno, "dup2");
      char port[8];
      snprintf (port, sizeof port, "%u", spec->app->port);
      char *argv[] = { (char *) "nslab-echo", port, NULL };
      execve ("/proc/self/exe", argv, env);
      child_fail (errfd, errno, "exec nslab-echo");
    }
  if (spec->app->argv == NULL || spec->app->argv[0] == NULL)
    child_fail (errfd, EINVAL, "app command is empty");
  /* execvp searches the PATH of the environment it runs in: the pod's. */
  environ = env;
  execvp (spec->app->argv[0], spec->app->argv);
  child_fail (errfd, errno, "exec \"%s\"", spec->app->argv[0]);
}

static char **
title_argv (const char *title)
{
  char **argv = NULL;
  size_t n = 0;
  *VEC_PUSH (argv, n) = xstrdup ("nslab-pause");
  if (title)
    {
      cleanup_free char *copy = xstrdup (title);
      char *save = NULL;
      bool first = true;
      for (char *w = strtok_r (copy, " \t", &save); w; w = strtok_r (NULL, " \t", &save))
        {
          if (first && strcmp (w, "nslab-pause") == 0)
            {
              first = false;
              continue;
            }
          first = false;
          *VEC_PUSH (argv, n) = xstrdup (w);
        }
    }
  *VEC_PUSH (argv, n) = NULL;
  return argv;
}

/* The child between fork and exec of nslab-pause. Never returns. */
static void __attribute__ ((noreturn))
pause_child (const struct pause_spec *spec, int gofd, int errfd)
{
  char go = 0;
  ssize_t r;
  do
    r = read (gofd, &go, 1);
  while (r < 0 && errno == EINTR);
  /* EOF: the parent died or refused before recording us; a process nobody
   * knows about must not live on. */
  if (r != 1 || go != 'g')
    _exit (0);
  close (gofd);

  if (setsid () < 0)
    child_fail (errfd, errno, "setsid");
  if (spec->netns_path)
    {
      int nsfd = open (spec->netns_path, O_RDONLY | O_CLOEXEC);
      if (nsfd < 0)
        child_fail (errfd, errno, "open %s", spec->netns_path);
      if (setns (nsfd, CLONE_NEWNET) < 0)
        child_fail (errfd, errno, "setns %s", spec->netns_path);
      close (nsfd);
    }
  if (unshare (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS) < 0)
    child_fail (errfd, errno, "unshare uts, ipc and mount namespaces");
  /* Nothing we mount may propagate back to the host's mount namespace. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    child_fail (errfd, errno, "make / rprivate");
  if (spec->hostname && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    child_fail (errfd, errno, "sethostname %s", spec->hostname);

  if (spec->hostname || spec->etc_hosts || spec->resolv_conf)
    {
      if (spec->files_dir == NULL)
        child_fail (errfd, EINVAL, "no files_dir for the pod's /etc files");
      struct stat sb;
      if (mkdir (spec->files_dir, 0700) < 0
          && (errno != EEXIST || lstat (spec->files_dir, &sb) < 0 || !S_ISDIR (sb.st_mode)))
        child_fail (errfd, errno ? errno : ENOTDIR, "mkdir %s", spec->files_dir);
      if (spec->hostname)
        {
          cleanup_free char *content = xasprintf ("%s\n", spec->hostname);
          provide_etc_file (errfd, spec->files_dir, "hostname", content);
        }
      if (spec->etc_hosts)
        provide_etc_file (errfd, spec->files_dir, "hosts", spec->etc_hosts);
      if (spec->resolv_conf)
        provide_etc_file (errfd, spec->files_dir, "resolv.conf", spec->resolv_conf);
    }
  /* Do not pin the caller's working directory (a mount, a test dir). */
  if (chdir ("/") < 0)
    child_fail (errfd, errno, "chdir /");

  /* stdin from /dev/null, stdout and stderr to the log: the pause process
   * and the app write there, nothing else stays open. */
  const char *log = spec->log_path ? spec->log_path : "/dev/null";
  int nullfd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (nullfd < 0)
    child_fail (errfd, errno, "open /dev/null");
  int logfd = open (log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (logfd < 0)
    child_fail (errfd, errno, "open %s", log);
  if (dup2 (nullfd, STDIN_FILENO) < 0 || dup2 (logfd, STDOUT_FILENO) < 0
      || dup2 (logfd, STDERR_FILENO) < 0)
    child_fail (errfd, errno, "dup2");
  close (nullfd);
  close (logfd);
  /* Whatever our caller leaked (bats keeps fd 3 open, for one) must not
   * reach the pod: a pause process holding it would hang the caller. The
   * error pipe is O_CLOEXEC already and must stay open until exec. */
  if (close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    child_fail (errfd, errno, "close_range");

  /* Orphans of the app are reparented to the pause process, which reaps
   * them, as PID 1 of a container would. Survives exec. */
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    child_fail (errfd, errno, "prctl PR_SET_CHILD_SUBREAPER");

  char **env = build_env (spec);
  char **pause_env = env;
  if (spec->app && spec->app->kind != APP_NONE)
    {
      pid_t self = getpid ();
      pid_t app = fork ();
      if (app < 0)
        child_fail (errfd, errno, "fork the app");
      if (app == 0)
        start_app (spec, env, self, errfd);
      /* The pause process learns which child is the app from its
       * environment (its argv is only the title ps shows). */
      size_t n = 0;
      while (env[n])
        n++;
      pause_env = xcalloc (n + 2, sizeof *pause_env);
      memcpy (pause_env, env, n * sizeof *env);
      pause_env[n] = xasprintf (PAUSE_APP_PID_ENV "=%d", (int) app);
    }

  /* Ignored signals and the signal mask survive exec: a SIGINT or SIGHUP
   * while nslab-pause starts up is already ignored, a SIGTERM waits for
   * pause_main to handle it. */
  signal (SIGINT, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  sigset_t mask;
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGTERM);
  sigprocmask (SIG_SETMASK, &mask, NULL);
  char **argv = title_argv (spec->title);
  execve ("/proc/self/exe", argv, pause_env);
  child_fail (errfd, errno, "exec /proc/self/exe as nslab-pause");
}

static void
reap_quietly (pid_t pid)
{
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

int
pause_spawn_start (const struct pause_spec *spec, pause_record_fn record, void *arg,
                   struct pause_start *out, nslab_error_t *err)
{
  int go[2], ep[2];
  uint64_t starttime = 0;

  if (spec == NULL || record == NULL)
    return nslab_error_invalid (err, "pause_spawn: no spec or record callback");
  if (spec->app && spec->app->kind == APP_COMMAND
      && (spec->app->argv == NULL || spec->app->argv[0] == NULL))
    return nslab_error_invalid (err, "pause_spawn: app command is empty");
  /* A socket, not a pipe, for the go byte: send(MSG_NOSIGNAL) cannot kill
   * us with SIGPIPE if the child is already gone. */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) < 0)
    return nslab_error (err, errno, "socketpair");
  if (pipe2 (ep, O_CLOEXEC) < 0)
    {
      int e = errno;
      close (go[0]);
      close (go[1]);
      return nslab_error (err, e, "pipe2");
    }
  fflush (NULL);
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (go[0]);
      close (go[1]);
      close (ep[0]);
      close (ep[1]);
      return nslab_error (err, e, "fork");
    }
  if (pid == 0)
    {
      close (go[1]);
      close (ep[0]);
      pause_child (spec, go[0], ep[1]);
    }
  close (go[0]);
  close (ep[1]);
  cleanup_close int gofd = go[1];
  cleanup_close int errfd = ep[0];
  out->pid = -1;
  out->errfd = -1;
  out->title = NULL;

  if (proc_starttime (pid, &starttime, err) < 0 || record (pid, starttime, arg, err) < 0)
    {
      /* Closing the socket without the go byte makes the child exit. */
      close (gofd);
      gofd = -1;
      reap_quietly (pid);
      return -1;
    }
  if (send (gofd, "g", 1, MSG_NOSIGNAL) != 1)
    {
      int e = errno;
      close (gofd);
      gofd = -1;
      reap_quietly (pid);
      return nslab_error (err, e, "start pause process %d", (int) pid);
    }
  out->pid = pid;
  out->starttime = starttime;
  out->errfd = errfd;
  errfd = -1;
  out->title = xstrdup (spec->title ? spec->title : "?");
  return 0;
}

int
pause_spawn_finish (struct pause_start *ps, nslab_error_t *err)
{
  cleanup_close int errfd = ps->errfd;
  cleanup_free char *title = ps->title;
  pid_t pid = ps->pid;
  uint64_t starttime = ps->starttime;
  ps->errfd = -1;
  ps->title = NULL;

  /* The error pipe reaches EOF when the pause process and its app have both
   * exec'd (O_CLOEXEC), or carries what went wrong. */
  struct child_error ce;
  size_t got = 0;
  while (got < sizeof ce)
    {
      ssize_t r = read (errfd, (char *) &ce + got, sizeof ce - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      got += (size_t) r;
    }
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
      pause_kill (pid, starttime, &kerr);
      nslab_error_free (&kerr);
      reap_quietly (pid);
      return nslab_error (err, ce.errnum, "pause process for %s: %s", title, ce.msg);
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

/* ---- the pause process itself ---------------------------------------- */

static pid_t app_pid;

static void
log_exit (pid_t pid, int status)
{
  const char *what = pid == app_pid ? "app" : "process";
  if (WIFEXITED (status))
    dprintf (STDERR_FILENO, "nslab-pause: %s %d exited with status %d\n", what, (int) pid,
             WEXITSTATUS (status));
  else if (WIFSIGNALED (status))
    dprintf (STDERR_FILENO, "nslab-pause: %s %d killed by signal %d (%s)\n", what, (int) pid,
             WTERMSIG (status), strsignal (WTERMSIG (status)));
}

/* Collect every exited child; returns false once the app is gone (or there
 * never was one). */
static bool
reap_all (void)
{
  for (;;)
    {
      int status;
      pid_t p = waitpid (-1, &status, WNOHANG);
      if (p > 0)
        {
          log_exit (p, status);
          if (p == app_pid)
            app_pid = 0;
          continue;
        }
      if (p < 0 && errno == EINTR)
        continue;
      return app_pid > 0;
    }
}

int
pause_main (int argc, char **argv)
{
  sigset_t set;
  (void) argc;
  (void) argv;

  close_range (3, ~0U, 0);
  const char *app = getenv (PAUSE_APP_PID_ENV);
  if (app)
    app_pid = (pid_t) strtol (app, NULL, 10);
  signal (SIGINT, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  signal (SIGPIPE, SIG_IGN);
  /* An ignored SIGCHLD (inherited) would make the kernel reap for us and
   * hide exit statuses. */
  signal (SIGCHLD, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGTERM);
  sigprocmask (SIG_SETMASK, &set, NULL);
  prctl (PR_SET_CHILD_SUBREAPER, 1);

  for (;;)
    {
      /* The app may have died before we got here: reap first. */
      reap_all ();
      siginfo_t si;
      int sig = sigwaitinfo (&set, &si);
      if (sig == SIGTERM)
        break;
    }

  /* SIGTERM, as a pod is stopped: the app gets SIGTERM and a grace period
   * to exit, then everything left in the pod's process group (ourselves
   * included) gets SIGKILL. */
  if (app_pid > 0)
    kill (app_pid, SIGTERM);
  sigset_t chld;
  sigemptyset (&chld);
  sigaddset (&chld, SIGCHLD);
  struct timespec slice = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
  for (int waited = 0; waited < TERM_GRACE_MS && reap_all (); waited += 100)
    sigtimedwait (&chld, NULL, &slice);
  kill (0, SIGKILL);
  _exit (0);
}
