/* kubectl's pod row (see pods.h). */
#include "view/pods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

time_t
kubectl_parse_time (const char *s)
{
  return time_parse_rfc3339 (s);
}

char *
kubectl_human_duration (long s)
{
  if (s < 0)
    s = 0;
  if (s < 60 * 2)
    return xasprintf ("%lds", s);
  long m = s / 60;
  if (m < 10)
    return s % 60 ? xasprintf ("%ldm%lds", m, s % 60) : xasprintf ("%ldm", m);
  if (m < 60 * 3)
    return xasprintf ("%ldm", m);
  long h = s / 3600;
  if (h < 8)
    return m % 60 ? xasprintf ("%ldh%ldm", h, m % 60) : xasprintf ("%ldh", h);
  if (h < 48)
    return xasprintf ("%ldh", h);
  if (h < 24 * 8)
    return h % 24 ? xasprintf ("%ldd%ldh", h / 24, h % 24) : xasprintf ("%ldd", h / 24);
  if (h < 24 * 365 * 2)
    return xasprintf ("%ldd", h / 24);
  if (h < 24 * 365 * 8)
    {
      long dy = (h / 24) % 365;
      return dy ? xasprintf ("%ldy%ldd", h / 24 / 365, dy) : xasprintf ("%ldy", h / 24 / 365);
    }
  return xasprintf ("%ldy", h / 24 / 365);
}

static const char *
str_at (const json_t *o, const char *a, const char *b)
{
  const json_t *v = json_object_get (o, a);
  if (b)
    v = json_object_get (v, b);
  return json_string_value (v);
}

void
pod_row_from_json (const json_t *pod, time_t now, struct pod_row *r)
{
  memset (r, 0, sizeof *r);
  const json_t *meta = json_object_get (pod, "metadata"), *spec = json_object_get (pod, "spec"),
               *status = json_object_get (pod, "status");
  r->ns = xstrdup (str_at (meta, "namespace", NULL) ? str_at (meta, "namespace", NULL) : "");
  r->name = xstrdup (str_at (meta, "name", NULL) ? str_at (meta, "name", NULL) : "");
  r->total = (int) json_array_size (json_object_get (spec, "containers"));
  const char *phase = str_at (status, "phase", NULL);
  const char *reason = phase ? phase : "";
  if (str_at (status, "reason", NULL) && *str_at (status, "reason", NULL))
    reason = str_at (status, "reason", NULL);
  char buf[48];
  time_t last = 0;
  bool has_running = false, waiting_or_failed = false;
  const json_t *css = json_object_get (status, "containerStatuses");
  for (size_t k = json_array_size (css); k-- > 0;)
    {
      const json_t *cs = json_array_get (css, k), *state = json_object_get (cs, "state");
      r->restarts += (int) json_integer_value (json_object_get (cs, "restartCount"));
      const json_t *lt = json_object_get (json_object_get (cs, "lastState"), "terminated");
      if (lt)
        {
          time_t fin = kubectl_parse_time (str_at (lt, "finishedAt", NULL));
          if (fin > last)
            last = fin;
        }
      const json_t *w = json_object_get (state, "waiting"), *t = json_object_get (state, "terminated");
      if (w && str_at (w, "reason", NULL) && *str_at (w, "reason", NULL))
        {
          reason = str_at (w, "reason", NULL);
          waiting_or_failed = true;
        }
      else if (t && str_at (t, "reason", NULL) && *str_at (t, "reason", NULL))
        {
          reason = str_at (t, "reason", NULL);
          waiting_or_failed |= strcmp (reason, "Completed") != 0;
        }
      else if (t)
        {
          int sig = (int) json_integer_value (json_object_get (t, "signal"));
          if (sig)
            snprintf (buf, sizeof buf, "Signal:%d", sig);
          else
            snprintf (buf, sizeof buf, "ExitCode:%d", (int) json_integer_value (json_object_get (t, "exitCode")));
          reason = buf;
          waiting_or_failed = true;
        }
      else if (json_is_true (json_object_get (cs, "ready")) && json_object_get (state, "running"))
        {
          has_running = true;
          r->ready++;
        }
    }
  if (strcmp (reason, "Completed") == 0 && has_running)
    {
      bool ready_cond = false;
      const json_t *conds = json_object_get (status, "conditions");
      for (size_t i = 0; i < json_array_size (conds); i++)
        if (str_at (json_array_get (conds, i), "type", NULL)
            && strcmp (str_at (json_array_get (conds, i), "type", NULL), "Ready") == 0)
          ready_cond = true;
      reason = ready_cond ? "Running" : "NotReady";
    }
  if (json_object_get (meta, "deletionTimestamp"))
    reason = "Terminating";
  r->status = xstrdup (reason);
  r->last_restart_age = last ? (long) (now - last) : -1;
  if (r->restarts && last)
    {
      cleanup_free char *ago = kubectl_human_duration (r->last_restart_age);
      r->restarts_col = xasprintf ("%d (%s ago)", r->restarts, ago);
    }
  else
    r->restarts_col = xasprintf ("%d", r->restarts);
  time_t created = kubectl_parse_time (str_at (meta, "creationTimestamp", NULL));
  r->age = created ? (long) (now - created) : 0;
  const char *ip = str_at (status, "podIP", NULL), *node = str_at (spec, "nodeName", NULL);
  r->ip = xstrdup (ip && *ip ? ip : "<none>");
  r->node = xstrdup (node && *node ? node : "<none>");
  r->degraded = strcmp (reason, "Completed") != 0 && (waiting_or_failed || r->ready < r->total);
}

void
pod_row_free (struct pod_row *r)
{
  free (r->ns);
  free (r->name);
  free (r->status);
  free (r->restarts_col);
  free (r->ip);
  free (r->node);
}
