/* Writing what the lab now is into its store, as the controllers and kubelet
 * of a real cluster update the API (see store_sync.h). */
#include "control/store_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hash.h"
#include "base/util.h"
#include "k8s/pod_template.h"
#include "k8s/resources.h"

static const char *
meta_str (const json_t *obj, const char *key)
{
  return json_string_value (json_object_get (json_object_get (obj, "metadata"), key));
}

static char *
obj_key (const json_t *obj)
{
  const char *ns = meta_str (obj, "namespace");
  return xasprintf ("%s/%s/%s", json_string_value (json_object_get (obj, "kind")), ns ? ns : "",
                    meta_str (obj, "name"));
}

/* default/kubernetes: the API server's bootstrap controller makes it again
 * when it is deleted (a user's deletion does not stick). */
static bool
apiserver_service (const json_t *obj)
{
  const char *ns = meta_str (obj, "namespace"), *name = meta_str (obj, "name");
  return strcmp (json_string_value (json_object_get (obj, "kind")), "Service") == 0 && ns
         && strcmp (ns, "default") == 0 && name && strcmp (name, "kubernetes") == 0;
}

/* The kinds the control loop owns in full: what is in the store and not in
 * the new set goes. Deployments, ReplicaSets of bare workloads and Services
 * are the user's: created by up and apply, deleted by nslab delete, only
 * their status is the loop's. */
static bool
loop_owned (const json_t *obj)
{
  const char *kind = json_string_value (json_object_get (obj, "kind"));
  /* A deployment's replicaset is its controller's; a bare one the user's. */
  if (strcmp (kind, "ReplicaSet") == 0)
    return json_object_get (json_object_get (obj, "metadata"), "ownerReferences") != NULL;
  /* servicelb's DaemonSets come and go with the LoadBalancers. */
  return strcmp (kind, "Pod") == 0 || strcmp (kind, "Endpoints") == 0 || strcmp (kind, "EndpointSlice") == 0
         || strcmp (kind, "DaemonSet") == 0;
}

/* Replace every string equal to a key of MAP by its value (fresh uids of
 * this build by the stored objects' own, in ownerReferences and targetRefs). */
static void
remap_strings (json_t *j, json_t *map)
{
  if (json_is_object (j))
    {
      const char *k;
      json_t *v;
      json_object_foreach (j, k, v)
        {
          if (json_is_string (v))
            {
              /* only uid members are looked up: most strings are not */
              json_t *to = strcmp (k, "uid") == 0 ? json_object_get (map, json_string_value (v)) : NULL;
              if (to)
                json_object_set (j, k, to);
            }
          else
            remap_strings (v, map);
        }
    }
  else if (json_is_array (j))
    for (size_t i = 0; i < json_array_size (j); i++)
      remap_strings (json_array_get (j, i), map);
}


/* A pod's containers cannot change once it exists (the API server refuses
 * any update but an image's), and kubelet never writes them: a pod keeps the
 * containers it was stored with, a pod made through the API the client's
 * (else kubectl apply's three-way patch sees the plan's in their place and
 * prints "configured" where a cluster says "unchanged"). kubelet reports a
 * status per container under the spec's names and images. */
static void
keep_pod_containers (json_t *pod, const json_t *was)
{
  json_t *spec = json_object_get (pod, "spec");
  const json_t *kept = json_object_get (json_object_get (was, "spec"), "containers");
  json_t *planned = json_object_get (spec, "containers");
  json_t *status = json_object_get (pod, "status");
  /* nor does the QoS class the API server gave it on create, from them */
  json_t *qos = json_object_get (json_object_get (was, "status"), "qosClass");
  if (json_is_object (status) && json_is_string (qos))
    json_object_set (status, "qosClass", qos);
  if (!json_is_object (spec) || json_array_size (kept) == 0 || json_equal (kept, planned))
    return;
  json_object_set_new (spec, "containers", json_deep_copy (kept));
  const json_t *first = json_array_get (json_object_get (status, "containerStatuses"), 0);
  if (first)
    json_object_set_new (status, "containerStatuses", pod_template_statuses (kept, first));
}

/* Pods follow their ReplicaSet's template (k8s/pod_template.h): what a
 * round knows of the templates, by "namespace/replicaset". */
struct templates {
  json_t *planned; /* the plan's template containers (borrowed from the items) */
  json_t *stored;  /* the template containers the replicaset has in the store */
};

static json_t *
template_containers (json_t *obj)
{
  return json_object_get (json_object_get (json_object_get (json_object_get (obj, "spec"), "template"), "spec"),
                          "containers");
}

static json_t *
template_annotations (const json_t *obj)
{
  return json_object_get (json_object_get (json_object_get (json_object_get (obj, "spec"), "template"), "metadata"),
                          "annotations");
}

static const json_t *
owner_ref (const json_t *obj, const char *kind)
{
  const json_t *ref = json_array_get (json_object_get (json_object_get (obj, "metadata"), "ownerReferences"), 0);
  const char *k = json_string_value (json_object_get (ref, "kind"));
  return k && strcmp (k, kind) == 0 ? ref : NULL;
}

static uint64_t
meta_rv (const json_t *obj)
{
  const char *rv = meta_str (obj, "resourceVersion");
  return rv ? strtoull (rv, NULL, 10) : 0;
}

static json_t *
template_spec (const json_t *obj)
{
  return json_object_get (json_object_get (json_object_get (obj, "spec"), "template"), "spec");
}

/* A deployment's replicaset keeps the template it was made with (a
 * template never changes: a new one is a new replicaset); a new one takes
 * its deployment's as the store holds it, the whole pod spec (the client's
 * containers, for a deployment made through the API, and whatever else it
 * set: tolerations, nodeSelector, volumes). Returns 1 when that deployment
 * was written after the round planned (PLANNED_RV): its template may not be
 * the one the round fingerprinted and named the replicaset after, so the
 * replicaset is not made this round (the next round's plan has the new
 * template). */
static int
replicaset_template (struct store *s, json_t *rs, const json_t *was, uint64_t planned_rv, nslab_error_t *err)
{
  json_t *tspec = template_spec (rs);
  const json_t *dep = owner_ref (rs, "Deployment");
  if (!json_is_object (tspec) || dep == NULL)
    return 0;
  json_t *from = json_incref (template_spec (was));
  /* and the template's annotations (kubectl rollout restart's restartedAt) */
  json_t *ann = json_incref (template_annotations (was));
  if (was == NULL)
    {
      json_t *d = NULL;
      if (store_get (s, "Deployment", meta_str (rs, "namespace"), json_string_value (json_object_get (dep, "name")), &d,
                     err)
          < 0)
        return -1;
      if (d && meta_rv (d) > planned_rv)
        {
          json_decref (d);
          return 1;
        }
      from = json_incref (template_spec (d));
      ann = json_incref (template_annotations (d));
      json_decref (d);
    }
  json_t *template = json_object_get (json_object_get (rs, "spec"), "template");
  json_t *tmeta = json_object_get (template, "metadata");
  if (json_is_object (ann) && json_is_object (tmeta))
    json_object_set (tmeta, "annotations", ann);
  json_decref (ann);
  if (json_is_object (from) && json_array_size (json_object_get (from, "containers")))
    json_object_set (template, "spec", from);
  json_decref (from);
  return 0;
}

/* A new pod of a replicaset: the ReplicaSet controller makes it from the
 * replicaset's template; when that is the plan's own, the plan's pod is
 * already that. */
static int
pod_from_replicaset (struct store *s, struct templates *t, json_t *pod, nslab_error_t *err)
{
  const json_t *ref = owner_ref (pod, "ReplicaSet");
  if (ref == NULL)
    return 0;
  cleanup_free char *key = xasprintf ("%s/%s", meta_str (pod, "namespace"), json_string_value (json_object_get (ref, "name")));
  json_t *tc = json_object_get (t->stored, key);
  if (tc == NULL)
    {
      json_t *rs = NULL;
      if (store_get (s, "ReplicaSet", meta_str (pod, "namespace"), json_string_value (json_object_get (ref, "name")),
                     &rs, err)
          < 0)
        return -1;
      tc = template_containers (rs);
      json_object_set (t->stored, key, tc ? tc : json_null ());
      json_decref (rs);
      tc = json_object_get (t->stored, key);
    }
  if (json_is_array (tc) && !json_equal (tc, json_object_get (t->planned, key)))
    pod_template_apply (pod, tc);
  return 0;
}

/* The deployment controller's writes to a Deployment besides its status:
 * the revision annotation of its new ReplicaSet, and the generation it
 * observed (the API server moves metadata.generation on every change of
 * the spec; kubectl rollout status waits for the two to meet). Written
 * after the round planned (PLANNED_RV): the plan did not see that
 * generation, and the one observed before stays. Returns whether it stayed
 * behind metadata.generation: then the next round must write it again even
 * if it wants the same status. */
static bool
deployment_observed (json_t *copy, const json_t *planned, const json_t *was, uint64_t planned_rv)
{
  json_t *meta = json_object_get (copy, "metadata");
  const char *rev = json_string_value (json_object_get (
      json_object_get (json_object_get (planned, "metadata"), "annotations"), "deployment.kubernetes.io/revision"));
  json_t *ann = json_object_get (meta, "annotations");
  if (rev && !json_is_object (ann))
    json_object_set_new (meta, "annotations", ann = json_object ());
  if (rev)
    json_object_set_new (ann, "deployment.kubernetes.io/revision", json_string (rev));
  json_t *gen = json_object_get (meta, "generation");
  json_t *st = json_object_get (copy, "status");
  if (!json_is_object (st))
    return false;
  if (meta_rv (was) > planned_rv)
    {
      json_t *seen = json_object_get (json_object_get (was, "status"), "observedGeneration");
      if (seen)
        json_object_set (st, "observedGeneration", seen);
      else
        json_object_del (st, "observedGeneration");
      return gen != NULL && !json_equal (seen, gen);
    }
  if (json_is_integer (gen))
    json_object_set (st, "observedGeneration", gen);
  return false;
}

static const char *const synced_kinds[] = { "Namespace", "Node", "Deployment", "ReplicaSet", "DaemonSet", "Pod",
                                            "Service", "Endpoints", "EndpointSlice" };

/* What a round wrote or found, per object (by a hash of its
 * kind/namespace/name): its resourceVersion then, and a hash of what the
 * round wanted it to be. One flat table, allocated at once: the loop's
 * memory between rounds is not scattered over small blocks. Two objects
 * never share a resourceVersion, so a colliding name hash cannot pass. */
struct seen {
  uint64_t key, rv, hash; /* key 0: empty slot */
};

struct seen_table {
  struct seen *slots;
  size_t cap, n; /* cap: a power of two */
};

struct store_sync_cache {
  struct seen_table seen;
};

static void
table_free (struct seen_table *t)
{
  free (t->slots);
  memset (t, 0, sizeof *t);
}

static uint64_t
name_hash (const char *key)
{
  uint64_t h = fnv1a64 (key);
  return h ? h : 1;
}

static const struct seen *
table_get (const struct seen_table *t, const char *name)
{
  if (t->cap == 0)
    return NULL;
  uint64_t key = name_hash (name);
  for (size_t i = key & (t->cap - 1);; i = (i + 1) & (t->cap - 1))
    {
      if (t->slots[i].key == key)
        return &t->slots[i];
      if (t->slots[i].key == 0)
        return NULL;
    }
}

/* A table for N objects, at most half full. */
static void
table_init (struct seen_table *t, size_t n)
{
  t->cap = 64;
  while (t->cap < 2 * n + 2)
    t->cap *= 2;
  t->slots = xcalloc (t->cap, sizeof *t->slots);
  t->n = 0;
}

static void
remember (struct seen_table *t, const char *name, uint64_t rv, uint64_t hash)
{
  uint64_t key = name_hash (name);
  size_t i = key & (t->cap - 1);
  while (t->slots[i].key != 0 && t->slots[i].key != key)
    i = (i + 1) & (t->cap - 1);
  if (t->slots[i].key == 0)
    t->n++;
  t->slots[i] = (struct seen) { .key = key, .rv = rv, .hash = hash };
}

static void
remember_key (struct seen_table *t, struct seen sn)
{
  size_t i = sn.key & (t->cap - 1);
  while (t->slots[i].key != 0 && t->slots[i].key != sn.key)
    i = (i + 1) & (t->cap - 1);
  if (t->slots[i].key == 0)
    t->n++;
  t->slots[i] = sn;
}

struct store_sync_cache *
store_sync_cache_new (void)
{
  return xcalloc (1, sizeof (struct store_sync_cache));
}

void
store_sync_cache_clear (struct store_sync_cache *c)
{
  if (c)
    table_free (&c->seen);
}

void
store_sync_cache_free (struct store_sync_cache *c)
{
  if (c == NULL)
    return;
  table_free (&c->seen);
  free (c);
}

/* A hash of J's value, member by member in their order, each tagged with
 * its type: what json_dumps would write, without writing it (a third of
 * the time over a large lab's thousands of objects). */
static uint64_t
json_hash (const json_t *j, uint64_t h)
{
  char tag = (char) json_typeof (j);
  h = fnv1a64_mem (&tag, 1, h);
  switch (json_typeof (j))
    {
    case JSON_OBJECT:
      {
        const char *k;
        json_t *v;
        size_t n = json_object_size (j);
        h = fnv1a64_mem (&n, sizeof n, h);
        json_object_foreach ((json_t *) j, k, v)
          {
            h = fnv1a64_mem (k, strlen (k) + 1, h);
            h = json_hash (v, h);
          }
        return h;
      }
    case JSON_ARRAY:
      {
        size_t n = json_array_size (j);
        h = fnv1a64_mem (&n, sizeof n, h);
        for (size_t i = 0; i < n; i++)
          h = json_hash (json_array_get (j, i), h);
        return h;
      }
    case JSON_STRING:
      {
        size_t n = json_string_length (j);
        h = fnv1a64_mem (&n, sizeof n, h);
        return fnv1a64_mem (json_string_value (j), n, h);
      }
    case JSON_INTEGER:
      {
        json_int_t v = json_integer_value (j);
        return fnv1a64_mem (&v, sizeof v, h);
      }
    case JSON_REAL:
      {
        double v = json_real_value (j);
        return fnv1a64_mem (&v, sizeof v, h);
      }
    default: /* true, false, null: the tag says it */
      return h;
    }
}

/* A hash of what this round wants OBJ to be: for a pod, with kubelet's
 * status (what pod_status takes from the stored object is the same as
 * long as the stored object is). */
static uint64_t
wanted_hash (const json_t *obj, bool is_pod, store_pod_status_hash_fn pod_status_hash, void *arg)
{
  uint64_t h = json_hash (obj, FNV64_INIT);
  if (is_pod && pod_status_hash)
    {
      uint64_t p = pod_status_hash (obj, arg);
      h = fnv1a64_mem (&p, sizeof p, h);
    }
  return h;
}

/* OBJ's creationTimestamp, and a pod's status.startTime (kubelet's first
 * report, which the loop keeps from then on), where they are the build's
 * stamp CREATED: now. */
static void
stamp_created_now (json_t *obj, time_t created)
{
  char lab[32], now[32];
  time_format_rfc3339 (created, lab);
  time_format_rfc3339 (time (NULL), now);
  json_t *holders[] = { json_object_get (obj, "metadata"), json_object_get (obj, "status") };
  const char *const keys[] = { "creationTimestamp", "startTime" };
  for (size_t i = 0; i < ARRAY_SIZE (keys); i++)
    {
      const char *v = json_string_value (json_object_get (holders[i], keys[i]));
      if (v && strcmp (v, lab) == 0)
        json_object_set_new (holders[i], keys[i], json_string (now));
    }
}

/* An index row (store_list_index's shape) of a stored body. */
static json_t *
index_row (const json_t *body)
{
  const json_t *meta = json_object_get (body, "metadata");
  json_t *m = json_object ();
  static const char *const keys[] = { "namespace", "name", "uid", "resourceVersion" };
  for (size_t i = 0; i < ARRAY_SIZE (keys); i++)
    json_object_set_new (m, keys[i], json_string (meta_str (body, keys[i]) ? meta_str (body, keys[i]) : ""));
  const char *svc = json_string_value (json_object_get (json_object_get (meta, "labels"), "kubernetes.io/service-name"));
  if (svc && strcmp (json_string_value (json_object_get (body, "kind")), "EndpointSlice") == 0)
    json_object_set_new (m, "labels", json_pack ("{s:s}", "kubernetes.io/service-name", svc));
  if (json_object_get (meta, "ownerReferences") && strcmp (json_string_value (json_object_get (body, "kind")), "ReplicaSet") == 0)
    json_object_set_new (m, "ownerReferences", json_array ());
  return json_pack ("{s:s, s:o}", "kind", json_string_value (json_object_get (body, "kind")), "metadata", m);
}

/* What the store holds of the objects a scoped sync is about, by
 * kind/ns/name, as the full listing would have them: those of ITEMS (the
 * new scope's) and OLD_ITEMS (the applied scope's), and every slice of the
 * services either has slices of (found by their service-name label: a
 * slice keeps its generated name). */
static int
scoped_index (struct store *s, json_t *items, json_t *old_items, json_t *stored, nslab_error_t *err)
{
  json_t *lists[2] = { items, old_items };
  json_t *services = json_object (); /* "ns\tname" of the slices' services */
  for (size_t l = 0; l < 2; l++)
    for (size_t i = 0; i < json_array_size (lists[l]); i++)
      {
        json_t *obj = json_array_get (lists[l], i);
        const char *kind = json_string_value (json_object_get (obj, "kind"));
        if (strcmp (kind, "EndpointSlice") == 0)
          {
            const char *svc = json_string_value (json_object_get (
                json_object_get (json_object_get (obj, "metadata"), "labels"), "kubernetes.io/service-name"));
            if (svc && meta_str (obj, "namespace"))
              {
                cleanup_free char *sk = xasprintf ("%s\t%s", meta_str (obj, "namespace"), svc);
                json_object_set_new (services, sk, json_true ());
              }
            continue;
          }
        cleanup_free char *k = obj_key (obj);
        if (json_object_get (stored, k))
          continue;
        json_t *body = NULL;
        if (store_get (s, kind, meta_str (obj, "namespace"), meta_str (obj, "name"), &body, err) < 0)
          {
            json_decref (services);
            return -1;
          }
        if (body)
          json_object_set_new (stored, k, index_row (body));
        json_decref (body);
      }
  const char *sk;
  json_t *v;
  int rc = 0;
  json_object_foreach (services, sk, v)
    {
      const char *tab = strchr (sk, '\t');
      cleanup_free char *ns = xstrndup (sk, (size_t) (tab - sk));
      cleanup_free char *prefix = xasprintf ("%s-", tab + 1);
      json_t *list = NULL;
      if ((rc = store_list_prefix (s, "EndpointSlice", ns, prefix, &list, err)) < 0)
        break;
      for (size_t i = 0; i < json_array_size (list); i++)
        {
          json_t *body = json_array_get (list, i);
          const char *svc = json_string_value (json_object_get (
              json_object_get (json_object_get (body, "metadata"), "labels"), "kubernetes.io/service-name"));
          if (svc == NULL || strcmp (svc, tab + 1) != 0)
            continue;
          cleanup_free char *k = obj_key (body);
          json_object_set_new (stored, k, index_row (body));
        }
      json_decref (list);
    }
  json_decref (services);
  return rc;
}

static int
sync_objects (struct store *s, const struct lab_objects *o, const struct lab_objects *old_scope, time_t created,
              store_pod_status_fn pod_status, store_pod_status_hash_fn pod_status_hash, store_sync_ready_fn ready,
              void *arg, struct store_sync_cache *cache, uint64_t planned_rv, uint64_t *observed, nslab_error_t *err)
{
  /* One write transaction from the first read: nobody writes in between,
   * so a scale that lands meanwhile is never overwritten. */
  if (store_begin (s, err) < 0)
    return -1;
  uint64_t rv_now = 0;
  int rc = store_resource_version (s, &rv_now, err);
  json_t *items = resources_from_objects (o, created);
  /* What the store holds now, by kind/ns/name: each object's index entry
   * only (store_list_index); a body is read only where it is needed. */
  json_t *stored = json_object ();
  if (rc == 0 && old_scope)
    {
      json_t *old_items = resources_from_objects (old_scope, created);
      rc = scoped_index (s, items, old_items, stored, err);
      json_decref (old_items);
    }
  for (size_t k = 0; rc == 0 && old_scope == NULL && k < ARRAY_SIZE (synced_kinds); k++)
    {
      json_t *list = NULL;
      rc = store_list_index (s, synced_kinds[k], &list, err);
      for (size_t i = 0; rc == 0 && i < json_array_size (list); i++)
        {
          json_t *obj = json_array_get (list, i);
          cleanup_free char *key = obj_key (obj);
          json_object_set (stored, key, obj);
        }
      json_decref (list);
    }
  if (rc < 0)
    {
      json_decref (items);
      json_decref (stored);
      return store_end (s, -1, err);
    }
  /* A slice keeps the name it was generated with: the stored slices by
   * namespace/service, looked up once each. */
  const char *key;
  json_t *old;
  json_t *slice_names = json_object ();
  json_object_foreach (stored, key, old)
    {
      if (strncmp (key, "EndpointSlice/", 14) != 0)
        continue;
      const char *osvc = json_string_value (json_object_get (
          json_object_get (json_object_get (old, "metadata"), "labels"), "kubernetes.io/service-name"));
      const char *ons = meta_str (old, "namespace");
      if (osvc == NULL || ons == NULL)
        continue;
      cleanup_free char *sk = xasprintf ("%s/%s", ons, osvc);
      /* the first in the store's order, as a scan would find it */
      if (json_object_get (slice_names, sk) == NULL)
        json_object_set_new (slice_names, sk, json_string (meta_str (old, "name")));
    }
  for (size_t i = 0; i < json_array_size (items); i++)
    {
      json_t *obj = json_array_get (items, i);
      if (strcmp (json_string_value (json_object_get (obj, "kind")), "EndpointSlice") != 0)
        continue;
      const char *svc = json_string_value (
          json_object_get (json_object_get (json_object_get (obj, "metadata"), "labels"), "kubernetes.io/service-name"));
      const char *ns = meta_str (obj, "namespace");
      if (svc == NULL || ns == NULL)
        continue;
      cleanup_free char *sk = xasprintf ("%s/%s", ns, svc);
      json_t *name = json_object_get (slice_names, sk);
      if (name)
        json_object_set_new (json_object_get (obj, "metadata"), "name", json_string (json_string_value (name)));
    }
  json_decref (slice_names);
  /* Stored objects keep their uids; references follow. */
  json_t *uids = json_object ();
  for (size_t i = 0; i < json_array_size (items); i++)
    {
      json_t *obj = json_array_get (items, i);
      cleanup_free char *k = obj_key (obj);
      json_t *was = json_object_get (stored, k);
      if (was && meta_str (was, "uid"))
        json_object_set_new (uids, meta_str (obj, "uid"), json_string (meta_str (was, "uid")));
    }
  for (size_t i = 0; i < json_array_size (items); i++)
    remap_strings (json_array_get (items, i), uids);
  json_decref (uids);

  /* The objects whose stored version is the one an earlier round wrote or
   * found, and that this round wants as it wanted them then, are as wanted:
   * only the others are read and compared. */
  /* A scoped sync leaves what it did not look at as the rounds before
   * found it. */
  struct seen_table seen_now;
  table_init (&seen_now, json_array_size (items) + (old_scope && cache ? cache->seen.n : 0));
  for (size_t i = 0; old_scope && cache && i < cache->seen.cap; i++)
    if (cache->seen.slots[i].key)
      remember_key (&seen_now, cache->seen.slots[i]);
  struct templates tpl = { json_object (), json_object () };
  json_t *not_made = json_object (); /* "ns/name" of the new replicasets left to the next round */
  for (size_t i = 0; i < json_array_size (items); i++)
    {
      json_t *obj = json_array_get (items, i);
      if (strcmp (json_string_value (json_object_get (obj, "kind")), "ReplicaSet") == 0 && template_containers (obj))
        {
          cleanup_free char *k = xasprintf ("%s/%s", meta_str (obj, "namespace"), meta_str (obj, "name"));
          json_object_set (tpl.planned, k, template_containers (obj));
        }
    }
  for (size_t i = 0; rc == 0 && i < json_array_size (items); i++)
    {
      json_t *obj = json_array_get (items, i);
      cleanup_free char *k = obj_key (obj);
      json_t *row = json_object_get (stored, k);
      const char *kind = json_string_value (json_object_get (obj, "kind"));
      uint64_t h = 0;
      if (cache && (pod_status == NULL || pod_status_hash))
        {
          h = wanted_hash (obj, strcmp (kind, "Pod") == 0, pod_status_hash, arg);
          const struct seen *sn = table_get (&cache->seen, k);
          if (row && sn && sn->rv == meta_rv (row) && sn->hash == h)
            {
              remember (&seen_now, k, sn->rv, h);
              continue;
            }
        }
      /* what the next round skips if it wants the same (false: it looks again) */
      bool settled = true;
      json_t *was_body = NULL;
      if (row && (rc = store_get (s, kind, meta_str (row, "namespace"), meta_str (row, "name"), &was_body, err)) < 0)
        break;
      json_auto_t *was = was_body;
      /* The user's objects: a deleted one stays deleted; a stored one keeps
       * its spec (scale writes replicas there) and gets the new status. */
      if (!loop_owned (obj) && strcmp (kind, "Namespace") != 0 && strcmp (kind, "Node") != 0
          && (was || !apiserver_service (obj)))
        {
          if (was == NULL)
            continue;
          json_t *copy = json_deep_copy (was);
          json_object_set (copy, "status", json_object_get (obj, "status"));
          if (strcmp (kind, "Deployment") == 0)
            settled = !deployment_observed (copy, obj, was, planned_rv);
          if (strcmp (kind, "Service") == 0)
            json_object_set (copy, "spec", json_object_get (obj, "spec"));
          obj = copy;
        }
      else
        json_incref (obj);
      /* a new pod of a replicaset not made this round waits for it */
      const json_t *pod_rs = strcmp (kind, "Pod") == 0 && was == NULL ? owner_ref (obj, "ReplicaSet") : NULL;
      if (pod_rs)
        {
          cleanup_free char *rk = xasprintf ("%s/%s", meta_str (obj, "namespace"),
                                             json_string_value (json_object_get (pod_rs, "name")));
          if (json_object_get (not_made, rk))
            {
              json_decref (obj);
              continue;
            }
        }
      /* deleted (nslab delete, kubectl delete) after this round read it:
       * the next round removes it; writing it back would undo the delete */
      if (strcmp (kind, "Pod") == 0 && was == NULL)
        {
          bool deleted = false;
          rc = store_pod_deleted_after (s, meta_str (obj, "namespace"), meta_str (obj, "name"), planned_rv, &deleted,
                                        err);
          if (rc < 0 || deleted)
            {
              json_decref (obj);
              if (rc < 0)
                break;
              continue;
            }
        }
      if (strcmp (kind, "ReplicaSet") == 0)
        {
          int made = loop_owned (obj) ? replicaset_template (s, obj, was, planned_rv, err) : 0;
          if (made == 1)
            {
              cleanup_free char *rk = xasprintf ("%s/%s", meta_str (obj, "namespace"), meta_str (obj, "name"));
              json_object_set_new (not_made, rk, json_true ());
              json_decref (obj);
              continue;
            }
          if ((rc = made) < 0)
            {
              json_decref (obj);
              break;
            }
          cleanup_free char *tk = xasprintf ("%s/%s", meta_str (obj, "namespace"), meta_str (obj, "name"));
          json_object_set (tpl.stored, tk, template_containers (obj) ? template_containers (obj) : json_null ());
        }
      /* made again: a new object, a new uid and creation time */
      if (was == NULL && apiserver_service (obj))
        {
          char uid[37], now[32];
          resources_new_uid (uid);
          time_format_rfc3339 (time (NULL), now);
          json_object_set_new (json_object_get (obj, "metadata"), "uid", json_string (uid));
          json_object_set_new (json_object_get (obj, "metadata"), "creationTimestamp", json_string (now));
        }
      if (strcmp (kind, "Pod") == 0 && was)
        keep_pod_containers (obj, was);
      else if (strcmp (kind, "Pod") == 0 && (rc = pod_from_replicaset (s, &tpl, obj, err)) < 0)
        {
          json_decref (obj);
          break;
        }
      if (strcmp (kind, "Pod") == 0 && pod_status)
        {
          pod_status (obj, was, arg);
        }
      /* after the uid is the stored one and the restart count kubelet's */
      if (strcmp (kind, "Pod") == 0)
        pod_template_set_container_ids (obj, o->lab);
      if (was)
        {
          /* The apiserver keeps metadata it set (uid, creationTimestamp):
           * store_put carries those over. */
          json_t *meta = json_object_get (obj, "metadata");
          json_object_del (meta, "resourceVersion");
          /* Annotations the API's clients wrote (kubectl annotate, apply's
           * last-applied-configuration on a namespace or a pod) are not in
           * the plan: kept, the plan's own winning. */
          json_t *wann = json_object_get (json_object_get (was, "metadata"), "annotations");
          if (json_object_size (wann) && json_is_object (meta))
            {
              json_t *ann = json_deep_copy (wann);
              json_object_update (ann, json_object_get (meta, "annotations"));
              json_object_set_new (meta, "annotations", ann);
            }
          /* A namespace's, a node's or a pod's labels too (kubectl label
           * ns, kubectl label pod). */
          json_t *wlab = json_object_get (json_object_get (was, "metadata"), "labels");
          if ((strcmp (kind, "Namespace") == 0 || strcmp (kind, "Node") == 0 || strcmp (kind, "Pod") == 0)
              && json_object_size (wlab) && json_is_object (meta))
            {
              json_t *lab = json_deep_copy (wlab);
              json_object_update (lab, json_object_get (meta, "labels"));
              json_object_set_new (meta, "labels", lab);
            }
          /* An update that changes nothing is no update (store_put would
           * find the same after carrying those over): skip its JSON and
           * SQL work. */
          json_t *wmeta = json_object_get (was, "metadata");
          const char *wuid = meta_str (was, "uid"), *wrv = meta_str (was, "resourceVersion");
          if (wuid && wrv && json_is_object (meta))
            {
              json_t *probe = json_copy (obj);
              json_t *pmeta = json_copy (meta);
              json_object_set_new (probe, "metadata", pmeta);
              json_object_set (pmeta, "uid", json_object_get (wmeta, "uid"));
              if (json_object_get (wmeta, "creationTimestamp"))
                json_object_set (pmeta, "creationTimestamp", json_object_get (wmeta, "creationTimestamp"));
              json_object_set (pmeta, "resourceVersion", json_object_get (wmeta, "resourceVersion"));
              bool same = json_equal (probe, was);
              json_decref (probe);
              if (same)
                {
                  if (settled)
                    remember (&seen_now, k, meta_rv (was), h);
                  json_decref (obj);
                  continue;
                }
            }
        }
      /* New to the store (a pod a scale or a delete asked for): made now,
       * not when the lab was, which is what the build stamps every object
       * with so that rounds compare equal; the stored ones keep theirs. */
      if (was == NULL)
        stamp_created_now (obj, created);
      rc = store_put (s, obj, err);
      if (rc == 0 && settled)
        remember (&seen_now, k, meta_rv (obj), h);
      json_decref (obj);
    }
  json_decref (tpl.planned);
  json_decref (tpl.stored);
  json_decref (not_made);
  json_t *new_keys = json_object ();
  for (size_t i = 0; i < json_array_size (items); i++)
    {
      cleanup_free char *k = obj_key (json_array_get (items, i));
      json_object_set_new (new_keys, k, json_true ());
    }
  json_object_foreach (stored, key, old)
    {
      if (rc < 0)
        break;
      const char *kind = json_string_value (json_object_get (old, "kind"));
      if (!loop_owned (old) || json_object_get (new_keys, key))
        continue;
      /* Written after the plan was made (a bare pod created through the
       * API meanwhile): the next round's plan has it. */
      const char *orv = meta_str (old, "resourceVersion");
      if (orv && strtoull (orv, NULL, 10) > planned_rv)
        continue;
      rc = store_delete (s, kind, meta_str (old, "namespace"), meta_str (old, "name"), err);
    }
  json_decref (new_keys);
  if (rc == 0)
    rc = store_forget_pod_deletions (s, planned_rv, err);
  /* Converged up to everything written before this transaction only if the
   * plan was made from that: else the next round picks up the rest. */
  if (rc == 0 && ready)
    rc = ready (arg, err);
  uint64_t rv = planned_rv;
  if (rc == 0 && rv_now == planned_rv)
    rc = store_resource_version (s, &rv, err);
  if (rc == 0 && observed)
    rc = store_meta_set (s, "observedResourceVersion", rv, err);
  rc = store_end (s, rc, err);
  /* What the next round compares with: only what this one committed. */
  if (cache)
    table_free (&cache->seen);
  if (cache && rc == 0)
    cache->seen = seen_now;
  else
    table_free (&seen_now);
  if (rc == 0 && observed)
    *observed = rv;
  json_decref (items);
  json_decref (stored);
  return rc;
}

int
store_sync (struct store *s, const struct lab_objects *o, time_t created, store_pod_status_fn pod_status,
            store_pod_status_hash_fn pod_status_hash, store_sync_ready_fn ready, void *arg,
            struct store_sync_cache *cache, uint64_t planned_rv, uint64_t *observed, nslab_error_t *err)
{
  return sync_objects (s, o, NULL, created, pod_status, pod_status_hash, ready, arg, cache, planned_rv, observed,
                       err);
}

int
store_sync_scoped (struct store *s, const struct lab_objects *scope, const struct lab_objects *old_scope,
                   time_t created, store_pod_status_fn pod_status, store_pod_status_hash_fn pod_status_hash,
                   store_sync_ready_fn ready, void *arg, struct store_sync_cache *cache, uint64_t planned_rv,
                   uint64_t *observed, nslab_error_t *err)
{
  return sync_objects (s, scope, old_scope, created, pod_status, pod_status_hash, ready, arg, cache, planned_rv,
                       observed, err);
}
