/* The API server's TLS (see tls_relay.h): a GnuTLS session per accepted
 * connection, relayed to libmicrohttpd through a socketpair by two
 * threads, one per direction, each blocking on its source (GnuTLS allows
 * one thread receiving and one sending on a session at once). */
#include "apiserver/tls_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

/* Each direction's buffer: a TLS record's worth and more, mapped for the
 * connection's life and unmapped after (from malloc, in the arena of a
 * short-lived thread, its pages would stay the server's). */
#define RELAY_BUF (64 * 1024)
/* A client that has not finished its handshake by then is dropped. */
#define HANDSHAKE_TIMEOUT_MS 10000

/* The live connections, so that the server's stop can end them and wait
 * for their threads before it frees what they use. */
struct relay_set {
  pthread_mutex_t mu;
  pthread_cond_t gone;
  struct relay *head;
  bool stopping;
  struct MHD_Daemon *d;
  gnutls_certificate_credentials_t creds;
};

struct relay {
  struct relay_set *set;
  struct relay *prev, *next;
  gnutls_session_t s;
  int tcp; /* the client's connection */
  int app; /* our end of the socketpair; libmicrohttpd has the other */
  atomic_int refs;
};

static void
relay_put (struct relay *r)
{
  if (atomic_fetch_sub (&r->refs, 1) != 1)
    return;
  struct relay_set *set = r->set;
  pthread_mutex_lock (&set->mu);
  if (r->prev)
    r->prev->next = r->next;
  else
    set->head = r->next;
  if (r->next)
    r->next->prev = r->prev;
  pthread_cond_broadcast (&set->gone);
  pthread_mutex_unlock (&set->mu);
  if (r->s)
    gnutls_deinit (r->s);
  if (r->app >= 0)
    close (r->app);
  close (r->tcp);
  free (r);
}

static char *
buf_map (void)
{
  void *p = mmap (NULL, RELAY_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void
buf_unmap (char **p)
{
  if (*p)
    munmap (*p, RELAY_BUF);
}

/* Server to client, until the server closes its end (or the client is
 * gone): then close_notify, and the client's socket shut so that the
 * other direction's receive returns. */
static void *
relay_out (void *arg)
{
  struct relay *r = arg;
  __attribute__ ((cleanup (buf_unmap))) char *buf = buf_map ();
  for (; buf;)
    {
      ssize_t n = read (r->app, buf, RELAY_BUF);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      ssize_t off = 0;
      while (off < n)
        {
          ssize_t k = gnutls_record_send (r->s, buf + off, (size_t) (n - off));
          if (k == GNUTLS_E_INTERRUPTED || k == GNUTLS_E_AGAIN)
            continue;
          if (k < 0)
            goto out;
          off += k;
        }
    }
  gnutls_bye (r->s, GNUTLS_SHUT_WR);
out:
  shutdown (r->tcp, SHUT_RDWR);
  relay_put (r);
  return NULL;
}

/* Client to server, until the client's close_notify, its hang-up or a TLS
 * error: then the server reads the end of its input. */
static void
relay_in (struct relay *r)
{
  __attribute__ ((cleanup (buf_unmap))) char *buf = buf_map ();
  for (; buf;)
    {
      ssize_t n = gnutls_record_recv (r->s, buf, RELAY_BUF);
      if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN)
        continue;
      if (n <= 0 || fd_write_all (r->app, buf, (size_t) n) < 0)
        break;
    }
  shutdown (r->app, SHUT_WR);
}

/* A detached thread (it inherits the accepting thread's mask: SIGTERM
 * and SIGINT blocked). */
static int
start_thread (void *(*fn) (void *), void *arg)
{
  pthread_attr_t at;
  pthread_attr_init (&at);
  pthread_attr_setdetachstate (&at, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize (&at, 128 * 1024);
  pthread_t t;
  int e = pthread_create (&t, &at, fn, arg);
  pthread_attr_destroy (&at);
  return e;
}

/* A new connection: its handshake (in this thread, not the accepting
 * one), its socketpair handed to the server, then both directions. */
static void *
relay_start (void *arg)
{
  struct relay *r = arg;
  struct relay_set *set = r->set;
  int sv[2];
  int rc = gnutls_init (&r->s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL);
  if (rc == 0)
    rc = gnutls_set_default_priority (r->s);
  if (rc == 0)
    rc = gnutls_credentials_set (r->s, GNUTLS_CRD_CERTIFICATE, set->creds);
  if (rc == 0)
    {
      gnutls_transport_set_int (r->s, r->tcp);
      gnutls_handshake_set_timeout (r->s, HANDSHAKE_TIMEOUT_MS);
      do
        rc = gnutls_handshake (r->s);
      while (rc < 0 && !gnutls_error_is_fatal (rc));
    }
  if (rc < 0 || socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    {
      relay_put (r);
      return NULL;
    }
  pthread_mutex_lock (&set->mu);
  r->app = sv[0];
  bool stopping = set->stopping;
  pthread_mutex_unlock (&set->mu);
  if (stopping)
    {
      close (sv[1]);
      relay_put (r);
      return NULL;
    }
  /* Nothing reads the client's address: the socketpair's own kind.
   * (libmicrohttpd 0.9.75 still tries its TCP options on it: server.c's
   * log_mhd drops what it says of them.) */
  struct sockaddr_un un = { .sun_family = AF_UNIX };
  if (MHD_add_connection (set->d, sv[1], (const struct sockaddr *) &un, sizeof un.sun_family) != MHD_YES)
    {
      /* it closed sv[1] */
      relay_put (r);
      return NULL;
    }
  atomic_fetch_add (&r->refs, 1);
  if (start_thread (relay_out, r) != 0)
    {
      shutdown (r->app, SHUT_RDWR);
      relay_put (r);
      relay_put (r);
      return NULL;
    }
  relay_in (r);
  relay_put (r);
  return NULL;
}

/* The server's stop: every connection shut both ways (their threads
 * return), then waited for, at most a few seconds. */
static bool
end_all (struct relay_set *set)
{
  struct timespec until;
  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  pthread_mutex_lock (&set->mu);
  set->stopping = true;
  for (struct relay *r = set->head; r; r = r->next)
    {
      shutdown (r->tcp, SHUT_RDWR);
      if (r->app >= 0)
        shutdown (r->app, SHUT_RDWR);
    }
  int e = 0;
  while (set->head && e == 0)
    e = pthread_cond_timedwait (&set->gone, &set->mu, &until);
  bool all = set->head == NULL;
  pthread_mutex_unlock (&set->mu);
  return all;
}

int
tls_relay_serve (struct MHD_Daemon *d, int listen_fd, const char *crt, const char *key, volatile sig_atomic_t *stop,
                 nslab_error_t *err)
{
  /* On the heap: a thread that outlives the stop's wait still uses it. */
  struct relay_set *set = xcalloc (1, sizeof *set);
  pthread_mutex_init (&set->mu, NULL);
  pthread_cond_init (&set->gone, NULL);
  set->d = d;
  int rc = gnutls_certificate_allocate_credentials (&set->creds);
  if (rc < 0)
    {
      free (set);
      return nslab_error (err, 0, "TLS credentials: %s", gnutls_strerror (rc));
    }
  gnutls_datum_t c = { (unsigned char *) crt, (unsigned) strlen (crt) };
  gnutls_datum_t k = { (unsigned char *) key, (unsigned) strlen (key) };
  rc = gnutls_certificate_set_x509_key_mem (set->creds, &c, &k, GNUTLS_X509_FMT_PEM);
  if (rc < 0)
    {
      gnutls_certificate_free_credentials (set->creds);
      free (set);
      return nslab_error (err, 0, "the serving certificate and key: %s", gnutls_strerror (rc));
    }
  /* A client gone between the wake and the accept must not block it. */
  int fl = fcntl (listen_fd, F_GETFL);
  if (fl < 0 || fcntl (listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
    {
      rc = nslab_error (err, errno, "the listening socket");
      gnutls_certificate_free_credentials (set->creds);
      free (set);
      return rc;
    }
  /* The stop signals are taken only during the wait, so none comes
   * between the check of *STOP and the wait. */
  sigset_t wait_mask;
  pthread_sigmask (SIG_SETMASK, NULL, &wait_mask);
  sigdelset (&wait_mask, SIGTERM);
  sigdelset (&wait_mask, SIGINT);
  while (!*stop)
    {
      struct pollfd p = { .fd = listen_fd, .events = POLLIN };
      if (ppoll (&p, 1, NULL, &wait_mask) < 0)
        continue;
      int fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        {
          /* out of descriptors: the connection waits in the backlog */
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            poll (NULL, 0, 100);
          continue;
        }
      struct relay *r = xcalloc (1, sizeof *r);
      *r = (struct relay) { .set = set, .tcp = fd, .app = -1 };
      atomic_init (&r->refs, 1);
      pthread_mutex_lock (&set->mu);
      r->next = set->head;
      if (set->head)
        set->head->prev = r;
      set->head = r;
      pthread_mutex_unlock (&set->mu);
      if (start_thread (relay_start, r) != 0)
        relay_put (r);
    }
  /* A thread that outlived the wait still uses them: left to the exit. */
  if (end_all (set))
    {
      gnutls_certificate_free_credentials (set->creds);
      pthread_mutex_destroy (&set->mu);
      pthread_cond_destroy (&set->gone);
      free (set);
    }
  return 0;
}
