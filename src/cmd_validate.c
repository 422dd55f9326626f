/* nslab validate FILE: parse, validate and resolve; print nothing but
 * warnings and errors, and "FILE: ok" on success. */
#include <stdio.h>

#include "cmd.h"
#include "cli.h"
#include "plan.h"

int
cmd_validate (int argc, char **argv)
{
  if (argc != 2 || argv[1][0] == '-')
    return cli_usage ("validate FILE");
  nslab_error_t err = NULL;
  struct scenario *sc = NULL;
  struct model *m = NULL;
  if (scenario_load (argv[1], &sc, &err) < 0)
    return nslab_error_print (&err);
  cli_print_warnings (sc);
  /* Resolving catches what only allocation can see (a full subnet). */
  if (model_build (sc, &m, &err) < 0)
    {
      scenario_free (sc);
      return nslab_error_print (&err);
    }
  printf ("%s: ok (lab %s: %zu nodes, %zu pods, %zu services)\n", argv[1], sc->lab, m->n_nodes, m->n_pods,
          m->n_services);
  model_free (m);
  scenario_free (sc);
  return 0;
}
