/* The raw INI layer under the scenario loader. iniparser 4.1 silently
 * lowercases names, keeps the last of duplicate keys, merges duplicate
 * sections and cuts unquoted values at ';' or '#'. So we read the file once
 * ourselves first (the "pre-scan"), record every section and key with its
 * line number in FILE ORDER, and refuse anything iniparser would read
 * differently from what the user meant. Only then is the file handed to
 * iniparser, whose values we take (and cross-check against the pre-scan). */
#ifndef NSLAB_SCENARIO_INI_H
#define NSLAB_SCENARIO_INI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/strmap.h"

/* Limits that keep the loader linear-ish and bounded on hostile input.
 * iniparser itself fails on lines longer than 1022 bytes, and its
 * dictionary is quadratic in the number of entries. */
#define INI_MAX_FILE_SIZE (4u * 1024 * 1024)
#define INI_MAX_LINE 1000
#define INI_MAX_ENTRIES 50000

struct ini_key {
  char *name;   /* as written (never upper case: refused) */
  char *value;  /* unquoted, trimmed; as iniparser reads it */
  int line;
};

struct ini_section {
  char *name;   /* as written between the brackets, trimmed */
  char *canon;  /* identity: "type arg" with single space, or "type" */
  char *type;   /* first word */
  char *arg;    /* the rest, trimmed; "" when absent */
  int line;
  struct ini_key *keys;
  size_t n_keys;
};

struct ini_file {
  char *path;   /* as given by the user (or as resolved, for templates) */
  struct ini_section *sections; /* in file order */
  size_t n_sections;
};

/* Pre-scan TEXT (LEN bytes) as the content of PATH: syntax only, no
 * iniparser. Values are taken from the pre-scan. */
int ini_parse_buffer (const char *path, const char *text, size_t len, struct ini_file **out,
                      nslab_error_t *err);
/* Read PATH (a regular file), pre-scan it, load it with iniparser and take
 * the values from iniparser. */
int ini_load (const char *path, struct ini_file **out, nslab_error_t *err);
void ini_file_free (struct ini_file *f);

const struct ini_key *ini_section_find (const struct ini_section *s, const char *key);

#endif
