/* nslab apply FILE: converge the running lab FILE names to FILE as edited,
 * as kubectl apply --prune would for its workloads and services: added ones
 * are created, removed ones deleted, changed ones (replicas, labels,
 * selectors, ports, app) updated; the lab's control loop makes the pods and
 * rules follow. A change that needs nodes or networks rebuilt is refused
 * with one line naming the key. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd.h"
#include "base/hash.h"
#include "k8s/resources.h"
#include "lab_change.h"
#include "scenario/scenario.h"
#include "state/journal.h"
#include "state/lab_scenario.h"
#include "state/store.h"
#include "base/util.h"

/* The kinds apply manages: the user's objects of the lab. */
static bool
applied_kind (const json_t *obj)
{
  const char *kind = json_string_value (json_object_get (obj, "kind"));
  bool owned = json_object_get (json_object_get (obj, "metadata"), "ownerReferences") != NULL;
  if (strcmp (kind, "Deployment") == 0 || strcmp (kind, "Service") == 0)
    return true;
  /* A bare replicaset or pod; a deployment's are its controller's. */
  return (strcmp (kind, "ReplicaSet") == 0 || strcmp (kind, "Pod") == 0) && !owned;
}

static const char *
meta_str (const json_t *obj, const char *key)
{
  return json_string_value (json_object_get (json_object_get (obj, "metadata"), key));
}

/* With a Deployment, in the same transaction, the pod-template-hash its
 * scenario section gives (the control loop's rollout reads it as part of
 * the template: what the section says beyond the stored template, e.g. a
 * readiness probe; see docs/state.md). */
static int
note_template (struct store *s, const json_t *obj, const struct lab_objects *o, nslab_error_t *err)
{
  if (strcmp (json_string_value (json_object_get (obj, "kind")), "Deployment") != 0)
    return 0;
  for (size_t i = 0; i < o->n_workloads; i++)
    {
      const struct lab_workload *w = &o->workloads[i];
      if (w->kind != OBJ_DEPLOYMENT || w->pod_template_hash == NULL || strcmp (w->ns, meta_str (obj, "namespace")) != 0
          || strcmp (w->name, meta_str (obj, "name")) != 0)
        continue;
      cleanup_free char *key = xasprintf ("rollout/scen/%s/%s", w->ns, w->name);
      return store_meta_set (s, key, fnv1a64 (w->pod_template_hash), err);
    }
  return 0;
}

static int
apply_objects (struct store *s, json_t *items, const struct lab_objects *workloads, int *changed,
               nslab_error_t *err)
{
  static const char *const kinds[] = { "Deployment", "ReplicaSet", "Pod", "Service" };
  int rc = store_begin (s, err);
  for (size_t i = 0; rc == 0 && i < json_array_size (items); i++)
    {
      json_t *obj = json_array_get (items, i);
      if (!applied_kind (obj))
        continue;
      json_t *was = NULL;
      rc = store_get (s, json_string_value (json_object_get (obj, "kind")), meta_str (obj, "namespace"),
                      meta_str (obj, "name"), &was, err);
      if (rc == 0 && was)
        {
          /* The spec is the file's; status and identity stay the lab's. */
          json_t *copy = json_deep_copy (was);
          json_object_set (copy, "spec", json_object_get (obj, "spec"));
          resources_bump_generation (was, copy);
          json_object_set (json_object_get (copy, "metadata"), "labels",
                           json_object_get (json_object_get (obj, "metadata"), "labels"));
          rc = store_put (s, copy, err);
          json_decref (copy);
        }
      else if (rc == 0)
        {
          json_object_del (json_object_get (obj, "metadata"), "uid");
          rc = store_put (s, obj, err);
          (*changed)++;
        }
      if (rc == 0)
        rc = note_template (s, obj, workloads, err);
      json_decref (was);
    }
  /* Pruned: what the lab has and the file no longer does. */
  for (size_t k = 0; rc == 0 && k < ARRAY_SIZE (kinds); k++)
    {
      json_t *list = NULL;
      rc = store_list (s, kinds[k], NULL, &list, err);
      for (size_t i = 0; rc == 0 && i < json_array_size (list); i++)
        {
          json_t *old = json_array_get (list, i);
          if (!applied_kind (old))
            continue;
          bool keep = false;
          for (size_t j = 0; j < json_array_size (items) && !keep; j++)
            {
              json_t *n = json_array_get (items, j);
              keep = strcmp (json_string_value (json_object_get (n, "kind")), kinds[k]) == 0
                     && strcmp (meta_str (n, "name"), meta_str (old, "name")) == 0
                     && strcmp (meta_str (n, "namespace"), meta_str (old, "namespace")) == 0;
            }
          if (!keep)
            {
              rc = store_delete (s, kinds[k], meta_str (old, "namespace"), meta_str (old, "name"), err);
              (*changed)++;
            }
        }
      json_decref (list);
    }
  return store_end (s, rc, err);
}

int
cmd_apply (int argc, char **argv, nslab_error_t *err)
{
  int timeout_ms = LAB_CHANGE_TIMEOUT_MS;
  const char *file = NULL;
  for (int i = 1; i < argc; i++)
    {
      if (cli_is_help (argv[i]))
        return cli_help ("apply");
      if (strncmp (argv[i], "--timeout=", 10) == 0 && lab_change_timeout (argv[i] + 10, &timeout_ms) == 0)
        continue;
      if (strcmp (argv[i], "--timeout") == 0 && i + 1 < argc && lab_change_timeout (argv[i + 1], &timeout_ms) == 0)
        {
          i++;
          continue;
        }
      if (file || argv[i][0] == '-')
        return cli_usage ("apply");
      file = argv[i];
    }
  if (file == NULL)
    return cli_usage ("apply");
  struct scenario *sc = NULL;
  struct plan *p = NULL;
  /* As up writes them: a new bare pod with a probe is not ready until the
   * loop has probed it. */
  if (cli_load_up_plan (file, &sc, &p, err) < 0)
    return -1;
  struct scenario *old = NULL;
  int rc = lab_scenario_load (sc->lab, &old, err);
  if (rc == 0)
    rc = scenario_running_change (old, sc, err);
  struct state_writer *w = NULL;
  if (rc == 0)
    rc = state_open (sc->lab, &w, err);
  if (rc == 0)
    {
      rc = lab_scenario_save (w, sc->files, sc->n_files, err);
      state_writer_close (w);
    }
  struct store *s = NULL;
  uint64_t rv = 0;
  int changed = 0;
  if (rc == 0)
    rc = store_open (sc->lab, &s, err);
  if (rc == 0)
    {
      json_t *items = resources_from_objects (p->objects, time (NULL));
      rc = apply_objects (s, items, p->objects, &changed, err);
      json_decref (items);
      /* A new version even when only a template changed: the loop looks. */
      if (rc == 0)
        rc = store_touch (s, &rv, err);
      store_close (s);
    }
  if (rc == 0 && lab_change_wait (sc->lab, rv, timeout_ms, err) < 0)
    rc = nslab_error_wrap (err, "apply %s", file);
  if (rc == 0)
    printf ("lab %s: %s applied\n", sc->lab, file);
  scenario_free (old);
  cli_plan_free (sc, p);
  return rc < 0 ? -1 : 0;
}
