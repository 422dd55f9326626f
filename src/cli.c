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

int
cli_load_plan (const char *file, struct scenario **sc, struct plan **p)
{
  nslab_error_t err = NULL;
  *sc = NULL;
  *p = NULL;
  if (scenario_load (file, sc, &err) < 0)
    return nslab_error_print (&err);
  cli_print_warnings (*sc);
  if (plan_build (*sc, p, &err) < 0)
    {
      scenario_free (*sc);
      *sc = NULL;
      return nslab_error_print (&err);
    }
  return 0;
}

void
cli_plan_free (struct scenario *sc, struct plan *p)
{
  plan_free (p);
  scenario_free (sc);
}
