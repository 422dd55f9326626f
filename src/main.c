/* nslab: the CLI. Each verb lives in its own cmd_<verb>.c; this file only
 * dispatches and prints usage. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const char usage[] =
  "usage: nslab COMMAND [ARGS]\n"
  "\n"
  "Kubernetes-style clusters out of Linux namespaces, for learning cluster networking.\n"
  "\n"
  "commands:\n"
  "  validate FILE                 check a scenario; print warnings\n"
  "  plan [-o text|json] FILE      print every namespace, link, address, route, rule and process (no root needed)\n"
  "  up FILE                       build the lab (root)\n"
  "  down LAB | --all              remove exactly what the lab created (root)\n"
  "  ls                            labs that are up\n"
  "  status LAB                    health of every node, pod and process\n"
  "  exec LAB [-n NS] TARGET [-- CMD ARGS...]\n"
  "                                run CMD (default: a shell) in node/NAME, pod/NAME, deploy/NAME,\n"
  "                                rs/NAME or host (the lab host)\n"
  "\n"
  "See nslab(1), docs/guide.md and docs/scenario.md.\n";

struct command {
  const char *name;
  int (*fn) (int argc, char **argv);
};

static const struct command commands[] = {
  { "validate", cmd_validate },
  { "plan", cmd_plan },
  { "up", cmd_up },
  { "down", cmd_down },
  { "ls", cmd_ls },
  { "status", cmd_status },
  { "exec", cmd_exec },
};

int
main (int argc, char **argv)
{
  /* The pause process and the echo server are this binary re-executed
   * with another argv[0], so one installed file is all nslab needs. */
  if (argc > 0 && strncmp (basename (argv[0]), "nslab-", 6) == 0)
    return cmd_internal (argc, argv);
  if (argc < 2 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "help") == 0)
    {
      fputs (usage, argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "version") == 0)
    {
      puts ("nslab " NSLAB_VERSION);
      return 0;
    }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].fn (argc - 1, argv + 1);
  fprintf (stderr, "nslab: unknown command \"%s\" (see nslab --help)\n", argv[1]);
  return 2;
}
