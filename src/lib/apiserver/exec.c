/* kubectl exec over WebSocket (see exec.h). */
#include "apiserver/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
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
#include <wslay/wslay.h>

#include "base/util.h"

/* The channels of the remote command protocol: the first byte of each message. */
enum { CH_STDIN = 0, CH_STDOUT = 1, CH_STDERR = 2, CH_ERROR = 3, CH_RESIZE = 4, CH_CLOSE = 255 };

const char *
exec_pick_protocol (const char *offer)
{
  static const char *const known[] = { "v5.channel.k8s.io", "v4.channel.k8s.io" };
  for (size_t i = 0; offer && i < ARRAY_SIZE (known); i++)
    {
      const char *p = strstr (offer, known[i]);
      size_t n = strlen (known[i]);
      if (p && (p == offer || p[-1] == ' ' || p[-1] == ',') && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
        return known[i];
    }
  return NULL;
}

char *
exec_accept_key (const char *key)
{
  cleanup_free char *s = xasprintf ("%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
  unsigned char digest[20];
  if (gnutls_hash_fast (GNUTLS_DIG_SHA1, s, strlen (s), digest) < 0)
    return NULL;
  gnutls_datum_t in = { digest, sizeof digest }, out = { 0 };
  if (gnutls_base64_encode2 (&in, &out) < 0)
    return NULL;
  char *r = xstrndup ((const char *) out.data, out.size);
  gnutls_free (out.data);
  return r;
}

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

struct session {
  int sock;
  const char *extra;
  size_t extra_len;
  int in_fd;      /* the command's stdin (the pty master with a tty), -1 once closed */
  int tty_fd;     /* the pty master, or -1 */
  bool closed;    /* the peer sent a close frame */
  struct winsize size; /* the terminal's size, once the client said it */
  int version;
};

static ssize_t
ws_recv (wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
  (void) flags;
  struct session *s = user;
  if (s->extra_len)
    {
      size_t n = len < s->extra_len ? len : s->extra_len;
      memcpy (buf, s->extra, n);
      s->extra += n;
      s->extra_len -= n;
      return (ssize_t) n;
    }
  ssize_t r;
  while ((r = recv (s->sock, buf, len, 0)) < 0 && errno == EINTR)
    ;
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    wslay_event_set_error (ctx, WSLAY_ERR_WOULDBLOCK);
  else if (r <= 0)
    wslay_event_set_error (ctx, WSLAY_ERR_CALLBACK_FAILURE);
  return r > 0 ? r : -1;
}

static ssize_t
ws_send (wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
  (void) flags;
  struct session *s = user;
  ssize_t r;
  while ((r = send (s->sock, data, len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
    ;
  if (r < 0)
    wslay_event_set_error (ctx, errno == EAGAIN || errno == EWOULDBLOCK ? WSLAY_ERR_WOULDBLOCK
                                                                        : WSLAY_ERR_CALLBACK_FAILURE);
  return r;
}

static void
close_stdin (struct session *s)
{
  if (s->in_fd >= 0 && s->in_fd != s->tty_fd)
    close (s->in_fd);
  else if (s->in_fd >= 0)
    {
      /* A terminal's end of input: ^D, as a terminal would send. */
      const char eot = 4;
      (void) !write (s->in_fd, &eot, 1);
    }
  s->in_fd = -1;
}

static void
ws_on_msg (wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
  (void) ctx;
  struct session *s = user;
  if (arg->opcode == WSLAY_CONNECTION_CLOSE)
    {
      s->closed = true;
      return;
    }
  if ((arg->opcode != WSLAY_BINARY_FRAME && arg->opcode != WSLAY_TEXT_FRAME) || arg->msg_length == 0)
    return;
  uint8_t ch = arg->msg[0];

  const uint8_t *data = arg->msg + 1;
  size_t len = arg->msg_length - 1;
  if (ch == CH_STDIN && s->in_fd >= 0)
    {
      while (len)
        {
          ssize_t w = write (s->in_fd, data, len);
          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0)
            break;
          data += w;
          len -= (size_t) w;
        }
    }
  else if (ch == CH_RESIZE)
    {
      json_error_t je;
      json_t *j = json_loadb ((const char *) data, len, 0, &je);
      struct winsize ws = { .ws_col = (unsigned short) json_integer_value (json_object_get (j, "Width")),
                            .ws_row = (unsigned short) json_integer_value (json_object_get (j, "Height")) };
      if (ws.ws_col && ws.ws_row)
        {
          s->size = ws;
          if (s->tty_fd >= 0)
            ioctl (s->tty_fd, TIOCSWINSZ, &ws);
        }
      json_decref (j);
    }
  else if (ch == CH_CLOSE && s->version >= 5 && len >= 1 && data[0] == CH_STDIN)
    close_stdin (s);
}

static void
queue (wslay_event_context_ptr ctx, uint8_t ch, const void *data, size_t len)
{
  uint8_t *buf = xmalloc (len + 1);
  buf[0] = ch;
  memcpy (buf + 1, data, len);
  struct wslay_event_msg m = { WSLAY_BINARY_FRAME, buf, len + 1 };
  wslay_event_queue_msg (ctx, &m);
  free (buf);
}

/* The Status kubectl reads from the error channel: its exit code. */
static char *
exit_status (int status)
{
  if (status == 0)
    return xstrdup ("{\"metadata\":{},\"status\":\"Success\"}");
  return xasprintf ("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit "
                    "code: error executing command, exit code %d\",\"reason\":\"NonZeroExitCode\",\"details\":{"
                    "\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"%d\"}]}}",
                    status, status);
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
      if (slave)
        {
          int sfd = open (slave, O_RDWR);
          if (sfd < 0 || ioctl (sfd, TIOCSCTTY, 0) < 0 || dup2 (sfd, 0) < 0 || dup2 (sfd, 1) < 0 || dup2 (sfd, 2) < 0)
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
      execv ("/proc/self/exe", argv);
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
  struct session s = { .sock = sock, .extra = extra, .extra_len = extra_len, .version = r->version };
  int out = -1, err_fd = -1;
  s.in_fd = s.tty_fd = -1;
  struct wslay_event_callbacks cb = { .recv_callback = ws_recv, .send_callback = ws_send,
                                      .on_msg_recv_callback = ws_on_msg };
  wslay_event_context_ptr ctx = NULL;
  if (wslay_event_context_server_init (&ctx, &cb, &s) != 0)
    ctx = NULL;
  int flags = fcntl (sock, F_GETFL);
  fcntl (sock, F_SETFL, flags | O_NONBLOCK);
  /* kubectl says the terminal's size first: the command starts with it
   * (stty size, a full-screen program), as a container's does. */
  for (int i = 0; ctx && r->tty && s.size.ws_col == 0 && i < 20; i++)
    {
      struct pollfd p = { .fd = sock, .events = POLLIN };
      if (s.extra_len == 0 && poll (&p, 1, 10) <= 0)
        continue;
      if (wslay_event_recv (ctx) != 0)
        break;
    }
  pid_t pid = spawn (r, &s.in_fd, &out, &err_fd, &s.tty_fd);
  if (s.tty_fd >= 0 && s.size.ws_col)
    ioctl (s.tty_fd, TIOCSWINSZ, &s.size);
  int status = -1;
  if (pid < 0 && ctx)
    {
      const char *msg = "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"the lab could not start the command\","
                        "\"reason\":\"InternalError\",\"code\":500}";
      queue (ctx, CH_ERROR, msg, strlen (msg));
    }
  /* Until the command's output is drained and it has exited, or the peer left. */
  while (ctx && pid > 0 && !s.closed)
    {
      struct pollfd p[3] = { { .fd = sock, .events = POLLIN }, { .fd = out, .events = POLLIN },
                             { .fd = err_fd, .events = POLLIN } };
      if (wslay_event_want_write (ctx))
        p[0].events |= POLLOUT;
      if (out < 0 && err_fd < 0)
        break;
      if (poll (p, 3, 1000) < 0 && errno != EINTR)
        break;
      if ((p[0].revents & POLLIN) && wslay_event_recv (ctx) != 0)
        break;
      if ((p[0].revents & POLLOUT) && wslay_event_send (ctx) != 0)
        break;
      if (p[0].revents & (POLLERR | POLLHUP))
        break;
      int *fds[2] = { &out, &err_fd };
      for (int k = 0; k < 2; k++)
        if (p[k + 1].revents & (POLLIN | POLLHUP | POLLERR))
          {
            char buf[16384];
            ssize_t n = read (*fds[k], buf, sizeof buf);
            if (n > 0)
              queue (ctx, k == 0 ? CH_STDOUT : CH_STDERR, buf, (size_t) n);
            else if (n == 0 || errno != EINTR)
              {
                /* A pty's master reads EIO once the command has exited. */
                if (*fds[k] == s.tty_fd)
                  s.tty_fd = -1, s.in_fd = -1;
                close (*fds[k]);
                *fds[k] = -1;
              }
          }
      if (wslay_event_want_write (ctx) && wslay_event_send (ctx) != 0)
        break;
    }
  if (pid > 0)
    {
      if (s.closed || out >= 0 || err_fd >= 0)
        kill (pid, SIGTERM);
      int ws;
      while (waitpid (pid, &ws, 0) < 0 && errno == EINTR)
        ;
      status = WIFEXITED (ws) ? WEXITSTATUS (ws) : 128 + WTERMSIG (ws);
    }
  if (ctx && !s.closed)
    {
      if (status >= 0)
        {
          cleanup_free char *st = exit_status (status);
          queue (ctx, CH_ERROR, st, strlen (st));
        }
      /* wslay sends control frames first: the status must be out before
       * the close is queued. */
      for (int i = 0; i < 200 && wslay_event_want_write (ctx); i++)
        {
          struct pollfd p = { .fd = sock, .events = POLLOUT };
          if ((poll (&p, 1, 10) < 0 && errno != EINTR) || ((p.revents & POLLOUT) && wslay_event_send (ctx) != 0))
            break;
        }
      wslay_event_queue_close (ctx, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
      /* Until the peer answers the close (or 2 s): closing the upgraded
       * connection at once could drop what is still on its way through
       * the TLS layer, the exit status with it. */
      for (int i = 0; i < 200 && !s.closed; i++)
        {
          struct pollfd p = { .fd = sock, .events = POLLIN | (wslay_event_want_write (ctx) ? POLLOUT : 0) };
          if (poll (&p, 1, 10) < 0 && errno != EINTR)
            break;
          if ((p.revents & POLLOUT) && wslay_event_send (ctx) != 0)
            break;
          if ((p.revents & POLLIN) && wslay_event_recv (ctx) != 0)
            break;
          if (p.revents & (POLLERR | POLLHUP))
            break;
        }
    }
  if (ctx)
    wslay_event_context_free (ctx);
  int tty = s.tty_fd != out ? s.tty_fd : -1;
  for (int *f = (int[]) { out, err_fd, s.in_fd >= 0 && s.in_fd != s.tty_fd ? s.in_fd : -1, tty }, i = 0; i < 4; i++)
    if (f[i] >= 0)
      close (f[i]);
  exec_request_free (r);
}
