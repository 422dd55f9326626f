#include "base/hash.h"

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
