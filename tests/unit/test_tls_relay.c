/* The API server's TLS relay against a real libmicrohttpd daemon and a real
 * GnuTLS client, over a unix socket (no network needed): a request and
 * its answer, the client's close_notify when the server closes, an
 * upgraded connection carrying megabytes both ways at once, a client that
 * speaks no TLS, and the stop, which ends the connections still open. */
#include "unit.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "apiserver/pki.h"
#include "apiserver/tls_relay.h"
#include "base/hash.h"

#define ECHO_BYTES (4 * 1024 * 1024)

static volatile sig_atomic_t stop;

static void
on_term (int sig)
{
  (void) sig;
  stop = 1;
}

/* ---- the HTTP side: /hello answers, /echo upgrades and echoes ---- */

struct echo {
  MHD_socket sock;
  struct MHD_UpgradeResponseHandle *urh;
};

static void *
echo_thread (void *arg)
{
  struct echo *e = arg;
  char buf[16384];
  ssize_t n;
  while ((n = read (e->sock, buf, sizeof buf)) > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
    {
      if (n < 0)
        {
          struct pollfd p = { .fd = e->sock, .events = POLLIN };
          poll (&p, 1, 1000);
          continue;
        }
      for (ssize_t off = 0; off < n;)
        {
          ssize_t k = write (e->sock, buf + off, (size_t) (n - off));
          if (k < 0 && errno == EAGAIN)
            {
              struct pollfd p = { .fd = e->sock, .events = POLLOUT };
              poll (&p, 1, 1000);
              continue;
            }
          if (k <= 0)
            goto out;
          off += k;
        }
    }
out:
  MHD_upgrade_action (e->urh, MHD_UPGRADE_ACTION_CLOSE);
  free (e);
  return NULL;
}

static void
on_upgrade (void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in, size_t extra_in_size,
            MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  (void) cls, (void) c, (void) con_cls, (void) extra_in;
  ck_assert_uint_eq (extra_in_size, 0);
  struct echo *e = xcalloc (1, sizeof *e);
  e->sock = sock;
  e->urh = urh;
  pthread_t t;
  ck_assert_int_eq (pthread_create (&t, NULL, echo_thread, e), 0);
  pthread_detach (t);
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
            const char *data, size_t *size, void **con_cls)
{
  (void) cls, (void) method, (void) version, (void) data, (void) size, (void) con_cls;
  struct MHD_Response *r;
  unsigned code = 200;
  if (strcmp (url, "/echo") == 0)
    {
      r = MHD_create_response_for_upgrade (on_upgrade, NULL);
      MHD_add_response_header (r, MHD_HTTP_HEADER_UPGRADE, "echo");
      code = MHD_HTTP_SWITCHING_PROTOCOLS;
    }
  else
    r = MHD_create_response_from_buffer (5, (void *) "hello", MHD_RESPMEM_PERSISTENT);
  enum MHD_Result ret = MHD_queue_response (c, code, r);
  MHD_destroy_response (r);
  return ret;
}

/* ---- the server: the relay on a unix socket, in a thread ---- */

struct server {
  struct MHD_Daemon *d;
  int lfd;
  struct sockaddr_un addr;
  char *crt, *key;
  pthread_t thread;
  int rc;
};

static void *
serve_thread (void *arg)
{
  struct server *s = arg;
  nslab_error_t err = NULL;
  s->rc = tls_relay_serve (s->d, s->lfd, s->crt, s->key, &stop, &err);
  nslab_error_free (&err);
  return NULL;
}

static void
server_start (struct server *s)
{
  char dir[] = "/tmp/nslab-tls-relay-XXXXXX";
  ck_assert_ptr_nonnull (mkdtemp (dir));
  nslab_error_t err = NULL;
  const char *ips[] = { "127.0.0.1" };
  ck_assert_msg (pki_create (dir, ips, 1, "cluster.local", &err) == 0, "%s", err ? err->msg : "");
  s->crt = pki_read (dir, "server.crt", &err);
  s->key = pki_read (dir, "server.key", &err);
  ck_assert_ptr_nonnull (s->key);
  char *rm = xasprintf ("rm -rf %s", dir);
  ck_assert_int_eq (system (rm), 0);
  free (rm);
  /* the stop signals blocked in every thread but the relay's wait */
  struct sigaction sa = { .sa_handler = on_term };
  sigaction (SIGTERM, &sa, NULL);
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  signal (SIGPIPE, SIG_IGN);
  s->d = MHD_start_daemon (MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | MHD_USE_INTERNAL_POLLING_THREAD
                               | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_ALLOW_UPGRADE,
                           0, NULL, NULL, on_request, NULL, MHD_OPTION_END);
  ck_assert_ptr_nonnull (s->d);
  s->lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  s->addr = (struct sockaddr_un) { .sun_family = AF_UNIX };
  /* abstract: nothing to remove */
  snprintf (s->addr.sun_path + 1, sizeof s->addr.sun_path - 1, "nslab-tls-relay-%d", (int) getpid ());
  ck_assert_int_eq (bind (s->lfd, (struct sockaddr *) &s->addr, sizeof s->addr), 0);
  ck_assert_int_eq (listen (s->lfd, 16), 0);
  ck_assert_int_eq (pthread_create (&s->thread, NULL, serve_thread, s), 0);
}

static void
server_stop (struct server *s)
{
  stop = 1;
  pthread_kill (s->thread, SIGTERM);
  ck_assert_int_eq (pthread_join (s->thread, NULL), 0);
  ck_assert_int_eq (s->rc, 0);
  MHD_stop_daemon (s->d);
  close (s->lfd);
  free (s->crt);
  free (s->key);
}

/* ---- the client ---- */

struct client {
  int fd;
  gnutls_session_t s;
  gnutls_certificate_credentials_t creds;
};

static int
plain_connect (const struct server *srv)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_eq (connect (fd, (const struct sockaddr *) &srv->addr, sizeof srv->addr), 0);
  return fd;
}

static void
client_connect (struct client *c, const struct server *srv)
{
  c->fd = plain_connect (srv);
  ck_assert_int_eq (gnutls_certificate_allocate_credentials (&c->creds), 0);
  ck_assert_int_eq (gnutls_init (&c->s, GNUTLS_CLIENT), 0);
  ck_assert_int_eq (gnutls_set_default_priority (c->s), 0);
  ck_assert_int_eq (gnutls_credentials_set (c->s, GNUTLS_CRD_CERTIFICATE, c->creds), 0);
  gnutls_transport_set_int (c->s, c->fd);
  int rc;
  do
    rc = gnutls_handshake (c->s);
  while (rc < 0 && !gnutls_error_is_fatal (rc));
  ck_assert_msg (rc == 0, "handshake: %s", gnutls_strerror (rc));
}

static void
client_close (struct client *c)
{
  gnutls_deinit (c->s);
  gnutls_certificate_free_credentials (c->creds);
  close (c->fd);
}

static void
send_all (struct client *c, const char *buf, size_t len)
{
  for (size_t off = 0; off < len;)
    {
      ssize_t k = gnutls_record_send (c->s, buf + off, len - off);
      ck_assert_msg (k > 0, "send: %s", gnutls_strerror ((int) k));
      off += (size_t) k;
    }
}

/* Everything until the server's close_notify (which the relay sends when
 * the server closes): a cut without it fails. */
static char *
recv_to_end (struct client *c, size_t *len)
{
  struct strbuf b;
  sb_init (&b);
  char buf[16384];
  ssize_t n;
  while ((n = gnutls_record_recv (c->s, buf, sizeof buf)) > 0)
    sb_addn (&b, buf, (size_t) n);
  ck_assert_msg (n == 0, "recv: %s", gnutls_strerror ((int) n));
  *len = b.len;
  return sb_steal (&b);
}

/* The head of an answer, up to its blank line. */
static char *
recv_head (struct client *c)
{
  struct strbuf b;
  sb_init (&b);
  char ch;
  while (b.len < 4 || memcmp (b.buf + b.len - 4, "\r\n\r\n", 4) != 0)
    {
      ck_assert_int_eq (gnutls_record_recv (c->s, &ch, 1), 1);
      sb_addn (&b, &ch, 1);
    }
  return sb_steal (&b);
}

struct sender {
  struct client *c;
  const char *buf;
  size_t len;
};

static void *
sender_thread (void *arg)
{
  struct sender *s = arg;
  send_all (s->c, s->buf, s->len);
  /* the client's end: the relay passes it on, the echo closes */
  ck_assert_int_eq (gnutls_bye (s->c->s, GNUTLS_SHUT_WR), 0);
  return NULL;
}

START_TEST (request_and_close_notify)
{
  struct server srv;
  server_start (&srv);
  struct client c;
  client_connect (&c, &srv);
  static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  send_all (&c, req, sizeof req - 1);
  size_t len;
  cleanup_free char *ans = recv_to_end (&c, &len);
  ck_assert_msg (strncmp (ans, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", ans);
  ck_assert_msg (len > 5 && memcmp (ans + len - 5, "hello", 5) == 0, "%s", ans);
  client_close (&c);
  server_stop (&srv);
}
END_TEST

START_TEST (upgraded_connection_both_ways_at_once)
{
  struct server srv;
  server_start (&srv);
  struct client c;
  client_connect (&c, &srv);
  static const char req[] = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";
  send_all (&c, req, sizeof req - 1);
  cleanup_free char *head = recv_head (&c);
  ck_assert_msg (strncmp (head, "HTTP/1.1 101 ", 13) == 0, "%s", head);
  cleanup_free char *data = xmalloc (ECHO_BYTES);
  uint64_t h = FNV64_INIT;
  for (size_t i = 0; i < ECHO_BYTES; i++)
    data[i] = (char) (h = fnv1a64_mem (&i, sizeof i, h));
  /* more than the socket buffers hold, sent while it comes back */
  struct sender s = { &c, data, ECHO_BYTES };
  pthread_t t;
  ck_assert_int_eq (pthread_create (&t, NULL, sender_thread, &s), 0);
  size_t len;
  cleanup_free char *back = recv_to_end (&c, &len);
  ck_assert_int_eq (pthread_join (t, NULL), 0);
  ck_assert_uint_eq (len, ECHO_BYTES);
  ck_assert (memcmp (back, data, ECHO_BYTES) == 0);
  client_close (&c);
  server_stop (&srv);
}
END_TEST

START_TEST (no_tls_is_closed_and_stop_ends_open_connections)
{
  struct server srv;
  server_start (&srv);
  /* not TLS: the handshake fails and the connection is closed */
  int fd = plain_connect (&srv);
  static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  ck_assert_int_eq (write (fd, req, sizeof req - 1), (ssize_t) sizeof req - 1);
  char buf[256];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    ;
  ck_assert_int_le (n, 0);
  close (fd);
  /* the server still serves; a connection left open (mid-request) ends
   * with the stop */
  struct client c;
  client_connect (&c, &srv);
  send_all (&c, "GET /hello HTTP/1.1\r\n", 21);
  server_stop (&srv);
  ck_assert_int_le (gnutls_record_recv (c.s, buf, sizeof buf), 0);
  client_close (&c);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("tls_relay");
  TCase *tc = tcase_create ("relay");
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, request_and_close_notify);
  tcase_add_test (tc, upgraded_connection_both_ways_at_once);
  tcase_add_test (tc, no_tls_is_closed_and_stop_ends_open_connections);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
