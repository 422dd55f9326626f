/* A node's pod spawner (see spawner.h): the node's pause process serving
 * requests (the client's side is pause_spawn_begin's, in pause.c). It is
 * linked into the static nslab-pause. */
#include "runtime/spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/proc.h"
#include "runtime/sandbox.h"

socklen_t
spawner_address (struct sockaddr_un *sa)
{
  memset (sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  /* Abstract: sun_path[0] is NUL, the name follows, no terminator. */
  memcpy (sa->sun_path + 1, SPAWNER_SOCKET, strlen (SPAWNER_SOCKET));
  return (socklen_t) (offsetof (struct sockaddr_un, sun_path) + 1 + strlen (SPAWNER_SOCKET));
}

/* The node's own PID namespace, for its children again after each pod's
 * fork (spawner_serve). */
static int own_pidns = -1;

int
spawner_listen (void)
{
  if (own_pidns < 0 && (own_pidns = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0)
    return -1;
  int fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_un sa;
  socklen_t sl = spawner_address (&sa);
  if (bind (fd, (struct sockaddr *) &sa, sl) < 0 || listen (fd, 64) < 0 || fcntl (fd, F_SETOWN, getpid ()) < 0
      || fcntl (fd, F_SETFL, O_NONBLOCK | O_ASYNC) < 0)
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  return fd;
}

static void
close_fds (int *fds, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
}

/* One request from CONN: its message in *BUF (the caller frees it) and
 * its fds. False (reported) when it is not a well-formed request of root. */
static bool
receive_request (int conn, char **buf_out, size_t *len_out, int *fds, size_t *nfds)
{
  /* nslab (up, or the lab's runtime agent) runs outside the node's PID
   * namespace, so its pid reads 0 here. Anything inside it (a command
   * nslab exec started in the node, a hostNetwork pod's app with
   * containerd's default capabilities) would get a pause process with
   * every capability: refused, root or not. */
  struct ucred peer;
  socklen_t pl = sizeof peer;
  if (getsockopt (conn, SOL_SOCKET, SO_PEERCRED, &peer, &pl) < 0 || peer.uid != 0 || peer.pid != 0)
    {
      dprintf (STDERR_FILENO, "nslab-pause: spawner: a request from process %d (uid %d) in the node, refused\n",
               (int) peer.pid, (int) peer.uid);
      return false;
    }
  /* The client sends right after it connected; a client that does not
   * must not stop the node's pause process for long. */
  struct timeval tv = { .tv_sec = 1 };
  setsockopt (conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int fl = fcntl (conn, F_GETFL);
  if (fl >= 0)
    fcntl (conn, F_SETFL, fl & ~O_NONBLOCK);
  char *buf = xmalloc (SPAWNER_MSG_MAX);
  union {
    char b[CMSG_SPACE (SPAWNER_MAX_FDS * sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = buf, .iov_len = SPAWNER_MSG_MAX };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b };
  ssize_t r;
  do
    r = recvmsg (conn, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  *nfds = 0;
  /* Whatever fds came are ours to close, whatever else is wrong. */
  for (struct cmsghdr *cm = r >= 0 ? CMSG_FIRSTHDR (&mh) : NULL; cm; cm = CMSG_NXTHDR (&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
      {
        size_t n = (cm->cmsg_len - CMSG_LEN (0)) / sizeof (int);
        for (size_t i = 0; i < n; i++)
          {
            int f;
            memcpy (&f, CMSG_DATA (cm) + i * sizeof (int), sizeof f);
            if (*nfds < SPAWNER_MAX_FDS)
              fds[(*nfds)++] = f;
            else
              close (f);
          }
      }
  /* The message ends with an empty string (two NULs), and has the fds a
   * pause process needs. */
  if (r < 2 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || buf[r - 1] != '\0' || buf[r - 2] != '\0'
      || *nfds < SPAWNER_FD_TEMPLATE || buf[0] == '\0')
    {
      dprintf (STDERR_FILENO, "nslab-pause: spawner: bad request (%zd bytes, %zu fds), refused\n", r, *nfds);
      close_fds (fds, *nfds);
      free (buf);
      return false;
    }
  *buf_out = buf;
  *len_out = (size_t) r;
  return true;
}

/* In the forked child: the request's fds where an exec'd nslab-pause finds
 * them, nothing else open but stdio; its environment and title. */
static void
become_requested (char *buf, size_t len, int *fds, size_t nfds)
{
  static const int want[] = { [SPAWNER_FD_GO] = SANDBOX_GO_FD, [SPAWNER_FD_ERR] = SANDBOX_ERR_FD,
                              [SPAWNER_FD_NETNS] = SANDBOX_NETNS_FD, [SPAWNER_FD_TEMPLATE] = SANDBOX_TEMPLATE_FD };
  int moved[SPAWNER_MAX_FDS];
  /* Above every target first, so that no dup2 clobbers another's source. */
  for (size_t i = 0; i < nfds; i++)
    if ((moved[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
      _exit (127);
  for (size_t i = 0; i < nfds; i++)
    if (dup2 (moved[i], want[i]) < 0)
      _exit (127);
  /* Everything else of the node's pause process goes (the targets are
   * not close-on-exec, as posix_spawn's dup2 leaves them). */
  int top = SANDBOX_NETNS_FD;
  close_range ((unsigned) top + 1, ~0U, 0);
  if (nfds <= SPAWNER_FD_TEMPLATE)
    close (SANDBOX_TEMPLATE_FD);
  clearenv ();
  char *p = buf + strlen (buf) + 1;
  for (; p < buf + len && *p; p += strlen (p) + 1)
    putenv (p);
  proc_title_set (buf);
  /* As posix_spawn set it for an exec'd one: pause_main takes over. */
  sigset_t mask;
  sandbox_start_mask (&mask);
  sigprocmask (SIG_SETMASK, &mask, NULL);
  signal (SIGIO, SIG_DFL);
}

bool
spawner_serve (int lfd)
{
  for (;;)
    {
      int conn = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
      if (conn < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK)
            dprintf (STDERR_FILENO, "nslab-pause: spawner: accept: %s\n", strerror (errno));
          return false;
        }
      char *buf = NULL;
      size_t len = 0, nfds = 0;
      int fds[SPAWNER_MAX_FDS];
      bool ok = receive_request (conn, &buf, &len, fds, &nfds);
      close (conn);
      if (!ok)
        continue;
      /* The pod's PID namespace made here, for the one child forked next
       * (its PID 1), and ours again for every other child (the node's
       * app's restarts). An exec'd pause process makes it itself, with a
       * second fork whose parent exits: a fork of the whole process and
       * an exit more per pod (page tables copied and torn down,
       * copy-on-write faults). The node, the child's parent, reaps it as
       * it reaped the one that used to be reparented to it. */
      pid_t pid = unshare (CLONE_NEWPID) == 0 ? fork () : -1;
      int fork_err = errno;
      if (pid != 0 && setns (own_pidns, CLONE_NEWPID) < 0)
        dprintf (STDERR_FILENO, "nslab-pause: spawner: back to the node's PID namespace: %s\n", strerror (errno));
      errno = fork_err;
      if (pid == 0)
        {
          close (lfd);
          become_requested (buf, len, fds, nfds);
          return true;
        }
      /* The client sees the go socket close and reads this. */
      if (pid < 0)
        sandbox_report (fds[SPAWNER_FD_ERR], errno, "spawner: fork");
      close_fds (fds, nfds);
      free (buf);
    }
}
