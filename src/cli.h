/* Helpers shared by the cmd_<verb>.c files. */
#ifndef NSLAB_CLI_H
#define NSLAB_CLI_H

#include "plan/plan.h"
#include "scenario/scenario.h"

/* "usage: nslab <synopsis>" on stderr; returns exit code 2. */
int cli_usage (const char *synopsis);
/* Print the scenario's warnings, one "nslab: warning: ..." line each. */
void cli_print_warnings (const struct scenario *sc);

/* Load, validate and plan FILE, printing the scenario's warnings. On
 * failure prints the error and returns its exit code (nothing to free);
 * on success returns 0 and the caller frees with cli_plan_free(). */
int cli_load_plan (const char *file, struct scenario **sc, struct plan **p);
void cli_plan_free (struct scenario *sc, struct plan *p);

#endif
