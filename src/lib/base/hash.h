/* FNV-1a, the one string hash of the tree: strmap's buckets and (finished
 * with an avalanche in k8s/names.c) every deterministic name and address. */
#ifndef NSLAB_HASH_H
#define NSLAB_HASH_H

#include <stdint.h>

#define FNV64_INIT 14695981039346656037ull

/* Plain 64-bit FNV-1a of a NUL-terminated string. */
uint64_t fnv1a64 (const char *s);

#endif
