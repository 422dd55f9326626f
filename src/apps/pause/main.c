/* nslab-pause as a program of its own: the pause process and, forked from
 * it, the pod's built-in app, linked statically from the same sources as
 * nslab's internal entry points. Without shared libraries its start and
 * above all its exit at `down` (unmapping nslab's libraries, twice per pod)
 * cost a fraction; nslab falls back to re-executing itself without it. */
#include <string.h>

#include "apps/echo.h"
#include "apps/pause_main.h"

int
main (int argc, char **argv)
{
  const char *name = argc > 0 && argv[0] ? argv[0] : "";
  const char *slash = strrchr (name, '/');
  if (strcmp (slash ? slash + 1 : name, "nslab-echo") == 0)
    return echo_main (argc, argv);
  return pause_main (argc, argv);
}
