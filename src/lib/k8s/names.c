#include "k8s/names.h"

#include <stdio.h>
#include <string.h>

#include "base/hash.h"

static const char safe_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

uint64_t
fnv1a64_str (const char *s)
{
  /* FNV's low bits mix poorly for short inputs: finished, so neighbouring
   * names get unrelated suffixes. */
  return hash64_finish (fnv1a64 (s));
}

void
safe_encode_string (const char *in, char *out)
{
  size_t n = strlen (in);
  for (size_t i = 0; i < n; i++)
    out[i] = safe_alphabet[(unsigned char) in[i] % (sizeof safe_alphabet - 1)];
  out[n] = '\0';
}

void
safe_random_string (uint64_t seed, size_t n, char *out)
{
  for (size_t i = 0; i < n; i++)
    {
      out[i] = safe_alphabet[seed % (sizeof safe_alphabet - 1)];
      seed /= (sizeof safe_alphabet - 1);
      if (seed == 0)
        seed = 0x9e3779b97f4a7c15ull * (i + 1);
    }
  out[n] = '\0';
}

void
pod_template_hash (const char *template_desc, char out[11])
{
  char dec[11];
  uint32_t h = fnv1a32 (template_desc, strlen (template_desc), FNV32_INIT);
  snprintf (dec, sizeof dec, "%u", h);
  safe_encode_string (dec, out);
}

void
veth_name (uint64_t seed, char out[13])
{
  snprintf (out, 13, "veth%08x", (unsigned) (seed & 0xffffffffu));
}

void
containerd_netns_name (uint64_t a, uint64_t b, char out[CONTAINERD_NETNS_LEN])
{
  snprintf (out, CONTAINERD_NETNS_LEN, "cni-%08x-%04x-%04x-%04x-%04x%08x", (unsigned) (a >> 32),
            (unsigned) ((a >> 16) & 0xffff), (unsigned) (a & 0xffff), (unsigned) (b >> 48),
            (unsigned) ((b >> 32) & 0xffff), (unsigned) (b & 0xffffffffu));
}

void
mac_vendor (const uint8_t oui[3], uint64_t seed, uint8_t mac[6])
{
  mac[0] = oui[0];
  mac[1] = oui[1];
  mac[2] = oui[2];
  mac[3] = (uint8_t) (seed >> 16);
  mac[4] = (uint8_t) (seed >> 8);
  mac[5] = (uint8_t) seed;
}

void
mac_virtualbox (uint64_t seed, uint8_t mac[6])
{
  static const uint8_t oui[3] = { 0x08, 0x00, 0x27 };
  mac_vendor (oui, seed, mac);
}

void
mac_local (uint64_t seed, uint8_t mac[6])
{
  for (int i = 0; i < 6; i++)
    mac[i] = (uint8_t) (seed >> (8 * i));
  mac[0] = (uint8_t) ((mac[0] & 0xfe) | 0x02);
}
