/* kube-proxy's nftables mode: the `table ip kube-proxy` a node has, as the
 * `nft -f` input kube-proxy's first (full) sync writes.
 *
 * In this mode kube-proxy writes no iptables chains at all; kubelet's and
 * flannel's iptables rules stay (kube_proxy_iptables.c writes them without
 * kube-proxy's part when proxy_mode is nftables). */
#ifndef NSLAB_KUBE_PROXY_NFTABLES_H
#define NSLAB_KUBE_PROXY_NFTABLES_H

#include <stdbool.h>

#include "base/error.h"
#include "k8s/model.h"

/* The service part of the table (chains, sets, map elements of every
 * service port), built once per plan: the text of the ports that are the
 * same on every node, and what the others need to be written per node. */
struct kube_proxy_nft;
struct kube_proxy_nft *kube_proxy_nft_services (const struct model *m);
void kube_proxy_nft_free (struct kube_proxy_nft *ks);

/* The complete table of node `node` (`nft -f` input: the table, its base
 * and fixed chains, sets and maps, the node's nodeport-ips and KS's
 * service part; KS NULL: built here). Caller frees; NULL if node is out of
 * range. */
char *nftables_node_payload (const struct model *m, int node, const struct kube_proxy_nft *ks);

/* kube_proxy_nft_sync.c: the control loop's resync. The one `nft -f`
 * transaction taking a node's table from OLD to NEW (both payloads of
 * nftables_node_payload): new chains, sets and maps added; chains whose
 * rules changed flushed and rewritten (full: every chain); map and set
 * elements deleted and added one by one; stale service chains flushed and
 * deleted, stale affinity sets deleted. When a fixed object's definition
 * changed, the transaction deletes the table and writes NEW. *out = NULL
 * when nothing changed. -1 with err naming the line it cannot read. */
int kube_proxy_nft_sync_payload (const char *old_payload, const char *new_payload, bool full, char **out,
                                 nslab_error_t *err);
/* What a sync needs of the table a node holds, without its payload's text:
 * every chain's, set's and map's name and definition, a hash of each
 * chain's rules, every element's set or map, key and a hash of its line.
 * About a quarter of the text's size: the control loop keeps one per node
 * between rounds. -1 with err as kube_proxy_nft_sync_payload's. */
struct kube_proxy_nft_digest;
int kube_proxy_nft_digest_new (const char *payload, struct kube_proxy_nft_digest **out, nslab_error_t *err);
void kube_proxy_nft_digest_free (struct kube_proxy_nft_digest *d);
/* kube_proxy_nft_sync_payload from OLD's digest: the same transaction.
 * *NEW_DIGEST (if not NULL): NEW_PAYLOAD's digest, for the next sync (NULL
 * if it cannot be packed: the caller keeps the text). */
int kube_proxy_nft_sync_digest (const struct kube_proxy_nft_digest *old, const char *new_payload, bool full,
                                char **out, struct kube_proxy_nft_digest **new_digest, nslab_error_t *err);
struct plan;
/* The payload of the plan's OP_NFTABLES op in namespace ns, or NULL. */
const char *kube_proxy_nft_plan_payload (const struct plan *p, const char *ns);

/* kube-proxy's names: hashAndTruncate(name) = the first 8 characters of
 * base32(sha256(name)), "-", name. out needs 256 bytes. */
char *kube_nft_hash_name (char out[256], const char *prefix, const char *name);

#endif
