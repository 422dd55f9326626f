/* Processes by pid and start time (see proc.h). Signals go through a pidfd
 * opened before the start time is checked, so once the check passes no
 * recycled pid can be hit. */
#include "kernel/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "base/util.h"

int
proc_read_stat (pid_t pid, struct proc_stat *out)
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
  *out = (struct proc_stat) { .state = '?' };
  char *save = NULL;
  int field = 2;
  for (char *tok = strtok_r (p, " ", &save); tok; tok = strtok_r (NULL, " ", &save))
    {
      field++;
      if (field == 3)
        out->state = tok[0];
      else if (field == 4)
        out->ppid = (pid_t) strtol (tok, NULL, 10);
      else if (field == 5)
        out->pgrp = (pid_t) strtol (tok, NULL, 10);
      else if (field == 9)
        out->flags = (unsigned) strtoul (tok, NULL, 10);
      else if (field == 22)
        {
          char *end;
          errno = 0;
          unsigned long long v = strtoull (tok, &end, 10);
          if (errno || end == tok)
            return -EINVAL;
          out->starttime = v;
          return 0;
        }
    }
  return -EINVAL;
}

int
proc_starttime (pid_t pid, uint64_t *out, nslab_error_t *err)
{
  struct proc_stat ps;
  int r = proc_read_stat (pid, &ps);
  if (r < 0)
    return nslab_error (err, -r, "read /proc/%d/stat", (int) pid);
  *out = ps.starttime;
  return 0;
}

bool
proc_alive (pid_t pid, uint64_t starttime)
{
  struct proc_stat ps;
  if (pid <= 0 || proc_read_stat (pid, &ps) < 0)
    return false;
  /* A zombie has exited; only its parent has not collected it yet. */
  return ps.starttime == starttime && ps.state != 'Z' && ps.state != 'X';
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
proc_open_verified (pid_t pid, uint64_t starttime)
{
  if (pid <= 0)
    {
      errno = ESRCH;
      return -1;
    }
  int fd = sys_pidfd_open (pid);
  if (fd < 0)
    return -1;
  if (! proc_alive (pid, starttime))
    {
      close (fd);
      errno = ESRCH;
      return -1;
    }
  return fd;
}

bool
proc_pidfd_alive (int pidfd)
{
  return sys_pidfd_send_signal (pidfd, 0) == 0;
}

int
proc_kill_start (pid_t pid, uint64_t starttime, nslab_error_t *err)
{
  if (pid <= 0)
    return nslab_error_invalid (err, "kill: invalid pid %d", (int) pid);
  /* Open the pidfd first, then check the start time: if it matches, the
   * pidfd names our process and no recycled pid can be hit afterwards. */
  int pidfd = sys_pidfd_open (pid);
  if (pidfd < 0)
    {
      if (errno == ESRCH)
        return -1;
      return nslab_error (err, errno, "pidfd_open %d", (int) pid);
    }
  struct proc_stat ps;
  int r = proc_read_stat (pid, &ps);
  if (r == -ENOENT || r == -ESRCH || (r == 0 && ps.starttime != starttime))
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
  if (ps.pgrp == pid && kill (-pid, SIGKILL) < 0 && errno != ESRCH)
    {
      close (pidfd);
      return nslab_error (err, errno, "kill process group %d", (int) pid);
    }
  if (ps.state != 'Z' && ps.state != 'X' && sys_pidfd_send_signal (pidfd, SIGKILL) < 0 && errno != ESRCH)
    {
      close (pidfd);
      return nslab_error (err, errno, "kill %d", (int) pid);
    }
  return pidfd;
}

int
proc_kill_wait (int pidfd, pid_t pid, nslab_error_t *err)
{
  /* Not our child (usually): waitpid cannot be used, but the pidfd turns
   * readable once the process has exited. */
  cleanup_close int fd = pidfd;
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  for (;;)
    {
      int n = poll (&pfd, 1, PROC_KILL_WAIT_MS);
      if (n > 0)
        return 0;
      if (n == 0)
        return nslab_error (err, 0, "process %d did not exit within %d s of SIGKILL", (int) pid,
                            PROC_KILL_WAIT_MS / 1000);
      if (errno != EINTR)
        return nslab_error (err, errno, "poll pidfd of %d", (int) pid);
    }
}

int
proc_kill (pid_t pid, uint64_t starttime, nslab_error_t *err)
{
  nslab_error_t e = NULL;
  int fd = proc_kill_start (pid, starttime, &e);
  if (fd < 0)
    {
      if (e == NULL)
        return 0;
      nslab_error_keep_first (err, &e);
      return -1;
    }
  return proc_kill_wait (fd, pid, err);
}

static char *title_start;  /* argv[0] */
static char *title_argv_end; /* one past argv's last NUL: the kernel's arg_end */
static char *title_end;    /* one past the last contiguous environment string */

void
proc_title_init (int argc, char **argv)
{
  if (argc <= 0 || argv == NULL || argv[0] == NULL)
    return;
  char *end = argv[0];
  for (int i = 0; i < argc; i++)
    {
      if (argv[i] != end)
        return; /* not one contiguous area: leave it */
      end = argv[i] + strlen (argv[i]) + 1;
    }
  title_start = argv[0];
  title_argv_end = end;
  size_t n = 0;
  for (char **e = environ; e && *e; e++)
    n++;
  /* The environment moves out of the area, as setproctitle's does, so that
   * a title written there does not overwrite it. */
  char **copy = xcalloc (n + 1, sizeof *copy);
  for (size_t i = 0; i < n; i++)
    {
      if (environ[i] == end)
        end = environ[i] + strlen (environ[i]) + 1;
      copy[i] = xstrdup (environ[i]);
    }
  environ = copy;
  title_end = end;
}

void
proc_title_set (const char *title)
{
  if (title_start == NULL)
    return;
  size_t room = (size_t) (title_end - title_start);
  size_t n = strlen (title);
  if (n > room - 1)
    n = room - 1;
  /* The environment area only when the title needs it: /proc/PID/environ
   * still shows it otherwise. */
  size_t argv_room = (size_t) (title_argv_end - title_start);
  memset (title_start, 0, n + 1 > argv_room ? room : argv_room);
  memcpy (title_start, title, n);
  /* argv's last byte not NUL tells the kernel to read up to the first NUL
   * (the title's) rather than the whole argv area with what follows it. */
  if (title_start + n + 1 < title_argv_end)
    title_argv_end[-1] = ' ';
}

int
proc_send_pid (int fd)
{
  struct ucred uc = { .pid = getpid (), .uid = getuid (), .gid = getgid () };
  char c = 'p';
  struct iovec iov = { .iov_base = &c, .iov_len = 1 };
  union {
    char buf[CMSG_SPACE (sizeof (struct ucred))];
    struct cmsghdr align;
  } u;
  memset (&u, 0, sizeof u);
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *cm = CMSG_FIRSTHDR (&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_CREDENTIALS;
  cm->cmsg_len = CMSG_LEN (sizeof uc);
  memcpy (CMSG_DATA (cm), &uc, sizeof uc);
  ssize_t w;
  do
    w = sendmsg (fd, &mh, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w == 1)
    return 0;
  if (w >= 0)
    errno = EPROTO;
  return -1;
}

pid_t
proc_receive_pid (int fd)
{
  char c = 0;
  struct iovec iov = { .iov_base = &c, .iov_len = 1 };
  union {
    char buf[CMSG_SPACE (sizeof (struct ucred))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t r;
  do
    r = recvmsg (fd, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r != 1 || c != 'p')
    {
      errno = r < 0 ? errno : EPROTO;
      return 0;
    }
  for (struct cmsghdr *cm = CMSG_FIRSTHDR (&mh); cm; cm = CMSG_NXTHDR (&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS
        && cm->cmsg_len == CMSG_LEN (sizeof (struct ucred)))
      {
        struct ucred uc;
        memcpy (&uc, CMSG_DATA (cm), sizeof uc);
        if (uc.pid > 0)
          return uc.pid;
      }
  errno = EPROTO;
  return 0;
}

pid_t
proc_vfork_call (int (*fn) (void *), void *arg)
{
  /* The child needs little: a few system calls, then execve or _exit. */
  const size_t stack_size = 64 * 1024;
  void *stack = mmap (NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    return -1;
  /* No handler of ours may run in the child, in our memory: it starts with
   * every signal blocked (proc_vfork_exec_signals lets them in for its
   * program), as this thread is again once it resumes. */
  sigset_t all, old;
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, &old);
  pid_t pid = clone (fn, (char *) stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
  int e = errno;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
#ifdef __SANITIZE_ADDRESS__
  /* The child's frames never return (it execs or exits), so ASan's marks
   * for them stay in the shadow; the next mapping at this address (a
   * thread's stack, a heap arena) would then be reported as overflowing. */
  __asan_unpoison_memory_region (stack, stack_size);
#endif
  munmap (stack, stack_size);
  errno = e;
  return pid;
}

void
proc_vfork_exec_signals (const sigset_t *mask)
{
  for (int sig = 1; sig < NSIG; sig++)
    {
      struct sigaction sa;
      if (sigaction (sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
        {
          sa.sa_handler = SIG_DFL;
          sa.sa_flags = 0;
          sigaction (sig, &sa, NULL);
        }
    }
  sigprocmask (SIG_SETMASK, mask, NULL);
}

bool
proc_await_go (int fd)
{
  char b;
  ssize_t r;
  do
    r = read (fd, &b, 1);
  while (r < 0 && errno == EINTR);
  close (fd);
  return r == 1;
}
