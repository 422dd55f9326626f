/* kube-proxy's resync of a running node: the `iptables-restore --noflush`
 * input that takes a node whose tables hold OLD (an iptables_node_payload)
 * to NEW (the payload of the re-planned lab), written the way kube-proxy's
 * syncProxyRules writes a partial sync (pkg/proxy/iptables/proxier.go).
 *
 * Who owns which chain:
 *  - kube-proxy's top-level chains are written on every sync:
 *    filter KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-FORWARD,
 *    KUBE-NODEPORTS, KUBE-PROXY-FIREWALL and KUBE-FIREWALL (kube-proxy
 *    writes its copy of kubelet's rule when localhostNodePorts is on, as
 *    nslab models), nat KUBE-SERVICES, KUBE-NODEPORTS, KUBE-POSTROUTING,
 *    KUBE-MARK-MASQ.
 *  - a service's chains (KUBE-SVC-, KUBE-SVL-, KUBE-EXT-, KUBE-FW-,
 *    KUBE-SEP-) are written only when the service changed; kube-proxy
 *    tracks that per Service (namespace/name, all its ports), nslab finds
 *    the same grouping in the payloads: a service's chains are those linked
 *    by jumps, tied to the service by the "ns/name:port ..." comment of the
 *    KUBE-SERVICES / KUBE-NODEPORTS rule that jumps to them. A service is
 *    changed when any of its chains (in OLD or NEW) was added, removed or
 *    has other rules; then every chain it has in NEW is written.
 *  - stale service chains (in OLD, not in NEW) are declared (which flushes
 *    them) and deleted with -X at the end, as kube-proxy does. kube-proxy in
 *    "large cluster mode" (over 1000 endpoints) defers that to once per
 *    syncPeriod; nslab deletes them on every sync, so the node ends up with
 *    exactly NEW.
 *  - nothing of kube-proxy's changed: no kube-proxy chain is written at all
 *    (kube-proxy does not sync without a change).
 *  - every other chain (kubelet's canaries and hint, flannel's FLANNEL-*,
 *    Weave's WEAVE-*) is written only if it differs, and deleted (declare,
 *    -X) if NEW no longer has it.
 *  - a built-in chain (PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING)
 *    that differs is flushed with -F and its NEW rules written. kube-proxy
 *    never rewrites a built-in chain (it ensures its jumps outside the
 *    restore); a nslab node holds exactly OLD, so flush and rewrite give
 *    NEW. A built-in chain's policy is written only if NEW declares one
 *    that OLD did not.
 *
 * With the kube-proxy chains absent from both payloads (proxy mode
 * nftables), everything is an "other" chain. Rule order inside each table
 * follows NEW's text, so the output reads like kube-proxy's restore input.
 * Pure: no kernel, no allocation left behind on error. */
#ifndef NSLAB_KUBE_PROXY_SYNC_H
#define NSLAB_KUBE_PROXY_SYNC_H

#include <stdbool.h>

#include "base/error.h"

/* The restore input taking a node from old_payload to new_payload (both in
 * iptables-restore syntax as nslab writes them: "*table", ":CHAIN POLICY
 * [p:b]", "-A CHAIN ...", "COMMIT"; blank and '#' lines ignored).
 * full = false: kube-proxy's partial sync; *out = NULL when nothing changed.
 * full = true: kube-proxy's full sync: every chain kube-proxy owns in NEW is
 * written (and stale ones deleted) whether changed or not; other chains
 * still only when they differ.
 * Returns 0, or -1 with err naming the payload and line it cannot read
 * (only -A rules are understood). Caller frees *out. */
int kube_proxy_sync_payload (const char *old_payload, const char *new_payload, bool full, char **out,
                             nslab_error_t *err);

/* What a sync needs of the payload a node holds, without its text: each
 * chain's name, declared policy and a hash of its rules, and the rules that
 * jump to service chains (how chains group into services). A fraction of
 * the text's size: the control loop keeps one per node between rounds. */
struct kube_proxy_digest;
int kube_proxy_digest_new (const char *payload, struct kube_proxy_digest **out, nslab_error_t *err);
void kube_proxy_digest_free (struct kube_proxy_digest *d);
/* kube_proxy_sync_payload from OLD's digest: the same output. *NEW_DIGEST
 * (if not NULL): NEW_PAYLOAD's digest, for the next sync. */
int kube_proxy_sync_digest (const struct kube_proxy_digest *old, const char *new_payload, bool full, char **out,
                            struct kube_proxy_digest **new_digest, nslab_error_t *err);

struct plan;
/* The payload of the plan's OP_IPTABLES op in namespace ns (a node's:
 * k3s-cp1), or NULL. The control loop's OLD is this of the applied plan,
 * its NEW this of the re-planned one. */
const char *kube_proxy_plan_payload (const struct plan *p, const char *ns);

/* True for the prefixes kube-proxy deletes when stale (isServiceChainName). */
bool kube_proxy_is_service_chain (const char *chain);

#endif
