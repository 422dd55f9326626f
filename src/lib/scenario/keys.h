/* Typed key parsers and the one-line "file: [section] key: what" messages
 * every section decoder reports with. A parser that fails has already set
 * the error (naming the key's file, section and key) and returns -1. */
#ifndef NSLAB_SCENARIO_KEYS_H
#define NSLAB_SCENARIO_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/ipaddr.h"
#include "scenario/scenario.h"

/* One key after the template merge, with where its value was written. */
struct merged_key {
  const char *name, *value;
  const char *file;    /* a string of scenario->files */
  const char *section; /* the section as written in that file */
  int line;
};

struct merged_section {
  const char *type, *arg, *canon;
  const char *file;    /* the scenario file if it has this section, else the template */
  const char *name;    /* as written in that file */
  int line;
  struct merged_key *keys;
  size_t n_keys;
};

/* "FILE: [SECTION] KEY: <fmt>" */
int key_err (nslab_error_t *err, const struct merged_key *k, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* "FILE: [SECTION]: <fmt>" */
int section_err (nslab_error_t *err, const struct merged_section *s, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* "FILE: [SECTION] KEY: required key is missing<why>"; S NULL: the section
 * is absent altogether ([lab] for "name", else [cluster]), blamed on
 * MAIN_FILE. */
int key_missing (nslab_error_t *err, const char *main_file, const struct merged_section *s,
                 const char *key, const char *why);

const struct merged_key *find_key (const struct merged_section *s, const char *name);

/* Strict unsigned decimal: digits only, no sign, no spaces. */
bool parse_uint (const char *s, uint64_t *out);
bool parse_port (const char *s, uint16_t *out);

int key_uint (nslab_error_t *err, const struct merged_key *k, uint64_t lo, uint64_t hi, uint64_t *out);
int key_port (nslab_error_t *err, const struct merged_key *k, uint16_t *out);
int key_bool (nslab_error_t *err, const struct merged_key *k, bool *out);
/* TEXT: the value, or one item of a list value. */
int key_ip (nslab_error_t *err, const struct merged_key *k, const char *text, uint32_t *out);
int key_cidr (nslab_error_t *err, const struct merged_key *k, struct cidr *out);

/* A comma list value, split into trimmed items. */
struct key_list {
  char **items;
  size_t n;
};
void key_list_free (struct key_list *l);
#define cleanup_key_list __attribute__ ((cleanup (key_list_free)))
/* Split K's value: an empty value gives no items, an empty item is an
 * error. IF_EMPTY: the message for a list without items (NULL: allowed).
 * MAX (0: no limit) with WHAT: "too many WHAT (at most MAX)". */
int key_list (nslab_error_t *err, const struct merged_key *k, const char *if_empty, size_t max,
              const char *what, struct key_list *out);

/* CIDR, ... (network addresses, no host bits): *OUT gets an array of
 * *N_OUT (freed by the caller even on error). MAX and WHAT as key_list. */
int key_cidr_list (nslab_error_t *err, const struct merged_key *k, size_t max, const char *what,
                   struct cidr **out, size_t *n_out);

/* KEY=VALUE, ... with Kubernetes label syntax; appends to *OUT. */
int key_labels (nslab_error_t *err, const struct merged_key *k, struct label **out, size_t *n_out);
/* "k=v,k2=v2" (malloc'd) */
char *labels_str (const struct label *l, size_t n);

/* Is IP a host address of CIDR? Otherwise, about TEXT (what the user
 * wrote) after PREFIX: "is outside OUTSIDE", "is the network address of
 * EDGE" or "is the broadcast address of EDGE". */
int check_addr_in (nslab_error_t *err, const struct merged_key *k, const char *prefix,
                   const char *text, uint32_t ip, struct cidr cidr, const char *outside,
                   const char *edge);

#endif
