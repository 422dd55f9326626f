/* Semantic checks of a scenario: turns the merged sections (scenario over
 * template) into struct scenario, refusing anything format.md refuses with
 * one "file: [section] key: what" line. */
#ifndef NSLAB_VALIDATE_H
#define NSLAB_VALIDATE_H

#include <stddef.h>

#include "base/error.h"
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

/* Fill SC (files already set) from the merged sections, in the order given,
 * and validate. Adds the implicit services and the warnings. On error SC
 * may be half-filled; scenario_free() releases it. */
int validate_scenario (struct scenario *sc, const struct merged_section *secs, size_t n_secs,
                       nslab_error_t *err);

/* Levenshtein distance, capped: returns a value > cap as soon as the
 * distance is known to exceed it (used for "did you mean"). */
size_t edit_distance (const char *a, const char *b, size_t cap);

/* Validity checks shared with the rest of the loader. */
bool dns_label_valid (const char *s, size_t max);
bool ifname_valid (const char *s);

#endif
