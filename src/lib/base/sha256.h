/* SHA-256 (FIPS 180-4). kube-proxy names its per-service chains after a
 * SHA-256 digest, so reproducing a real node's chain names needs exactly this
 * hash; it is small enough not to pull in a crypto library for it. */
#ifndef NSLAB_SHA256_H
#define NSLAB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32

struct sha256_ctx {
  uint32_t h[8];
  uint64_t total;      /* bytes hashed so far */
  uint8_t block[64];
  size_t used;         /* bytes waiting in block */
};

void sha256_init (struct sha256_ctx *c);
void sha256_update (struct sha256_ctx *c, const void *data, size_t len);
void sha256_final (struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_LEN]);
/* One-shot convenience. */
void sha256 (const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

#endif
