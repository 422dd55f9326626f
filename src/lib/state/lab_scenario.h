/* The scenario a running lab was made from, kept in its state dir: the lab
 * file as scenario/FILE and its template as templates/TEMPLATE, the layout
 * the template lookup expects (a scenario's ../templates first). The control
 * loop plans from it and `nslab apply` replaces it, so neither needs the
 * user's files, which may have changed or gone since up. */
#ifndef NSLAB_STATE_LAB_SCENARIO_H
#define NSLAB_STATE_LAB_SCENARIO_H

#include <stddef.h>

#include "base/error.h"
#include "scenario/scenario.h"

struct state_writer;

/* Copy FILES (the scenario first, then its template: scenario->files) into
 * the writer's lab dir, each through a temporary file renamed into place. */
int lab_scenario_save (struct state_writer *w, char *const *files, size_t n, nslab_error_t *err);
/* Load the kept scenario of LAB (through the trusted lab dir). */
int lab_scenario_load (const char *lab, struct scenario **out, nslab_error_t *err);
/* Its path, for stat (caller frees); NULL when the lab keeps none. */
char *lab_scenario_path (const char *lab, nslab_error_t *err);

#endif
