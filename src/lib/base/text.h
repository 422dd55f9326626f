/* Text checks shared by the loader: "did you mean" distances and the DNS /
 * interface-name syntaxes the kernel and Kubernetes impose. */
#ifndef NSLAB_TEXT_H
#define NSLAB_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Levenshtein distance, capped: returns a value > cap as soon as the
 * distance is known to exceed it (used for "did you mean"). */
size_t edit_distance (const char *a, const char *b, size_t cap);
/* The candidate within edit distance 2 of WORD (the first of the closest),
 * or NULL. */
const char *text_closest (const char *word, const char *const *cands, size_t n);

/* DNS-1123 label: 1..MAX of a-z 0-9 '-', not starting or ending with '-'. */
bool dns_label_valid (const char *s, size_t max);
/* DNS-1123 subdomain: dot-separated labels of at most 63, at most 253. */
bool dns_subdomain_valid (const char *s);
/* A Linux interface name: 1-15 printable characters, no '/', ':' or blank. */
bool ifname_valid (const char *s);

#endif
