/* The pause child between fork and exec (see sandbox.h): what a container
 * runtime does before starting a container's process, reduced to what a
 * pod here needs. Everything is done in the child so that the caller's
 * namespaces and mounts are never touched, and a failure is one message
 * to the caller rather than a half-set-up process. */
#include "runtime/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/util.h"
#include "runtime/appsock.h"

/* The environment every pod's app starts from, as a container runtime sets
 * it; the pod's own variables (POD_NAME ...) come first and win. */
static const char *const base_env[] = {
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "HOME=/root",
};

extern char **environ;

static void __attribute__ ((noreturn, format (printf, 3, 4)))
child_fail (int errfd, int errnum, const char *fmt, ...)
{
  struct sandbox_error ce = { .errnum = errnum };
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

  if (spec->app->kind == PAUSE_APP_HTTP)
    {
      nslab_error_t err = NULL;
      int fd = -1;
      if (appsock_listen (spec->app->port, &fd, &err) < 0)
        {
          int e = err->status;
          child_fail (errfd, e, "app http:%u: %s", spec->app->port, err->msg);
        }
      if (fd == APPSOCK_FD)
        {
          if (fcntl (fd, F_SETFD, 0) < 0)
            child_fail (errfd, errno, "fcntl");
        }
      else if (dup2 (fd, APPSOCK_FD) < 0)
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

/* sysfs shows the network devices of the namespace of whoever mounted it:
 * the host's /sys would list the machine's NICs inside a pod. Replace it
 * with one mounted from inside, read-only if the host's was. */
static void
remount_sys (int errfd)
{
  unsigned long flags = 0;
  struct statvfs fs;
  if (statvfs ("/sys", &fs) == 0 && (fs.f_flag & ST_RDONLY))
    flags |= MS_RDONLY;
  if (umount2 ("/sys", MNT_DETACH) < 0 && errno != EINVAL)
    child_fail (errfd, errno, "unmount /sys");
  if (mount ("sysfs", "/sys", "sysfs", flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    child_fail (errfd, errno, "mount sysfs on /sys");
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape_octal (char *s)
{
  char *o = s;
  for (char *i = s; *i; i++)
    {
      if (i[0] == '\\' && i[1] >= '0' && i[1] <= '7' && i[2] >= '0' && i[2] <= '7' && i[3] >= '0' && i[3] <= '7')
        {
          *o++ = (char) ((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
          i += 3;
        }
      else
        *o++ = *i;
    }
  *o = '\0';
}

int
sandbox_detach_netns_mounts (void)
{
  /* iproute2's and nslab's /run/netns is a bind mount holding every named
   * namespace: one detach takes them all. */
  if (umount2 ("/run/netns", MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return -1;
  /* Any other nsfs mount (another tool's netns directory, a namespace
   * mounted on a file elsewhere) would pin its namespace all the same. */
  FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    return -1;
  char **points = NULL;
  size_t n = 0, cap = 0;
  char *line = NULL;
  while (getline (&line, &cap, f) > 0)
    {
      char *sep = strstr (line, " - ");
      if (sep == NULL || strncmp (sep + 3, "nsfs ", 5) != 0)
        continue;
      /* Fields: id parent major:minor root mountpoint ... */
      char *save = NULL, *fld = strtok_r (line, " ", &save);
      for (int k = 0; k < 4 && fld; k++)
        fld = strtok_r (NULL, " ", &save);
      if (fld == NULL)
        continue;
      unescape_octal (fld);
      *VEC_PUSH (points, n) = xstrdup (fld);
    }
  free (line);
  fclose (f);
  int rc = 0;
  /* Deepest (latest) first; a detached parent takes its children along. */
  for (size_t i = n; i-- > 0;)
    {
      if (umount2 (points[i], MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
        rc = -1;
      free (points[i]);
    }
  free (points);
  return rc;
}

void
sandbox_child (const struct pause_spec *spec, int gofd, int errfd)
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
  /* Our mount namespace is a copy of the template's (pause_mnt_template),
   * which has no network namespace mounts: a copy of the caller's would
   * hold one mount per namespace on the machine, O(N^2) for a lab, and pin
   * them all alive after `down`. */
  if (spec->mnt_template > 0 && setns (spec->mnt_template, CLONE_NEWNS) < 0)
    child_fail (errfd, errno, "setns the template mount namespace");
  if (unshare (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS) < 0)
    child_fail (errfd, errno, "unshare uts, ipc and mount namespaces");
  /* Slave (as iproute2's netns_switch), so nothing we mount here (the /etc
   * binds, /sys) propagates back to the host, while the host's later
   * mounts still show. A template is rslave already. */
  if (spec->mnt_template <= 0)
    {
      if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        child_fail (errfd, errno, "make / rslave");
      if (sandbox_detach_netns_mounts () < 0)
        child_fail (errfd, errno, "detach the network namespace mounts");
    }
  remount_sys (errfd);
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
  if (spec->app && spec->app->kind != PAUSE_APP_NONE)
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

