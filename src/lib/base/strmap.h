/* A small string-keyed hash map (open addressing), used wherever a lookup
 * per section would otherwise make loading quadratic. Keys are copied. */
#ifndef NSLAB_STRMAP_H
#define NSLAB_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap {
  char **keys;
  void **vals;
  size_t cap, n;
};
void strmap_init (struct strmap *m);
void strmap_free (struct strmap *m);
/* Returns the value stored under KEY, or NULL. */
void *strmap_get (const struct strmap *m, const char *key);
/* Stores VAL (not NULL) under KEY unless KEY is present; returns the value
 * now stored under KEY (the old one when present). */
void *strmap_put (struct strmap *m, const char *key, void *val);
/* Stores VAL (not NULL) under KEY, in place of any value there. */
void strmap_set (struct strmap *m, const char *key, void *val);

/* Index maps: "which object has KEY?". strmap_claim gives KEY to object IDX
 * unless another object has it already, and returns the owner's index: IDX
 * when the claim succeeded (or IDX already owned it), else the earlier
 * owner, which the caller names in its message. */
size_t strmap_claim (struct strmap *m, const char *key, size_t idx);
/* The owner of KEY in an index map; false when nobody claimed it. */
bool strmap_owner (const struct strmap *m, const char *key, size_t *idx);

#endif
