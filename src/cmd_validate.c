/* nslab validate FILE: parse, validate and resolve; print nothing but
 * warnings and errors, and "FILE: ok" on success. Resolving (planning)
 * catches what only allocation can see, such as a full node subnet. */
#include <stdio.h>

#include "cli.h"
#include "cmd.h"

int
cmd_validate (int argc, char **argv)
{
  if (argc != 2 || argv[1][0] == '-')
    return cli_usage ("validate FILE");
  struct scenario *sc;
  struct plan *p;
  int rc = cli_load_plan (argv[1], &sc, &p);
  if (rc != 0)
    return rc;
  printf ("%s: ok (lab %s: %zu nodes, %zu pods, %zu services)\n", argv[1], sc->lab, p->objects->n_nodes,
          p->objects->n_pods, p->objects->n_services);
  cli_plan_free (sc, p);
  return 0;
}
