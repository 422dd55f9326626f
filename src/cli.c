#include "cli.h"

#include <stdio.h>

int
cli_usage (const char *synopsis)
{
  fprintf (stderr, "usage: nslab %s\n", synopsis);
  return 2;
}

void
cli_print_warnings (const struct scenario *sc)
{
  for (size_t i = 0; i < sc->n_warnings; i++)
    fprintf (stderr, "nslab: warning: %s\n", sc->warnings[i]);
}
