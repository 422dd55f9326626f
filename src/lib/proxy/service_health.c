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

void
hc_view_from_json (const json_t *services, const json_t *endpoints, const json_t *nodes, const char *node,
                   struct hc_view *out)
{
  memset (out, 0, sizeof *out);
  out->services = xcalloc (json_array_size (services) + 1, sizeof *out->services);
  size_t i;
  const json_t *o;
  json_array_foreach (services, i, o)
    {
      json_int_t port = json_integer_value (json_object_get (json_object_get (o, "spec"), "healthCheckNodePort"));
      const char *ns = str_at (o, "metadata", "namespace"), *name = str_at (o, "metadata", "name");
      if (port <= 0 || port > 65535 || ns == NULL || name == NULL)
        continue;
      struct hc_service *s = &out->services[out->n_services++];
      s->ns = xstrdup (ns);
      s->name = xstrdup (name);
      s->port = (uint16_t) port;
    }
  qsort (out->services, out->n_services, sizeof *out->services, cmp_service);
  json_array_foreach (endpoints, i, o)
    {
      struct hc_service key = { .ns = (char *) str_at (o, "metadata", "namespace"),
                                .name = (char *) str_at (o, "metadata", "name") };
      if (key.ns == NULL || key.name == NULL || out->n_services == 0)
        continue;
      struct hc_service *s = bsearch (&key, out->services, out->n_services, sizeof *out->services, cmp_service);
      if (s)
        s->local_endpoints = local_ready_endpoints (o, node);
    }
  json_array_foreach (nodes, i, o)
    {
      const char *name = str_at (o, "metadata", "name");
      if (name && strcmp (name, node) == 0)
        out->node_eligible = true;
    }
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
