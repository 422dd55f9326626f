/* scenario_load: read the scenario and its template (ini.c), merge them
 * key by key, and hand the result to validate.c. flavor_name() is in
 * flavor.c, beside the flavors' table. */
#include "scenario/scenario.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario/check.h"
#include "scenario/ini.h"
#include "base/shellsplit.h"
#include "base/util.h"
#include "scenario/validate.h"

#ifndef NSLAB_DATADIR
#define NSLAB_DATADIR "/usr/local/share/nslab"
#endif

const char *
proto_name (enum l4proto p)
{
  return p == PROTO_UDP ? "UDP" : p == PROTO_SCTP ? "SCTP" : "TCP";
}

const char *
proto_lower (enum l4proto p)
{
  return p == PROTO_UDP ? "udp" : p == PROTO_SCTP ? "sctp" : "tcp";
}

const char *
svc_type_name (enum svc_type t)
{
  return t == SVC_NODE_PORT ? "NodePort" : t == SVC_LOAD_BALANCER ? "LoadBalancer" : "ClusterIP";
}

const char *
workload_kind_name (enum workload_kind k)
{
  return k == WL_DEPLOYMENT ? "deployment" : k == WL_REPLICASET ? "replicaset" : k == WL_DAEMONSET ? "daemonset" : "pod";
}

bool
labels_match (const struct label *labels, size_t n_labels, const struct label *sel, size_t n_sel)
{
  for (size_t i = 0; i < n_sel; i++)
    {
      bool found = false;
      for (size_t j = 0; j < n_labels && !found; j++)
        found = strcmp (sel[i].key, labels[j].key) == 0 && strcmp (sel[i].value, labels[j].value) == 0;
      if (!found)
        return false;
    }
  return true;
}

void
labels_free (struct label *l, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (l[i].key);
      free (l[i].value);
    }
  free (l);
}

void
scenario_free (struct scenario *s)
{
  if (s == NULL)
    return;
  /* origin.section strings are allocated by the loader for each object. */
  for (size_t i = 0; i < s->n_networks; i++)
    {
      free (s->networks[i].name);
      free (s->networks[i].bridge);
      free ((char *) s->networks[i].origin.section);
    }
  free (s->networks);
  for (size_t i = 0; i < s->n_nodes; i++)
    {
      struct node_def *n = &s->nodes[i];
      for (size_t j = 0; j < n->n_nics; j++)
        free (n->nics[j].ifname);
      free (n->nics);
      free (n->name);
      free ((char *) n->origin.section);
    }
  free (s->nodes);
  for (size_t i = 0; i < s->n_workloads; i++)
    {
      struct workload_def *w = &s->workloads[i];
      free (w->ns);
      free (w->name);
      labels_free (w->labels, w->n_labels);
      for (size_t j = 0; j < w->n_nodes; j++)
        free (w->nodes[j]);
      free (w->nodes);
      free (w->ips);
      shell_argv_free (w->app.argv);
      free (w->app.command);
      free (w->image);
      free (w->container);
      free (w->readiness.path);
      free (w->lb_svc_ns);
      free (w->lb_svc_name);
      free ((char *) w->origin.section);
    }
  free (s->workloads);
  for (size_t i = 0; i < s->n_services; i++)
    {
      struct service_def *sv = &s->services[i];
      free (sv->ns);
      free (sv->name);
      labels_free (sv->selector, sv->n_selector);
      free (sv->external_ips);
      free (sv->source_ranges);
      for (size_t j = 0; j < sv->n_ports; j++)
        free (sv->ports[j].name);
      free (sv->ports);
      free ((char *) sv->origin.section);
    }
  free (s->services);
  for (size_t i = 0; i < s->n_images; i++)
    {
      free (s->images[i].image);
      free ((char *) s->images[i].origin.section);
    }
  free (s->images);
  check_defs_free (s->checks, s->n_checks);
  for (size_t i = 0; i < s->n_warnings; i++)
    free (s->warnings[i]);
  free (s->warnings);
  free (s->cluster.dns_domain);
  free (s->cluster.node_port_addresses);
  free (s->lab);
  free (s->description);
  for (size_t i = 0; i < s->n_files; i++)
    free (s->files[i]);
  free (s->files);
  free (s);
}

/* ---- template lookup ------------------------------------------------- */

static char *
dir_of (const char *path)
{
  const char *slash = strrchr (path, '/');
  if (slash == NULL)
    return xstrdup (".");
  if (slash == path)
    return xstrdup ("/");
  return xstrndup (path, (size_t) (slash - path));
}

static char *
join (const char *dir, const char *rel)
{
  if (rel[0] == '/')
    return xstrdup (rel);
  if (strcmp (dir, ".") == 0)
    return xstrdup (rel);
  if (str_has_suffix (dir, "/"))
    return xasprintf ("%s%s", dir, rel);
  return xasprintf ("%s/%s", dir, rel);
}

static bool
exists (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0;
}

static bool
template_name_valid (const char *s)
{
  if (*s == '\0' || *s == '.' || strlen (s) > 64)
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'
          || *s == '.'))
      return false;
  return true;
}

/* Resolve [lab] template = VALUE per format.md; *path is the template path
 * (scenario-relative spelling, as it will appear in messages). */
static int
resolve_template (const char *file, const char *section, const char *value, char **path,
                  nslab_error_t *err)
{
  cleanup_free char *dir = dir_of (file);
  if (*value == '\0')
    return nslab_error_invalid (err, "%s: [%s] template: empty value", file, section);
  if (strchr (value, '/') || str_has_suffix (value, ".ini"))
    {
      char *p = join (dir, value);
      if (!exists (p))
        {
          nslab_error_invalid (err, "%s: [%s] template: no template \"%s\" (looked in %s)", file,
                               section, value, p);
          free (p);
          return -1;
        }
      *path = p;
      return 0;
    }
  if (!template_name_valid (value))
    return nslab_error_invalid (err,
                                "%s: [%s] template: \"%s\" is not a template name (a-z, 0-9, '-', "
                                "'_', '.'; or a path to a .ini file)",
                                file, section, value);
  const char *env = getenv ("NSLAB_TEMPLATE_DIR");
  char *dirs[6];
  size_t nd = 0;
  dirs[nd++] = join (dir, "../templates");
  dirs[nd++] = xstrdup (dir);
  if (env && *env)
    dirs[nd++] = xstrdup (env);
  /* A build tree's bin/nslab finds the repository's templates/ beside it,
   * so labs outside the tree work before `make install`; an installed
   * PREFIX/bin/nslab finds PREFIX/share/nslab/templates whatever PREFIX
   * it was built with (make install PREFIX=X does not rebuild). */
  char exe[4096];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      cleanup_free char *exe_dir = dir_of (exe);
      const char *rel[2] = { "../templates", "../share/nslab/templates" };
      for (size_t i = 0; i < 2; i++)
        {
          char *beside = join (exe_dir, rel[i]);
          struct stat st;
          if (stat (beside, &st) == 0 && S_ISDIR (st.st_mode))
            dirs[nd++] = beside;
          else
            free (beside);
        }
    }
  dirs[nd++] = xstrdup (NSLAB_DATADIR "/templates");
  cleanup_free char *file_name = xasprintf ("%s.ini", value);
  int ret = -1;
  struct strbuf looked;
  sb_init (&looked);
  for (size_t i = 0; i < nd; i++)
    {
      char *p = join (dirs[i], file_name);
      if (exists (p))
        {
          *path = p;
          ret = 0;
          break;
        }
      free (p);
      sb_addf (&looked, "%s%s", i ? ", " : "", dirs[i]);
    }
  if (ret < 0)
    nslab_error_invalid (err, "%s: [%s] template: no template \"%s\" (looked in %s)", file, section,
                         value, looked.buf);
  sb_free (&looked);
  for (size_t i = 0; i < nd; i++)
    free (dirs[i]);
  return ret;
}

static const struct ini_section *
find_section (const struct ini_file *f, const char *canon)
{
  for (size_t i = 0; i < f->n_sections; i++)
    if (strcmp (f->sections[i].canon, canon) == 0)
      return &f->sections[i];
  return NULL;
}

/* ---- merge ----------------------------------------------------------- */

struct merged {
  struct merged_section *secs;
  size_t n;
};

static void
merged_free (struct merged *m)
{
  for (size_t i = 0; i < m->n; i++)
    free (m->secs[i].keys);
  free (m->secs);
}

static void
add_keys (struct merged_section *ms, const struct ini_section *s, const char *file,
          const struct ini_section *over)
{
  for (size_t i = 0; i < s->n_keys; i++)
    {
      if (over && ini_section_find (over, s->keys[i].name))
        continue;
      struct merged_key *k = VEC_PUSH (ms->keys, ms->n_keys);
      k->name = s->keys[i].name;
      k->value = s->keys[i].value;
      k->file = file;
      k->section = s->name;
      k->line = s->keys[i].line;
    }
}

static void
set_section (struct merged_section *ms, const struct ini_section *s, const char *file)
{
  ms->type = s->type;
  ms->arg = s->arg;
  ms->canon = s->canon;
  ms->file = file;
  ms->name = s->name;
  ms->line = s->line;
}

/* Template sections the scenario does not mention come first, in template
 * order; then the scenario's sections in its order, each carrying the
 * template's keys it does not override. So the scenario decides the order
 * of everything it names (node order = pod CIDR order). */
static void
merge (const struct ini_file *main_f, const char *main_file, const struct ini_file *tpl,
       const char *tpl_file, struct merged *m)
{
  struct strmap in_main, in_tpl;
  strmap_init (&in_main);
  strmap_init (&in_tpl);
  for (size_t i = 0; i < main_f->n_sections; i++)
    strmap_put (&in_main, main_f->sections[i].canon, (void *) (uintptr_t) (i + 1));
  if (tpl)
    for (size_t i = 0; i < tpl->n_sections; i++)
      {
        const struct ini_section *s = &tpl->sections[i];
        strmap_put (&in_tpl, s->canon, (void *) (uintptr_t) (i + 1));
        if (strmap_get (&in_main, s->canon))
          continue;
        struct merged_section *ms = VEC_PUSH (m->secs, m->n);
        set_section (ms, s, tpl_file);
        add_keys (ms, s, tpl_file, NULL);
      }
  for (size_t i = 0; i < main_f->n_sections; i++)
    {
      const struct ini_section *s = &main_f->sections[i];
      struct merged_section *ms = VEC_PUSH (m->secs, m->n);
      set_section (ms, s, main_file);
      add_keys (ms, s, main_file, NULL);
      uintptr_t ti = tpl ? (uintptr_t) strmap_get (&in_tpl, s->canon) : 0;
      if (ti)
        add_keys (ms, &tpl->sections[ti - 1], tpl_file, s);
    }
  strmap_free (&in_main);
  strmap_free (&in_tpl);
}

int
scenario_load (const char *file, struct scenario **out, nslab_error_t *err)
{
  struct scenario *sc = xcalloc (1, sizeof *sc);
  struct ini_file *main_f = NULL, *tpl = NULL;
  struct merged m = { NULL, 0 };
  int ret = -1;

  *VEC_PUSH (sc->files, sc->n_files) = xstrdup (file);
  if (ini_load (file, &main_f, err) < 0)
    goto out;

  const struct ini_section *lab = find_section (main_f, "lab");
  const struct ini_key *tk = lab ? ini_section_find (lab, "template") : NULL;
  if (tk)
    {
      char *tpath = NULL;
      if (resolve_template (file, lab->name, tk->value, &tpath, err) < 0)
        goto out;
      *VEC_PUSH (sc->files, sc->n_files) = tpath;
      if (ini_load (tpath, &tpl, err) < 0)
        goto out;
      const struct ini_section *tlab = find_section (tpl, "lab");
      if (tlab && ini_section_find (tlab, "template"))
        {
          nslab_error_invalid (err, "%s: [%s] template: a template cannot use another template",
                               tpath, tlab->name);
          goto out;
        }
    }
  merge (main_f, sc->files[0], tpl, sc->n_files > 1 ? sc->files[1] : NULL, &m);
  ret = validate_scenario (sc, m.secs, m.n, err);

out:
  merged_free (&m);
  ini_file_free (main_f);
  ini_file_free (tpl);
  if (ret < 0)
    {
      scenario_free (sc);
      return -1;
    }
  *out = sc;
  return 0;
}
