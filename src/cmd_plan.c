/* nslab plan [-o text|json] FILE: the whole lab, computed without root. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cli.h"
#include "plan.h"

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

  nslab_error_t err = NULL;
  struct scenario *sc = NULL;
  struct plan *p = NULL;
  if (scenario_load (argv[optind], &sc, &err) < 0)
    return nslab_error_print (&err);
  cli_print_warnings (sc);
  if (plan_build (sc, &p, &err) < 0)
    {
      scenario_free (sc);
      return nslab_error_print (&err);
    }
  if (strcmp (format, "json") == 0)
    plan_print_json (p, stdout);
  else
    plan_print_text (p, stdout);
  plan_free (p);
  scenario_free (sc);
  return 0;
}
