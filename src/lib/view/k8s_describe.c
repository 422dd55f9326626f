/* kubectl describe's printers (see k8s_describe.h). Function names follow
 * describe.go's so the two can be read side by side. */
#include "view/k8s_describe.h"

#include "k8s/pod_template.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/json.h"
#include "k8s/pod_template.h"
#include "k8s/quantity.h"
#include "view/k8s_table.h"
#include "view/pods.h"

/* ---- Go's text/tabwriter, as tabbedString configures it ----------------- */

/* Text is buffered until a flush; then each line is split at tabs into
 * cells (the text after the last tab is not a cell), and a column's width
 * is that of its widest cell plus 2 over each run of consecutive lines
 * that have a cell in that column: a line with fewer cells ends the run.
 * This is tabwriter.format's recursion. */
struct tabwriter {
  struct strbuf pending, out;
};

struct tw_line {
  char **cells;
  size_t n; /* cells, counting the text after the last tab */
};

static size_t
text_width (const char *s)
{
  size_t w = 0;
  for (; *s; s++)
    w += ((unsigned char) *s & 0xC0) != 0x80; /* runes, as tabwriter counts */
  return w;
}

static void
tw_write_lines (struct tabwriter *t, const struct tw_line *lines, size_t l0, size_t l1, size_t n_lines,
                const size_t *widths, size_t depth, bool ends_with_newline)
{
  for (size_t i = l0; i < l1; i++)
    {
      for (size_t j = 0; j < lines[i].n; j++)
        {
          sb_add (&t->out, lines[i].cells[j]);
          if (j < depth)
            for (size_t k = text_width (lines[i].cells[j]); k < widths[j]; k++)
              sb_add (&t->out, " ");
        }
      if (i + 1 < n_lines || ends_with_newline)
        sb_add (&t->out, "\n");
    }
}

static void
tw_format (struct tabwriter *t, const struct tw_line *lines, size_t l0, size_t l1, size_t n_lines, size_t *widths,
           size_t depth, bool nl)
{
  size_t column = depth;
  for (size_t this = l0; this < l1; this++)
    {
      if (column + 1 >= lines[this].n)
        continue;
      tw_write_lines (t, lines, l0, this, n_lines, widths, depth, nl);
      l0 = this;
      size_t width = 0;
      for (; this < l1 && column + 1 < lines[this].n; this++)
        {
          size_t w = text_width (lines[this].cells[column]) + 2;
          if (w > width)
            width = w;
        }
      widths[depth] = width;
      tw_format (t, lines, l0, this, n_lines, widths, depth + 1, nl);
      l0 = this;
      if (this == l1)
        break;
    }
  tw_write_lines (t, lines, l0, l1, n_lines, widths, depth, nl);
}

static void
tw_flush (struct tabwriter *t)
{
  if (t->pending.len == 0)
    return;
  char *text = sb_steal (&t->pending);
  sb_init (&t->pending);
  size_t len = strlen (text);
  bool nl = len && text[len - 1] == '\n';
  if (nl)
    text[len - 1] = '\0';
  size_t n_lines = 1, max_cells = 1;
  for (char *p = text; *p; p++)
    n_lines += *p == '\n';
  struct tw_line *lines = xcalloc (n_lines, sizeof *lines);
  char *p = text;
  for (size_t i = 0; i < n_lines; i++)
    {
      char *line = p;
      char *end = strchr (p, '\n');
      if (end)
        {
          *end = '\0';
          p = end + 1;
        }
      size_t n = 1;
      for (char *q = line; *q; q++)
        n += *q == '\t';
      lines[i].cells = xcalloc (n, sizeof (char *));
      lines[i].n = n;
      if (n > max_cells)
        max_cells = n;
      size_t j = 0;
      for (char *c = line;; j++)
        {
          char *tab = strchr (c, '\t');
          lines[i].cells[j] = c;
          if (tab == NULL)
            break;
          *tab = '\0';
          c = tab + 1;
        }
    }
  size_t *widths = xcalloc (max_cells, sizeof *widths);
  tw_format (t, lines, 0, n_lines, n_lines, widths, 0, nl);
  for (size_t i = 0; i < n_lines; i++)
    free (lines[i].cells);
  free (lines);
  free (widths);
  free (text);
}

/* PrefixWriter.Write: LEVEL two spaces, then the text. */
static void __attribute__ ((format (printf, 3, 4)))
w (struct tabwriter *t, int level, const char *fmt, ...)
{
  for (int i = 0; i < level; i++)
    sb_add (&t->pending, "  ");
  va_list ap;
  va_start (ap, fmt);
  sb_vaddf (&t->pending, fmt, ap);
  va_end (ap);
}

/* ---- field access ------------------------------------------------------- */


/* An IntOrString as intstr.String() prints it. */
static char *
intstr (const json_t *v)
{
  if (json_is_integer (v))
    return xasprintf ("%lld", (long long) json_integer_value (v));
  return xstrdup (json_string_value (v) ?: "");
}

/* A Time or a MicroTime ("...T05:00:59.123456Z": leases, events' eventTime)
 * to the second, as kubectl prints them. */
static time_t
parse_time (const char *ts)
{
  const char *dot = strchr (ts, '.');
  if (dot == NULL)
    return kubectl_parse_time (ts);
  cleanup_free char *whole = xasprintf ("%.*sZ", (int) (dot - ts), ts);
  return kubectl_parse_time (whole);
}

/* time.RFC1123Z of an RFC 3339 UTC timestamp, as Go prints a UTC time. */
static char *
rfc1123z (const char *ts)
{
  time_t t = parse_time (ts);
  struct tm tm;
  gmtime_r (&t, &tm);
  static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
  static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  return xasprintf ("%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* translateTimestampSince: "<unknown>" for an unset time. */
static char *
since (const char *ts, time_t now)
{
  time_t t = parse_time (ts);
  if (t == 0)
    return xstrdup ("<unknown>");
  return kubectl_human_duration ((long) (now - t));
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The keys of MAP, sorted; *n their count. Caller frees the array. */
static const char **
sorted_keys (const json_t *map, size_t *n)
{
  *n = json_object_size (map);
  const char **keys = xcalloc (*n + 1, sizeof *keys);
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) map, k, v) keys[i++] = k;
  qsort (keys, *n, sizeof *keys, cmp_str);
  return keys;
}

/* ---- shared sections ---------------------------------------------------- */

/* printLabelsMultilineWithIndent. */
static void
print_labels_multiline (struct tabwriter *t, const char *initial, const char *title, const json_t *labels)
{
  w (t, 0, "%s%s:\t", initial, title);
  size_t n;
  cleanup_free const char **keys = sorted_keys (labels, &n);
  if (n == 0)
    {
      w (t, 0, "<none>\n");
      return;
    }
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        w (t, 0, "%s\t", initial);
      w (t, 0, "%s=%s\n", keys[i], json_string_value (json_object_get (labels, keys[i])) ?: "");
    }
}

/* printAnnotationsMultiline: without last-applied-configuration; long or
 * multi-line values on lines of their own, shortened to 140 characters. */
static void
print_annotations_multiline (struct tabwriter *t, const char *title, const json_t *annotations)
{
  enum { MAX_ANNOTATION_LEN = 140 };
  w (t, 0, "%s:\t", title);
  size_t n;
  cleanup_free const char **keys = sorted_keys (annotations, &n);
  size_t shown = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (strcmp (keys[i], "kubectl.kubernetes.io/last-applied-configuration") == 0)
        continue;
      if (shown++)
        w (t, 0, "\t");
      cleanup_free char *value = xstrdup (json_string_value (json_object_get (annotations, keys[i])) ?: "");
      size_t len = strlen (value);
      if (len && value[len - 1] == '\n')
        value[--len] = '\0';
      if (len + strlen (keys[i]) + 2 > MAX_ANNOTATION_LEN || strchr (value, '\n'))
        {
          w (t, 0, "%s:\n", keys[i]);
          for (char *line = value, *end;; line = end + 1)
            {
              end = strchr (line, '\n');
              int l = end ? (int) (end - line) : (int) strlen (line);
              if (l > MAX_ANNOTATION_LEN - 2)
                w (t, 0, "\t  %.*s...\n", MAX_ANNOTATION_LEN - 2, line);
              else
                w (t, 0, "\t  %.*s\n", l, line);
              if (end == NULL)
                break;
            }
        }
      else
        w (t, 0, "%s: %s\n", keys[i], value);
    }
  if (shown == 0)
    w (t, 0, "<none>\n");
}

/* printTolerationsMultilineWithIndent. */
static void
print_tolerations_multiline (struct tabwriter *t, const char *initial, const char *title, const json_t *tols)
{
  w (t, 0, "%s%s:\t", initial, title);
  size_t n = json_array_size (tols);
  if (n == 0)
    {
      w (t, 0, "<none>\n");
      return;
    }
  /* sorted by key (sort.Slice: the seeds' tolerations have distinct keys) */
  const json_t **v = xcalloc (n, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get (tols, i);
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp (k8s_str (v[j - 1], "key"), k8s_str (v[j], "key")) > 0; j--)
      {
        const json_t *x = v[j];
        v[j] = v[j - 1];
        v[j - 1] = x;
      }
  for (size_t i = 0; i < n; i++)
    {
      const json_t *tol = v[i];
      if (i)
        w (t, 0, "%s\t", initial);
      const char *key = k8s_str (tol, "key"), *value = k8s_str (tol, "value"), *effect = k8s_str (tol, "effect");
      w (t, 0, "%s", key);
      if (*value)
        w (t, 0, "=%s", value);
      if (*effect)
        w (t, 0, ":%s", effect);
      if (strcmp (k8s_str (tol, "operator"), "Exists") == 0 && *value == '\0')
        w (t, 0, "%sop=Exists", *key || *effect ? " " : "");
      if (json_is_integer (json_object_get (tol, "tolerationSeconds")))
        w (t, 0, " for %llds", (long long) k8s_num (tol, "tolerationSeconds"));
      w (t, 0, "\n");
    }
  free (v);
}

static const char *
last_timestamp (const json_t *e)
{
  return k8s_str (e, "lastTimestamp");
}

static int
cmp_event (const void *a, const void *b)
{
  time_t x = parse_time (last_timestamp (*(const json_t *const *) a));
  time_t y = parse_time (last_timestamp (*(const json_t *const *) b));
  return (x > y) - (x < y);
}

/* DescribeEvents: a table of its own (the writer is flushed first), oldest
 * last-seen first. */
static void
describe_events (struct tabwriter *t, const json_t *events, time_t now)
{
  size_t n = json_array_size (events);
  if (n == 0)
    {
      w (t, 0, "Events:\t<none>\n");
      return;
    }
  tw_flush (t);
  const json_t **v = xcalloc (n, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get (events, i);
  /* insertion sort: stable, as the API's order among equal times */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && cmp_event (&v[j - 1], &v[j]) > 0; j--)
      {
        const json_t *x = v[j];
        v[j] = v[j - 1];
        v[j - 1] = x;
      }
  w (t, 0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
  w (t, 1, "----\t------\t----\t----\t-------\n");
  for (size_t i = 0; i < n; i++)
    {
      const json_t *e = v[i];
      cleanup_free char *first = *k8s_str (e, "eventTime") ? since (k8s_str (e, "eventTime"), now)
                                                       : since (k8s_str (e, "firstTimestamp"), now);
      cleanup_free char *interval = NULL;
      if (json_is_object (json_object_get (e, "series")))
        {
          cleanup_free char *last = since (k8s_str (e, "series.lastObservedTime"), now);
          interval = xasprintf ("%s (x%lld over %s)", last, (long long) k8s_num (e, "series.count"), first);
        }
      else if (k8s_num (e, "count") > 1)
        {
          cleanup_free char *last = since (k8s_str (e, "lastTimestamp"), now);
          interval = xasprintf ("%s (x%lld over %s)", last, (long long) k8s_num (e, "count"), first);
        }
      else
        interval = xstrdup (first);
      const char *source
          = *k8s_str (e, "source.component") ? k8s_str (e, "source.component") : k8s_str (e, "reportingComponent");
      /* strings.TrimSpace */
      const char *msg = k8s_str (e, "message");
      while (*msg == ' ' || *msg == '\n' || *msg == '\t')
        msg++;
      int mlen = (int) strlen (msg);
      while (mlen > 0 && (msg[mlen - 1] == ' ' || msg[mlen - 1] == '\n' || msg[mlen - 1] == '\t'))
        mlen--;
      w (t, 1, "%s\t%s\t%s\t%s\t%.*s\n", k8s_str (e, "type"), k8s_str (e, "reason"), interval, source, mlen, msg);
    }
  free (v);
}

static void
maybe_events (struct tabwriter *t, const struct k8s_describe_related *rel, time_t now)
{
  if (rel && rel->events)
    describe_events (t, rel->events, now);
}

/* ---- containers --------------------------------------------------------- */

/* describeContainerPorts / describeContainerHostPorts (v1.32: without
 * the ports' names). */
static char *
container_ports (const json_t *ports, const char *field)
{
  struct strbuf sb;
  sb_init (&sb);
  size_t i;
  const json_t *p;
  json_array_foreach (ports, i, p)
    sb_addf (&sb, "%s%lld/%s", i ? ", " : "", (long long) k8s_num (p, field), k8s_str (p, "protocol"));
  return sb_steal (&sb);
}

/* DescribeProbe, v1.32's wording. */
static char *
describe_probe (const json_t *p)
{
  cleanup_free char *attrs
      = xasprintf ("delay=%llds timeout=%llds period=%llds #success=%lld #failure=%lld",
                   (long long) k8s_num (p, "initialDelaySeconds"), (long long) k8s_num (p, "timeoutSeconds"),
                   (long long) k8s_num (p, "periodSeconds"), (long long) k8s_num (p, "successThreshold"),
                   (long long) k8s_num (p, "failureThreshold"));
  const json_t *x;
  if ((x = json_object_get (p, "exec")))
    {
      struct strbuf sb;
      sb_init (&sb);
      size_t i;
      const json_t *a;
      json_array_foreach (json_object_get (x, "command"), i, a) sb_addf (&sb, "%s%s", i ? " " : "",
                                                                         json_string_value (a) ?: "");
      cleanup_free char *cmd = sb_steal (&sb);
      return xasprintf ("exec [%s] %s", cmd, attrs);
    }
  if ((x = json_object_get (p, "httpGet")))
    {
      cleanup_free char *port = intstr (json_object_get (x, "port"));
      cleanup_free char *scheme = xstrdup (k8s_str (x, "scheme"));
      for (char *c = scheme; *c; c++)
        *c = (char) (*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
      const char *host = k8s_str (x, "host");
      bool v6 = strchr (host, ':') != NULL;
      return xasprintf ("http-get %s%s%s%s%s%s%s%s %s", scheme, *scheme ? "://" : "", v6 ? "[" : "", host,
                        v6 ? "]" : "", *port ? ":" : "", port, k8s_str (x, "path"), attrs);
    }
  if ((x = json_object_get (p, "tcpSocket")))
    {
      cleanup_free char *port = intstr (json_object_get (x, "port"));
      return xasprintf ("tcp-socket %s:%s %s", k8s_str (x, "host"), port, attrs);
    }
  if ((x = json_object_get (p, "grpc")))
    return xasprintf ("grpc <pod>:%lld %s %s", (long long) k8s_num (x, "port"), k8s_str (x, "service"), attrs);
  return xasprintf ("unknown %s", attrs);
}

/* describeStatus. */
static void
describe_status (struct tabwriter *t, const char *name, const json_t *state)
{
  const json_t *x;
  if ((x = json_object_get (state, "running")))
    {
      w (t, 2, "%s:\tRunning\n", name);
      cleanup_free char *started = rfc1123z (k8s_str (x, "startedAt"));
      w (t, 3, "Started:\t%s\n", started);
    }
  else if ((x = json_object_get (state, "waiting")))
    {
      w (t, 2, "%s:\tWaiting\n", name);
      if (*k8s_str (x, "reason"))
        w (t, 3, "Reason:\t%s\n", k8s_str (x, "reason"));
    }
  else if ((x = json_object_get (state, "terminated")))
    {
      w (t, 2, "%s:\tTerminated\n", name);
      if (*k8s_str (x, "reason"))
        w (t, 3, "Reason:\t%s\n", k8s_str (x, "reason"));
      if (*k8s_str (x, "message"))
        w (t, 3, "Message:\t%s\n", k8s_str (x, "message"));
      w (t, 3, "Exit Code:\t%lld\n", (long long) k8s_num (x, "exitCode"));
      if (k8s_num (x, "signal") > 0)
        w (t, 3, "Signal:\t%lld\n", (long long) k8s_num (x, "signal"));
      cleanup_free char *started = rfc1123z (k8s_str (x, "startedAt"));
      cleanup_free char *finished = rfc1123z (k8s_str (x, "finishedAt"));
      w (t, 3, "Started:\t%s\n", started);
      w (t, 3, "Finished:\t%s\n", finished);
    }
  else
    w (t, 2, "%s:\tWaiting\n", name);
}

/* describeResources: Limits then Requests, resource names sorted. */
static void
describe_resources (struct tabwriter *t, const json_t *res, int level)
{
  static const char *const which[][2] = { { "limits", "Limits" }, { "requests", "Requests" } };
  for (size_t k = 0; k < 2; k++)
    {
      const json_t *m = json_object_get (res, which[k][0]);
      size_t n;
      cleanup_free const char **keys = sorted_keys (m, &n);
      if (n)
        w (t, level, "%s:\n", which[k][1]);
      for (size_t i = 0; i < n; i++)
        {
          cleanup_free char *q = intstr (json_object_get (m, keys[i]));
          w (t, level + 1, "%s:\t%s\n", keys[i], q);
        }
    }
}

static int
cmp_mount (const void *a, const void *b)
{
  return strcmp (k8s_str (*(const json_t *const *) a, "mountPath"), k8s_str (*(const json_t *const *) b, "mountPath"));
}

/* describeContainers: STATUSES NULL for a pod template. */
static void
describe_containers (struct tabwriter *t, const char *label, const json_t *containers, const json_t *statuses,
                     const char *space)
{
  w (t, 0, "%s%s:%s\n", space, label, json_array_size (containers) ? "" : " <none>");
  size_t i;
  const json_t *c;
  json_array_foreach (containers, i, c)
    {
      const json_t *status = NULL;
      size_t j;
      const json_t *s;
      json_array_foreach (statuses, j, s) if (strcmp (k8s_str (s, "name"), k8s_str (c, "name")) == 0) status = s;
      /* describeContainerBasicInfo */
      w (t, 1, "%s%s:\n", *space ? " " : "", k8s_str (c, "name"));
      if (status)
        w (t, 2, "Container ID:\t%s\n", k8s_str (status, "containerID"));
      w (t, 2, "Image:\t%s\n", k8s_str (c, "image"));
      if (status)
        w (t, 2, "Image ID:\t%s\n", k8s_str (status, "imageID"));
      const json_t *ports = json_object_get (c, "ports");
      cleanup_free char *cp = container_ports (ports, "containerPort");
      cleanup_free char *hp = container_ports (ports, "hostPort");
      w (t, 2, "%s:\t%s\n", strchr (cp, ',') ? "Ports" : "Port", *cp ? cp : "<none>");
      w (t, 2, "%s:\t%s\n", strchr (hp, ',') ? "Host Ports" : "Host Port", *hp ? hp : "<none>");
      /* describeContainerCommand */
      static const char *const cmd[][2] = { { "command", "Command" }, { "args", "Args" } };
      for (size_t k = 0; k < 2; k++)
        {
          const json_t *list = json_object_get (c, cmd[k][0]);
          if (json_array_size (list) == 0)
            continue;
          w (t, 2, "%s:\n", cmd[k][1]);
          const json_t *a;
          json_array_foreach (list, j, a)
            {
              const char *text = json_string_value (a) ?: "";
              for (const char *line = text, *end;; line = end + 1)
                {
                  end = strchr (line, '\n');
                  w (t, 3, "%.*s\n", end ? (int) (end - line) : (int) strlen (line), line);
                  if (end == NULL)
                    break;
                }
            }
        }
      if (status)
        {
          describe_status (t, "State", json_object_get (status, "state"));
          if (json_object_get (json_at (status, "lastState"), "terminated"))
            describe_status (t, "Last State", json_object_get (status, "lastState"));
          w (t, 2, "Ready:\t%s\n", json_is_true (json_object_get (status, "ready")) ? "True" : "False");
          w (t, 2, "Restart Count:\t%lld\n", (long long) k8s_num (status, "restartCount"));
        }
      describe_resources (t, json_object_get (c, "resources"), 2);
      static const char *const probes[][2]
          = { { "livenessProbe", "Liveness" }, { "readinessProbe", "Readiness" }, { "startupProbe", "Startup" } };
      for (size_t k = 0; k < 3; k++)
        if (json_is_object (json_object_get (c, probes[k][0])))
          {
            cleanup_free char *p = describe_probe (json_object_get (c, probes[k][0]));
            w (t, 2, "%s:\t%s\n", probes[k][1], p);
          }
      /* describeContainerEnvVars: literal values; a field reference as
       * kubectl shows it without resolving it against the pod */
      const json_t *env = json_object_get (c, "env");
      w (t, 2, "Environment:%s\n", json_array_size (env) ? "" : "\t<none>");
      const json_t *e;
      json_array_foreach (env, j, e)
        {
          const json_t *fr = json_at (e, "valueFrom.fieldRef");
          if (fr)
            w (t, 3, "%s:\t (%s:%s)\n", k8s_str (e, "name"), k8s_str (fr, "apiVersion"), k8s_str (fr, "fieldPath"));
          else
            {
              const char *value = k8s_str (e, "value");
              for (const char *line = value, *end;; line = end + 1)
                {
                  end = strchr (line, '\n');
                  int l = end ? (int) (end - line) : (int) strlen (line);
                  if (line == value)
                    w (t, 3, "%s:\t%.*s\n", k8s_str (e, "name"), l, line);
                  else
                    w (t, 3, "\t%.*s\n", l, line);
                  if (end == NULL)
                    break;
                }
            }
        }
      /* describeContainerVolumes */
      const json_t *mounts = json_object_get (c, "volumeMounts");
      size_t nm = json_array_size (mounts);
      w (t, 2, "Mounts:%s\n", nm ? "" : "\t<none>");
      if (nm)
        {
          const json_t **v = xcalloc (nm, sizeof *v);
          for (j = 0; j < nm; j++)
            v[j] = json_array_get (mounts, j);
          qsort (v, nm, sizeof *v, cmp_mount);
          for (j = 0; j < nm; j++)
            {
              const char *sub = k8s_str (v[j], "subPath");
              const char *rw = json_is_true (json_object_get (v[j], "readOnly")) ? "ro" : "rw";
              cleanup_free char *flags = *sub ? xasprintf ("%s,path=\"%s\"", rw, sub) : xstrdup (rw);
              w (t, 3, "%s from %s (%s)\n", k8s_str (v[j], "mountPath"), k8s_str (v[j], "name"), flags);
            }
          free (v);
        }
    }
}

/* describeVolumes: the kinds of volume the lab's pods can have. */
static void
describe_volumes (struct tabwriter *t, const json_t *volumes, const char *space)
{
  if (json_array_size (volumes) == 0)
    {
      w (t, 0, "%sVolumes:\t<none>\n", space);
      return;
    }
  w (t, 0, "%sVolumes:\n", space);
  size_t i;
  const json_t *v;
  json_array_foreach (volumes, i, v)
    {
      w (t, 1, "%s%s:\n", *space ? " " : "", k8s_str (v, "name"));
      const json_t *x;
      if ((x = json_object_get (v, "hostPath")))
        w (t, 2, "Type:\tHostPath (bare host directory volume)\n    Path:\t%s\n    HostPathType:\t%s\n",
           k8s_str (x, "path"), k8s_str (x, "type"));
      else if ((x = json_object_get (v, "emptyDir")))
        {
          w (t, 2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n");
          w (t, 2, "Medium:\t%s\n", k8s_str (x, "medium"));
          if (*k8s_str (x, "sizeLimit"))
            w (t, 2, "SizeLimit:\t%s\n", k8s_str (x, "sizeLimit"));
          else
            w (t, 2, "SizeLimit:\t<unset>\n");
        }
      else if ((x = json_object_get (v, "projected")))
        {
          /* printProjectedVolumeSource as kubectl 1.32 has it (a source's
           * optional is the *bool it prints: <nil> when unset) */
          w (t, 2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n");
          size_t k;
          const json_t *src;
          json_array_foreach (json_object_get (x, "sources"), k, src)
            {
              const json_t *y, *opt;
              if ((y = json_object_get (src, "secret")))
                {
                  opt = json_object_get (y, "optional");
                  w (t, 2, "SecretName:\t%s\n    SecretOptionalName:\t%s\n", k8s_str (y, "name"),
                     opt ? (json_is_true (opt) ? "true" : "false") : "<nil>");
                }
              else if (json_object_get (src, "downwardAPI"))
                w (t, 2, "DownwardAPI:\ttrue\n");
              else if ((y = json_object_get (src, "configMap")))
                {
                  opt = json_object_get (y, "optional");
                  w (t, 2, "ConfigMapName:\t%s\n    ConfigMapOptional:\t%s\n", k8s_str (y, "name"),
                     opt ? (json_is_true (opt) ? "true" : "false") : "<nil>");
                }
              else if ((y = json_object_get (src, "serviceAccountToken")))
                w (t, 2, "TokenExpirationSeconds:\t%lld\n", (long long) k8s_num (y, "expirationSeconds"));
            }
        }
      else
        w (t, 2, "<unknown>\n");
    }
}

/* ---- describers ---------------------------------------------------------- */

/* describePod: the class the API server stored, else qos.GetPodQOS. */
static const char *
pod_qos (const json_t *pod)
{
  const char *stored = json_string_value (json_at (pod, "status.qosClass"));
  return stored && *stored ? stored : pod_template_qos_class (json_object_get (pod, "spec"));
}

/* printController: the owner reference marked controller, "Kind/name". */
static void
print_controller (struct tabwriter *t, const json_t *o)
{
  size_t i;
  const json_t *r;
  json_array_foreach (json_at (o, "metadata.ownerReferences"), i, r) if (json_is_true (json_object_get (r, "controller")))
  {
    w (t, 0, "Controlled By:\t%s/%s\n", k8s_str (r, "kind"), k8s_str (r, "name"));
    return;
  }
}

static void
describe_pod (struct tabwriter *t, const json_t *pod, const struct k8s_describe_related *rel, time_t now)
{
  const json_t *spec = json_object_get (pod, "spec"), *status = json_object_get (pod, "status");
  w (t, 0, "Name:\t%s\n", k8s_str (pod, "metadata.name"));
  w (t, 0, "Namespace:\t%s\n", k8s_str (pod, "metadata.namespace"));
  if (json_is_integer (json_object_get (spec, "priority")))
    w (t, 0, "Priority:\t%lld\n", (long long) k8s_num (spec, "priority"));
  if (*k8s_str (spec, "priorityClassName"))
    w (t, 0, "Priority Class Name:\t%s\n", k8s_str (spec, "priorityClassName"));
  if (*k8s_str (spec, "runtimeClassName"))
    w (t, 0, "Runtime Class Name:\t%s\n", k8s_str (spec, "runtimeClassName"));
  if (*k8s_str (spec, "serviceAccountName"))
    w (t, 0, "Service Account:\t%s\n", k8s_str (spec, "serviceAccountName"));
  if (*k8s_str (spec, "nodeName"))
    w (t, 0, "Node:\t%s/%s\n", k8s_str (spec, "nodeName"), k8s_str (status, "hostIP"));
  else
    w (t, 0, "Node:\t<none>\n");
  if (*k8s_str (status, "startTime"))
    {
      cleanup_free char *st = rfc1123z (k8s_str (status, "startTime"));
      w (t, 0, "Start Time:\t%s\n", st);
    }
  print_labels_multiline (t, "", "Labels", json_at (pod, "metadata.labels"));
  print_annotations_multiline (t, "Annotations", json_at (pod, "metadata.annotations"));
  const char *phase = k8s_str (status, "phase");
  if (*k8s_str (pod, "metadata.deletionTimestamp") && strcmp (phase, "Failed") != 0 && strcmp (phase, "Succeeded") != 0)
    {
      cleanup_free char *lasts = since (k8s_str (pod, "metadata.deletionTimestamp"), now);
      w (t, 0, "Status:\tTerminating (lasts %s)\n", lasts);
      w (t, 0, "Termination Grace Period:\t%llds\n", (long long) k8s_num (pod, "metadata.deletionGracePeriodSeconds"));
    }
  else
    w (t, 0, "Status:\t%s\n", phase);
  if (*k8s_str (status, "reason"))
    w (t, 0, "Reason:\t%s\n", k8s_str (status, "reason"));
  if (*k8s_str (status, "message"))
    w (t, 0, "Message:\t%s\n", k8s_str (status, "message"));
  w (t, 0, "IP:\t%s\n", k8s_str (status, "podIP"));
  const json_t *ips = json_object_get (status, "podIPs");
  if (json_array_size (ips) == 0)
    w (t, 0, "IPs:\t<none>\n");
  else
    {
      w (t, 0, "IPs:\n");
      size_t i;
      const json_t *ip;
      json_array_foreach (ips, i, ip) w (t, 1, "IP:\t%s\n", k8s_str (ip, "ip"));
    }
  print_controller (t, pod);
  size_t i;
  if (*k8s_str (status, "nominatedNodeName"))
    w (t, 0, "NominatedNodeName:\t%s\n", k8s_str (status, "nominatedNodeName"));
  if (json_array_size (json_object_get (spec, "initContainers")))
    describe_containers (t, "Init Containers", json_object_get (spec, "initContainers"),
                         json_object_get (status, "initContainerStatuses"), "");
  describe_containers (t, "Containers", json_object_get (spec, "containers"),
                       json_object_get (status, "containerStatuses"), "");
  const json_t *gates = json_object_get (spec, "readinessGates"), *conds = json_object_get (status, "conditions");
  if (json_array_size (gates))
    {
      w (t, 0, "Readiness Gates:\n  Type\tStatus\n");
      const json_t *g;
      json_array_foreach (gates, i, g)
        {
          const char *st = "<none>";
          size_t j;
          const json_t *c;
          json_array_foreach (conds, j, c) if (strcmp (k8s_str (c, "type"), k8s_str (g, "conditionType")) == 0)
          {
            st = k8s_str (c, "status");
            break;
          }
          w (t, 1, "%s \t%s \n", k8s_str (g, "conditionType"), st);
        }
    }
  if (json_array_size (conds))
    {
      w (t, 0, "Conditions:\n  Type\tStatus\n");
      const json_t *c;
      json_array_foreach (conds, i, c) w (t, 1, "%s \t%s \n", k8s_str (c, "type"), k8s_str (c, "status"));
    }
  describe_volumes (t, json_object_get (spec, "volumes"), "");
  w (t, 0, "QoS Class:\t%s\n", pod_qos (pod));
  print_labels_multiline (t, "", "Node-Selectors", json_object_get (spec, "nodeSelector"));
  print_tolerations_multiline (t, "", "Tolerations", json_object_get (spec, "tolerations"));
  maybe_events (t, rel, now);
}

/* formatEndpointSlices for the service port named PORT: ready endpoints,
 * "host:port", the first three then "+ N more...". */
static char *
format_endpoint_slices (const json_t *slices, const char *port)
{
  if (json_array_size (slices) == 0)
    return xstrdup ("<none>");
  struct strbuf sb;
  sb_init (&sb);
  int listed = 0, count = 0;
  bool more = false;
  size_t i;
  const json_t *s;
  json_array_foreach (slices, i, s)
    {
      const json_t *ports = json_object_get (s, "ports"), *eps = json_object_get (s, "endpoints");
      size_t n_ports = json_array_size (ports);
      for (size_t pi = 0; pi < (n_ports ? n_ports : 1); pi++)
        {
          const json_t *p = n_ports ? json_array_get (ports, pi) : NULL;
          if (p && strcmp (k8s_str (p, "name"), port) != 0)
            continue;
          size_t k;
          const json_t *e;
          json_array_foreach (eps, k, e)
            {
              if (listed == 3)
                more = true;
              if (json_is_false (json_at (e, "conditions.ready")))
                continue;
              if (!more)
                {
                  const char *addr = json_string_value (json_array_get (json_object_get (e, "addresses"), 0)) ?: "";
                  if (p == NULL)
                    sb_addf (&sb, "%s%s", listed ? "," : "", addr);
                  else if (strchr (addr, ':'))
                    sb_addf (&sb, "%s[%s]:%lld", listed ? "," : "", addr, (long long) k8s_num (p, "port"));
                  else
                    sb_addf (&sb, "%s%s:%lld", listed ? "," : "", addr, (long long) k8s_num (p, "port"));
                  listed++;
                }
              count++;
            }
        }
    }
  if (more)
    sb_addf (&sb, " + %d more...", count - 3);
  return sb_steal (&sb);
}

static void
join_strings (struct strbuf *sb, const json_t *arr)
{
  size_t i;
  const json_t *v;
  json_array_foreach (arr, i, v) sb_addf (sb, "%s%s", i ? "," : "", json_string_value (v) ?: "");
}

static void
describe_service (struct tabwriter *t, const json_t *svc, const struct k8s_describe_related *rel, time_t now)
{
  const json_t *spec = json_object_get (svc, "spec");
  w (t, 0, "Name:\t%s\n", k8s_str (svc, "metadata.name"));
  w (t, 0, "Namespace:\t%s\n", k8s_str (svc, "metadata.namespace"));
  print_labels_multiline (t, "", "Labels", json_at (svc, "metadata.labels"));
  print_annotations_multiline (t, "Annotations", json_at (svc, "metadata.annotations"));
  cleanup_free char *sel = k8s_format_labels (json_object_get (spec, "selector"), "<none>");
  w (t, 0, "Selector:\t%s\n", sel);
  w (t, 0, "Type:\t%s\n", k8s_str (spec, "type"));
  if (json_is_string (json_object_get (spec, "ipFamilyPolicy")))
    w (t, 0, "IP Family Policy:\t%s\n", k8s_str (spec, "ipFamilyPolicy"));
  static const char *const lists[][2] = { { "ipFamilies", "IP Families" }, { "clusterIPs", "IPs" } };
  for (size_t k = 0; k < 2; k++)
    {
      if (k == 1)
        w (t, 0, "IP:\t%s\n", k8s_str (spec, "clusterIP"));
      struct strbuf sb;
      sb_init (&sb);
      join_strings (&sb, json_object_get (spec, lists[k][0]));
      cleanup_free char *s = sb_steal (&sb);
      w (t, 0, "%s:\t%s\n", lists[k][1], json_array_size (json_object_get (spec, lists[k][0])) ? s : "<none>");
    }
  if (json_array_size (json_object_get (spec, "externalIPs")))
    {
      struct strbuf sb;
      sb_init (&sb);
      join_strings (&sb, json_object_get (spec, "externalIPs"));
      cleanup_free char *s = sb_steal (&sb);
      w (t, 0, "External IPs:\t%s\n", s);
    }
  if (*k8s_str (spec, "loadBalancerIP"))
    w (t, 0, "Desired LoadBalancer IP:\t%s\n", k8s_str (spec, "loadBalancerIP"));
  if (*k8s_str (spec, "externalName"))
    w (t, 0, "External Name:\t%s\n", k8s_str (spec, "externalName"));
  const json_t *ingress = json_at (svc, "status.loadBalancer.ingress");
  if (json_array_size (ingress))
    {
      /* buildIngressString: IP, else hostname */
      struct strbuf sb;
      sb_init (&sb);
      size_t i;
      const json_t *in;
      json_array_foreach (ingress, i, in) sb_addf (&sb, "%s%s", i ? ", " : "",
                                                   *k8s_str (in, "ip") ? k8s_str (in, "ip") : k8s_str (in, "hostname"));
      cleanup_free char *s = sb_steal (&sb);
      w (t, 0, "LoadBalancer Ingress:\t%s\n", s);
    }
  size_t i;
  const json_t *sp;
  json_array_foreach (json_object_get (spec, "ports"), i, sp)
    {
      const char *name = *k8s_str (sp, "name") ? k8s_str (sp, "name") : "<unset>", *proto = k8s_str (sp, "protocol");
      w (t, 0, "Port:\t%s\t%lld/%s\n", name, (long long) k8s_num (sp, "port"), proto);
      cleanup_free char *tp = intstr (json_object_get (sp, "targetPort"));
      w (t, 0, "TargetPort:\t%s/%s\n", tp, proto);
      if (k8s_num (sp, "nodePort"))
        w (t, 0, "NodePort:\t%s\t%lld/%s\n", name, (long long) k8s_num (sp, "nodePort"), proto);
      cleanup_free char *eps = format_endpoint_slices (rel ? rel->slices : NULL, k8s_str (sp, "name"));
      w (t, 0, "Endpoints:\t%s\n", eps);
    }
  w (t, 0, "Session Affinity:\t%s\n", k8s_str (spec, "sessionAffinity"));
  if (*k8s_str (spec, "externalTrafficPolicy"))
    w (t, 0, "External Traffic Policy:\t%s\n", k8s_str (spec, "externalTrafficPolicy"));
  if (json_is_string (json_object_get (spec, "internalTrafficPolicy")))
    w (t, 0, "Internal Traffic Policy:\t%s\n", k8s_str (spec, "internalTrafficPolicy"));
  if (k8s_num (spec, "healthCheckNodePort"))
    w (t, 0, "HealthCheck NodePort:\t%lld\n", (long long) k8s_num (spec, "healthCheckNodePort"));
  if (json_array_size (json_object_get (spec, "loadBalancerSourceRanges")))
    {
      struct strbuf sb;
      sb_init (&sb);
      join_strings (&sb, json_object_get (spec, "loadBalancerSourceRanges"));
      cleanup_free char *s = sb_steal (&sb);
      w (t, 0, "LoadBalancer Source Ranges:\t%s\n", s);
    }
  maybe_events (t, rel, now);
}

static void
describe_endpoints (struct tabwriter *t, const json_t *ep, const struct k8s_describe_related *rel, time_t now)
{
  w (t, 0, "Name:\t%s\n", k8s_str (ep, "metadata.name"));
  w (t, 0, "Namespace:\t%s\n", k8s_str (ep, "metadata.namespace"));
  print_labels_multiline (t, "", "Labels", json_at (ep, "metadata.labels"));
  print_annotations_multiline (t, "Annotations", json_at (ep, "metadata.annotations"));
  w (t, 0, "Subsets:\n");
  size_t i;
  const json_t *ss;
  json_array_foreach (json_object_get (ep, "subsets"), i, ss)
    {
      static const char *const kinds[][2] = { { "addresses", "Addresses" }, { "notReadyAddresses", "NotReadyAddresses" } };
      for (size_t k = 0; k < 2; k++)
        {
          struct strbuf sb;
          sb_init (&sb);
          size_t j;
          const json_t *a;
          json_array_foreach (json_object_get (ss, kinds[k][0]), j, a)
              sb_addf (&sb, "%s%s", j ? "," : "", k8s_str (a, "ip"));
          cleanup_free char *s = sb_steal (&sb);
          w (t, 1, "%s:\t%s\n", kinds[k][1], *s ? s : "<none>");
        }
      const json_t *ports = json_object_get (ss, "ports");
      if (json_array_size (ports))
        {
          w (t, 1, "Ports:\n");
          w (t, 2, "Name\tPort\tProtocol\n");
          w (t, 2, "----\t----\t--------\n");
          size_t j;
          const json_t *p;
          json_array_foreach (ports, j, p)
              w (t, 2, "%s\t%lld\t%s\n", *k8s_str (p, "name") ? k8s_str (p, "name") : "<unset>",
                 (long long) k8s_num (p, "port"), k8s_str (p, "protocol"));
        }
      w (t, 0, "\n");
    }
  maybe_events (t, rel, now);
}

/* deploymentutil.EqualIgnoreHash: the templates without pod-template-hash. */
static bool
template_equal_ignore_hash (const json_t *a, const json_t *b)
{
  json_t *x = json_deep_copy (a), *y = json_deep_copy (b);
  json_object_del (json_object_get (json_object_get (x, "metadata"), "labels"), "pod-template-hash");
  json_object_del (json_object_get (json_object_get (y, "metadata"), "labels"), "pod-template-hash");
  bool eq = json_equal (x, y);
  json_decref (x);
  json_decref (y);
  return eq;
}

static bool
owned_by (const json_t *o, const json_t *owner)
{
  size_t i;
  const json_t *r;
  json_array_foreach (json_at (o, "metadata.ownerReferences"), i, r) if (json_is_true (json_object_get (r, "controller")))
      return strcmp (k8s_str (r, "uid"), k8s_str (owner, "metadata.uid")) == 0;
  return false;
}

/* DescribePodTemplate: a Deployment's or a ReplicaSet's pod template. */
static void
describe_pod_template (struct tabwriter *t, const json_t *tmpl)
{
  const json_t *tspec = json_object_get (tmpl, "spec");
  w (t, 0, "Pod Template:\n");
  print_labels_multiline (t, "  ", "Labels", json_at (tmpl, "metadata.labels"));
  if (json_object_size (json_at (tmpl, "metadata.annotations")))
    print_annotations_multiline (t, "  Annotations", json_at (tmpl, "metadata.annotations"));
  if (*k8s_str (tspec, "serviceAccountName"))
    w (t, 1, "Service Account:\t%s\n", k8s_str (tspec, "serviceAccountName"));
  if (json_array_size (json_object_get (tspec, "initContainers")))
    describe_containers (t, "Init Containers", json_object_get (tspec, "initContainers"), NULL, "  ");
  describe_containers (t, "Containers", json_object_get (tspec, "containers"), NULL, "  ");
  describe_volumes (t, json_object_get (tspec, "volumes"), "  ");
  if (*k8s_str (tspec, "priorityClassName"))
    w (t, 1, "Priority Class Name:\t%s\n", k8s_str (tspec, "priorityClassName"));
  print_labels_multiline (t, "  ", "Node-Selectors", json_object_get (tspec, "nodeSelector"));
  print_tolerations_multiline (t, "  ", "Tolerations", json_object_get (tspec, "tolerations"));
}

/* A Deployment's or a ReplicaSet's status.conditions. */
static void
describe_workload_conditions (struct tabwriter *t, const json_t *conds)
{
  if (json_array_size (conds) == 0)
    return;
  w (t, 0, "Conditions:\n  Type\tStatus\tReason\n");
  w (t, 1, "----\t------\t------\n");
  size_t i;
  const json_t *c;
  json_array_foreach (conds, i, c)
      w (t, 1, "%s \t%s\t%s\n", k8s_str (c, "type"), k8s_str (c, "status"), k8s_str (c, "reason"));
}

static void
describe_deployment (struct tabwriter *t, const json_t *d, const struct k8s_describe_related *rel, time_t now)
{
  const json_t *spec = json_object_get (d, "spec"), *status = json_object_get (d, "status");
  w (t, 0, "Name:\t%s\n", k8s_str (d, "metadata.name"));
  w (t, 0, "Namespace:\t%s\n", k8s_str (d, "metadata.namespace"));
  cleanup_free char *created = rfc1123z (k8s_str (d, "metadata.creationTimestamp"));
  w (t, 0, "CreationTimestamp:\t%s\n", created);
  print_labels_multiline (t, "", "Labels", json_at (d, "metadata.labels"));
  print_annotations_multiline (t, "Annotations", json_at (d, "metadata.annotations"));
  cleanup_free char *sel = k8s_format_label_selector (json_object_get (spec, "selector"));
  w (t, 0, "Selector:\t%s\n", sel);
  w (t, 0, "Replicas:\t%lld desired | %lld updated | %lld total | %lld available | %lld unavailable\n",
     (long long) k8s_num (spec, "replicas"), (long long) k8s_num (status, "updatedReplicas"),
     (long long) k8s_num (status, "replicas"), (long long) k8s_num (status, "availableReplicas"),
     (long long) k8s_num (status, "unavailableReplicas"));
  w (t, 0, "StrategyType:\t%s\n", k8s_str (spec, "strategy.type"));
  w (t, 0, "MinReadySeconds:\t%lld\n", (long long) k8s_num (spec, "minReadySeconds"));
  const json_t *ru = json_at (spec, "strategy.rollingUpdate");
  if (ru)
    {
      cleanup_free char *mu = intstr (json_object_get (ru, "maxUnavailable"));
      cleanup_free char *ms = intstr (json_object_get (ru, "maxSurge"));
      w (t, 0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n", mu, ms);
    }
  const json_t *tmpl = json_object_get (spec, "template");
  describe_pod_template (t, tmpl);
  describe_workload_conditions (t, json_object_get (status, "conditions"));
  /* GetAllReplicaSets: the ReplicaSets the deployment controls; the new
   * one has the deployment's template, the others are old. */
  struct strbuf old, new;
  sb_init (&old);
  sb_init (&new);
  size_t i;
  const json_t *rs;
  json_array_foreach (rel ? rel->replicasets : NULL, i, rs)
    {
      if (!owned_by (rs, d))
        continue;
      bool is_new = new.len == 0 && template_equal_ignore_hash (json_at (rs, "spec.template"), tmpl);
      struct strbuf *sb = is_new ? &new : &old;
      sb_addf (sb, "%s%s (%lld/%lld replicas created)", sb->len ? ", " : "", k8s_str (rs, "metadata.name"),
               (long long) k8s_num (rs, "status.replicas"), (long long) k8s_num (rs, "spec.replicas"));
    }
  if (old.len || new.len)
    {
      w (t, 0, "OldReplicaSets:\t%s\n", old.len ? old.buf : "<none>");
      w (t, 0, "NewReplicaSet:\t%s\n", new.len ? new.buf : "<none>");
    }
  sb_free (&old);
  sb_free (&new);
  maybe_events (t, rel, now);
}

/* ReplicaSetDescriber: the pods counted are those it controls among the
 * ones its selector lists (getPodStatusForController), by phase. */
static void
describe_replicaset (struct tabwriter *t, const json_t *rs, const struct k8s_describe_related *rel, time_t now)
{
  const json_t *spec = json_object_get (rs, "spec");
  w (t, 0, "Name:\t%s\n", k8s_str (rs, "metadata.name"));
  w (t, 0, "Namespace:\t%s\n", k8s_str (rs, "metadata.namespace"));
  cleanup_free char *sel = k8s_format_label_selector (json_object_get (spec, "selector"));
  w (t, 0, "Selector:\t%s\n", sel);
  print_labels_multiline (t, "", "Labels", json_at (rs, "metadata.labels"));
  print_annotations_multiline (t, "Annotations", json_at (rs, "metadata.annotations"));
  print_controller (t, rs);
  w (t, 0, "Replicas:\t%lld current / %lld desired\n", (long long) k8s_num (rs, "status.replicas"),
     (long long) k8s_num (spec, "replicas"));
  long long running = 0, waiting = 0, succeeded = 0, failed = 0;
  size_t i;
  const json_t *pod;
  json_array_foreach (rel ? rel->pods : NULL, i, pod)
    {
      if (!owned_by (pod, rs))
        continue;
      const char *phase = k8s_str (pod, "status.phase");
      running += strcmp (phase, "Running") == 0;
      waiting += strcmp (phase, "Pending") == 0;
      succeeded += strcmp (phase, "Succeeded") == 0;
      failed += strcmp (phase, "Failed") == 0;
    }
  w (t, 0, "Pods Status:\t%lld Running / %lld Waiting / %lld Succeeded / %lld Failed\n", running, waiting, succeeded,
     failed);
  describe_pod_template (t, json_object_get (spec, "template"));
  describe_workload_conditions (t, json_at (rs, "status.conditions"));
  maybe_events (t, rel, now);
}

/* NamespaceDescriber. Its resource quotas and limit ranges follow only
 * when the server lists them; the lab's API serves neither (a 404, which
 * kubectl takes as "not supported" and prints nothing for). */
static void
describe_namespace (struct tabwriter *t, const json_t *ns, const struct k8s_describe_related *rel, time_t now)
{
  (void) rel;
  (void) now;
  w (t, 0, "Name:\t%s\n", k8s_str (ns, "metadata.name"));
  print_labels_multiline (t, "", "Labels", json_at (ns, "metadata.labels"));
  print_annotations_multiline (t, "Annotations", json_at (ns, "metadata.annotations"));
  w (t, 0, "Status:\t%s\n", k8s_str (ns, "status.phase"));
  const json_t *conds = json_at (ns, "status.conditions");
  if (json_array_size (conds))
    {
      w (t, 0, "Conditions:\n");
      w (t, 1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n");
      w (t, 1, "----\t------\t------------------\t------\t-------\n");
      size_t i;
      const json_t *c;
      json_array_foreach (conds, i, c)
        {
          cleanup_free char *at = rfc1123z (k8s_str (c, "lastTransitionTime"));
          w (t, 1, "%s\t%s\t%s\t%s\t%s\n", k8s_str (c, "type"), k8s_str (c, "status"), at, k8s_str (c, "reason"),
             k8s_str (c, "message"));
        }
    }
}

/* findNodeRoles: node-role.kubernetes.io/ROLE labels and kubernetes.io/role,
 * sorted, unique. */
static char *
node_roles (const json_t *labels)
{
  size_t n;
  cleanup_free const char **keys = sorted_keys (labels, &n);
  const char **roles = xcalloc (n + 1, sizeof *roles);
  size_t nr = 0;
  static const char prefix[] = "node-role.kubernetes.io/";
  for (size_t i = 0; i < n; i++)
    {
      const char *v = json_string_value (json_object_get (labels, keys[i])) ?: "";
      if (strncmp (keys[i], prefix, sizeof prefix - 1) == 0 && keys[i][sizeof prefix - 1])
        roles[nr++] = keys[i] + sizeof prefix - 1;
      else if (strcmp (keys[i], "kubernetes.io/role") == 0 && *v)
        roles[nr++] = v;
    }
  qsort (roles, nr, sizeof *roles, cmp_str);
  struct strbuf sb;
  sb_init (&sb);
  for (size_t i = 0; i < nr; i++)
    if (i == 0 || strcmp (roles[i], roles[i - 1]) != 0)
      sb_addf (&sb, "%s%s", sb.len ? "," : "", roles[i]);
  free (roles);
  if (sb.len == 0)
    sb_add (&sb, "<none>");
  return sb_steal (&sb);
}

static int
cmp_taint (const void *a, const void *b)
{
  const json_t *x = *(const json_t *const *) a, *y = *(const json_t *const *) b;
  cleanup_free char *kx = xasprintf ("%s,%s", k8s_str (x, "effect"), k8s_str (x, "key"));
  cleanup_free char *ky = xasprintf ("%s,%s", k8s_str (y, "effect"), k8s_str (y, "key"));
  return strcmp (kx, ky);
}

/* printNodeTaintsMultiline, each as Taint.ToString. */
static void
print_taints_multiline (struct tabwriter *t, const json_t *taints)
{
  w (t, 0, "Taints:\t");
  size_t n = json_array_size (taints);
  if (n == 0)
    {
      w (t, 0, "<none>\n");
      return;
    }
  const json_t **v = xcalloc (n, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get (taints, i);
  qsort (v, n, sizeof *v, cmp_taint);
  for (size_t i = 0; i < n; i++)
    {
      const char *key = k8s_str (v[i], "key"), *value = k8s_str (v[i], "value"), *effect = k8s_str (v[i], "effect");
      if (i)
        w (t, 0, "\t");
      if (*effect == '\0')
        w (t, 0, *value ? "%s=%s:\n" : "%s%s\n", key, value);
      else if (*value == '\0')
        w (t, 0, "%s:%s\n", key, effect);
      else
        w (t, 0, "%s=%s:%s\n", key, value, effect);
    }
  free (v);
}

static void
print_resource_list (struct tabwriter *t, const char *title, const json_t *list)
{
  size_t n;
  cleanup_free const char **keys = sorted_keys (list, &n);
  if (n == 0)
    return;
  w (t, 0, "%s:\n", title);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *q = intstr (json_object_get (list, keys[i]));
      w (t, 0, "  %s:\t%s\n", keys[i], q);
    }
}

/* resourcehelper.PodRequestsAndLimits for one resource: the containers'
 * requests (KIND "requests") or limits added up, an init container's
 * larger one instead (it runs alone, before them). */
static void
pod_resource (const json_t *pod, const char *kind, const char *res, struct quantity *out)
{
  *out = (struct quantity) { 0, QUANTITY_DECIMAL_SI };
  const json_t *spec = json_object_get (pod, "spec");
  size_t i;
  const json_t *c;
  json_array_foreach (json_object_get (spec, "containers"), i, c)
    {
      struct quantity q;
      if (quantity_parse (json_object_get (json_object_get (json_object_get (c, "resources"), kind), res), &q))
        quantity_add (out, &q);
    }
  json_array_foreach (json_object_get (spec, "initContainers"), i, c)
    {
      struct quantity q;
      if (quantity_parse (json_object_get (json_object_get (json_object_get (c, "resources"), kind), res), &q)
          && q.nano > out->nano)
        *out = q;
    }
}

/* getPodsTotalRequestsAndLimits for one resource: [0] requests, [1] limits. */
static void
sum_pods_resource (const json_t *pods, const char *res, struct quantity out[2])
{
  out[0] = out[1] = (struct quantity) { 0, QUANTITY_DECIMAL_SI };
  size_t i;
  const json_t *p;
  json_array_foreach (pods, i, p)
    for (int k = 0; k < 2; k++)
      {
        struct quantity q;
        pod_resource (p, k ? "limits" : "requests", res, &q);
        quantity_add (&out[k], &q);
      }
}

/* Q's share of the node's allocatable RES in whole percent, as kubectl's
 * int64(float64(q) / float64(allocatable) * 100): cpu in millicores, the
 * rest in units; 0 when the node has none. */
static long long
share (const struct quantity *q, const json_t *alloc, const char *res)
{
  struct quantity a;
  if (!quantity_parse (json_object_get (alloc, res), &a))
    return 0;
  bool cpu = strcmp (res, "cpu") == 0;
  long long d = cpu ? quantity_milli (&a) : quantity_value (&a);
  if (d == 0)
    return 0;
  return (long long) ((double) (cpu ? quantity_milli (q) : quantity_value (q)) / (double) d * 100);
}

static void
describe_node (struct tabwriter *t, const json_t *node, const struct k8s_describe_related *rel, time_t now)
{
  const json_t *spec = json_object_get (node, "spec"), *status = json_object_get (node, "status");
  w (t, 0, "Name:\t%s\n", k8s_str (node, "metadata.name"));
  cleanup_free char *roles = node_roles (json_at (node, "metadata.labels"));
  w (t, 0, "Roles:\t%s\n", roles);
  print_labels_multiline (t, "", "Labels", json_at (node, "metadata.labels"));
  print_annotations_multiline (t, "Annotations", json_at (node, "metadata.annotations"));
  cleanup_free char *created = rfc1123z (k8s_str (node, "metadata.creationTimestamp"));
  w (t, 0, "CreationTimestamp:\t%s\n", created);
  print_taints_multiline (t, json_object_get (spec, "taints"));
  w (t, 0, "Unschedulable:\t%s\n", json_is_true (json_object_get (spec, "unschedulable")) ? "true" : "false");
  /* describeNodeLease */
  const json_t *lease = rel ? rel->lease : NULL;
  w (t, 0, "Lease:\n");
  const char *holder = k8s_str (lease, "spec.holderIdentity");
  w (t, 1, "HolderIdentity:\t%s\n", *holder ? holder : "<unset>");
  static const char *const times[][2] = { { "spec.acquireTime", "AcquireTime" }, { "spec.renewTime", "RenewTime" } };
  for (size_t k = 0; k < 2; k++)
    {
      const char *when = k8s_str (lease, times[k][0]);
      cleanup_free char *v = *when ? rfc1123z (when) : xstrdup ("<unset>");
      w (t, 1, "%s:\t%s\n", times[k][1], v);
    }
  size_t i;
  const json_t *c;
  if (json_array_size (json_object_get (status, "conditions")))
    {
      w (t, 0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n");
      w (t, 1, "----\t------\t-----------------\t------------------\t------\t-------\n");
      json_array_foreach (json_object_get (status, "conditions"), i, c)
        {
          cleanup_free char *hb = rfc1123z (k8s_str (c, "lastHeartbeatTime"));
          cleanup_free char *tr = rfc1123z (k8s_str (c, "lastTransitionTime"));
          w (t, 1, "%s \t%s \t%s \t%s \t%s \t%s\n", k8s_str (c, "type"), k8s_str (c, "status"), hb, tr,
             k8s_str (c, "reason"), k8s_str (c, "message"));
        }
    }
  w (t, 0, "Addresses:\n");
  json_array_foreach (json_object_get (status, "addresses"), i, c) w (t, 1, "%s:\t%s\n", k8s_str (c, "type"),
                                                                     k8s_str (c, "address"));
  print_resource_list (t, "Capacity", json_object_get (status, "capacity"));
  print_resource_list (t, "Allocatable", json_object_get (status, "allocatable"));
  const json_t *info = json_object_get (status, "nodeInfo");
  static const char *const infos[][2] = {
    { "machineID", "Machine ID" },          { "systemUUID", "System UUID" },
    { "bootID", "Boot ID" },                { "kernelVersion", "Kernel Version" },
    { "osImage", "OS Image" },              { "operatingSystem", "Operating System" },
    { "architecture", "Architecture" },     { "containerRuntimeVersion", "Container Runtime Version" },
    { "kubeletVersion", "Kubelet Version" }, { "kubeProxyVersion", "Kube-Proxy Version" },
  };
  w (t, 0, "System Info:\n");
  for (size_t k = 0; k < sizeof infos / sizeof *infos; k++)
    w (t, 0, "  %s:\t%s\n", infos[k][1], k8s_str (info, infos[k][0]));
  if (*k8s_str (spec, "podCIDR"))
    w (t, 0, "PodCIDR:\t%s\n", k8s_str (spec, "podCIDR"));
  if (json_array_size (json_object_get (spec, "podCIDRs")))
    {
      struct strbuf sb;
      sb_init (&sb);
      join_strings (&sb, json_object_get (spec, "podCIDRs"));
      cleanup_free char *s = sb_steal (&sb);
      w (t, 0, "PodCIDRs:\t%s\n", s);
    }
  if (*k8s_str (spec, "providerID"))
    w (t, 0, "ProviderID:\t%s\n", k8s_str (spec, "providerID"));
  /* describeNodeResource: each pod's requests and limits as shares of
   * the node's allocatable (capacity without it), then their totals. */
  const json_t *alloc = json_object_size (json_object_get (status, "allocatable")) ? json_object_get (status, "allocatable")
                                                                                   : json_object_get (status, "capacity");
  const json_t *pods = rel ? rel->pods : NULL;
  w (t, 0, "Non-terminated Pods:\t(%zu in total)\n", json_array_size (pods));
  w (t, 1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n");
  w (t, 1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n");
  static const char *const std[] = { "cpu", "memory", "ephemeral-storage" };
  struct quantity total[2][3] = { 0 };
  json_array_foreach (pods, i, c)
    {
      struct quantity q[2][3];
      for (int k = 0; k < 2; k++)
        for (int r = 0; r < 3; r++)
          {
            pod_resource (c, k ? "limits" : "requests", std[r], &q[k][r]);
            quantity_add (&total[k][r], &q[k][r]);
          }
      cleanup_free char *age = since (k8s_str (c, "metadata.creationTimestamp"), now);
      char b[4][48];
      w (t, 1, "%s\t%s\t\t%s (%lld%%)\t%s (%lld%%)\t%s (%lld%%)\t%s (%lld%%)\t%s\n", k8s_str (c, "metadata.namespace"),
         k8s_str (c, "metadata.name"), quantity_string (&q[0][0], b[0]), share (&q[0][0], alloc, "cpu"),
         quantity_string (&q[1][0], b[1]), share (&q[1][0], alloc, "cpu"), quantity_string (&q[0][1], b[2]),
         share (&q[0][1], alloc, "memory"), quantity_string (&q[1][1], b[3]), share (&q[1][1], alloc, "memory"), age);
    }
  w (t, 0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n");
  w (t, 1, "Resource\tRequests\tLimits\n");
  w (t, 1, "--------\t--------\t------\n");
  for (size_t r = 0; r < 3; r++)
    {
      char b[2][48];
      w (t, 1, "%s\t%s (%lld%%)\t%s (%lld%%)\n", std[r], quantity_string (&total[0][r], b[0]),
         share (&total[0][r], alloc, std[r]), quantity_string (&total[1][r], b[1]), share (&total[1][r], alloc, std[r]));
    }
  size_t n;
  cleanup_free const char **keys = sorted_keys (alloc, &n);
  for (size_t k = 0; k < n; k++)
    if (strncmp (keys[k], "hugepages-", 10) == 0)
      {
        struct quantity q[2];
        char b[2][48];
        sum_pods_resource (pods, keys[k], q);
        w (t, 1, "%s\t%s (%lld%%)\t%s (%lld%%)\n", keys[k], quantity_string (&q[0], b[0]), share (&q[0], alloc, keys[k]),
           quantity_string (&q[1], b[1]), share (&q[1], alloc, keys[k]));
      }
  for (size_t k = 0; k < n; k++)
    if (strncmp (keys[k], "hugepages-", 10) != 0 && strcmp (keys[k], "pods") != 0 && strcmp (keys[k], "cpu") != 0
        && strcmp (keys[k], "memory") != 0 && strcmp (keys[k], "ephemeral-storage") != 0)
      {
        struct quantity q[2];
        char b[2][48];
        sum_pods_resource (pods, keys[k], q);
        w (t, 1, "%s\t%s\t%s\n", keys[k], quantity_string (&q[0], b[0]), quantity_string (&q[1], b[1]));
      }
  maybe_events (t, rel, now);
}

/* ---- entry points --------------------------------------------------------- */

static const struct {
  const char *kind;
  void (*fn) (struct tabwriter *, const json_t *, const struct k8s_describe_related *, time_t);
} describers[] = {
  { "Pod", describe_pod },
  { "Service", describe_service },
  { "Endpoints", describe_endpoints },
  { "Deployment", describe_deployment },
  { "ReplicaSet", describe_replicaset },
  { "Namespace", describe_namespace },
  { "Node", describe_node },
};

bool
k8s_describe_known (const char *kind)
{
  for (size_t i = 0; i < sizeof describers / sizeof *describers; i++)
    if (strcmp (describers[i].kind, kind) == 0)
      return true;
  return false;
}

char *
k8s_describe (const json_t *obj, const struct k8s_describe_related *rel, time_t now)
{
  const char *kind = k8s_str (obj, "kind");
  for (size_t i = 0; i < sizeof describers / sizeof *describers; i++)
    if (strcmp (describers[i].kind, kind) == 0)
      {
        struct tabwriter t;
        sb_init (&t.pending);
        sb_init (&t.out);
        describers[i].fn (&t, obj, rel, now);
        tw_flush (&t);
        sb_free (&t.pending);
        return sb_steal (&t.out);
      }
  return NULL;
}
