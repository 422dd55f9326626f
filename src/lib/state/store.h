/* The lab's object store: what the cluster *is*, as the Kubernetes API would
 * hold it (k8s/resources.h), in SQLite at <state dir>/<lab>/store.db, as k3s
 * keeps its own (kine over SQLite). Several processes read and write it at
 * once (the CLI now; the lab's control loop, the API server and the DNS
 * server next), so it runs in WAL mode, every change is a transaction, and
 * one monotonic resourceVersion orders all changes. The journal beside it
 * stays the crash-safe record of what to tear down; plan.json is the plan
 * `up` applied. */
#ifndef NSLAB_STATE_STORE_H
#define NSLAB_STATE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "k8s/objects.h"

#define STORE_FILE "store.db"

struct store;
struct state_writer;

/* Create the writer's lab store and fill it with the lab's objects. */
int store_create (struct state_writer *w, const struct lab_objects *o, nslab_error_t *err);
/* Open LAB's store, only through the trusted state root and lab dir. */
int store_open (const char *lab, struct store **out, nslab_error_t *err);
void store_close (struct store *s);
/* Keep at most KIB of the database's pages in this connection's memory
 * (SQLite's default is 2 MiB per connection) and no mapping of the file:
 * for a process that stays (the control loop), whose rounds read the
 * store once each and whose footprint at rest counts. */
int store_limit_cache (struct store *s, int kib, nslab_error_t *err);

/* The newest resourceVersion (0 for an empty store). */
int store_resource_version (struct store *s, uint64_t *out, nslab_error_t *err);
/* A number that changes when another connection commits (SQLite's
 * data_version), read without reading the database: a watcher woken by
 * every write to the lab dir (logs, status files, each page of a commit)
 * tells from it, for nothing, whether there is anything to read. */
int store_data_version (struct store *s, uint64_t *out, nslab_error_t *err);
/* A pair that changes whenever an object of KIND1 or KIND2 or KIND3 (NULL:
 * none) is put or deleted and only then: a reader of a few kinds (cluster
 * DNS) need not reload for every Event or Node status. */
struct store_kinds_version {
  uint64_t newest, count;
};
int store_kinds_version (struct store *s, const char *kind1, const char *kind2, const char *kind3,
                         struct store_kinds_version *out, nslab_error_t *err);
/* The same pair over every kind but the up to four named (NULL: unused):
 * the control loop tells from it that nobody wrote anything but those
 * kinds since it last looked. */
int store_kinds_version_except (struct store *s, const char *const except[4], struct store_kinds_version *out,
                                nslab_error_t *err);
/* The objects of KIND1, KIND2 or KIND3 (NULL: none) put since
 * resourceVersion RV, each as {kind, metadata: {namespace, name}}: through
 * the key's index, without reading the other kinds' rows. */
int store_changed_since (struct store *s, uint64_t rv, const char *kind1, const char *kind2, const char *kind3,
                         json_t **out, nslab_error_t *err);
/* Add or replace an object (keyed by kind, namespace, name): it gets the next
 * resourceVersion; a new object keeps or gets a uid and a creationTimestamp,
 * a replaced one keeps its uid; a put that changes nothing keeps the
 * object's resourceVersion (no new version, as the apiserver). obj is
 * updated with what was stored. */
int store_put (struct store *s, json_t *obj, nslab_error_t *err);
/* The object, or *out NULL when there is none. */
int store_get (struct store *s, const char *kind, const char *ns, const char *name, json_t **out,
               nslab_error_t *err);
/* Every object of KIND (in NS, or all namespaces when NS is NULL), ordered
 * by namespace and name, as a new JSON array. */
int store_list (struct store *s, const char *kind, const char *ns, json_t **out, nslab_error_t *err);
/* store_list, with EACH called on every object as soon as it is read (to
 * share what objects repeat before the next one is parsed). */
typedef void store_each_fn (json_t *obj, void *ctx);
int store_list_each (struct store *s, const char *kind, const char *ns, store_each_fn *each, void *ctx, json_t **out,
                     nslab_error_t *err);
/* What the control loop needs of every pod, workload and service each
 * round, read from columns SQLite fills from the body as it is written
 * (not from the bodies, 2-3 KB of JSON each, every round), as plain
 * structs rather than JSON values (a value per field was most of the
 * listing's cost). NULL where the body has none. */
struct stored_meta {
  const char *ns, *name; /* never NULL */
  const char *uid;
  const char *created; /* metadata.creationTimestamp */
  const char *type;    /* spec.type, when it is text */
  const char *owners;  /* a ReplicaSet's metadata.ownerReferences, as JSON text */
  long long replicas;
  bool has_replicas; /* spec.replicas is an integer */
  uint64_t resource_version;
};
struct stored_metas {
  struct stored_meta *v; /* ordered by namespace and name */
  size_t n;
  char *text; /* the strings */
};
int store_list_meta (struct store *s, const char *kind, struct stored_metas *out, nslab_error_t *err);
/* The same from the bodies themselves, each parsed by SQLite: what a store
 * made before the objects' meta_ columns gives (store_list_meta on one). */
int store_list_meta_parsed (struct store *s, const char *kind, struct stored_metas *out, nslab_error_t *err);
/* The listed object NS/NAME, or NULL (M may be NULL: nothing listed). */
const struct stored_meta *stored_metas_get (const struct stored_metas *m, const char *ns, const char *name);
void stored_metas_free (struct stored_metas *m);
#define cleanup_stored_metas __attribute__ ((cleanup (stored_metas_free)))
/* The same, each object only as {kind, metadata: {namespace, name, uid,
 * resourceVersion}}, with an EndpointSlice's kubernetes.io/service-name
 * label and, for a ReplicaSet that has owners, an (empty) ownerReferences:
 * what the control loop's store sync needs to decide which bodies it must
 * read at all. */
int store_list_index (struct store *s, const char *kind, json_t **out, nslab_error_t *err);
/* The objects of KIND in NS whose names start with PREFIX, through the
 * key's index (Events named "OBJECT.<time>" by their object). */
int store_list_prefix (struct store *s, const char *kind, const char *ns, const char *prefix, json_t **out,
                       nslab_error_t *err);
/* Remove an object; a missing one is not an error. */
int store_delete (struct store *s, const char *kind, const char *ns, const char *name, nslab_error_t *err);

/* A new resourceVersion with no object changed (a change the store does
 * not hold, such as a new scenario, for the control loop to see). */
int store_touch (struct store *s, uint64_t *rv, nslab_error_t *err);
/* One transaction around several puts and deletes (store_end commits when
 * rc is 0, else rolls back and returns -1): readers see all or none. It
 * takes the write lock at once (BEGIN IMMEDIATE), waiting for another
 * writer's as every lock wait of the store does; transactions do not nest. */
/* True inside store_begin's write transaction: a step that wants its
 * writes atomic joins the caller's instead of beginning its own. */
bool store_in_write (const struct store *s);
int store_begin (struct store *s, nslab_error_t *err);
int store_end (struct store *s, int rc, nslab_error_t *err);
/* A read transaction (deferred, no write lock): the reads between see one
 * version of the store, as a reader that lists several kinds needs. A put,
 * delete, touch or meta_set inside it is refused: the upgrade of a read
 * snapshot to a write fails at once, without waiting, whenever another
 * writer committed since it began. */
int store_read_begin (struct store *s, nslab_error_t *err);
int store_read_end (struct store *s, nslab_error_t *err);
/* Every object of each of N kinds (KINDS[i] into OUTS[i], all namespaces)
 * and, if RV is not NULL, the store's resourceVersion, from one read
 * transaction: the lists agree with each other. On failure OUTS are NULL. */
int store_list_kinds (struct store *s, size_t n, const char *const *kinds, json_t **outs, uint64_t *rv,
                      nslab_error_t *err);
/* Small numbers beside the objects (what the control loop has seen:
 * "observedResourceVersion"); 0 when unset. */
int store_meta_get (struct store *s, const char *key, uint64_t *out, nslab_error_t *err);
int store_meta_set (struct store *s, const char *key, uint64_t value, nslab_error_t *err);
/* KEY gone (store_meta_get reads it as 0 again); none is no error. */
int store_meta_delete (struct store *s, const char *key, nslab_error_t *err);
/* Every meta key starting with PREFIX -> its value, as a new JSON object:
 * one query where a round would otherwise read the keys one by one. */
int store_meta_list_prefix (struct store *s, const char *prefix, json_t **out, nslab_error_t *err);

/* store_delete of a pod also leaves "deleted/Pod/NS/NAME" (its version)
 * and "deleted/Pod/NS/NAME/UID" in meta, until store_forget_pod_deletions.
 * Whether pod NS/NAME was deleted (store_delete) after version RV: a round
 * planned at RV that still has the pod must not write it back. */
int store_pod_deleted_after (struct store *s, const char *ns, const char *name, uint64_t rv, bool *out,
                             nslab_error_t *err);
/* The uids of the pods store_delete deleted and store_forget_pod_deletions
 * has not forgotten: "ns/name" -> uid, as a new JSON object. */
int store_deleted_pod_uids (struct store *s, json_t **out, nslab_error_t *err);
/* Forget the pod deletions at or before version RV (every round after
 * them has seen them). */
int store_forget_pod_deletions (struct store *s, uint64_t rv, nslab_error_t *err);

#endif
