#include "base/hash.h"

#include <stdio.h>
#include <string.h>

uint64_t
fnv1a64_mem (const void *p, size_t n, uint64_t h)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  return h;
}

uint64_t
hash64_mem (const void *p, size_t n, uint64_t h)
{
  const unsigned char *b = p;
  h ^= (uint64_t) n * 0x9e3779b97f4a7c15ull;
  for (; n >= 8; n -= 8, b += 8)
    {
      uint64_t w;
      memcpy (&w, b, 8);
      h = (h ^ w) * 0xff51afd7ed558ccdull;
      h ^= h >> 32;
    }
  uint64_t w = 0;
  memcpy (&w, b, n);
  /* every input bit into the low bits a table takes */
  return hash64_finish (h ^ w);
}

uint64_t
hash64_finish (uint64_t h)
{
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

uint64_t
fnv1a64 (const char *s)
{
  return fnv1a64_mem (s, strlen (s), FNV64_INIT);
}

uint32_t
fnv1a32 (const void *p, size_t n, uint32_t h)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    {
      h ^= b[i];
      h *= 16777619u;
    }
  return h;
}

/* splitmix64's finaliser: FNV-1a's high bits are weak for short keys. */
static uint64_t
mix64 (uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void
uid_from_key (const char *key, char out[37])
{
  uint64_t h = fnv1a64 (key);
  uint64_t a = mix64 (h), b = mix64 (h ^ 0x9e3779b97f4a7c15ull);
  uint8_t u[16];
  for (int i = 0; i < 8; i++)
    {
      u[i] = (uint8_t) (a >> (56 - 8 * i));
      u[8 + i] = (uint8_t) (b >> (56 - 8 * i));
    }
  u[6] = (uint8_t) ((u[6] & 0x0f) | 0x40); /* version 4 */
  u[8] = (uint8_t) ((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  snprintf (out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
            u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}
