/* Helpers shared by the cmd_<verb>.c files. */
#ifndef NSLAB_CLI_H
#define NSLAB_CLI_H

#include "scenario.h"

/* "usage: nslab <synopsis>" on stderr; returns exit code 2. */
int cli_usage (const char *synopsis);
/* Print the scenario's warnings, one "nslab: warning: ..." line each. */
void cli_print_warnings (const struct scenario *sc);

#endif
