/* Deterministic names and addresses: where a real cluster draws randomness
 * (pod name suffixes, veth names, MACs), nslab hashes the scenario instead,
 * so two runs of the same lab give the same names. */
#ifndef NSLAB_NAMES_H
#define NSLAB_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "base/ipaddr.h" /* mac_fmt */

#include "base/hash.h" /* fnv1a32: the hash Kubernetes uses for pod-template-hash */

/* fnv1a64 finished with an avalanche: the seed of every generated name. */
uint64_t fnv1a64_str (const char *s);

/* k8s.io/apimachinery rand.SafeEncodeString: every byte mapped into
 * "bcdfghjklmnpqrstvwxz2456789" (no vowels, no 0/1/3), so generated names
 * never spell words. out must hold strlen(in)+1. */
void safe_encode_string (const char *in, char *out);
/* n characters of that alphabet derived from seed (utilrand.String(n)). */
void safe_random_string (uint64_t seed, size_t n, char *out);
/* pod-template-hash of a deployment: SafeEncodeString of the decimal FNV-32a. */
void pod_template_hash (const char *template_desc, char out[11]);
/* "veth" + 8 hex (the CNI bridge plugin's RandomVethName shape). */
void veth_name (uint64_t seed, char out[13]);
/* The name containerd's CRI gives a pod sandbox's network namespace under
 * its node's /run/netns (pkg/netns newNS): "cni-" and 16 random bytes as
 * 8-4-4-4-12 hex, no UUID version bits; here two seeds' bytes. */
#define CONTAINERD_NETNS_LEN 41
void containerd_netns_name (uint64_t seed_a, uint64_t seed_b, char out[CONTAINERD_NETNS_LEN]);
/* MAC helpers: VirtualBox OUI 08:00:27 for VM NICs; locally administered
 * unicast (first byte & 0xfe | 0x02) for everything Linux would randomise. */
void mac_virtualbox (uint64_t seed, uint8_t mac[6]);
/* VMware: 00:0c:29 for a VM's NICs, 00:50:56 for its own devices (the NAT
 * gateway). */
void mac_vendor (const uint8_t oui[3], uint64_t seed, uint8_t mac[6]);
void mac_local (uint64_t seed, uint8_t mac[6]);

#endif
