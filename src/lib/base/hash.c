#include "base/hash.h"

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
fnv1a64 (const char *s)
{
  uint64_t h = FNV64_INIT;
  for (; *s; s++)
    {
      h ^= (unsigned char) *s;
      h *= 1099511628211ull;
    }
  return h;
}
