#include "base/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/util.h"

void
strmap_init (struct strmap *m)
{
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->n = 0;
}

void
strmap_free (struct strmap *m)
{
  for (size_t i = 0; i < m->cap; i++)
    free (m->keys[i]);
  free (m->keys);
  free (m->vals);
  strmap_init (m);
}

static size_t
strmap_slot (char *const *keys, size_t cap, const char *key)
{
  /* (hash64_mem: a byte-at-a-time FNV-1a was most of a lookup in maps of
   * thousands of chain and object names; the buckets' order is nobody's
   * output) */
  size_t i = (size_t) hash64_mem (key, strlen (key), 0) & (cap - 1);
  while (keys[i] != NULL && strcmp (keys[i], key) != 0)
    i = (i + 1) & (cap - 1);
  return i;
}

void *
strmap_get (const struct strmap *m, const char *key)
{
  if (m->cap == 0)
    return NULL;
  size_t i = strmap_slot (m->keys, m->cap, key);
  return m->keys[i] ? m->vals[i] : NULL;
}

void *
strmap_put (struct strmap *m, const char *key, void *val)
{
  if ((m->n + 1) * 2 > m->cap)
    {
      size_t cap = m->cap ? m->cap * 2 : 64;
      char **keys = xcalloc (cap, sizeof *keys);
      void **vals = xcalloc (cap, sizeof *vals);
      for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
          {
            size_t j = strmap_slot (keys, cap, m->keys[i]);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
          }
      free (m->keys);
      free (m->vals);
      m->keys = keys;
      m->vals = vals;
      m->cap = cap;
    }
  size_t i = strmap_slot (m->keys, m->cap, key);
  if (m->keys[i])
    return m->vals[i];
  m->keys[i] = xstrdup (key);
  m->vals[i] = val;
  m->n++;
  return val;
}

void
strmap_set (struct strmap *m, const char *key, void *val)
{
  if (strmap_put (m, key, val) != val)
    m->vals[strmap_slot (m->keys, m->cap, key)] = val;
}

/* Index maps store index + 1, since NULL means "absent". */
size_t
strmap_claim (struct strmap *m, const char *key, size_t idx)
{
  return (uintptr_t) strmap_put (m, key, (void *) (uintptr_t) (idx + 1)) - 1;
}

bool
strmap_owner (const struct strmap *m, const char *key, size_t *idx)
{
  uintptr_t v = (uintptr_t) strmap_get (m, key);
  if (v == 0)
    return false;
  *idx = v - 1;
  return true;
}
