#include "apps/echo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "runtime/appsock.h"

/* After answering, how long a client may go on sending (a body we did not
 * read) before the connection is dropped. */
#define DRAIN_TIMEOUT_MS 2000
/* Bytes of a request body we swallow after answering before giving up. */
#define DRAIN_MAX (64 * 1024)

static bool
is_tchar (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static void
copy_token (char *dst, size_t size, const char *src, size_t n)
{
  if (size == 0)
    return;
  if (n >= size)
    n = size - 1;
  memcpy (dst, src, n);
  dst[n] = '\0';
}

int
echo_parse_request (const char *buf, size_t len, char *method, size_t method_size,
                    char *target, size_t target_size)
{
  /* Clients may send blank lines before the request line (RFC 9112 2.2). */
  size_t i = 0;
  while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
    i++;
  const char *start = buf + i;
  size_t rest = len - i;

  const char *eol = memchr (start, '\n', rest);
  if (eol == NULL)
    {
      /* Reject garbage early rather than wait for a newline. */
      for (size_t k = 0; k < rest && start[k] != ' '; k++)
        if (!is_tchar (start[k]))
          return -1;
      return 0;
    }

  /* The head ends at an empty line. */
  const char *p = eol + 1;
  bool complete = false;
  while (p < start + rest)
    {
      const char *nl = memchr (p, '\n', (size_t) (start + rest - p));
      if (nl == NULL)
        break;
      if (nl == p || (nl == p + 1 && *p == '\r'))
        {
          complete = true;
          break;
        }
      p = nl + 1;
    }

  size_t line_len = (size_t) (eol - start);
  if (line_len > 0 && start[line_len - 1] == '\r')
    line_len--;
  const char *sp1 = memchr (start, ' ', line_len);
  if (sp1 == NULL || sp1 == start)
    return -1;
  for (const char *c = start; c < sp1; c++)
    if (!is_tchar (*c))
      return -1;
  const char *tgt = sp1 + 1;
  const char *sp2 = memchr (tgt, ' ', line_len - (size_t) (tgt - start));
  if (sp2 == NULL || sp2 == tgt)
    return -1;
  for (const char *c = tgt; c < sp2; c++)
    if ((unsigned char) *c <= ' ' || (unsigned char) *c >= 0x7f)
      return -1;
  const char *ver = sp2 + 1;
  size_t ver_len = line_len - (size_t) (ver - start);
  if (ver_len != 8 || memcmp (ver, "HTTP/", 5) != 0 || ver[5] < '0' || ver[5] > '9'
      || ver[6] != '.' || ver[7] < '0' || ver[7] > '9')
    return -1;
  if (!complete)
    return 0;
  copy_token (method, method_size, start, (size_t) (sp1 - start));
  copy_token (target, target_size, tgt, (size_t) (sp2 - tgt));
  return 1;
}

void
echo_format_addr (const struct sockaddr_storage *ss, char *out, size_t size)
{
  char host[INET6_ADDRSTRLEN];
  if (ss->ss_family == AF_INET)
    {
      const struct sockaddr_in *a = (const struct sockaddr_in *) ss;
      inet_ntop (AF_INET, &a->sin_addr, host, sizeof host);
      snprintf (out, size, "%s:%u", host, ntohs (a->sin_port));
    }
  else if (ss->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) ss;
      /* A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d; show them as
       * the IPv4 addresses they are. */
      if (IN6_IS_ADDR_V4MAPPED (&a->sin6_addr))
        {
          inet_ntop (AF_INET, &a->sin6_addr.s6_addr[12], host, sizeof host);
          snprintf (out, size, "%s:%u", host, ntohs (a->sin6_port));
        }
      else
        {
          inet_ntop (AF_INET6, &a->sin6_addr, host, sizeof host);
          snprintf (out, size, "[%s]:%u", host, ntohs (a->sin6_port));
        }
    }
  else
    snprintf (out, size, "?");
}

char *
echo_body (const char *method, const char *target, const struct sockaddr_storage *client,
           const struct sockaddr_storage *server)
{
  struct strbuf sb;
  char hostname[256] = "";
  char addr[INET6_ADDRSTRLEN + 16];
  const char *pod = getenv ("POD_NAME");
  const char *ns = getenv ("POD_NAMESPACE");
  const char *ip = getenv ("POD_IP");
  const char *node = getenv ("NODE_NAME");

  sb_init (&sb);
  if (pod == NULL || *pod == '\0')
    {
      if (gethostname (hostname, sizeof hostname - 1) < 0)
        strcpy (hostname, "?");
      pod = hostname;
    }
  sb_addf (&sb, "pod: %s\n", pod);
  if (ns != NULL && *ns)
    sb_addf (&sb, "namespace: %s\n", ns);
  if (ip != NULL && *ip)
    sb_addf (&sb, "pod_ip: %s\n", ip);
  if (node != NULL && *node)
    sb_addf (&sb, "node: %s\n", node);
  echo_format_addr (client, addr, sizeof addr);
  sb_addf (&sb, "client: %s\n", addr);
  echo_format_addr (server, addr, sizeof addr);
  sb_addf (&sb, "server: %s\n", addr);
  sb_addf (&sb, "method: %s %s\n", method, target);
  return sb_steal (&sb);
}

enum conn_state { CONN_READ, CONN_WRITE, CONN_DRAIN };

struct conn {
  int fd;
  int idle_ms;
  enum conn_state state;
  int64_t deadline; /* ms, CLOCK_MONOTONIC */
  struct sockaddr_storage peer, local;
  char *out;
  size_t out_len, out_off;
  size_t in_len, drained;
  char in[ECHO_MAX_REQUEST];
};

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
conn_close (struct conn **conns, size_t *n, size_t i)
{
  close (conns[i]->fd);
  free (conns[i]->out);
  free (conns[i]);
  conns[i] = conns[--*n];
}

/* One access-log line on stdout (the pod's log), like any web server. */
static void
access_log (const struct conn *c, const char *method, const char *target, int status)
{
  char addr[INET6_ADDRSTRLEN + 16];
  char when[32];
  time_t t = time (NULL);
  struct tm tm;
  gmtime_r (&t, &tm);
  strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  echo_format_addr (&c->peer, addr, sizeof addr);
  dprintf (STDOUT_FILENO, "%s %s \"%s %s\" %d\n", when, addr, method, target, status);
}

static void
conn_respond (struct conn *c, int status, const char *method, const char *target)
{
  struct strbuf sb;
  cleanup_free char *body = NULL;
  const char *reason = "OK";

  if (status == 200)
    body = echo_body (method, target, &c->peer, &c->local);
  else if (status == 400)
    {
      reason = "Bad Request";
      body = xstrdup ("bad request\n");
    }
  else
    {
      reason = "Request Header Fields Too Large";
      body = xstrdup ("request too large\n");
    }
  sb_init (&sb);
  sb_addf (&sb,
           "HTTP/1.1 %d %s\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Length: %zu\r\n"
           "Connection: close\r\n"
           "\r\n",
           status, reason, strlen (body));
  if (strcmp (method, "HEAD") != 0)
    sb_add (&sb, body);
  c->out_len = sb.len;
  c->out = sb_steal (&sb);
  c->out_off = 0;
  c->state = CONN_WRITE;
  c->deadline = now_ms () + c->idle_ms;
  access_log (c, method, target, status);
}

/* Progress one connection; returns false when it is finished. */
static bool
conn_step (struct conn *c)
{
  if (c->state == CONN_READ)
    {
      for (;;)
        {
          ssize_t r = recv (c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
          if (r < 0)
            return errno == EAGAIN || errno == EINTR;
          if (r == 0)
            return false;
          c->in_len += (size_t) r;
          char method[32], target[1024];
          int p = echo_parse_request (c->in, c->in_len, method, sizeof method, target, sizeof target);
          if (p > 0)
            conn_respond (c, 200, method, target);
          else if (p < 0)
            conn_respond (c, 400, "-", "-");
          else if (c->in_len == sizeof c->in)
            conn_respond (c, 431, "-", "-");
          else
            continue;
          break;
        }
    }
  if (c->state == CONN_WRITE)
    {
      while (c->out_off < c->out_len)
        {
          ssize_t w = send (c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
          if (w < 0)
            return errno == EAGAIN || errno == EINTR;
          c->out_off += (size_t) w;
        }
      /* Half-close and read what the client still sends (a body we did not
       * want): closing with unread data would send a RST that can destroy
       * our response before the client reads it. */
      shutdown (c->fd, SHUT_WR);
      c->state = CONN_DRAIN;
      c->deadline = now_ms () + DRAIN_TIMEOUT_MS;
    }
  if (c->state == CONN_DRAIN)
    {
      char sink[4096];
      for (;;)
        {
          ssize_t r = recv (c->fd, sink, sizeof sink, 0);
          if (r < 0)
            return errno == EAGAIN || errno == EINTR;
          if (r == 0)
            return false;
          c->drained += (size_t) r;
          if (c->drained > DRAIN_MAX)
            return false;
        }
    }
  return true;
}

static void
accept_all (int listen_fd, int idle_ms, struct conn **conns, size_t *n, int64_t *pause_until)
{
  while (*n < ECHO_MAX_CONNS)
    {
      struct sockaddr_storage peer;
      socklen_t len = sizeof peer;
      int fd = accept4 (listen_fd, (struct sockaddr *) &peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        {
          /* Out of fds or memory: leave the clients in the backlog a moment. */
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            *pause_until = now_ms () + 100;
          return;
        }
      struct conn *c = xcalloc (1, sizeof *c);
      c->fd = fd;
      c->idle_ms = idle_ms;
      c->peer = peer;
      len = sizeof c->local;
      if (getsockname (fd, (struct sockaddr *) &c->local, &len) < 0)
        c->local.ss_family = AF_UNSPEC;
      c->state = CONN_READ;
      c->deadline = now_ms () + idle_ms;
      conns[(*n)++] = c;
    }
}

int
echo_serve (int listen_fd, int idle_ms, nslab_error_t *err)
{
  struct conn **conns = xcalloc (ECHO_MAX_CONNS, sizeof *conns);
  struct pollfd *pfds = xcalloc (ECHO_MAX_CONNS + 1, sizeof *pfds);
  size_t n = 0;
  int64_t pause_until = 0;

  signal (SIGPIPE, SIG_IGN);
  for (;;)
    {
      int64_t now = now_ms ();
      int timeout = -1;
      size_t np = 0;
      bool listening = n < ECHO_MAX_CONNS && now >= pause_until;

      if (listening)
        pfds[np++] = (struct pollfd) { .fd = listen_fd, .events = POLLIN };
      else if (n < ECHO_MAX_CONNS)
        timeout = (int) (pause_until - now);
      for (size_t i = 0; i < n; i++)
        {
          short ev = conns[i]->state == CONN_WRITE ? POLLOUT : POLLIN;
          pfds[np++] = (struct pollfd) { .fd = conns[i]->fd, .events = ev };
          int64_t left = conns[i]->deadline - now;
          if (left < 0)
            left = 0;
          if (timeout < 0 || left < timeout)
            timeout = (int) left;
        }

      int r = poll (pfds, np, timeout);
      if (r < 0 && errno != EINTR)
        {
          free (conns);
          free (pfds);
          return nslab_error (err, errno, "poll");
        }

      now = now_ms ();
      /* Walk the connections as they were polled; conn_close moves the last
       * one into the hole, so go backwards to keep the pfds index valid. */
      size_t base = listening ? 1 : 0;
      for (size_t i = n; i-- > 0;)
        {
          struct pollfd *pf = &pfds[base + i];
          bool alive = true;
          if (r > 0 && pf->revents)
            alive = conn_step (conns[i]);
          if (alive && now >= conns[i]->deadline)
            alive = false;
          if (!alive)
            conn_close (conns, &n, i);
        }
      if (listening && r > 0 && (pfds[0].revents & POLLIN))
        accept_all (listen_fd, idle_ms, conns, &n, &pause_until);
    }
}

static bool
is_listening_on (int fd, uint16_t port)
{
  int acc = 0;
  socklen_t len = sizeof acc;
  struct sockaddr_storage ss;
  socklen_t slen = sizeof ss;
  if (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc)
    return false;
  if (getsockname (fd, (struct sockaddr *) &ss, &slen) < 0)
    return false;
  if (ss.ss_family == AF_INET)
    return ntohs (((struct sockaddr_in *) &ss)->sin_port) == port;
  if (ss.ss_family == AF_INET6)
    return ntohs (((struct sockaddr_in6 *) &ss)->sin6_port) == port;
  return false;
}

int
echo_main (int argc, char **argv)
{
  nslab_error_t err = NULL;
  char *end = NULL;
  int fd = -1;

  if (argc < 2)
    {
      fprintf (stderr, "usage: nslab-echo PORT\n");
      return NSLAB_EXIT_INVALID;
    }
  errno = 0;
  unsigned long port = strtoul (argv[1], &end, 10);
  if (errno || end == argv[1] || *end || port == 0 || port > 65535)
    {
      fprintf (stderr, "nslab-echo: invalid port \"%s\"\n", argv[1]);
      return NSLAB_EXIT_INVALID;
    }
  if (is_listening_on (ECHO_LISTEN_FD, (uint16_t) port))
    {
      fd = ECHO_LISTEN_FD;
      /* The inherited socket may be blocking; accept must never block. */
      int fl = fcntl (fd, F_GETFL);
      if (fl < 0 || fcntl (fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl (fd, F_SETFD, FD_CLOEXEC) < 0)
        {
          nslab_error (&err, errno, "nslab-echo: fcntl on the inherited socket");
          return nslab_error_print (&err);
        }
    }
  else if (appsock_listen ((uint16_t) port, &fd, &err) < 0)
    {
      nslab_error_wrap (&err, "nslab-echo");
      return nslab_error_print (&err);
    }
  dprintf (STDOUT_FILENO, "nslab-echo: listening on *:%lu\n", port);
  echo_serve (fd, ECHO_IDLE_MS, &err);
  nslab_error_wrap (&err, "nslab-echo");
  return nslab_error_print (&err);
}
