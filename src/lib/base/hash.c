#include "base/hash.h"

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
