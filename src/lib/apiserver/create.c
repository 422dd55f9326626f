/* Objects created through the API become scenario sections (see create.h). */
#include "apiserver/create.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/text.h"
#include "base/json.h"
#include "base/util.h"
#include "k8s/pod_template.h"
#include "k8s/resources.h"
#include "plan/plan.h"
#include "scenario/scenario.h"
#include "state/journal.h"
#include "state/lab_scenario.h"
#include "state/state.h"
#include "state/store.h"


/* What may go into a scenario line: a label key or value's characters only
 * (nothing that the INI reader would take for a comment, a section or a
 * new line). */
static bool
label_text_ok (const char *s, bool key)
{
  if (s == NULL || strlen (s) > 253 || (key && *s == '\0'))
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'
          || *p == '_' || (key && *p == '/')))
      return false;
  return true;
}

static bool
invalid (char **field, char **message, const char *f, const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));
static bool
invalid (char **field, char **message, const char *f, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  *message = xvasprintf (fmt, ap);
  va_end (ap);
  *field = xstrdup (f);
  return false;
}

/* "k=v, k2=v2" of a label map, checked. */
static bool
labels_line (const json_t *map, const char *field, struct strbuf *sb, char **f, char **m)
{
  const char *k;
  json_t *v;
  bool first = true;
  json_object_foreach ((json_t *) map, k, v)
    {
      const char *val = json_string_value (v);
      if (!label_text_ok (k, true) || !label_text_ok (val, false))
        return invalid (f, m, field, "Invalid value: \"%s\": a label must consist of alphanumeric characters, '-', "
                                     "'_' or '.'", k);
      sb_addf (sb, "%s%s=%s", first ? "" : ", ", k, val);
      first = false;
    }
  return true;
}

/* The containers' securityContext as the scenario's keys: the pod's one
 * app stands for all its containers, so it gets what any of them asks for
 * (containerd's default set otherwise). */
static bool
security_lines (const json_t *containers, const char *field, struct strbuf *sb, char **f, char **m)
{
  bool privileged = false;
  uint64_t caps = 0;
  size_t i;
  const json_t *c;
  json_array_foreach (containers, i, c)
    {
      const json_t *sec = json_object_get (c, "securityContext");
      privileged |= json_is_true (json_object_get (sec, "privileged"));
      const json_t *add = json_object_get (json_object_get (sec, "capabilities"), "add");
      size_t k;
      const json_t *v;
      json_array_foreach (add, k, v)
        {
          unsigned n;
          if (!json_is_string (v) || !capability_parse (json_string_value (v), &n))
            {
              cleanup_free char *ff = xasprintf ("%s[%zu].securityContext.capabilities.add[%zu]", field, i, k);
              return invalid (f, m, ff, "Unsupported value: \"%s\": a Linux capability (NET_ADMIN, NET_RAW, ...; "
                                        "for ALL set privileged)", json_is_string (v) ? json_string_value (v) : "");
            }
          caps |= 1ULL << n;
        }
    }
  if (privileged)
    sb_add (sb, "privileged = true\n");
  if (caps)
    {
      sb_add (sb, "capabilities = ");
      for (unsigned n = 0, first = 1; n < 64; n++)
        if ((caps >> n) & 1 && capability_name (n))
          {
            sb_addf (sb, "%s%s", first ? "" : ", ", capability_name (n));
            first = 0;
          }
      sb_add (sb, "\n");
    }
  return true;
}

static bool
app_line (const struct scenario *sc, const json_t *containers, const char *field, struct strbuf *sb, char **f,
          char **m)
{
  const json_t *c = json_array_get (containers, 0);
  if (c == NULL)
    return invalid (f, m, field, "Required value");
  if (!json_is_string (json_object_get (c, "image")))
    {
      cleanup_free char *ff = xasprintf ("%s[0].image", field);
      return invalid (f, m, ff, "Required value");
    }
  size_t i;
  const json_t *other;
  json_array_foreach (containers, i, other)
    if (!json_is_string (json_object_get (other, "image")))
      {
        cleanup_free char *ff = xasprintf ("%s[%zu].image", field, i);
        return invalid (f, m, ff, "Required value");
      }
  struct app_def app;
  c = json_array_get (containers, pod_template_app (sc, containers, &app));
  /* The app's container as the scenario's image and container keys (so
   * the section, applied again, gives the pods the same container); app
   * only where the image alone would not give it (an unmapped image's
   * containerPort, a mapped one's other port). An image the scenario's
   * grammar refuses keeps nslab's own container, as before images. */
  const char *image = json_string_value (json_object_get (c, "image"));
  const char *cname = json_string_value (json_object_get (c, "name"));
  struct app_def by_image = { .kind = APP_NONE };
  bool has_image = image_ref_valid (image);
  if (has_image)
    {
      sb_addf (sb, "image = %s\n", image);
      cleanup_free char *dflt = image_container_name (image);
      if (cname && strcmp (cname, dflt) != 0 && dns_label_valid (cname, 63))
        sb_addf (sb, "container = %s\n", cname);
      scenario_image_app (sc, image, &by_image);
    }
  if (has_image && by_image.kind == app.kind && (app.kind != APP_HTTP || by_image.port == app.port))
    ;
  else if (app.kind == APP_HTTP)
    sb_addf (sb, "app = http:%u\n", app.port);
  else
    sb_add (sb, "app = none\n");
  return security_lines (containers, field, sb, f, m);
}

static bool
deployment_section (const struct scenario *sc, const json_t *obj, const char *ns, const char *name, struct strbuf *sb, char **f, char **m)
{
  const json_t *ml = json_at (obj, "spec.selector.matchLabels"), *tl = json_at (obj, "spec.template.metadata.labels");
  if (json_object_size (ml) == 0)
    return invalid (f, m, "spec.selector", "Required value");
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) ml, k, v) if (!json_equal (json_object_get (tl, k), v)) return invalid (
      f, m, "spec.template.metadata.labels", "Invalid value: the selector does not match template labels");
  const json_t *r = json_at (obj, "spec.replicas");
  if (r && (!json_is_integer (r) || json_integer_value (r) < 0 || json_integer_value (r) > 1000))
    return invalid (f, m, "spec.replicas", "Invalid value: must be greater than or equal to 0 (at most 1000 in a lab)");
  sb_addf (sb, "[deployment %s/%s]\nlabels = ", ns, name);
  if (!labels_line (tl, "spec.template.metadata.labels", sb, f, m))
    return false;
  sb_addf (sb, "\nreplicas = %lld\n", r ? (long long) json_integer_value (r) : 1LL);
  return app_line (sc, json_at (obj, "spec.template.spec.containers"), "spec.template.spec.containers", sb, f, m);
}

static bool
pod_section (const struct scenario *sc, const json_t *obj, const char *ns, const char *name, struct strbuf *sb, char **f, char **m)
{
  const json_t *labels = json_at (obj, "metadata.labels");
  sb_addf (sb, "[pod %s/%s]\nlabels = ", ns, name);
  if (json_object_size (labels) == 0)
    sb_addf (sb, "run=%s", name); /* the scenario wants labels; kubectl run's */
  else if (!labels_line (labels, "metadata.labels", sb, f, m))
    return false;
  sb_add (sb, "\n");
  return app_line (sc, json_at (obj, "spec.containers"), "spec.containers", sb, f, m);
}

static bool
service_section (const json_t *obj, const char *ns, const char *name, struct strbuf *sb, char **f, char **m)
{
  const char *type = json_string_value (json_at (obj, "spec.type"));
  if (type == NULL)
    type = "ClusterIP";
  if (strcmp (type, "ClusterIP") != 0 && strcmp (type, "NodePort") != 0 && strcmp (type, "LoadBalancer") != 0)
    return invalid (f, m, "spec.type", "Unsupported value: \"%s\": supported values: \"ClusterIP\", \"NodePort\", "
                                       "\"LoadBalancer\"", type);
  const json_t *ports = json_at (obj, "spec.ports");
  if (json_array_size (ports) == 0)
    return invalid (f, m, "spec.ports", "Required value");
  sb_addf (sb, "[service %s/%s]\ntype = %s\n", ns, name, type);
  const json_t *sel = json_at (obj, "spec.selector");
  if (json_object_size (sel))
    {
      sb_add (sb, "selector = ");
      if (!labels_line (sel, "spec.selector", sb, f, m))
        return false;
      sb_add (sb, "\n");
    }
  const char *cip = json_string_value (json_at (obj, "spec.clusterIP"));
  if (cip && *cip && strcmp (cip, "None") != 0)
    {
      if (strspn (cip, "0123456789.") != strlen (cip))
        return invalid (f, m, "spec.clusterIP", "Invalid value: \"%s\": must be a valid IP address", cip);
      sb_addf (sb, "cluster_ip = %s\n", cip);
    }
  sb_add (sb, "ports = ");
  size_t i;
  const json_t *p;
  json_array_foreach (ports, i, p)
    {
      char fld[64];
      const json_t *port = json_object_get (p, "port"), *tp = json_object_get (p, "targetPort"),
                   *np = json_object_get (p, "nodePort");
      const char *pname = json_string_value (json_object_get (p, "name"));
      const char *proto = json_string_value (json_object_get (p, "protocol"));
      snprintf (fld, sizeof fld, "spec.ports[%zu].port", i);
      if (!json_is_integer (port) || json_integer_value (port) < 1 || json_integer_value (port) > 65535)
        return invalid (f, m, fld, "Invalid value: must be between 1 and 65535, inclusive");
      snprintf (fld, sizeof fld, "spec.ports[%zu].targetPort", i);
      if (tp && !json_is_integer (tp))
        return invalid (f, m, fld, "Unsupported value: a named target port (the lab's pods have numbered ports)");
      if (tp && (json_integer_value (tp) < 1 || json_integer_value (tp) > 65535))
        return invalid (f, m, fld, "Invalid value: must be between 1 and 65535, inclusive");
      snprintf (fld, sizeof fld, "spec.ports[%zu].name", i);
      if (pname && *pname && !dns_label_valid (pname, 15))
        return invalid (f, m, fld, "Invalid value: \"%s\": must be no more than 15 characters of a-z, 0-9 and '-'",
                        pname);
      snprintf (fld, sizeof fld, "spec.ports[%zu].protocol", i);
      if (proto && strcmp (proto, "TCP") != 0 && strcmp (proto, "UDP") != 0 && strcmp (proto, "SCTP") != 0)
        return invalid (f, m, fld, "Unsupported value: \"%s\": supported values: \"SCTP\", \"TCP\", \"UDP\"", proto);
      snprintf (fld, sizeof fld, "spec.ports[%zu].nodePort", i);
      if (np && (!json_is_integer (np) || json_integer_value (np) < 1 || json_integer_value (np) > 65535))
        return invalid (f, m, fld, "Invalid value: must be between 1 and 65535, inclusive");
      sb_addf (sb, "%s%s%s%lld", i ? ", " : "", pname && *pname ? pname : "", pname && *pname ? ":" : "",
               (long long) json_integer_value (port));
      if (proto && strcmp (proto, "TCP") != 0)
        sb_addf (sb, "/%s", proto);
      sb_addf (sb, "->%lld", (long long) json_integer_value (tp ? tp : port));
      if (np && json_integer_value (np))
        sb_addf (sb, "@%lld", (long long) json_integer_value (np));
    }
  sb_add (sb, "\n");
  return true;
}

char *
create_section (const struct scenario *sc, const json_t *obj, const char *ns, char **field, char **message)
{
  *field = *message = NULL;
  const char *kind = json_string_value (json_object_get (obj, "kind"));
  const char *name = json_string_value (json_at (obj, "metadata.name"));
  if (name == NULL || !dns_label_valid (name, 63))
    {
      invalid (field, message, "metadata.name",
               "Invalid value: \"%s\": a lowercase RFC 1123 label must consist of lower case alphanumeric "
               "characters or '-', and must start and end with an alphanumeric character",
               name ? name : "");
      return NULL;
    }
  if (!dns_label_valid (ns, 63))
    {
      invalid (field, message, "metadata.namespace", "Invalid value: \"%s\"", ns);
      return NULL;
    }
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "\n; made through the lab's API (kubectl)\n");
  bool ok = false;
  if (kind && strcmp (kind, "Deployment") == 0)
    ok = deployment_section (sc, obj, ns, name, &sb, field, message);
  else if (kind && strcmp (kind, "Service") == 0)
    ok = service_section (obj, ns, name, &sb, field, message);
  else if (kind && strcmp (kind, "Pod") == 0)
    ok = pod_section (sc, obj, ns, name, &sb, field, message);
  else
    invalid (field, message, "kind", "Unsupported value: \"%s\"", kind ? kind : "");
  if (!ok)
    {
      sb_free (&sb);
      return NULL;
    }
  return sb_steal (&sb);
}

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st, (void) flag, (void) ftw;
  return remove (path);
}

static char *
read_all (const char *path, nslab_error_t *err)
{
  cleanup_file FILE *f = fopen (path, "re");
  if (f == NULL)
    {
      nslab_error (err, errno, "read %s", path);
      return NULL;
    }
  struct strbuf sb;
  sb_init (&sb);
  char buf[8192];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    sb_addn (&sb, buf, n);
  return sb.buf ? sb_steal (&sb) : xstrdup ("");
}

/* The stored object: the plan's, with what the client wrote of it. */
static void
overlay (json_t *obj, const json_t *sent, const char *kind)
{
  json_t *meta = json_object_get (obj, "metadata");
  const json_t *smeta = json_object_get (sent, "metadata");
  if (json_object_size (json_object_get (smeta, "labels")))
    json_object_set (meta, "labels", json_object_get (smeta, "labels"));
  if (json_object_get (smeta, "annotations"))
    {
      json_t *ann = json_object_get (meta, "annotations");
      if (!json_is_object (ann))
        json_object_set_new (meta, "annotations", ann = json_object ());
      json_object_update (ann, json_object_get (smeta, "annotations"));
    }
  const json_t *containers = json_at (sent, strcmp (kind, "Deployment") == 0 ? "spec.template.spec.containers"
                                                                         : "spec.containers");
  json_t *dst = strcmp (kind, "Deployment") == 0
                    ? json_object_get (json_object_get (json_object_get (obj, "spec"), "template"), "spec")
                    : json_object_get (obj, "spec");
  /* The API server defaults what it stores (imagePullPolicy,
   * terminationMessagePath, ...); a pod's statuses follow its containers. */
  if (strcmp (kind, "Pod") == 0 && json_is_array (containers))
    pod_template_apply (obj, containers);
  else if (strcmp (kind, "Service") != 0 && json_is_array (containers) && json_is_object (dst))
    json_object_set_new (dst, "containers", pod_template_default_containers (containers));
}

int
create_commit (const char *lab, const struct scenario *kept, struct store *s, const char *section,
               const json_t *sent, const char *kind, const char *ns, const char *name, json_t **out, bool *is_invalid,
               nslab_error_t *err)
{
  *out = NULL;
  *is_invalid = false;
  cleanup_free char *path = lab_scenario_path (lab, err);
  if (path == NULL)
    return -1;
  cleanup_free char *text = read_all (path, err);
  if (text == NULL)
    return -1;
  /* A private copy beside the kept one, with ../templates as the loader
   * looks for it: the new scenario is checked before it replaces the old. */
  cleanup_free char *tmpdir = xasprintf ("%s/%s/.api-XXXXXX", state_root (), lab);
  if (mkdtemp (tmpdir) == NULL)
    return nslab_error (err, errno, "mkdtemp %s", tmpdir);
  cleanup_free char *sdir = xasprintf ("%s/scenario", tmpdir), *tlink = xasprintf ("%s/templates", tmpdir);
  const char *base = strrchr (path, '/') + 1;
  cleanup_free char *copy = xasprintf ("%s/%s", sdir, base);
  int rc = 0;
  if (mkdir (sdir, 0700) < 0 || symlink ("../templates", tlink) < 0)
    rc = nslab_error (err, errno, "prepare %s", tmpdir);
  if (rc == 0)
    {
      FILE *f = fopen (copy, "we");
      if (f == NULL || fputs (text, f) < 0 || fputs (section, f) < 0)
        rc = nslab_error (err, errno, "write %s", copy);
      if (f && fclose (f) != 0 && rc == 0)
        rc = nslab_error (err, errno, "write %s", copy);
    }
  struct scenario *sc = NULL;
  struct plan *p = NULL;
  if (rc == 0 && scenario_load (copy, &sc, err) < 0)
    rc = -1, *is_invalid = true;
  if (rc == 0 && scenario_running_change (kept, sc, err) < 0)
    rc = -1, *is_invalid = true;
  if (rc == 0 && plan_build (sc, &p, err) < 0)
    rc = -1, *is_invalid = true;
  if (rc == 0)
    {
      struct state_writer *w = NULL;
      rc = state_open (lab, &w, err);
      if (rc == 0)
        {
          rc = lab_scenario_save (w, sc->files, sc->n_files, err);
          state_writer_close (w);
        }
    }
  if (rc == 0)
    {
      json_t *items = resources_from_objects (p->objects, time (NULL));
      size_t i;
      json_t *o;
      json_array_foreach (items, i, o)
        {
          const json_t *m = json_object_get (o, "metadata");
          if (strcmp (json_string_value (json_object_get (o, "kind")), kind) == 0
              && strcmp (json_string_value (json_object_get (m, "name")), name) == 0
              && strcmp (json_string_value (json_object_get (m, "namespace")) ?: "", ns) == 0)
            *out = json_incref (o);
        }
      json_decref (items);
      if (*out == NULL)
        rc = nslab_error (err, ENOENT, "%s %s/%s: not in the lab's new plan", kind, ns, name);
      else
        {
          json_object_del (json_object_get (*out, "metadata"), "uid");
          overlay (*out, sent, kind);
          rc = store_put (s, *out, err);
        }
    }
  plan_free (p);
  scenario_free (sc);
  nftw (tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
  if (rc < 0)
    {
      json_decref (*out);
      *out = NULL;
    }
  return rc;
}
