/* The cluster DNS server (coredns.h): one thread, poll over a UDP socket,
 * a TCP listener and its connections. */
#include "dns/coredns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/strmap.h"
#include "base/ipaddr.h"
#include "base/util.h"
#include "state/snapshot.h"

/* How often the store's resourceVersion is looked at, at most. */
#define CHECK_EVERY_NS 1000000ull
/* How long a failed store open waits before the next try (the pod may
 * start before `up` has written the store). */
#define REOPEN_EVERY_NS 100000000ull
/* TCP: connections at once (CoreDNS has no limit; a lab needs few), and
 * how long one may stay idle (CoreDNS's read timeout is 10 s). */
#define MAX_CONNS 64
#define TCP_IDLE_NS 10000000000ull
/* Queries read (recvmmsg) and answered (sendmmsg) per system call. */
#define UDP_BATCH 16
/* The answer cache (CoreDNS's cache plugin, which both flavors' Corefile
 * enables): slots, and the longest query kept. */
#define CACHE_SLOTS 512
#define CACHE_KEY_MAX 512

/* ---- the view from the store ------------------------------------------ */

static const char *
str_at (const json_t *o, const char *a, const char *b)
{
  const json_t *v = json_object_get (o, a);
  return json_string_value (b ? json_object_get (v, b) : v);
}

static int
cmp_u32 (const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
  return x < y ? -1 : x > y;
}

static void
service_from_json (struct dns_service *s, const json_t *svc)
{
  s->ns = xstrdup (str_at (svc, "metadata", "namespace") ? str_at (svc, "metadata", "namespace") : "");
  s->name = xstrdup (str_at (svc, "metadata", "name") ? str_at (svc, "metadata", "name") : "");
  const json_t *spec = json_object_get (svc, "spec");
  const char *cip = str_at (spec, "clusterIP", NULL);
  if (cip == NULL || !ip_parse (cip, &s->cluster_ip))
    s->cluster_ip = 0; /* "None": headless */
  const json_t *ports = json_object_get (spec, "ports");
  s->ports = xcalloc (json_array_size (ports) + 1, sizeof *s->ports);
  size_t i;
  const json_t *p;
  json_array_foreach (ports, i, p)
    {
      struct dns_port *dp = &s->ports[s->n_ports++];
      const char *name = str_at (p, "name", NULL), *proto = str_at (p, "protocol", NULL);
      dp->name = name && *name ? xstrdup (name) : NULL;
      snprintf (dp->proto, sizeof dp->proto, "%s", proto ? proto : "TCP");
      for (char *c = dp->proto; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
          *c = (char) (*c - 'A' + 'a');
      dp->port = (uint16_t) json_integer_value (json_object_get (p, "port"));
      const json_t *tp = json_object_get (p, "targetPort");
      dp->target = json_is_integer (tp) ? (uint16_t) json_integer_value (tp) : dp->port;
    }
}

/* The ready addresses of the service's Endpoints, and each named port's
 * endpoint port (what a headless SRV record points at). */
static void
endpoints_from_json (struct dns_service *s, const json_t *ep)
{
  size_t i, j;
  const json_t *sub, *a, *p;
  json_array_foreach (json_object_get (ep, "subsets"), i, sub)
    {
      json_array_foreach (json_object_get (sub, "addresses"), j, a)
        {
          uint32_t ip;
          const char *text = str_at (a, "ip", NULL);
          if (text == NULL || !ip_parse (text, &ip))
            continue;
          *VEC_PUSH (s->endpoints, s->n_endpoints) = ip;
        }
      json_array_foreach (json_object_get (sub, "ports"), j, p)
        {
          const char *name = str_at (p, "name", NULL);
          for (size_t k = 0; k < s->n_ports; k++)
            if ((name == NULL && s->n_ports == 1) || (name && s->ports[k].name && strcmp (name, s->ports[k].name) == 0))
              s->ports[k].target = (uint16_t) json_integer_value (json_object_get (p, "port"));
        }
    }
  if (s->n_endpoints == 0)
    return;
  qsort (s->endpoints, s->n_endpoints, sizeof *s->endpoints, cmp_u32);
  size_t n = 1;
  for (size_t k = 1; k < s->n_endpoints; k++)
    if (s->endpoints[k] != s->endpoints[n - 1])
      s->endpoints[n++] = s->endpoints[k];
  s->n_endpoints = n;
}

int
coredns_view_load (struct store *st, const char *zone, struct dns_view *out, nslab_error_t *err)
{
  static const char *const kinds[] = { "Service", "Endpoints" };
  json_t *lists[2];
  uint64_t rv = 0;
  memset (out, 0, sizeof *out);
  int rc = store_list_kinds (st, 2, kinds, lists, &rv, err);
  json_t *svcs = lists[0], *eps = lists[1];
  if (rc == 0)
    {
      out->zone = xstrdup (zone);
      out->serial = (uint32_t) rv;
      out->services = xcalloc (json_array_size (svcs) + 1, sizeof *out->services);
      size_t i;
      const json_t *o;
      /* Endpoints are named after their Service: join through an index,
         not a scan per Endpoints (a thousand services would mean a
         million comparisons per reload, with no answers meanwhile). */
      struct strmap by_name;
      strmap_init (&by_name);
      json_array_foreach (svcs, i, o)
        {
          struct dns_service *s = &out->services[out->n_services];
          service_from_json (s, o);
          cleanup_free char *key = xasprintf ("%s/%s", s->ns, s->name);
          strmap_claim (&by_name, key, out->n_services++);
        }
      json_array_foreach (eps, i, o)
        {
          const char *ns = str_at (o, "metadata", "namespace"), *name = str_at (o, "metadata", "name");
          size_t k;
          if (ns == NULL || name == NULL)
            continue;
          cleanup_free char *key = xasprintf ("%s/%s", ns, name);
          if (strmap_owner (&by_name, key, &k))
            endpoints_from_json (&out->services[k], o);
        }
      strmap_free (&by_name);
    }
  json_decref (svcs);
  json_decref (eps);
  return rc;
}

/* ---- the server -------------------------------------------------------- */

/* A cached answer: the query's bytes after its ID (the name as asked, type,
 * class, flags, EDNS) and the transport are the key; the answer's ID is
 * the asker's. Kept until the view changes, so never stale. */
struct cache_entry {
  uint8_t *key, *answer;
  size_t key_len, answer_len;
  uint64_t hash;
};

struct server {
  const char *lab;
  char *zone;
  struct store *store;
  struct dns_view view;
  bool have_view;
  struct store_kinds_version rv;
  uint64_t checked_at, open_tried_at;
  coredns_log_fn log;
  struct cache_entry cache[CACHE_SLOTS];
};

static void
cache_clear (struct server *sv)
{
  for (size_t i = 0; i < CACHE_SLOTS; i++)
    {
      free (sv->cache[i].key);
      free (sv->cache[i].answer);
      sv->cache[i] = (struct cache_entry) { 0 };
    }
}

static uint64_t
now_ns (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (uint64_t) t.tv_sec * 1000000000ull + (uint64_t) t.tv_nsec;
}

/* A failure to read the store is not fatal (the answers are SERVFAIL
 * until it can be read again): handed to the caller's log, then dropped. */
static void
log_error (struct server *sv, nslab_error_t *err)
{
  if (sv->log)
    sv->log (*err);
  nslab_error_free (err);
}

/* The view, as fresh as the store (see CHECK_EVERY_NS); NULL while the
 * store cannot be read (the answers are then SERVFAIL). */
static const struct dns_view *
current_view (struct server *sv)
{
  uint64_t now = now_ns ();
  nslab_error_t err = NULL;
  if (sv->store == NULL)
    {
      if (sv->open_tried_at && now - sv->open_tried_at < REOPEN_EVERY_NS)
        return sv->have_view ? &sv->view : NULL;
      sv->open_tried_at = now;
      if (sv->zone == NULL)
        {
          /* The cluster domain, from the snapshot of what up planned,
           * when the command line did not name it: all of the plan's
           * JSON parsed (~0.3 MB at 100 pods) for one string. */
          struct plan *p = NULL;
          if (snapshot_read (sv->lab, &p, &err) < 0)
            {
              log_error (sv, &err);
              return NULL;
            }
          sv->zone = xstrdup (p->objects->dns_domain);
          plan_free (p);
        }
      if (store_open (sv->lab, &sv->store, &err) < 0)
        {
          log_error (sv, &err);
          return sv->have_view ? &sv->view : NULL;
        }
      sv->checked_at = 0;
    }
  if (sv->have_view && now - sv->checked_at < CHECK_EVERY_NS)
    return &sv->view;
  sv->checked_at = now;
  /* Only what DNS answers from: Events and Node status come and go all
     the time and would empty the cache for nothing. */
  struct store_kinds_version rv;
  if (store_kinds_version (sv->store, "Service", "Endpoints", NULL, &rv, &err) < 0)
    {
      log_error (sv, &err);
      return sv->have_view ? &sv->view : NULL;
    }
  if (sv->have_view && rv.newest == sv->rv.newest && rv.count == sv->rv.count)
    return &sv->view;
  struct dns_view fresh;
  if (coredns_view_load (sv->store, sv->zone, &fresh, &err) < 0)
    {
      log_error (sv, &err);
      return sv->have_view ? &sv->view : NULL;
    }
  dns_view_free (&sv->view);
  cache_clear (sv);
  sv->view = fresh;
  sv->have_view = true;
  sv->rv = rv;
  /* The store's JSON is gone: give its pages back (the pod's memory). */
  malloc_trim (0);
  return &sv->view;
}

/* dns_answer through the cache. */
static int
answer (struct server *sv, const struct dns_view *v, const uint8_t *q, size_t len, bool tcp, uint8_t **out,
        size_t *out_len)
{
  if (v == NULL || len <= 2 || len > CACHE_KEY_MAX)
    return dns_answer (v, q, len, tcp, out, out_len);
  uint64_t h = fnv1a64_mem (q + 2, len - 2, FNV64_INIT) ^ tcp;
  struct cache_entry *e = &sv->cache[h % CACHE_SLOTS];
  if (e->key && e->hash == h && e->key_len == len - 2 && memcmp (e->key, q + 2, len - 2) == 0)
    {
      *out = xmalloc (e->answer_len);
      memcpy (*out, e->answer, e->answer_len);
      (*out)[0] = q[0];
      (*out)[1] = q[1];
      *out_len = e->answer_len;
      return 0;
    }
  if (dns_answer (v, q, len, tcp, out, out_len) < 0)
    return -1;
  free (e->key);
  free (e->answer);
  e->hash = h;
  e->key_len = len - 2;
  e->key = xmalloc (e->key_len);
  memcpy (e->key, q + 2, e->key_len);
  e->answer_len = *out_len;
  e->answer = xmalloc (*out_len);
  memcpy (e->answer, *out, *out_len);
  return 0;
}

struct conn {
  int fd;
  uint8_t buf[2 + 65535];
  size_t have;
  uint64_t last;
};

static int
bound_socket (int type, uint16_t port, nslab_error_t *err)
{
  int one = 1;
  int fd = socket (AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return nslab_error (err, errno, "socket");
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port), .sin_addr.s_addr = htonl (INADDR_ANY) };
  if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
      || bind (fd, (struct sockaddr *) &a, sizeof a) < 0 || (type == SOCK_STREAM && listen (fd, 128) < 0))
    {
      int e = errno;
      close (fd);
      return nslab_error (err, e, "%s port %u", type == SOCK_STREAM ? "tcp" : "udp", port);
    }
  return fd;
}

static void
serve_udp (struct server *sv, int fd)
{
  static uint8_t in[UDP_BATCH][4096];
  struct mmsghdr msgs[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  struct sockaddr_in from[UDP_BATCH];
  for (;;)
    {
      for (int i = 0; i < UDP_BATCH; i++)
        {
          iov[i] = (struct iovec) { .iov_base = in[i], .iov_len = sizeof in[i] };
          msgs[i] = (struct mmsghdr) { .msg_hdr = { .msg_name = &from[i], .msg_namelen = sizeof from[i],
                                                    .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }
      int n = recvmmsg (fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0)
        return;
      const struct dns_view *v = current_view (sv);
      struct mmsghdr outs[UDP_BATCH];
      struct iovec oiov[UDP_BATCH];
      uint8_t *bufs[UDP_BATCH];
      int m = 0;
      for (int i = 0; i < n; i++)
        {
          size_t len = 0;
          uint8_t *ans = NULL;
          if (answer (sv, v, in[i], msgs[i].msg_len, false, &ans, &len) < 0)
            continue;
          bufs[m] = ans;
          oiov[m] = (struct iovec) { .iov_base = ans, .iov_len = len };
          outs[m] = (struct mmsghdr) { .msg_hdr = { .msg_name = &from[i], .msg_namelen = msgs[i].msg_hdr.msg_namelen,
                                                    .msg_iov = &oiov[m], .msg_iovlen = 1 } };
          m++;
        }
      /* A full send buffer drops replies, as a busy server's would: the
       * client asks again. */
      if (m > 0)
        sendmmsg (fd, outs, (unsigned) m, MSG_DONTWAIT);
      for (int i = 0; i < m; i++)
        free (bufs[i]);
      if (n < UDP_BATCH)
        return;
    }
}

static void
conn_close (struct conn **c)
{
  close ((*c)->fd);
  free (*c);
  *c = NULL;
}

/* Read what the connection has; answer every whole message (2-byte
 * length prefix, RFC 1035 4.2.2). False once it is to be closed. */
static bool
serve_tcp (struct server *sv, struct conn *c)
{
  for (;;)
    {
      ssize_t r = read (c->fd, c->buf + c->have, sizeof c->buf - c->have);
      if (r == 0)
        return false;
      if (r < 0)
        return errno == EAGAIN || errno == EINTR;
      c->have += (size_t) r;
      c->last = now_ns ();
      while (c->have >= 2)
        {
          size_t len = (size_t) c->buf[0] << 8 | c->buf[1];
          if (c->have < 2 + len)
            break;
          uint8_t *ans = NULL;
          size_t alen = 0;
          if (answer (sv, current_view (sv), c->buf + 2, len, true, &ans, &alen) == 0)
            {
              uint8_t pre[2] = { (uint8_t) (alen >> 8), (uint8_t) alen };
              struct iovec iov[2] = { { pre, 2 }, { ans, alen } };
              struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
              /* Answers are small: a client that does not read them is dropped. */
              ssize_t w = sendmsg (c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
              free (ans);
              if (w != (ssize_t) (alen + 2))
                return false;
            }
          memmove (c->buf, c->buf + 2 + len, c->have - 2 - len);
          c->have -= 2 + len;
        }
    }
}

int
coredns_serve (const char *lab, const char *zone, uint16_t port, int ready_fd, coredns_log_fn log,
               nslab_error_t *err)
{
  struct server sv = { .lab = lab, .log = log };
  int udp = bound_socket (SOCK_DGRAM, port, err);
  if (udp < 0)
    return -1;
  int tcp = bound_socket (SOCK_STREAM, port, err);
  if (tcp < 0)
    {
      close (udp);
      return -1;
    }
  if (zone)
    sv.zone = xstrdup (zone);
  /* Load now rather than at the first query. */
  current_view (&sv);
  if (ready_fd >= 0)
    close (ready_fd);
  struct conn *conns[MAX_CONNS] = { 0 };
  for (;;)
    {
      struct pollfd pfd[2 + MAX_CONNS];
      int idx[MAX_CONNS];
      nfds_t n = 0;
      pfd[n++] = (struct pollfd) { .fd = udp, .events = POLLIN };
      pfd[n++] = (struct pollfd) { .fd = tcp, .events = POLLIN };
      for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i])
          {
            idx[n - 2] = i;
            pfd[n++] = (struct pollfd) { .fd = conns[i]->fd, .events = POLLIN };
          }
      int r = poll (pfd, n, 1000);
      if (r < 0 && errno != EINTR)
        return nslab_error (err, errno, "poll");
      if (r > 0 && (pfd[0].revents & POLLIN))
        serve_udp (&sv, udp);
      for (nfds_t i = 2; r > 0 && i < n; i++)
        if (pfd[i].revents && !serve_tcp (&sv, conns[idx[i - 2]]))
          conn_close (&conns[idx[i - 2]]);
      if (r > 0 && (pfd[1].revents & POLLIN))
        for (;;)
          {
            int fd = accept4 (tcp, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
              break;
            int slot = -1;
            for (int i = 0; i < MAX_CONNS && slot < 0; i++)
              if (conns[i] == NULL)
                slot = i;
            if (slot < 0)
              {
                close (fd);
                continue;
              }
            conns[slot] = xcalloc (1, sizeof **conns);
            conns[slot]->fd = fd;
            conns[slot]->last = now_ns ();
          }
      uint64_t now = now_ns ();
      for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i] && now - conns[i]->last > TCP_IDLE_NS)
          conn_close (&conns[i]);
    }
}
