/* Internal entry points: nslab re-executes /proc/self/exe with argv[0]
 * "nslab-pause ..." for a pod's pause process and "nslab-echo PORT" for its
 * built-in HTTP app, so ps shows what each process is and no second binary
 * has to be installed. main() calls this whenever basename(argv[0]) starts
 * with "nslab-". */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "cmd.h"
#include "apps/echo.h"
#include "base/error.h"
#include "apps/pause_main.h"
#include "base/util.h"

int
cmd_internal (int argc, char **argv)
{
  const char *name = argc > 0 && argv[0] ? argv[0] : "";
  const char *slash = strrchr (name, '/');
  if (slash)
    name = slash + 1;
  if (strcmp (name, "nslab-pause") == 0)
    return pause_main (argc, argv);
  if (strcmp (name, "nslab-echo") == 0)
    return echo_main (argc, argv);
  /* Exec'd as /proc/self/exe: without a name, ps -e would say "exe" (the
   * kernel keeps 15 characters: nslab-controlle, as k3s-server's). */
  if (strcmp (name, "nslab-controller") == 0)
    {
      prctl (PR_SET_NAME, name, 0, 0, 0);
      return controller_main (argc, argv);
    }
  if (strcmp (name, "nslab-runtime") == 0)
    {
      prctl (PR_SET_NAME, name, 0, 0, 0);
      return runtime_main (argc, argv);
    }
  /* Programs of their own, with libraries the CLI does not load (see the
   * Makefile): a copy of nslab under their name is not them. */
  if (strcmp (name, "nslab-coredns") == 0 || strcmp (name, "nslab-kube-proxy") == 0
      || strcmp (name, "nslab-apiserver") == 0 || strcmp (name, "nslab-export") == 0)
    {
      fprintf (stderr, "nslab: %s is a program of its own, installed beside nslab (make install)\n", name);
      return NSLAB_EXIT_INVALID;
    }
  cleanup_free char *shown = nslab_escape (name, false);
  fprintf (stderr, "nslab: unknown internal command \"%s\" (nslab-pause and nslab-echo are "
                   "started by nslab up, not by hand)\n", shown);
  return NSLAB_EXIT_INVALID;
}
