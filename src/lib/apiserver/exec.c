/* kubectl exec's session, whichever transport carries it (see exec.h,
 * exec_transport.h). */
#include "apiserver/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "apiserver/exec_transport.h"
#include "base/util.h"
#include "runtime/pause.h"

/* The kubelet's streamCreationTimeout: how long kubectl has to open the
 * streams it asked for. */
#define STREAMS_TIMEOUT_US (30 * 1000000LL)
/* How long the command waits for the terminal's first size. */
#define FIRST_SIZE_TIMEOUT_US (200 * 1000LL)
/* How long the queued output may take to leave without any progress, and
 * how long the peer then has to answer the close. */
#define FLUSH_STALL_US (10 * 1000000LL)
#define CLOSE_TIMEOUT_US (5 * 1000000LL)
/* The most read from the command at once. */
#define READ_CHUNK 16384

void
exec_request_free (struct exec_request *r)
{
  if (r == NULL)
    return;
  free (r->lab);
  free (r->ns);
  free (r->pod);
  for (size_t i = 0; i < r->argc; i++)
    free (r->argv[i]);
  free (r->argv);
  free (r);
}

struct exec_io {
  int in_fd;  /* the command's stdin (the pty master with a tty), -1 once closed */
  int tty_fd; /* the pty master, or -1 */
  struct winsize size; /* the terminal's size, once the client said it */
  /* Input that came before the command started (with a terminal, it waits
   * for the first size), and whether it ended there. */
  bool started, ended;
  struct strbuf early;
};

void
exec_io_stdin (struct exec_io *io, const void *data, size_t len)
{
  const char *p = data;
  if (!io->started)
    {
      sb_addn (&io->early, p, len);
      return;
    }
  /* A failed write (the program closed its stdin) drops the rest. */
  if (io->in_fd >= 0)
    (void) fd_write_all (io->in_fd, p, len);
}

void
exec_io_stdin_end (struct exec_io *io)
{
  if (!io->started)
    {
      io->ended = true;
      return;
    }
  if (io->in_fd >= 0 && io->in_fd != io->tty_fd)
    close (io->in_fd);
  else if (io->in_fd >= 0)
    {
      /* A terminal's end of input: ^D, as a terminal would send. */
      const char eot = 4;
      (void) !write (io->in_fd, &eot, 1);
    }
  io->in_fd = -1;
}

void
exec_io_resize (struct exec_io *io, const void *json, size_t len)
{
  json_error_t je;
  json_t *j = json_loadb (json, len, 0, &je);
  struct winsize ws = { .ws_col = (unsigned short) json_integer_value (json_object_get (j, "Width")),
                        .ws_row = (unsigned short) json_integer_value (json_object_get (j, "Height")) };
  if (ws.ws_col && ws.ws_row)
    {
      io->size = ws;
      if (io->tty_fd >= 0)
        ioctl (io->tty_fd, TIOCSWINSZ, &ws);
    }
  json_decref (j);
}

ssize_t
exec_transport_recv (struct exec_transport *t, void *buf, size_t len)
{
  if (t->extra_len)
    {
      size_t n = len < t->extra_len ? len : t->extra_len;
      memcpy (buf, t->extra, n);
      t->extra += n;
      t->extra_len -= n;
      return (ssize_t) n;
    }
  ssize_t r;
  while ((r = recv (t->sock, buf, len, 0)) < 0 && errno == EINTR)
    ;
  return r;
}

ssize_t
exec_transport_send (struct exec_transport *t, const void *buf, size_t len)
{
  ssize_t r;
  while ((r = send (t->sock, buf, len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
    ;
  return r;
}

/* What goes on the error channel when the command ended with STATUS (-1:
 * it could not start), or NULL for nothing: v4 and later a Status (its
 * exit code in the causes, as the kubelet writes it), before v4 only a
 * failure's message. */
static char *
status_message (int version, int status)
{
  if (status < 0)
    return version >= 4 ? xstrdup ("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"the lab could not start "
                                   "the command\",\"reason\":\"InternalError\",\"code\":500}")
                        : xstrdup ("the lab could not start the command");
  if (status == 0)
    return version >= 4 ? xstrdup ("{\"metadata\":{},\"status\":\"Success\"}") : NULL;
  if (version < 4)
    return xasprintf ("command terminated with non-zero exit code: error executing command, exit code %d", status);
  return xasprintf ("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit "
                    "code: error executing command, exit code %d\",\"reason\":\"NonZeroExitCode\",\"details\":{"
                    "\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"%d\"}]}}",
                    status, status);
}

/* One round on the socket: wait up to TIMEOUT_MS for it, then receive and
 * send what it allows. False when the connection is over. */
static bool
pump_socket (struct exec_transport *t, int timeout_ms)
{
  struct pollfd p = { .fd = t->sock, .events = POLLIN | (t->ops->want_write (t) ? POLLOUT : 0) };
  if (t->extra_len == 0 && poll (&p, 1, timeout_ms) < 0 && errno != EINTR)
    return false;
  if (t->extra_len)
    p.revents |= POLLIN;
  if ((p.revents & POLLIN) && !t->ops->receive (t))
    return false;
  if ((p.revents & POLLOUT) && !t->ops->send (t))
    return false;
  if ((p.revents & (POLLERR | POLLHUP)) && !(p.revents & POLLIN))
    return false;
  return !t->peer_gone;
}

/* Start nslab exec for R with its stdio on fds (a pty or pipes). */
static pid_t
spawn (const struct exec_request *r, int *in, int *out, int *err_fd, int *tty)
{
  *in = *out = *err_fd = *tty = -1;
  int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, master = -1;
  char *slave = NULL;
  if (r->tty)
    {
      master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0 || (slave = ptsname (master)) == NULL)
        {
          if (master >= 0)
            close (master);
          return -1;
        }
      slave = xstrdup (slave);
    }
  else if ((r->stdin_ && pipe2 (pin, O_CLOEXEC) < 0) || pipe2 (pout, O_CLOEXEC) < 0 || pipe2 (perr, O_CLOEXEC) < 0)
    return -1;
  size_t n = 0;
  char **argv = xcalloc (r->argc + 9, sizeof *argv);
  argv[n++] = (char *) "nslab";
  argv[n++] = (char *) "exec";
  argv[n++] = r->lab;
  argv[n++] = (char *) "-n";
  argv[n++] = r->ns;
  cleanup_free char *target = xasprintf ("pod/%s", r->pod);
  argv[n++] = target;
  argv[n++] = (char *) "--";
  for (size_t i = 0; i < r->argc; i++)
    argv[n++] = r->argv[i];
  pid_t pid = fork ();
  if (pid == 0)
    {
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      setsid ();
      /* The terminal is nobody's controlling terminal yet: nslab exec
       * makes it the command's, in the pod's PID namespace (where a
       * session led from here would have no number). */
      if (slave)
        {
          int sfd = open (slave, O_RDWR | O_NOCTTY);
          if (sfd < 0 || dup2 (sfd, 0) < 0 || dup2 (sfd, 1) < 0 || dup2 (sfd, 2) < 0)
            _exit (126);
        }
      else
        {
          int nul = open ("/dev/null", O_RDONLY);
          if (dup2 (pin[0] >= 0 ? pin[0] : nul, 0) < 0 || dup2 (pout[1], 1) < 0 || dup2 (perr[1], 2) < 0)
            _exit (126);
        }
      unsetenv ("KUBECONFIG");
      setenv ("TERM", "xterm", 0);
      /* nslab itself, as up named it to us (HELPER_NSLAB_ENV): we are
       * nslab-apiserver, which has no exec command. */
      const char *nslab = getenv (HELPER_NSLAB_ENV);
      execv (nslab ? nslab : "/proc/self/exe", argv);
      _exit (127);
    }
  free (argv);
  free (slave);
  if (pin[0] >= 0)
    close (pin[0]);
  if (pout[1] >= 0)
    close (pout[1]);
  if (perr[1] >= 0)
    close (perr[1]);
  if (pid < 0)
    {
      for (int *f = (int[]) { pin[1], pout[0], perr[0], master }, i = 0; i < 4; i++)
        if (f[i] >= 0)
          close (f[i]);
      return -1;
    }
  if (master >= 0)
    {
      *tty = *out = master;
      *in = r->stdin_ ? master : -1;
    }
  else
    {
      *in = pin[1];
      *out = pout[0];
      *err_fd = perr[0];
    }
  return pid;
}

void
exec_session (struct exec_request *r, int sock, const char *extra, size_t extra_len)
{
  struct exec_io io = { .in_fd = -1, .tty_fd = -1 };
  sb_init (&io.early);
  struct exec_transport *t = r->spdy ? exec_spdy_new (r) : exec_websocket_new (r);
  int out = -1, err_fd = -1, status = -1;
  pid_t pid = -1;
  t->sock = sock;
  t->extra = extra;
  t->extra_len = extra_len;
  t->io = &io;
  int flags = fcntl (sock, F_GETFL);
  fcntl (sock, F_SETFL, flags | O_NONBLOCK);
  bool up = true;
  /* SPDY: the streams kubectl opens, one per channel, before anything. */
  for (int64_t until = monotonic_us () + STREAMS_TIMEOUT_US; up && !t->ops->ready (t);)
    up = monotonic_us () < until && pump_socket (t, 100);
  /* kubectl says the terminal's size first: the command starts with it
   * (stty size, a full-screen program), as a container's does. */
  for (int64_t until = monotonic_us () + FIRST_SIZE_TIMEOUT_US;
       up && r->tty && io.size.ws_col == 0 && monotonic_us () < until;)
    up = pump_socket (t, 10);
  if (!up || t->peer_gone)
    goto out;
  pid = spawn (r, &io.in_fd, &out, &err_fd, &io.tty_fd);
  if (io.tty_fd >= 0 && io.size.ws_col)
    ioctl (io.tty_fd, TIOCSWINSZ, &io.size);
  io.started = true;
  if (io.early.len)
    exec_io_stdin (&io, io.early.buf, io.early.len);
  if (io.ended)
    exec_io_stdin_end (&io);
  /* Until the command's output is drained and it has exited, or the peer
   * left; the command's output is read only as fast as the peer takes it. */
  while (pid > 0 && !t->peer_gone && (out >= 0 || err_fd >= 0))
    {
      int *fds[2] = { &out, &err_fd };
      enum exec_channel chs[2] = { EXEC_STDOUT, EXEC_STDERR };
      size_t room[2];
      struct pollfd p[3] = { { .fd = sock, .events = POLLIN | (t->ops->want_write (t) ? POLLOUT : 0) } };
      for (int k = 0; k < 2; k++)
        {
          room[k] = *fds[k] >= 0 ? t->ops->room (t, chs[k]) : 0;
          p[k + 1] = (struct pollfd) { .fd = room[k] ? *fds[k] : -1, .events = POLLIN };
        }
      if (t->extra_len == 0 && poll (p, 3, 1000) < 0 && errno != EINTR)
        break;
      if (t->extra_len)
        p[0].revents |= POLLIN;
      if ((p[0].revents & POLLIN) && !t->ops->receive (t))
        break;
      if ((p[0].revents & POLLOUT) && !t->ops->send (t))
        break;
      if ((p[0].revents & (POLLERR | POLLHUP)) && !(p[0].revents & POLLIN))
        break;
      for (int k = 0; k < 2; k++)
        if (p[k + 1].fd >= 0 && (p[k + 1].revents & (POLLIN | POLLHUP | POLLERR)))
          {
            char buf[READ_CHUNK];
            ssize_t n = read (*fds[k], buf, room[k] < sizeof buf ? room[k] : sizeof buf);
            if (n > 0)
              t->ops->output (t, chs[k], buf, (size_t) n);
            else if (n == 0 || errno != EINTR)
              {
                /* A pty's master reads EIO once the command has exited. */
                if (*fds[k] == io.tty_fd)
                  io.tty_fd = -1, io.in_fd = -1;
                close (*fds[k]);
                *fds[k] = -1;
                t->ops->output_end (t, chs[k]);
              }
          }
      if (t->ops->want_write (t) && !t->ops->send (t))
        break;
    }
  if (pid > 0)
    {
      if (t->peer_gone || out >= 0 || err_fd >= 0)
        kill (pid, SIGTERM);
      int ws;
      while (waitpid (pid, &ws, 0) < 0 && errno == EINTR)
        ;
      status = WIFEXITED (ws) ? WEXITSTATUS (ws) : 128 + WTERMSIG (ws);
    }
  if (!t->peer_gone)
    {
      cleanup_free char *msg = status_message (r->version, status);
      if (msg)
        t->ops->output (t, EXEC_ERROR, msg, strlen (msg));
      t->ops->output_end (t, EXEC_ERROR);
      /* All of it out before the close: closing the upgraded connection at
       * once could drop what is still on its way through the TLS layer,
       * the exit status with it. */
      int64_t stall = monotonic_us () + FLUSH_STALL_US;
      while (t->ops->want_write (t) && monotonic_us () < stall)
        {
          struct pollfd p = { .fd = sock, .events = POLLOUT };
          if (poll (&p, 1, 100) < 0 && errno != EINTR)
            break;
          if (p.revents & (POLLERR | POLLHUP))
            break;
          if ((p.revents & POLLOUT) && !t->ops->send (t))
            break;
          if (p.revents & POLLOUT)
            stall = monotonic_us () + FLUSH_STALL_US;
        }
      t->ops->close (t);
      for (int64_t until = monotonic_us () + CLOSE_TIMEOUT_US; !t->ops->closed (t) && monotonic_us () < until;)
        if (!pump_socket (t, 10))
          break;
    }
out:
  t->ops->free (t);
  sb_free (&io.early);
  int tty = io.tty_fd != out ? io.tty_fd : -1;
  for (int *f = (int[]) { out, err_fd, io.in_fd >= 0 && io.in_fd != io.tty_fd ? io.in_fd : -1, tty }, i = 0; i < 4;
       i++)
    if (f[i] >= 0)
      close (f[i]);
  exec_request_free (r);
}
