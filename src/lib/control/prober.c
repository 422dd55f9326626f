/* Readiness probes (see prober.h). kubelet's HTTP probe sends a GET with
 * its own User-Agent and counts 200-399 as success; its TCP probe only
 * needs the connection to open. */
#include "control/prober.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/ipaddr.h"
#include "base/util.h"
#include "kernel/netns.h"

enum phase { PH_CONNECTING, PH_SENDING, PH_READING, PH_DONE };

struct conn {
  int fd;
  enum phase phase;
  char buf[64];
  size_t got;
};

/* The socket is made in the node's namespace (fd >= 0), or not (-1). */
static void
start (struct probe *p, struct conn *c, int fd)
{
  c->phase = PH_DONE;
  c->fd = fd;
  if (c->fd < 0)
    return;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (p->port), .sin_addr.s_addr = htonl (p->ip) };
  if (connect (c->fd, (struct sockaddr *) &sa, sizeof sa) == 0 || errno == EINPROGRESS)
    c->phase = PH_CONNECTING;
}

static void
finish (struct probe *p, struct conn *c, bool ok)
{
  p->ok = ok;
  c->phase = PH_DONE;
  if (c->fd >= 0)
    close (c->fd);
  c->fd = -1;
}

static void
step (struct probe *p, struct conn *c, short revents)
{
  if (c->phase == PH_CONNECTING)
    {
      int soerr = 0;
      socklen_t l = sizeof soerr;
      if (getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &soerr, &l) < 0 || soerr != 0)
        return finish (p, c, false);
      if (p->kind == PROBE_TCP)
        return finish (p, c, true);
      c->phase = PH_SENDING;
    }
  if (c->phase == PH_SENDING)
    {
      char ip[IP_STRLEN];
      char req[512];
      int n = snprintf (req, sizeof req,
                        "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: kube-probe/1.28\r\nAccept: */*\r\n"
                        "Connection: close\r\n\r\n",
                        p->path && *p->path ? p->path : "/", ip_fmt (p->ip, ip), p->port);
      if (n < 0 || (size_t) n >= sizeof req || send (c->fd, req, (size_t) n, MSG_NOSIGNAL) != n)
        return finish (p, c, false);
      c->phase = PH_READING;
      return;
    }
  if (c->phase == PH_READING && (revents & (POLLIN | POLLHUP | POLLERR)))
    {
      ssize_t r = recv (c->fd, c->buf + c->got, sizeof c->buf - 1 - c->got, 0);
      if (r > 0)
        c->got += (size_t) r;
      if (r > 0 && c->got < 12)
        return;
      c->buf[c->got] = '\0';
      int status = 0;
      bool ok = sscanf (c->buf, "HTTP/%*d.%*d %d", &status) == 1 && status >= 200 && status < 400;
      return finish (p, c, ok);
    }
}

static long
ms_since (const struct timespec *t0)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The sockets of PROBES, each made in its node's namespace: the probes
 * of one node (a run of equal node_netns, or all of them) share one
 * setns there and back. */
static void
open_sockets (struct probe *probes, size_t n, int *fds)
{
  bool *done = xcalloc (n + 1, sizeof *done);
  for (size_t i = 0; i < n; i++)
    {
      fds[i] = -1;
      done[i] = probes[i].kind == PROBE_NONE;
    }
  for (size_t i = 0; i < n; i++)
    {
      if (done[i])
        continue;
      struct netns_guard g = NETNS_GUARD_INIT;
      nslab_error_t e = NULL;
      bool in = netns_enter (&g, probes[i].node_netns, &e) == 0;
      nslab_error_free (&e);
      for (size_t j = i; j < n; j++)
        if (!done[j] && strcmp (probes[j].node_netns, probes[i].node_netns) == 0)
          {
            done[j] = true;
            if (in)
              fds[j] = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
          }
      if (in)
        netns_leave (&g);
    }
  free (done);
}

/* A pod's first connect is most of its probe's cost: the SYN waits for
 * ARP, and the pod's answers (ARP reply, SYN-ACK) are processed in the
 * softirq of the connecting thread, in the connect call itself. A lab's
 * first round connects to every pod at once, so those calls are spread
 * over a thread per CPU (at most START_THREADS). */
#define START_THREADS 4
#define START_MIN_PER_THREAD 32

struct start_work {
  struct probe *probes;
  struct conn *c;
  const int *fds;
  size_t from, to;
};

static void *
start_range (void *arg)
{
  struct start_work *w = arg;
  for (size_t i = w->from; i < w->to; i++)
    if (w->probes[i].kind != PROBE_NONE)
      start (&w->probes[i], &w->c[i], w->fds[i]);
  return NULL;
}

static void
start_all (struct probe *probes, struct conn *c, const int *fds, size_t n)
{
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  size_t nth = cpus > 1 ? (size_t) cpus : 1;
  if (nth > START_THREADS)
    nth = START_THREADS;
  if (nth > n / START_MIN_PER_THREAD)
    nth = n / START_MIN_PER_THREAD;
  if (nth == 0)
    nth = 1;
  struct start_work w[START_THREADS];
  pthread_t th[START_THREADS];
  bool running[START_THREADS] = { false };
  for (size_t t = 0; t < nth; t++)
    w[t] = (struct start_work) { probes, c, fds, n * t / nth, n * (t + 1) / nth };
  for (size_t t = 1; t < nth; t++)
    running[t] = pthread_create (&th[t], NULL, start_range, &w[t]) == 0;
  /* Ours, and those of threads that could not be made. */
  for (size_t t = 0; t < nth; t++)
    if (!running[t])
      start_range (&w[t]);
  for (size_t t = 1; t < nth; t++)
    if (running[t])
      pthread_join (th[t], NULL);
}

static int probe_batch (struct probe *probes, size_t n, int timeout_ms, nslab_error_t *err);

/* At most this many probes (sockets) at once: the open files we may have
 * less a reserve (at least 256, at most 8192), which a lab of a few
 * thousand pods would otherwise exhaust (every probe past it failing, its
 * pod no endpoint). Each batch can take the whole timeout (a connect the
 * network never answers), so the fewer batches the shorter a run. */
static size_t
probe_batch_size (void)
{
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < 512 + 256)
    return 256;
  return rl.rlim_cur - 256 > 8192 ? 8192 : (size_t) (rl.rlim_cur - 256);
}

int
probe_run_all (struct probe *probes, size_t n, int timeout_ms, nslab_error_t *err)
{
  size_t batch = probe_batch_size ();
  for (size_t off = 0; off < n; off += batch)
    if (probe_batch (probes + off, n - off < batch ? n - off : batch, timeout_ms, err) < 0)
      return -1;
  return 0;
}

static int
probe_batch (struct probe *probes, size_t n, int timeout_ms, nslab_error_t *err)
{
  struct conn *c = xcalloc (n + 1, sizeof *c);
  struct pollfd *pfd = xcalloc (n + 1, sizeof *pfd);
  size_t *which = xcalloc (n + 1, sizeof *which);
  int *fds = xcalloc (n + 1, sizeof *fds);
  open_sockets (probes, n, fds);
  for (size_t i = 0; i < n; i++)
    {
      probes[i].ok = probes[i].kind == PROBE_NONE;
      c[i].fd = -1;
    }
  start_all (probes, c, fds, n);
  free (fds);
  struct timespec t0;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  int rc = 0;
  for (;;)
    {
      size_t m = 0;
      for (size_t i = 0; i < n; i++)
        if (c[i].phase != PH_DONE)
          {
            pfd[m] = (struct pollfd) { .fd = c[i].fd,
                                       .events = c[i].phase == PH_READING ? POLLIN : POLLOUT };
            which[m++] = i;
          }
      long left = timeout_ms - ms_since (&t0);
      if (m == 0 || left <= 0)
        break;
      int r = poll (pfd, m, (int) left);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          rc = nslab_error (err, errno, "poll readiness probes");
          break;
        }
      for (size_t k = 0; k < m; k++)
        if (pfd[k].revents)
          step (&probes[which[k]], &c[which[k]], pfd[k].revents);
    }
  for (size_t i = 0; i < n; i++)
    if (c[i].phase != PH_DONE)
      finish (&probes[i], &c[i], false);
  free (c);
  free (pfd);
  free (which);
  return rc;
}

/* ---- the prober thread ---- */

struct prober {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done_fd; /* eventfd, written when a batch finished */
  bool stop;
  /* the batch, from submit to collect; done once it ran */
  struct probe *batch;
  size_t n;
  int timeout_ms;
  bool busy, done;
  int rc;
  nslab_error_t err;
};

static void *
prober_run (void *arg)
{
  struct prober *p = arg;
  pthread_mutex_lock (&p->lock);
  for (;;)
    {
      while (!p->stop && !(p->busy && !p->done))
        pthread_cond_wait (&p->cond, &p->lock);
      if (p->stop)
        break;
      struct probe *batch = p->batch;
      size_t n = p->n;
      int timeout_ms = p->timeout_ms;
      pthread_mutex_unlock (&p->lock);
      nslab_error_t e = NULL;
      int rc = probe_run_all (batch, n, timeout_ms, &e);
      pthread_mutex_lock (&p->lock);
      p->rc = rc;
      p->err = e;
      p->done = true;
      uint64_t one = 1;
      if (write (p->done_fd, &one, sizeof one) < 0)
        {
          /* a full counter (never): the loop still polls */
        }
    }
  pthread_mutex_unlock (&p->lock);
  return NULL;
}

int
prober_start (struct prober **out, nslab_error_t *err)
{
  struct prober *p = xcalloc (1, sizeof *p);
  p->done_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (p->done_fd < 0)
    {
      int e = errno;
      free (p);
      return nslab_error (err, e, "eventfd for the prober");
    }
  pthread_mutex_init (&p->lock, NULL);
  pthread_cond_init (&p->cond, NULL);
  int e = pthread_create (&p->thread, NULL, prober_run, p);
  if (e != 0)
    {
      close (p->done_fd);
      pthread_mutex_destroy (&p->lock);
      pthread_cond_destroy (&p->cond);
      free (p);
      return nslab_error (err, e, "start the prober thread");
    }
  *out = p;
  return 0;
}

int
prober_fd (const struct prober *p)
{
  return p ? p->done_fd : -1;
}

bool
prober_busy (const struct prober *p)
{
  /* only the loop's thread sets and clears busy */
  return p->busy;
}

void
probes_free (struct probe *probes, size_t n)
{
  for (size_t i = 0; probes && i < n; i++)
    {
      /* the batch's own copies (prober_submit) */
      free ((char *) probes[i].node_netns);
      free ((char *) probes[i].path);
    }
  free (probes);
}

void
prober_submit (struct prober *p, const struct probe *probes, size_t n, int timeout_ms)
{
  struct probe *batch = xcalloc (n + 1, sizeof *batch);
  for (size_t i = 0; i < n; i++)
    {
      batch[i] = probes[i];
      batch[i].node_netns = probes[i].node_netns ? xstrdup (probes[i].node_netns) : NULL;
      batch[i].path = probes[i].path ? xstrdup (probes[i].path) : NULL;
    }
  pthread_mutex_lock (&p->lock);
  p->batch = batch;
  p->n = n;
  p->timeout_ms = timeout_ms;
  p->busy = true;
  p->done = false;
  pthread_cond_signal (&p->cond);
  pthread_mutex_unlock (&p->lock);
}

int
prober_collect (struct prober *p, struct probe **probes, size_t *n, nslab_error_t *err)
{
  *probes = NULL;
  *n = 0;
  pthread_mutex_lock (&p->lock);
  if (!p->busy || !p->done)
    {
      pthread_mutex_unlock (&p->lock);
      return 0;
    }
  uint64_t count;
  while (read (p->done_fd, &count, sizeof count) > 0)
    ;
  struct probe *batch = p->batch;
  size_t nb = p->n;
  int rc = p->rc;
  nslab_error_t e = p->err;
  p->batch = NULL;
  p->err = NULL;
  p->busy = p->done = false;
  pthread_mutex_unlock (&p->lock);
  if (rc < 0)
    {
      probes_free (batch, nb);
      *err = e;
      return -1;
    }
  *probes = batch;
  *n = nb;
  return 1;
}

void
prober_stop (struct prober *p)
{
  if (p == NULL)
    return;
  pthread_mutex_lock (&p->lock);
  p->stop = true;
  pthread_cond_signal (&p->cond);
  pthread_mutex_unlock (&p->lock);
  pthread_join (p->thread, NULL);
  probes_free (p->batch, p->n);
  nslab_error_free (&p->err);
  close (p->done_fd);
  pthread_mutex_destroy (&p->lock);
  pthread_cond_destroy (&p->cond);
  free (p);
}
