/* kube-proxy's health servers (health_server.h) over libmicrohttpd: each
 * listening address is a daemon with its own polling thread; the main
 * thread follows the store and opens and closes the service health checks
 * as SyncServices does. */
#include "proxy/health_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "proxy/service_health.h"
#include "state/store.h"
#include "state/watch.h"

/* The store is looked at when the lab's state dir is written (a commit),
 * as kube-proxy syncs on a watch event, and again after kube-proxy's
 * syncPeriod (30 s) without one; every 100 ms without inotify, before the
 * store exists and after a failed look. */
#define SYNC_PERIOD_MS 30000
#define POLL_MS 100
/* --healthz: 2 x the iptables sync period (30 s): how long an update may
 * stay queued before the proxy counts as unhealthy. */
#define HEALTH_TIMEOUT_NS 60000000000ll

struct server;

/* One open service health check (hcInstance): its port on every listening
 * address, and the local endpoint count its answers report. */
struct instance {
  char *ns, *name;
  uint16_t port;
  int endpoints;
  struct MHD_Daemon **daemons;
  size_t n_daemons;
  struct server *sv;
};

struct server {
  const struct kube_proxy_health_config *cfg;
  pthread_mutex_t lock;        /* everything below, read by the daemons' threads */
  struct instance **open;
  size_t n_open;
  bool node_eligible;
  int64_t oldest_queued_mono;  /* 0: nothing queued */
  int64_t last_updated_wall, last_updated_mono;
  int64_t start_mono;
  uint32_t *listen_ips;        /* the service health checks' addresses */
  size_t n_listen_ips;
};

static int64_t
clock_ns (clockid_t id)
{
  struct timespec t;
  clock_gettime (id, &t);
  return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

static bool
proxy_healthy_locked (const struct server *sv, int64_t now_mono)
{
  return sv->oldest_queued_mono == 0 || now_mono - sv->oldest_queued_mono < HEALTH_TIMEOUT_NS;
}

static enum MHD_Result
respond (struct MHD_Connection *conn, unsigned status, const char *type, char *body, int weight)
{
  struct MHD_Response *r = MHD_create_response_from_buffer (strlen (body), body, MHD_RESPMEM_MUST_FREE);
  if (r == NULL)
    {
      free (body);
      return MHD_NO;
    }
  MHD_add_response_header (r, "Content-Type", type);
  MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
  /* Current kube-proxy tells weighted load balancers (GCE's
   * WEIGHTED_MAGLEV) the local endpoint count. */
  if (weight >= 0)
    {
      char w[16];
      snprintf (w, sizeof w, "%d", weight);
      MHD_add_response_header (r, "X-Load-Balancing-Endpoint-Weight", w);
    }
  enum MHD_Result ret = MHD_queue_response (conn, status, r);
  MHD_destroy_response (r);
  return ret;
}

static enum MHD_Result
service_handler (void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
                 const char *upload, size_t *upload_size, void **con_cls)
{
  (void) url, (void) method, (void) version, (void) upload, (void) con_cls;
  if (*upload_size)
    {
      *upload_size = 0;
      return MHD_YES;
    }
  struct instance *in = cls;
  pthread_mutex_lock (&in->sv->lock);
  int count = in->endpoints;
  bool healthy = proxy_healthy_locked (in->sv, clock_ns (CLOCK_MONOTONIC));
  pthread_mutex_unlock (&in->sv->lock);
  return respond (conn, count != 0 && healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
                  hc_service_body (in->ns, in->name, count, healthy), count);
}

static enum MHD_Result
healthz_handler (void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
                 const char *upload, size_t *upload_size, void **con_cls)
{
  (void) method, (void) version, (void) upload, (void) con_cls;
  if (*upload_size)
    {
      *upload_size = 0;
      return MHD_YES;
    }
  struct server *sv = cls;
  bool livez = strcmp (url, "/livez") == 0;
  if (!livez && strcmp (url, "/healthz") != 0)
    return respond (conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", xstrdup ("404 page not found\n"), -1);
  int64_t now_mono = clock_ns (CLOCK_MONOTONIC), now_wall = clock_ns (CLOCK_REALTIME);
  char now[80], last[80];
  pthread_mutex_lock (&sv->lock);
  bool healthy = proxy_healthy_locked (sv, now_mono), eligible = sv->node_eligible;
  hc_go_time (sv->last_updated_wall, sv->last_updated_mono - sv->start_mono, last);
  pthread_mutex_unlock (&sv->lock);
  hc_go_time (now_wall, now_mono - sv->start_mono, now);
  char *body = NULL;
  int status = hc_proxier_answer (livez, healthy, eligible, last, now, &body);
  return respond (conn, (unsigned) status, "application/json", body, -1);
}

static struct MHD_Daemon *
listen_on (uint32_t ip, uint16_t port, MHD_AccessHandlerCallback handler, void *cls)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port), .sin_addr.s_addr = htonl (ip) };
  return MHD_start_daemon (MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL, handler, cls,
                           MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &a, MHD_OPTION_END);
}

static void
instance_close (struct instance *in)
{
  for (size_t i = 0; i < in->n_daemons; i++)
    MHD_stop_daemon (in->daemons[i]);
  free (in->daemons);
  free (in->ns);
  free (in->name);
  free (in);
}

/* listenAndServeAll: on every address, or none (the port stays closed
 * until the next sync, as kube-proxy logs and retries). */
static struct instance *
instance_open (struct server *sv, const struct hc_service *s)
{
  struct instance *in = xcalloc (1, sizeof *in);
  in->ns = xstrdup (s->ns);
  in->name = xstrdup (s->name);
  in->port = s->port;
  in->endpoints = s->local_endpoints;
  in->sv = sv;
  in->daemons = xcalloc (sv->n_listen_ips + 1, sizeof *in->daemons);
  for (size_t i = 0; i < sv->n_listen_ips; i++)
    {
      struct MHD_Daemon *d = listen_on (sv->listen_ips[i], s->port, service_handler, in);
      if (d == NULL)
        {
          char ip[IP_STRLEN];
          fprintf (stderr, "nslab-kube-proxy: node %s failed to start healthcheck \"%s/%s\" on %s:%u: %s\n",
                   sv->cfg->node, s->ns, s->name, ip_fmt (sv->listen_ips[i], ip), s->port, strerror (errno));
          instance_close (in);
          return NULL;
        }
      in->daemons[in->n_daemons++] = d;
    }
  fprintf (stderr, "nslab-kube-proxy: opening healthcheck service=\"%s/%s\" port=%u\n", s->ns, s->name, s->port);
  return in;
}

/* SyncServices + SyncEndpoints + SyncNode for a new view. Daemons are
 * stopped outside the lock: a stopping daemon waits for its handlers,
 * which take the lock. */
static void
sync_view (struct server *sv, const struct hc_view *v)
{
  struct instance **closing = NULL;
  size_t n_closing = 0;
  pthread_mutex_lock (&sv->lock);
  sv->node_eligible = v->node_eligible;
  size_t kept = 0;
  for (size_t i = 0; i < sv->n_open; i++)
    {
      struct instance *in = sv->open[i];
      const struct hc_service *s = NULL;
      for (size_t k = 0; k < v->n_services && !s; k++)
        if (strcmp (v->services[k].ns, in->ns) == 0 && strcmp (v->services[k].name, in->name) == 0)
          s = &v->services[k];
      if (s && s->port == in->port)
        {
          in->endpoints = s->local_endpoints;
          sv->open[kept++] = in;
        }
      else
        *VEC_PUSH (closing, n_closing) = in;
    }
  sv->n_open = kept;
  pthread_mutex_unlock (&sv->lock);
  for (size_t i = 0; i < n_closing; i++)
    {
      fprintf (stderr, "nslab-kube-proxy: closing healthcheck service=\"%s/%s\" port=%u\n", closing[i]->ns,
               closing[i]->name, closing[i]->port);
      instance_close (closing[i]);
    }
  free (closing);
  for (size_t k = 0; k < v->n_services; k++)
    {
      const struct hc_service *s = &v->services[k];
      bool have = false;
      pthread_mutex_lock (&sv->lock);
      for (size_t i = 0; i < sv->n_open && !have; i++)
        have = strcmp (sv->open[i]->ns, s->ns) == 0 && strcmp (sv->open[i]->name, s->name) == 0;
      pthread_mutex_unlock (&sv->lock);
      if (have)
        continue;
      struct instance *in = instance_open (sv, s);
      if (in == NULL)
        continue;
      pthread_mutex_lock (&sv->lock);
      *VEC_PUSH (sv->open, sv->n_open) = in;
      pthread_mutex_unlock (&sv->lock);
    }
}

/* Every object of the view's kinds into C, afresh. */
static int
load_all (struct store *st, const char *node, struct hc_cache *c, nslab_error_t *err)
{
  json_t *lists[3];
  if (store_list_kinds (st, 3, hc_cache_kinds, lists, NULL, err) < 0)
    return -1;
  hc_cache_free (c);
  hc_cache_init (c);
  hc_cache_put_lists (c, (const json_t *const *) lists, node);
  for (size_t k = 0; k < 3; k++)
    json_decref (lists[k]);
  return 0;
}

/* The objects of the view's kinds put since resourceVersion RV into C, as
 * a watch delivers them; 1 when C then holds COUNT objects, 0 when it does
 * not (some were deleted: the caller reads them all again). */
static int
load_changed (struct store *st, uint64_t rv, size_t count, const char *node, struct hc_cache *c, nslab_error_t *err)
{
  json_t *rows = NULL;
  if (store_changed_since (st, rv, hc_cache_kinds[0], hc_cache_kinds[1], hc_cache_kinds[2], &rows, err) < 0)
    return -1;
  size_t i;
  const json_t *row;
  int rc = 0;
  json_array_foreach (rows, i, row)
    {
      const char *kind = json_string_value (json_object_get (row, "kind"));
      const json_t *meta = json_object_get (row, "metadata");
      json_t *obj = NULL;
      if ((rc = store_get (st, kind, json_string_value (json_object_get (meta, "namespace")),
                           json_string_value (json_object_get (meta, "name")), &obj, err))
          < 0)
        break;
      /* gone since: the count tells */
      if (obj)
        hc_cache_put (c, kind, obj, node);
      json_decref (obj);
    }
  json_decref (rows);
  return rc < 0 ? -1 : hc_cache_count (c) == count;
}

/* nodeIPs of newServiceHealthServer: every address when no
 * --nodeport-addresses, else this node's addresses inside them. */
static void
listen_addresses (struct server *sv)
{
  const struct kube_proxy_health_config *cfg = sv->cfg;
  if (cfg->n_nodeport_cidrs == 0)
    {
      *VEC_PUSH (sv->listen_ips, sv->n_listen_ips) = 0;
      return;
    }
  struct ifaddrs *ifa = NULL;
  if (getifaddrs (&ifa) < 0)
    {
      fprintf (stderr, "nslab-kube-proxy: failed to get node ip address matching node port addresses, health "
                       "check port will listen to all node addresses: %s\n", strerror (errno));
      *VEC_PUSH (sv->listen_ips, sv->n_listen_ips) = 0;
      return;
    }
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
    {
      if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
        continue;
      uint32_t ip = ntohl (((const struct sockaddr_in *) i->ifa_addr)->sin_addr.s_addr);
      for (size_t c = 0; c < cfg->n_nodeport_cidrs; c++)
        if (cidr_contains (cfg->nodeport_cidrs[c], ip))
          {
            *VEC_PUSH (sv->listen_ips, sv->n_listen_ips) = ip;
            break;
          }
    }
  freeifaddrs (ifa);
}

static void
log_error (nslab_error_t *err)
{
  fprintf (stderr, "nslab-kube-proxy: %s\n", (*err)->msg);
  nslab_error_free (err);
}

int
kube_proxy_health_serve (const struct kube_proxy_health_config *cfg, nslab_error_t *err)
{
  struct server sv = { .cfg = cfg, .node_eligible = true, .start_mono = clock_ns (CLOCK_MONOTONIC) };
  pthread_mutex_init (&sv.lock, NULL);
  listen_addresses (&sv);
  struct MHD_Daemon *healthz = listen_on (cfg->healthz_ip, cfg->healthz_port, healthz_handler, &sv);
  if (healthz == NULL)
    {
      char ip[IP_STRLEN];
      int e = errno;
      free (sv.listen_ips);
      return nslab_error (err, e, "failed to start proxier healthz on %s:%u", ip_fmt (cfg->healthz_ip, ip),
                          cfg->healthz_port);
    }
  struct store *st = NULL;
  struct store_kinds_version seen = { 0 };
  uint64_t seen_rv = 0, seen_data = 0;
  struct hc_cache cache;
  hc_cache_init (&cache);
  bool have_view = false, have_data = false, synced = false, written = false;
  /* Watched before the first look, so no commit after it goes unnoticed. */
  cleanup_close int watch = watch_lab_dir (cfg->lab);
  for (int next_ms = POLL_MS;; written = wait_for_write (watch, written ? COMMIT_SETTLE_MS : next_ms))
    {
      next_ms = POLL_MS;
      nslab_error_t e = NULL;
      /* The store may come after the node's process: up writes it last. */
      if (st == NULL && store_open (cfg->lab, &st, &e) < 0)
        {
          nslab_error_free (&e);
          continue;
        }
      /* Nothing committed since the last look: nothing to read, and the
       * proxier as synced as it was. */
      uint64_t data = 0;
      if (store_data_version (st, &data, &e) < 0)
        {
          log_error (&e);
          continue;
        }
      if (!have_data || data != seen_data)
        {
          uint64_t rv = 0, observed = 0;
          struct store_kinds_version kinds;
          if (store_resource_version (st, &rv, &e) < 0
              || store_meta_get (st, "observedResourceVersion", &observed, &e) < 0
              || store_kinds_version (st, hc_cache_kinds[0], hc_cache_kinds[1], hc_cache_kinds[2], &kinds, &e) < 0)
            {
              log_error (&e);
              continue;
            }
          /* Read only when what the answers come from changed, and then
           * only what changed: every change of a running lab writes Pods,
           * ReplicaSets and Events, and reading every Service and
           * Endpoints of a large lab on each of them, in every node at
           * once, took the CPUs from the control loop that was applying
           * that very change. */
          if (!have_view || kinds.newest != seen.newest || kinds.count != seen.count)
            {
              int got = have_view ? load_changed (st, seen_rv, kinds.count, cfg->node, &cache, &e) : 0;
              if (got == 0)
                got = load_all (st, cfg->node, &cache, &e) < 0 ? -1 : 1;
              if (got < 0)
                {
                  log_error (&e);
                  continue;
                }
              struct hc_view v;
              hc_cache_view (&cache, cfg->node, &v);
              sync_view (&sv, &v);
              hc_view_free (&v);
              have_view = true;
              seen = kinds;
              seen_rv = rv;
            }
          /* A lab without a loop yet (observed 0 right after up) counts
           * as synced. */
          synced = observed == 0 || observed >= rv;
          seen_data = data;
          have_data = true;
        }
      /* QueuedUpdate while the control loop (this lab's proxier) has not
       * caught up with the store; Updated once it has. */
      int64_t now = clock_ns (CLOCK_MONOTONIC);
      pthread_mutex_lock (&sv.lock);
      if (synced)
        {
          sv.oldest_queued_mono = 0;
          sv.last_updated_mono = now;
          sv.last_updated_wall = clock_ns (CLOCK_REALTIME);
        }
      else if (sv.oldest_queued_mono == 0)
        sv.oldest_queued_mono = now;
      pthread_mutex_unlock (&sv.lock);
      next_ms = watch < 0 ? POLL_MS : SYNC_PERIOD_MS;
    }
}
