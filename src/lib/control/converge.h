/* One round of the control loop, as two pure-ish halves: plan what the lab
 * should now be, then bring the kernel from the applied plan to it. */
#ifndef NSLAB_CONTROL_CONVERGE_H
#define NSLAB_CONTROL_CONVERGE_H

#include <stdbool.h>

#include "base/error.h"
#include "control/agent.h"
#include "plan/plan.h"
#include "state/snapshot.h"
#include "state/store.h"

/* The lab's kept scenario (SCENARIO_PATH) as the store now says: workloads
 * and services deleted from the store are left out, replica counts are the
 * store's, existing services keep their ClusterIP and NodePorts; the pods of
 * APPLIED that are still in the store stay as they are (READY[i] for
 * APPLIED's pod i says whether it is an endpoint), the rest is decided as
 * the controllers would. *out: the new plan. CACHE (or NULL) keeps the
 * parsed scenario from round to round while the file stays the same (its
 * inode, size and mtime): the plan is the same as from a fresh load. */
struct scenario_cache;
struct scenario_cache *scenario_cache_new (void);
void scenario_cache_free (struct scenario_cache *c);
/* Load PATH into the cache ahead of the first round. */
int scenario_cache_load (struct scenario_cache *c, const char *path, nslab_error_t *err);
/* Did the last converge_plan take a step of a Deployment's rolling update
 * (the next round takes the next one, as the controller's next sync)? */
bool scenario_cache_again (const struct scenario_cache *c);
int converge_plan (const char *lab, const char *scenario_path, struct scenario_cache *cache, struct store *s,
                   const struct plan *applied, const bool *ready, struct plan **out, nslab_error_t *err);
/* What converge_apply needs of the applied plan's ops between rounds,
 * instead of the ops themselves: a hash of each op's namespace and text
 * (op_describe), each namespace's process op's, and each node's kube-proxy
 * rules as a digest (kube_proxy_sync.h) rather than their text. */
struct op_keys;
struct op_keys *op_keys_of (const struct plan *p);
void op_keys_free (struct op_keys *k);
/* Drop from P, an applied plan whose op_keys KEYS the loop holds, the ops
 * of its pods (their namespaces, links, addresses, processes, CNI calls)
 * and the text of the iptables payloads KEYS has digests of: the bulk of a
 * large lab's plan, needed again only as keys. What stays: the objects, the
 * nodes' other ops, the nftables payloads. */
void converge_compact (struct plan *p, const struct op_keys *keys);
/* Bring LAB from APPLIED to NEWP: every node's rules first (kube-proxy's
 * partial sync, or a full one), then the pods that are gone torn down, then
 * the new pods' ops applied and recorded, both through RT (the runtime
 * agent, which takes the lab's lock per request: the rules are synced under
 * it, then it is released). *SNAPSHOT_DUE: whether the snapshot must
 * become NEWP (the lab changed), which the caller writes (it prepared it
 * while this ran: snapshot_prepare_start) and finishes before it marks the
 * change observed. *RULES_US (if not NULL): the
 * microseconds the rule syncs themselves took (the longest of the nodes'
 * restores, which run at once). APPLIED_KEYS: APPLIED's op keys (NULL:
 * made from APPLIED's ops, which must then be all there); *NEW_KEYS:
 * NEWP's, on success. */
int converge_apply (const char *lab, const struct control_runtime *rt, const struct plan *applied,
                    const struct op_keys *applied_keys, const struct plan *newp, bool full_sync, long long *rules_us,
                    bool *snapshot_due, struct op_keys **new_keys, nslab_error_t *err);

#endif
