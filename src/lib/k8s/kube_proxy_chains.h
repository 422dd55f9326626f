/* kube-proxy's chain names (iptables mode). iptables limits chain names to
 * 28 characters, so kube-proxy names per-service and per-endpoint chains
 * after a hash: the first 16 characters of the standard base32 (A-Z2-7)
 * encoding of SHA-256 over a string built from the service port:
 *   KUBE-SVC- / KUBE-SVL- / KUBE-EXT- / KUBE-FW-:  "<ns>/<svc>[:<portName>]<proto>"
 *   KUBE-SEP-:                                      the same + "<ip>:<port>"
 * e.g. "default/kubernetes:httpstcp" -> KUBE-SVC-NPX46M4PTMTKRN6Y on every
 * real cluster. Getting these exact lets a learner compare nslab's
 * iptables-save with a real node's line by line. */
#ifndef NSLAB_KUBEHASH_H
#define NSLAB_KUBEHASH_H

#include <stddef.h>
#include <stdint.h>

#define KUBE_CHAIN_MAX 32 /* longest prefix (9) + 16 + NUL fits with room */
#define KUBE_HASH_LEN 16

#define KUBE_SVC_PREFIX "KUBE-SVC-"
#define KUBE_SVL_PREFIX "KUBE-SVL-"
#define KUBE_EXT_PREFIX "KUBE-EXT-"
#define KUBE_FW_PREFIX "KUBE-FW-"
#define KUBE_SEP_PREFIX "KUBE-SEP-"

/* Standard base32 (RFC 4648 alphabet, with '=' padding) of len bytes into
 * out, which needs ((len + 4) / 5) * 8 + 1 bytes. Returns out. */
char *base32_std_encode (const uint8_t *data, size_t len, char *out);

/* out = first 16 characters of base32(sha256(input)), NUL-terminated. */
void kube_hash16 (char out[KUBE_HASH_LEN + 1], const char *input);

/* out = prefix + kube_hash16(input). prefix must be at most 15 characters. */
void kube_chain_name (char out[KUBE_CHAIN_MAX], const char *prefix, const char *input);

/* "<ns>/<svc>" or "<ns>/<svc>:<portName>" (port_name NULL or "" = unnamed):
 * kube-proxy's ServicePortName.String(), used in chain hashes and comments.
 * Caller frees. */
char *kube_svc_port_name (const char *ns, const char *svc, const char *port_name);

/* The chain for a service port: prefix is KUBE_SVC_PREFIX, KUBE_SVL_PREFIX,
 * KUBE_EXT_PREFIX or KUBE_FW_PREFIX; proto is lower case ("tcp"). */
void kube_svc_chain (char out[KUBE_CHAIN_MAX], const char *prefix, const char *svc_port_name,
                     const char *proto);

/* The KUBE-SEP- chain of one endpoint (ip in host byte order). */
void kube_sep_chain (char out[KUBE_CHAIN_MAX], const char *svc_port_name, const char *proto,
                     uint32_t ip, uint16_t port);

#endif
