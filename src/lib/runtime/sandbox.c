/* The pause process's setup (see sandbox.h): what a container runtime
 * does before starting a container's process, reduced to what a pod here
 * needs. It runs in the freshly exec'd pause process, so that the caller's
 * namespaces and mounts are never touched, the caller's big address space
 * is never copied (it spawns with vfork semantics), and a failure is one
 * message to the caller rather than a half-set-up process. */
#include "runtime/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/caps.h"
#include "kernel/proc.h"
#include "runtime/appsock.h"
#include "runtime/spawner.h"

/* The environment every pod's app starts from, as a container runtime sets
 * it; the pod's own variables (POD_NAME ...) come first and win. */
static const char *const base_env[] = {
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "HOME=/root",
};

static void __attribute__ ((format (printf, 3, 0)))
report_v (int errfd, int errnum, const char *fmt, va_list ap)
{
  struct sandbox_error ce = { .errnum = errnum };
  vsnprintf (ce.msg, sizeof ce.msg, fmt, ap);
  /* No one to report to (an app restarted by the pause process): the log. */
  if (errfd < 0)
    {
      dprintf (STDERR_FILENO, "nslab-pause: %s: %s\n", ce.msg, strerror (errnum));
      return;
    }
  /* One write below PIPE_BUF is atomic: the parent gets all or nothing. */
  ssize_t w = write (errfd, &ce, sizeof ce);
  (void) w;
}

void
sandbox_report (int errfd, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  report_v (errfd, errnum, fmt, ap);
  va_end (ap);
}

static void __attribute__ ((noreturn, format (printf, 3, 4)))
child_fail (int errfd, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  report_v (errfd, errnum, fmt, ap);
  va_end (ap);
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
  if (fd_write_all (fd, content, strlen (content)) < 0)
    {
      int e = errno;
      close (fd);
      free (path);
      errno = e;
      return -1;
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

static void unescape_octal (char *s);

/* A mount point below DIR (mountinfo's fifth field) that is not below
 * another one already in POINTS: open_tree clones that one's subtree. */
static bool
top_submount (const char *dir, const char *point, char **points, size_t n)
{
  size_t dl = strlen (dir);
  if (strncmp (point, dir, dl) != 0 || point[dl] != '/')
    return false;
  for (size_t i = 0; i < n; i++)
    {
      size_t pl = strlen (points[i]);
      if (strncmp (point, points[i], pl) == 0 && (point[pl] == '/' || point[pl] == '\0'))
        return false;
    }
  return true;
}

/* What the process's own components wrote outside /etc's few files: the
 * node's CNI conflist in /etc/cni/net.d, which the host does not have and
 * must not get. The deepest directory of the path that exists is overlaid,
 * in our private mount namespace only, by an overlayfs whose upper layer,
 * holding the file, is a tmpfs of ours (files_dir/layerN, empty on the
 * host): the process sees the host's directory plus the file and writes
 * its own copies, while the host's directory stays byte for byte as it
 * was. An overlay shows the lower directory without the mounts below it
 * (a bind-mounted /etc/hosts), so those are cloned first and put back. */
static void
provide_private_file (int errfd, const char *files_dir, size_t idx, const char *path, const char *content)
{
  cleanup_free char *dir = xstrdup (path);
  struct stat st;
  int found;
  do
    {
      *strrchr (dir, '/') = '\0';
      found = *dir ? stat (dir, &st) : -1;
    }
  while (*dir && found < 0 && errno == ENOENT);
  /* Never "/": a node's file always has an existing directory below it. */
  if (*dir == '\0' || found < 0 || !S_ISDIR (st.st_mode))
    child_fail (errfd, found < 0 && *dir ? errno : ENOTDIR, "no directory of %s to overlay", path);
  cleanup_free char *layer = xasprintf ("%s/layer%zu", files_dir, idx);
  cleanup_free char *upper = xasprintf ("%s/upper", layer);
  cleanup_free char *work = xasprintf ("%s/work", layer);
  if ((mkdir (layer, 0700) < 0 && errno != EEXIST)
      || mount ("tmpfs", layer, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0 || mkdir (upper, 0755) < 0
      || mkdir (work, 0700) < 0)
    child_fail (errfd, errno, "tmpfs layer %s", layer);
  /* The directories the host lacks, then the file, in the upper layer. */
  cleanup_free char *file = xasprintf ("%s%s", upper, path + strlen (dir));
  for (char *slash = file + strlen (upper) + 1; (slash = strchr (slash, '/')); slash++)
    {
      *slash = '\0';
      if (mkdir (file, 0755) < 0 && errno != EEXIST)
        child_fail (errfd, errno, "mkdir %s", file);
      *slash = '/';
    }
  char *last = strrchr (file, '/');
  *last = '\0';
  cleanup_free char *written = NULL;
  if (write_file (file, last + 1, content, &written) < 0)
    child_fail (errfd, errno, "write %s/%s", file, last + 1);

  char **points = NULL;
  size_t n = 0, cap = 0;
  char *line = NULL;
  FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    child_fail (errfd, errno, "open /proc/self/mountinfo");
  while (getline (&line, &cap, f) > 0)
    {
      char *save = NULL, *fld = strtok_r (line, " ", &save);
      for (int k = 0; k < 4 && fld; k++)
        fld = strtok_r (NULL, " ", &save);
      if (fld == NULL)
        continue;
      unescape_octal (fld);
      if (top_submount (dir, fld, points, n))
        *VEC_PUSH (points, n) = xstrdup (fld);
    }
  free (line);
  fclose (f);
  int *trees = xcalloc (n + 1, sizeof *trees);
  for (size_t i = 0; i < n; i++)
    if ((trees[i] = open_tree (AT_FDCWD, points[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)) < 0)
      child_fail (errfd, errno, "clone the mount on %s", points[i]);
  cleanup_free char *opts = xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s", dir, upper, work);
  if (mount ("overlay", dir, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
    child_fail (errfd, errno, "overlay %s", dir);
  for (size_t i = 0; i < n; i++)
    {
      if (move_mount (trees[i], "", AT_FDCWD, points[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
        child_fail (errfd, errno, "put back the mount on %s", points[i]);
      close (trees[i]);
      free (points[i]);
    }
  free (trees);
  free (points);
}

void
sandbox_start_mask (sigset_t *mask)
{
  sigemptyset (mask);
  sigaddset (mask, SIGCHLD);
  sigaddset (mask, SIGTERM);
  sigaddset (mask, SIGINT);
  sigaddset (mask, SIGHUP);
}

char **
sandbox_build_env (const struct pause_spec *spec)
{
  char **env = NULL;
  size_t n = 0;
  if (spec->env)
    for (char *const *e = spec->env; *e; e++)
      *VEC_PUSH (env, n) = xstrdup (*e);
  cleanup_free char *host = spec->hostname ? xasprintf ("HOSTNAME=%s", spec->hostname) : NULL;
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
        *VEC_PUSH (env, n) = xstrdup (defaults[i]);
    }
  const char *backoff = getenv (SANDBOX_BACKOFF_ENV);
  if (backoff && *backoff)
    *VEC_PUSH (env, n) = xasprintf ("%s=%s", SANDBOX_BACKOFF_ENV, backoff);
  *VEC_PUSH (env, n) = xstrdup (PAUSE_SETUP_ENV "=1");
  /* Room in a spawner's memory for its pods' titles (spawner.h): the
   * variable is gone from environ before its app starts, its bytes stay. */
  if (spec->spawner)
    *VEC_PUSH (env, n) = xasprintf ("%s=%*s", SPAWNER_TITLE_ENV, SPAWNER_TITLE_ROOM, "");
  *VEC_PUSH (env, n) = NULL;
  return env;
}

/* A command app, child of the pause process. Never returns. ERRFD < 0:
 * failures go to the log. READY_FD (and ERRFD >= 0): the app gets ERRFD
 * as PAUSE_APP_READY_FD and closes it once it serves. */
static void __attribute__ ((noreturn))
start_app (char **argv, const char *path, bool privileged, uint64_t cap_add, pid_t pause_pid, int errfd,
           bool ready_fd)
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
  if (argv == NULL || argv[0] == NULL)
    child_fail (errfd, EINVAL, "app command is empty");
  /* A pod's app runs with what containerd gives a container and what its
   * securityContext adds, unless the workload is privileged: `ip link add`
   * in a pod fails as on a cluster. */
  if (!privileged && caps_limit (CAPS_CONTAINER_DEFAULT | cap_add) < 0)
    child_fail (errfd, errno, "limit the app's capabilities");
  /* The error pipe stays open through the exec (the pod is not started
   * before the app says it serves); a failed exec still reports on it. A
   * restart has no pipe: the app gets no ready fd. */
  unsetenv (PAUSE_APP_READY_ENV);
  if (ready_fd && errfd >= 0)
    {
      char num[8];
      snprintf (num, sizeof num, "%d", PAUSE_APP_READY_FD);
      if (dup2 (errfd, PAUSE_APP_READY_FD) < 0 || setenv (PAUSE_APP_READY_ENV, num, 1) < 0)
        child_fail (errfd, errno, "the app's ready fd");
    }
  /* execvp searches the PATH of the environment it runs in: the pod's. */
  if (path)
    execv (path, argv);
  else
    execvp (argv[0], argv);
  child_fail (errfd, errno, "exec \"%s\"", path ? path : argv[0]);
}

pid_t
pause_fork_command_app (const struct pause_setup *su)
{
  pid_t self = getpid ();
  pid_t pid = fork ();
  if (pid == 0)
    start_app (su->app_argv, su->app_path, su->privileged, su->cap_add, self, -1, false);
  return pid;
}

/* A PID namespace of our own, nested in the one we were spawned in (a
 * pod's in its node's: pause_spawn_begin): fork into it and go on as its
 * PID 1. The spawned process exits at once, so the pause process is
 * reparented to the reaper of the namespace it was spawned in: the node's
 * pause process (a pod), or the spawner's reaper (a node). */
static void
enter_pid_ns (int errfd)
{
  if (unshare (CLONE_NEWPID) < 0)
    child_fail (errfd, errno, "unshare the PID namespace");
  pid_t p = fork ();
  if (p < 0)
    child_fail (errfd, errno, "fork the pause process");
  if (p > 0)
    _exit (0);
}

char **
sandbox_title_argv (const char *title)
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

bool
sandbox_sys_rdonly (void)
{
  struct statvfs fs;
  return statvfs ("/sys", &fs) == 0 && (fs.f_flag & ST_RDONLY);
}

int
sandbox_unmount_proc_sys (void)
{
  if (umount2 ("/sys", MNT_DETACH) < 0 && errno != EINVAL)
    return -1;
  if (umount2 ("/proc", MNT_DETACH) < 0 && errno != EINVAL)
    return -1;
  return 0;
}

/* sysfs shows the network devices of the namespace of whoever mounted it
 * (the host's /sys would list the machine's NICs inside a pod), /proc the
 * processes of the PID namespace of whoever mounted it (ps in a pod must
 * show the pod): mount both from inside, sysfs read-only if the host's is.
 * On the empty /proc and /sys of a template's copy (which told whether the
 * host's /sys is read-only), else in place of the caller's copies. */
static void
mount_own_sys_proc (int errfd, const struct pause_spec *spec)
{
  bool rdonly = spec->mnt_template > 0 ? spec->sys_rdonly : sandbox_sys_rdonly ();
  if (spec->mnt_template <= 0 && sandbox_unmount_proc_sys () < 0)
    child_fail (errfd, errno, "unmount /sys and /proc");
  if (mount ("sysfs", "/sys", "sysfs", (rdonly ? MS_RDONLY : 0) | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    child_fail (errfd, errno, "mount sysfs on /sys");
  if (mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    child_fail (errfd, errno, "mount proc on /proc");
}

/* The spec travels to the pause process after the go byte: a u32 total
 * length, then fields as u32 length + bytes (UINT32_MAX: NULL), in the
 * order of the FIELDS below, then the app's argv count and strings. */
static void
put_str (struct strbuf *b, const char *s)
{
  uint32_t len = s ? (uint32_t) strlen (s) : UINT32_MAX;
  sb_addn (b, (const char *) &len, sizeof len);
  if (s)
    sb_addn (b, s, len);
}

char *
sandbox_encode (const struct pause_spec *spec, bool netns_at_fd, size_t *len_out)
{
  struct strbuf b;
  sb_init (&b);
  uint32_t total = 0;
  sb_addn (&b, (const char *) &total, sizeof total);
  char kind[4], port[8], restart[4], caps[20];
  snprintf (caps, sizeof caps, "%llx", (unsigned long long) spec->cap_add);
  snprintf (kind, sizeof kind, "%d", spec->app ? (int) spec->app->kind : PAUSE_APP_NONE);
  snprintf (restart, sizeof restart, "%d", (int) spec->restart);
  snprintf (port, sizeof port, "%u", spec->app ? spec->app->port : 0u);
  const char *fields[] = { netns_at_fd ? NULL : spec->netns_path, spec->hostname, spec->files_dir, spec->etc_hosts,
                           spec->resolv_conf, spec->log_path, spec->mnt_template > 0 ? "1" : NULL, kind, port,
                           spec->privileged ? "1" : NULL, restart,
                           spec->app && spec->app->kind == PAUSE_APP_COMMAND ? spec->app->path : NULL,
                           spec->sa_pki_dir, spec->sa_namespace, spec->own_netns_dir ? "1" : NULL, caps,
                           spec->app && spec->app->kind == PAUSE_APP_COMMAND && spec->app->ready_fd ? "1" : NULL,
                           spec->mnt_template > 0 && spec->sys_rdonly ? "1" : NULL, netns_at_fd ? "1" : NULL,
                           spec->spawner ? "1" : NULL };
  for (size_t i = 0; i < ARRAY_SIZE (fields); i++)
    put_str (&b, fields[i]);
  uint32_t argc = 0;
  if (spec->app && spec->app->kind == PAUSE_APP_COMMAND && spec->app->argv)
    while (spec->app->argv[argc])
      argc++;
  sb_addn (&b, (const char *) &argc, sizeof argc);
  for (uint32_t i = 0; i < argc; i++)
    put_str (&b, spec->app->argv[i]);
  uint32_t nfiles = 0;
  while (spec->files && spec->files[nfiles] && spec->files[nfiles + 1])
    nfiles += 2;
  sb_addn (&b, (const char *) &nfiles, sizeof nfiles);
  for (uint32_t i = 0; i < nfiles; i++)
    put_str (&b, spec->files[i]);
  total = (uint32_t) (b.len - sizeof total);
  memcpy (b.buf, &total, sizeof total);
  *len_out = b.len;
  return sb_steal (&b);
}

static bool
get_str (char **p, char *end, char **out)
{
  uint32_t len;
  if ((size_t) (end - *p) < sizeof len)
    return false;
  memcpy (&len, *p, sizeof len);
  *p += sizeof len;
  if (len == UINT32_MAX)
    {
      *out = NULL;
      return true;
    }
  if ((size_t) (end - *p) < (size_t) len)
    return false;
  /* Make room for the NUL by moving the string over its length field. */
  memmove (*p - sizeof len, *p, len);
  (*p)[(ptrdiff_t) len - (ptrdiff_t) sizeof len] = '\0';
  *out = *p - sizeof len;
  *p += len;
  return true;
}

static bool
read_full (int fd, void *buf, size_t len)
{
  size_t got = 0;
  while (got < len)
    {
      ssize_t r = read (fd, (char *) buf + got, len - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return false;
      got += (size_t) r;
    }
  return true;
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

int
sandbox_hide_netns_dir (void)
{
  if (mount ("tmpfs", SANDBOX_NETNS_DIR, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0
      && errno != ENOENT)
    return -1;
  return 0;
}

/* mkdir -p of REL under DIRFD. */
static int
mkdirs_at (int dirfd, const char *rel, mode_t mode)
{
  char buf[PATH_MAX];
  snprintf (buf, sizeof buf, "%s", rel);
  for (char *q = buf;; q++)
    if (*q == '/' || *q == '\0')
      {
        char c = *q;
        *q = '\0';
        if (mkdirat (dirfd, buf, mode) < 0 && errno != EEXIST)
          return -1;
        if (c == '\0')
          return 0;
        *q = c;
      }
}

int
sandbox_make_sa_mountpoint (void)
{
  char run[PATH_MAX];
  if (realpath ("/var/run", run) == NULL)
    return -1;
  /* The old tree, detached: its entries are bound back from it. */
  int old = open_tree (AT_FDCWD, run, OPEN_TREE_CLONE | AT_RECURSIVE | OPEN_TREE_CLOEXEC);
  if (old < 0)
    return -1;
  struct stat rst;
  int rc = -1, tfd = -1;
  DIR *d = NULL;
  if (fstat (old, &rst) < 0)
    goto out;
  char opts[32];
  snprintf (opts, sizeof opts, "mode=%o", (unsigned) (rst.st_mode & 07777));
  if (mount ("tmpfs", run, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
    goto out;
  tfd = open (run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int lfd = tfd < 0 ? -1 : openat (old, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lfd < 0 || (d = fdopendir (lfd)) == NULL)
    {
      if (lfd >= 0)
        close (lfd);
      goto out;
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      const char *n = de->d_name;
      struct stat st;
      if (strcmp (n, ".") == 0 || strcmp (n, "..") == 0 || fstatat (old, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t len = readlinkat (old, n, target, sizeof target - 1);
          if (len < 0)
            goto out;
          target[len] = '\0';
          if (symlinkat (target, tfd, n) < 0)
            goto out;
          continue;
        }
      if (S_ISDIR (st.st_mode) ? mkdirat (tfd, n, st.st_mode & 07777) < 0
                               : mknodat (tfd, n, S_IFREG | 0600, 0) < 0)
        goto out;
      int m = open_tree (old, n, OPEN_TREE_CLONE | AT_RECURSIVE | OPEN_TREE_CLOEXEC);
      if (m < 0)
        goto out;
      int e = move_mount (m, "", tfd, n, MOVE_MOUNT_F_EMPTY_PATH);
      close (m);
      if (e < 0)
        goto out;
    }
  rc = mkdirs_at (tfd, SANDBOX_SA_DIR, 0755);
out:;
  int e = errno;
  if (d)
    closedir (d);
  if (tfd >= 0)
    close (tfd);
  close (old);
  errno = e;
  return rc;
}

/* The pod's service account as kubelet projects it (kube-api-access-*):
 * ca.crt, namespace and token in a directory, mounted read-only on
 * SANDBOX_SA_DIR. ca.crt and token are symlinks into the lab's pki/, as
 * kubelet's are into ..data/, so they are read when a client opens them
 * (the lab's API server writes them after the first pods start). The
 * directory is the same for every pod of a namespace: one per namespace
 * beside the pods' own (files/.serviceaccount-NS, a name no pod's netns
 * has), made whole under a temporary name and renamed into place, so that
 * a pod never binds a half-made one and the first of two starting at once
 * wins. Four entries and four writes less per pod for up and down. */
static void
provide_service_account (int errfd, const char *files_dir, const char *pki_dir, const char *ns)
{
  const char *slash = strrchr (files_dir, '/');
  if (slash == NULL || slash == files_dir)
    child_fail (errfd, EINVAL, "files dir %s has no parent", files_dir);
  cleanup_free char *parent = xstrndup (files_dir, (size_t) (slash - files_dir));
  cleanup_free char *dir = xasprintf ("%s/.serviceaccount-%s", parent, ns);
  struct stat st;
  if (lstat (dir, &st) < 0)
    {
      if (errno != ENOENT)
        child_fail (errfd, errno, "stat %s", dir);
      cleanup_free char *tmp = xasprintf ("%s.XXXXXX", dir);
      if (mkdtemp (tmp) == NULL || chmod (tmp, 0755) < 0)
        child_fail (errfd, errno, "mkdir %s", tmp);
      cleanup_free char *nsfile = NULL;
      if (write_file (tmp, "namespace", ns, &nsfile) < 0)
        child_fail (errfd, errno, "write %s/namespace", tmp);
      static const char *const linked[] = { "ca.crt", "token" };
      for (size_t i = 0; i < ARRAY_SIZE (linked); i++)
        {
          cleanup_free char *target = xasprintf ("%s/%s", pki_dir, linked[i]);
          cleanup_free char *link = xasprintf ("%s/%s", tmp, linked[i]);
          if (symlink (target, link) < 0)
            child_fail (errfd, errno, "symlink %s", link);
        }
      if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) < 0)
        {
          if (errno != EEXIST)
            child_fail (errfd, errno, "rename %s to %s", tmp, dir);
          /* another pod of the namespace made it first */
          for (size_t i = 0; i < ARRAY_SIZE (linked); i++)
            {
              cleanup_free char *link = xasprintf ("%s/%s", tmp, linked[i]);
              unlink (link);
            }
          unlink (nsfile);
          rmdir (tmp);
        }
      if (lstat (dir, &st) < 0)
        child_fail (errfd, errno, "stat %s", dir);
    }
  if (!S_ISDIR (st.st_mode))
    child_fail (errfd, ENOTDIR, "%s", dir);
  char run[PATH_MAX];
  if (realpath ("/var/run", run) == NULL)
    child_fail (errfd, errno, "realpath /var/run");
  cleanup_free char *dst = xasprintf ("%s/%s", run, SANDBOX_SA_DIR);
  if (mount (dir, dst, NULL, MS_BIND, NULL) < 0)
    child_fail (errfd, errno, "bind-mount %s over %s", dir, dst);
  if (mount (NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
    child_fail (errfd, errno, "remount %s read-only", dst);
}

void
pause_setup_fail (int errfd, int errnum, const char *what)
{
  child_fail (errfd, errnum, "%s", what);
}

void
pause_setup (struct pause_setup *out)
{
  int errfd = SANDBOX_ERR_FD;
  /* Nothing of ours may reach the app through an exec. */
  if (fcntl (errfd, F_SETFD, FD_CLOEXEC) < 0)
    _exit (127);
  /* A node's spawner forked us into it already (spawner_serve). */
  if (!out->own_pid_ns)
    enter_pid_ns (errfd);
  /* Our pid as the spawner sees it (SCM_CREDENTIALS). It is gone: nobody
   * recorded us. */
  if (proc_send_pid (SANDBOX_GO_FD) < 0)
    _exit (0);
  char go = 0;
  ssize_t r;
  do
    r = read (SANDBOX_GO_FD, &go, 1);
  while (r < 0 && errno == EINTR);
  /* EOF: the parent died or refused before recording us; a process nobody
   * knows about must not live on. */
  if (r != 1 || go != 'g')
    _exit (0);
  uint32_t total = 0;
  if (! read_full (SANDBOX_GO_FD, &total, sizeof total) || total > (64u << 20))
    child_fail (errfd, EPROTO, "short pause spec");
  char *buf = xmalloc (total + 1);
  if (! read_full (SANDBOX_GO_FD, buf, total))
    child_fail (errfd, EPROTO, "short pause spec");
  close (SANDBOX_GO_FD);
  char *p = buf, *end = buf + total;
  char *f[20];
  for (size_t i = 0; i < ARRAY_SIZE (f); i++)
    if (! get_str (&p, end, &f[i]))
      child_fail (errfd, EPROTO, "bad pause spec");
  uint32_t argc = 0;
  if ((size_t) (end - p) < sizeof argc)
    child_fail (errfd, EPROTO, "bad pause spec");
  memcpy (&argc, p, sizeof argc);
  p += sizeof argc;
  if (argc > total)
    child_fail (errfd, EPROTO, "bad pause spec");
  char **argv = xcalloc ((size_t) argc + 1, sizeof *argv);
  for (uint32_t i = 0; i < argc; i++)
    if (! get_str (&p, end, &argv[i]) || argv[i] == NULL)
      child_fail (errfd, EPROTO, "bad pause spec");
  uint32_t nfiles = 0;
  if ((size_t) (end - p) < sizeof nfiles)
    child_fail (errfd, EPROTO, "bad pause spec");
  memcpy (&nfiles, p, sizeof nfiles);
  p += sizeof nfiles;
  if (nfiles > total || nfiles % 2)
    child_fail (errfd, EPROTO, "bad pause spec");
  char **files = xcalloc ((size_t) nfiles + 1, sizeof *files);
  for (uint32_t i = 0; i < nfiles; i++)
    if (! get_str (&p, end, &files[i]) || files[i] == NULL || (i % 2 == 0 && files[i][0] != '/'))
      child_fail (errfd, EPROTO, "bad pause spec");
  struct pause_app app = { .kind = (enum pause_app_kind) atoi (f[7] ? f[7] : "0"),
                           .port = (uint16_t) atoi (f[8] ? f[8] : "0"), .argv = argv, .path = f[11],
                           .ready_fd = f[16] != NULL };
  struct pause_spec sp = { .netns_path = f[0], .hostname = f[1], .files_dir = f[2], .etc_hosts = f[3],
                           .resolv_conf = f[4], .log_path = f[5], .mnt_template = f[6] ? SANDBOX_TEMPLATE_FD : -1,
                           .app = &app, .privileged = f[9] != NULL, .files = files,
                           .restart = (enum pause_restart) atoi (f[10] ? f[10] : "0"), .sa_pki_dir = f[12],
                           .sa_namespace = f[13], .own_netns_dir = f[14] != NULL, .sys_rdonly = f[17] != NULL,
                           .cap_add = f[15] ? strtoull (f[15], NULL, 16) : 0 };
  const struct pause_spec *spec = &sp;
  bool netns_at_fd = f[18] != NULL;

  if (setsid () < 0)
    child_fail (errfd, errno, "setsid");
  if (netns_at_fd)
    {
      if (setns (SANDBOX_NETNS_FD, CLONE_NEWNET) < 0)
        child_fail (errfd, errno, "setns the pod's network namespace");
      close (SANDBOX_NETNS_FD);
    }
  else if (spec->netns_path)
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
  if (spec->mnt_template > 0)
    {
      if (setns (spec->mnt_template, CLONE_NEWNS) < 0)
        child_fail (errfd, errno, "setns the template mount namespace");
      close (spec->mnt_template);
    }
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
  mount_own_sys_proc (errfd, spec);
  /* A node's own /run/netns (runtime/node_netns.h): empty until its pods'
   * names are bound in, rather than the host directory under the detached
   * mount, whose leftover mount points are no namespaces ("Peer netns
   * reference is invalid" from every `ip addr`). Private to this mount
   * namespace: nothing of it reaches the host or the pods. */
  if (spec->own_netns_dir
      && mount ("tmpfs", SANDBOX_NETNS_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
    child_fail (errfd, errno, "mount a tmpfs on " SANDBOX_NETNS_DIR);
  if (spec->hostname && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    child_fail (errfd, errno, "sethostname %s", spec->hostname);

  if ((spec->hostname || spec->etc_hosts || spec->resolv_conf || (spec->files && spec->files[0]))
      && spec->files_dir == NULL)
    child_fail (errfd, EINVAL, "no files_dir for the pod's /etc files");
  int files_dirfd = -1;
  if (spec->files_dir)
    {
      struct stat sb;
      if (mkdir (spec->files_dir, 0700) < 0
          && (errno != EEXIST || lstat (spec->files_dir, &sb) < 0 || !S_ISDIR (sb.st_mode)))
        child_fail (errfd, errno ? errno : ENOTDIR, "mkdir %s", spec->files_dir);
      /* Kept for the status file (pause_status_write). */
      int dfd = open (spec->files_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      /* Out of the way of APPSOCK_FD and the other low fds. */
      files_dirfd = dfd < 0 ? -1 : fcntl (dfd, F_DUPFD_CLOEXEC, 10);
      if (files_dirfd < 0)
        child_fail (errfd, errno, "open %s", spec->files_dir);
      close (dfd);
    }
  if (spec->hostname || spec->etc_hosts || spec->resolv_conf)
    {
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
  if (spec->sa_pki_dir && spec->sa_namespace && spec->files_dir && spec->mnt_template > 0)
    provide_service_account (errfd, spec->files_dir, spec->sa_pki_dir, spec->sa_namespace);
  for (size_t i = 0; spec->files && spec->files[i] && spec->files[i + 1]; i += 2)
    provide_private_file (errfd, spec->files_dir, i / 2, spec->files[i], spec->files[i + 1]);
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

  *out = (struct pause_setup) { .errfd = errfd, .files_dirfd = files_dirfd, .restart = spec->restart,
                                .app_kind = spec->app->kind, .privileged = spec->privileged,
                                .cap_add = spec->cap_add, .spawner = f[19] != NULL,
                                .backoff_ms = 10000 };
  const char *backoff = getenv (SANDBOX_BACKOFF_ENV);
  if (backoff && atoi (backoff) > 0)
    out->backoff_ms = (unsigned) atoi (backoff);
  /* The app's environment is ours without the setup marker. */
  unsetenv (PAUSE_SETUP_ENV);
  unsetenv (SANDBOX_BACKOFF_ENV);
  unsetenv (SPAWNER_TITLE_ENV);
  if (spec->app->kind == PAUSE_APP_HTTP)
    {
      /* Bound here, so that a port in use fails `nslab up`; the caller
       * forks the built-in app, which finds it at APPSOCK_FD. */
      nslab_error_t err = NULL;
      int fd = -1;
      if (appsock_listen (spec->app->port, &fd, &err) < 0)
        {
          int e = err->status;
          child_fail (errfd, e, "app http:%u: %s", spec->app->port, err->msg);
        }
      if (fd != APPSOCK_FD && (dup2 (fd, APPSOCK_FD) < 0 || close (fd) < 0))
        child_fail (errfd, errno, "dup2");
      out->http_port = spec->app->port;
    }
  else if (spec->app->kind == PAUSE_APP_COMMAND)
    {
      pid_t self = getpid ();
      pid_t app_pid = fork ();
      if (app_pid < 0)
        child_fail (errfd, errno, "fork the app");
      if (app_pid == 0)
        start_app (argv, spec->app->path, spec->privileged, spec->cap_add, self, errfd, spec->app->ready_fd);
      out->app_pid = app_pid;
      /* Kept for restarts (its strings live in buf). */
      out->app_argv = argv;
      out->app_path = spec->app->path;
      return;
    }
  free (argv);
  free (buf);
}

