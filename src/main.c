/* nslab: the CLI. Each verb lives in its own cmd_<verb>.c and returns an
 * exit status or -1 with an error (see cli.h); this file dispatches and is
 * the one place that prints errors. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"

static int
unknown_command (const char *name)
{
  cleanup_free char *shown = nslab_escape (name, false);
  fprintf (stderr, "nslab: unknown command \"%s\" (see nslab --help)\n", shown);
  return NSLAB_EXIT_INVALID;
}

int
main (int argc, char **argv)
{
  /* The pause process and the echo server are this binary re-executed
   * with another argv[0], so one installed file is all nslab needs. */
  if (argc > 0 && strncmp (basename (argv[0]), "nslab-", 6) == 0)
    return cmd_internal (argc, argv);
  if (argc < 2)
    {
      cli_print_usage (stderr);
      return NSLAB_EXIT_INVALID;
    }
  if (cli_is_help (argv[1]))
    {
      cli_print_usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "help") == 0)
    {
      /* `nslab help -h` is help on help: the usage, as for every verb's -h. */
      if (argc == 2 || strcmp (argv[2], "help") == 0 || cli_is_help (argv[2]))
        {
          cli_print_usage (stdout);
          return 0;
        }
      if (argc > 3)
        {
          fputs ("usage: nslab help [COMMAND]\n", stderr);
          return NSLAB_EXIT_INVALID;
        }
      if (cli_find_verb (argv[2]) == NULL)
        return unknown_command (argv[2]);
      return cli_help (argv[2]);
    }
  if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "version") == 0)
    {
      puts ("nslab " NSLAB_VERSION);
      return 0;
    }
  const struct cli_verb *v = cli_find_verb (argv[1]);
  if (v == NULL)
    return unknown_command (argv[1]);
  nslab_error_t err = NULL;
  int rc = v->fn (argc - 1, argv + 1, &err);
  if (rc < 0)
    {
      if (err == NULL)
        {
          /* A verb returned -1 without saying why: a bug, but the user
           * still gets a failure rather than a silent exit 0. */
          fprintf (stderr, "nslab: %s failed\n", v->name);
          return NSLAB_EXIT_FAILURE;
        }
      return nslab_error_print (&err);
    }
  /* An exit status with a pending error would hide it: print it anyway. */
  if (err)
    nslab_error_print (&err);
  return rc;
}
