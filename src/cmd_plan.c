/* nslab plan [-o text|json] FILE: the whole lab, computed without root. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cli.h"
#include "plan/plan.h"
#include "view/plan_text.h"

int
cmd_plan (int argc, char **argv)
{
  static const struct option opts[] = { { "output", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 } };
  const char *format = "text";
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "+o:", opts, NULL)) != -1)
    {
      if (c != 'o')
        return cli_usage ("plan [-o text|json] FILE");
      format = optarg;
    }
  if (strcmp (format, "text") != 0 && strcmp (format, "json") != 0)
    {
      fprintf (stderr, "nslab: plan: unknown output format \"%s\" (text or json)\n", format);
      return 2;
    }
  if (optind != argc - 1)
    return cli_usage ("plan [-o text|json] FILE");

  struct scenario *sc;
  struct plan *p;
  int rc = cli_load_plan (argv[optind], &sc, &p);
  if (rc != 0)
    return rc;
  if (strcmp (format, "json") == 0)
    plan_print_json (p, stdout);
  else
    plan_print_text (p, stdout);
  cli_plan_free (sc, p);
  return 0;
}
