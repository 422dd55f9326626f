/* kube-proxy's health answers (service_health.h). */
#include "proxy/service_health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/strmap.h"
#include "base/util.h"

static const char *
str_at (const json_t *o, const char *a, const char *b)
{
  const json_t *v = json_object_get (o, a);
  return json_string_value (b ? json_object_get (v, b) : v);
}

static int
cmp_service (const void *a, const void *b)
{
  const struct hc_service *x = a, *y = b;
  int c = strcmp (x->ns, y->ns);
  return c ? c : strcmp (x->name, y->name);
}

/* Endpoints' subsets hold only ready addresses (notReadyAddresses are
 * apart): each address with this node's name and its subset's port is one
 * local ready endpoint, "ip:port" once however many ports share it. */
static int
local_ready_endpoints (const json_t *ep, const char *node)
{
  struct strmap seen;
  strmap_init (&seen);
  int n = 0;
  size_t i, j;
  const json_t *sub, *a;
  json_array_foreach (json_object_get (ep, "subsets"), i, sub)
    {
      const json_t *ports = json_object_get (sub, "ports");
      size_t k;
      const json_t *p;
      json_array_foreach (ports, k, p)
        {
          json_int_t port = json_integer_value (json_object_get (p, "port"));
          json_array_foreach (json_object_get (sub, "addresses"), j, a)
            {
              const char *ip = str_at (a, "ip", NULL), *on = str_at (a, "nodeName", NULL);
              if (ip == NULL || on == NULL || strcmp (on, node) != 0)
                continue;
              cleanup_free char *key = xasprintf ("%s:%lld", ip, (long long) port);
              if (strmap_get (&seen, key))
                continue;
              strmap_put (&seen, key, (void *) 1);
              n++;
            }
        }
    }
  strmap_free (&seen);
  return n;
}

const char *const hc_cache_kinds[3] = { "Service", "Endpoints", "Node" };

void
hc_cache_init (struct hc_cache *c)
{
  strmap_init (&c->ports);
  strmap_init (&c->local);
  strmap_init (&c->nodes);
}

void
hc_cache_free (struct hc_cache *c)
{
  strmap_free (&c->ports);
  strmap_free (&c->local);
  strmap_free (&c->nodes);
}

void
hc_cache_put (struct hc_cache *c, const char *kind, const json_t *obj, const char *node)
{
  const char *ns = str_at (obj, "metadata", "namespace"), *name = str_at (obj, "metadata", "name");
  if (name == NULL)
    return;
  if (strcmp (kind, "Node") == 0)
    {
      strmap_set (&c->nodes, name, (void *) 1);
      return;
    }
  if (ns == NULL)
    return;
  cleanup_free char *key = xasprintf ("%s/%s", ns, name);
  if (strcmp (kind, "Service") == 0)
    {
      json_int_t port = json_integer_value (json_object_get (json_object_get (obj, "spec"), "healthCheckNodePort"));
      strmap_set (&c->ports, key, (void *) (uintptr_t) (port > 0 && port <= 65535 ? port + 1 : 1));
    }
  else if (strcmp (kind, "Endpoints") == 0)
    strmap_set (&c->local, key, (void *) (uintptr_t) (local_ready_endpoints (obj, node) + 1));
}

void
hc_cache_put_lists (struct hc_cache *c, const json_t *const lists[3], const char *node)
{
  for (size_t k = 0; k < 3; k++)
    {
      size_t i;
      const json_t *o;
      json_array_foreach (lists[k], i, o)
        hc_cache_put (c, hc_cache_kinds[k], o, node);
    }
}

size_t
hc_cache_count (const struct hc_cache *c)
{
  return c->ports.n + c->local.n + c->nodes.n;
}

void
hc_cache_view (const struct hc_cache *c, const char *node, struct hc_view *out)
{
  memset (out, 0, sizeof *out);
  out->services = xcalloc (c->ports.n + 1, sizeof *out->services);
  for (size_t i = 0; i < c->ports.cap; i++)
    {
      uintptr_t port = (uintptr_t) (c->ports.keys[i] ? c->ports.vals[i] : NULL);
      if (port <= 1)
        continue;
      const char *key = c->ports.keys[i], *slash = strchr (key, '/');
      struct hc_service *s = &out->services[out->n_services++];
      s->ns = xstrndup (key, (size_t) (slash - key));
      s->name = xstrdup (slash + 1);
      s->port = (uint16_t) (port - 1);
      uintptr_t local = (uintptr_t) strmap_get (&c->local, key);
      s->local_endpoints = local ? (int) (local - 1) : 0;
    }
  qsort (out->services, out->n_services, sizeof *out->services, cmp_service);
  out->node_eligible = strmap_get (&c->nodes, node) != NULL;
}

void
hc_view_from_json (const json_t *services, const json_t *endpoints, const json_t *nodes, const char *node,
                   struct hc_view *out)
{
  struct hc_cache c;
  hc_cache_init (&c);
  hc_cache_put_lists (&c, (const json_t *const[3]) { services, endpoints, nodes }, node);
  hc_cache_view (&c, node, out);
  hc_cache_free (&c);
}

void
hc_view_free (struct hc_view *v)
{
  for (size_t i = 0; i < v->n_services; i++)
    {
      free (v->services[i].ns);
      free (v->services[i].name);
    }
  free (v->services);
  memset (v, 0, sizeof *v);
}

/* Go's %q of a string: the names here are DNS labels, but quote what
 * strconv.Quote would escape anyway. */
static void
go_quote (struct strbuf *sb, const char *s)
{
  sb_add (sb, "\"");
  for (const unsigned char *c = (const unsigned char *) s; *c; c++)
    if (*c == '"' || *c == '\\')
      sb_addf (sb, "\\%c", *c);
    else if (*c < 0x20 || *c == 0x7f)
      sb_addf (sb, "\\x%02x", *c);
    else
      sb_addf (sb, "%c", *c);
  sb_add (sb, "\"");
}

char *
hc_service_body (const char *ns, const char *name, int count, bool proxy_healthy)
{
  /* dedent.Dedent of the handler's template: its tab indentation, less
   * the common two tabs. */
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "{\n\t\"service\": {\n\t\t\"namespace\": ");
  go_quote (&sb, ns);
  sb_add (&sb, ",\n\t\t\"name\": ");
  go_quote (&sb, name);
  sb_addf (&sb, "\n\t},\n\t\"localEndpoints\": %d,\n\t\"serviceProxyHealthy\": %s\n}", count,
           proxy_healthy ? "true" : "false");
  return sb_steal (&sb);
}

void
hc_go_time (int64_t wall_ns, int64_t mono_ns, char out[80])
{
  if (wall_ns == 0)
    {
      snprintf (out, 80, "0001-01-01 00:00:00 +0000 UTC");
      return;
    }
  time_t secs = (time_t) (wall_ns / 1000000000);
  long frac = (long) (wall_ns % 1000000000);
  struct tm tm;
  gmtime_r (&secs, &tm);
  char date[32], fr[16] = "";
  strftime (date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  /* .999999999: trailing zeros and a zero fraction are left out */
  if (frac)
    {
      snprintf (fr, sizeof fr, ".%09ld", frac);
      for (size_t n = strlen (fr); n > 1 && fr[n - 1] == '0'; n--)
        fr[n - 1] = '\0';
    }
  int64_t m = mono_ns < 0 ? -mono_ns : mono_ns;
  snprintf (out, 80, "%s%s +0000 UTC m=%c%lld.%09lld", date, fr, mono_ns < 0 ? '-' : '+',
            (long long) (m / 1000000000), (long long) (m % 1000000000));
}

int
hc_proxier_answer (bool livez, bool healthy, bool node_eligible, const char *last_updated, const char *now,
                   char **body)
{
  bool ok = livez ? healthy : healthy && node_eligible;
  /* A healthy server reports now as lastUpdated, as older releases did. */
  const char *lu = ok ? now : last_updated;
  if (livez)
    *body = xasprintf ("{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\"}", lu, now);
  else
    *body = xasprintf ("{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\", \"nodeEligible\": %s}", lu, now,
                       node_eligible ? "true" : "false");
  return ok ? 200 : 503;
}
