/* nslab plan [-o text|json] FILE: the whole lab, computed without root. */
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "plan/plan.h"
#include "view/plan_text.h"

int
cmd_plan (int argc, char **argv, nslab_error_t *err)
{
  bool json;
  int rc = cli_output_options ("plan", argc, argv, &json, err);
  if (rc != CLI_GO_ON)
    return rc;
  if (optind != argc - 1)
    return cli_usage ("plan");

  struct scenario *sc;
  struct plan *p;
  if (cli_load_plan (argv[optind], &sc, &p, err) < 0)
    return -1;
  if (json)
    plan_print_json (p, stdout);
  else
    plan_print_text (p, stdout);
  cli_plan_free (sc, p);
  return 0;
}
