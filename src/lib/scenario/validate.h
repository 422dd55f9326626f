/* Semantic checks of a scenario: turns the merged sections (scenario over
 * template) into struct scenario, refusing anything format.md refuses with
 * one "file: [section] key: what" line. */
#ifndef NSLAB_VALIDATE_H
#define NSLAB_VALIDATE_H

#include <stddef.h>

#include "base/error.h"
#include "scenario/keys.h"
#include "scenario/scenario.h"

/* Fill SC (files already set) from the merged sections, in the order given,
 * and validate. Adds the implicit services and the warnings. On error SC
 * may be half-filled; scenario_free() releases it. */
int validate_scenario (struct scenario *sc, const struct merged_section *secs, size_t n_secs,
                       nslab_error_t *err);

#endif
