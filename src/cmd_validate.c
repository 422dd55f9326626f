/* nslab validate FILE: parse, validate and resolve; print nothing but
 * warnings and errors, and "FILE: ok" on success. Resolving (planning)
 * catches what only allocation can see, such as a full node subnet. */
#include <stdio.h>

#include "base/util.h"
#include "cli.h"
#include "cmd.h"

int
cmd_validate (int argc, char **argv, nslab_error_t *err)
{
  if (argc == 2 && cli_is_help (argv[1]))
    return cli_help ("validate");
  if (argc != 2 || argv[1][0] == '-')
    return cli_usage ("validate");
  struct scenario *sc;
  struct plan *p;
  if (cli_load_plan (argv[1], &sc, &p, err) < 0)
    return -1;
  cleanup_free char *file = nslab_escape (argv[1], false);
  cleanup_free char *lab = nslab_escape (sc->lab, false);
  printf ("%s: ok (lab %s: %zu nodes, %zu pods, %zu services)\n", file, lab, p->objects->n_nodes,
          p->objects->n_pods, p->objects->n_services);
  cli_plan_free (sc, p);
  return 0;
}
