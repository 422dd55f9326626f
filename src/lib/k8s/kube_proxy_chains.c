#include "k8s/kube_proxy_chains.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <nettle/sha2.h>

#include "base/ipaddr.h"
#include "base/util.h"

char *
base32_std_encode (const uint8_t *data, size_t len, char *out)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 5)
    {
      /* Each group of 5 bytes gives 8 characters; a short final group is
         zero-filled and the characters it does not cover become '='. */
      uint8_t g[5] = { 0 };
      size_t n = len - i < 5 ? len - i : 5;
      memcpy (g, data + i, n);
      uint64_t v = 0;
      for (int k = 0; k < 5; k++)
        v = v << 8 | g[k];
      static const size_t chars_for[6] = { 0, 2, 4, 5, 7, 8 };
      for (size_t k = 0; k < 8; k++)
        out[o++] = k < chars_for[n] ? alphabet[(v >> (35 - 5 * k)) & 31] : '=';
    }
  out[o] = '\0';
  return out;
}

void
kube_hash16 (char out[KUBE_HASH_LEN + 1], const char *input)
{
  uint8_t digest[SHA256_DIGEST_SIZE];
  char enc[((SHA256_DIGEST_SIZE + 4) / 5) * 8 + 1];
  struct sha256_ctx ctx;
  sha256_init (&ctx);
  sha256_update (&ctx, strlen (input), (const uint8_t *) input);
  sha256_digest (&ctx, sizeof digest, digest);
  base32_std_encode (digest, sizeof digest, enc);
  memcpy (out, enc, KUBE_HASH_LEN);
  out[KUBE_HASH_LEN] = '\0';
}

void
kube_chain_name (char out[KUBE_CHAIN_MAX], const char *prefix, const char *input)
{
  char h[KUBE_HASH_LEN + 1];
  size_t plen = strlen (prefix);
  assert (plen + KUBE_HASH_LEN < KUBE_CHAIN_MAX);
  kube_hash16 (h, input);
  memcpy (out, prefix, plen);
  memcpy (out + plen, h, KUBE_HASH_LEN + 1);
}

char *
kube_svc_port_name (const char *ns, const char *svc, const char *port_name)
{
  if (port_name == NULL || port_name[0] == '\0')
    return xasprintf ("%s/%s", ns, svc);
  return xasprintf ("%s/%s:%s", ns, svc, port_name);
}

void
kube_svc_chain (char out[KUBE_CHAIN_MAX], const char *prefix, const char *svc_port_name,
                const char *proto)
{
  cleanup_free char *in = xasprintf ("%s%s", svc_port_name, proto);
  kube_chain_name (out, prefix, in);
}

void
kube_sep_chain (char out[KUBE_CHAIN_MAX], const char *svc_port_name, const char *proto,
                uint32_t ip, uint16_t port)
{
  char ipbuf[IP_STRLEN];
  cleanup_free char *in = xasprintf ("%s%s%s:%u", svc_port_name, proto, ip_fmt (ip, ipbuf),
                                     (unsigned) port);
  kube_chain_name (out, KUBE_SEP_PREFIX, in);
}
