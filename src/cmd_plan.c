/* nslab plan [-o text|json] FILE: the whole lab, computed without root. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "plan/plan.h"
#include "view/plan_text.h"

int
cmd_plan (int argc, char **argv, nslab_error_t *err)
{
  static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  bool json = false;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+ho:", opts, NULL)) != -1)
    {
      if (c == 'h')
        return cli_help ("plan");
      if (c != 'o')
        return cli_usage ("plan");
      if (cli_output_format ("plan", optarg, &json, err) < 0)
        return -1;
    }
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
