/* kube-proxy's nftables mode: the `table ip kube-proxy` a node has, as the
 * `nft -f` input kube-proxy's first (full) sync writes.
 *
 * In this mode kube-proxy writes no iptables chains at all; kubelet's and
 * flannel's iptables rules stay (kube_proxy_iptables.c writes them without
 * kube-proxy's part when proxy_mode is nftables). */
#ifndef NSLAB_KUBE_PROXY_NFTABLES_H
#define NSLAB_KUBE_PROXY_NFTABLES_H

#include "k8s/model.h"

/* The service part of the table (chains, sets, map elements of every
 * service port), the same on every node: built once per plan. */
struct kube_proxy_nft;
struct kube_proxy_nft *kube_proxy_nft_services (const struct model *m);
void kube_proxy_nft_free (struct kube_proxy_nft *ks);

/* The complete table of node `node` (`nft -f` input: the table, its base
 * and fixed chains, sets and maps, the node's nodeport-ips and KS's
 * service part; KS NULL: built here). Caller frees; NULL if node is out of
 * range. */
char *nftables_node_payload (const struct model *m, int node, const struct kube_proxy_nft *ks);

/* kube-proxy's names: hashAndTruncate(name) = the first 8 characters of
 * base32(sha256(name)), "-", name. out needs 256 bytes. */
char *kube_nft_hash_name (char out[256], const char *prefix, const char *name);

#endif
