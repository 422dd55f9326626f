/* nslab down LAB | --all: remove exactly what each lab recorded. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "cli.h"
#include "cmd.h"
#include "state/state.h"
#include "state/teardown.h"
#include "base/util.h"

/* Ctrl-C (or SIGTERM/SIGHUP) during a lab's teardown is held until that
 * lab is down: a half-removed lab would only need a second `down`, a whole
 * one needs none. The signal then ends nslab as usual (for --all, before
 * the next lab). */
static int
down_one (const char *lab, nslab_error_t *err)
{
  sigset_t block, old;
  sigemptyset (&block);
  sigaddset (&block, SIGINT);
  sigaddset (&block, SIGTERM);
  sigaddset (&block, SIGHUP);
  sigprocmask (SIG_BLOCK, &block, &old);
  int rc = teardown_lab (lab, err);
  if (rc == 0)
    {
      printf ("lab %s is down\n", lab);
      fflush (stdout);
    }
  sigprocmask (SIG_SETMASK, &old, NULL);
  return rc;
}

int
cmd_down (int argc, char **argv)
{
  if (argc != 2)
    return cli_usage ("down LAB | --all");
  nslab_error_t err = NULL;
  if (apply_check_privileges (&err) < 0)
    return nslab_error_print (&err);
  if (strcmp (argv[1], "--all") != 0)
    {
      if (argv[1][0] == '-')
        return cli_usage ("down LAB | --all");
      if (down_one (argv[1], &err) < 0)
        return nslab_error_print (&err);
      return 0;
    }
  char **labs = NULL, **skipped = NULL;
  size_t n = 0, n_skipped = 0;
  if (state_scan (&labs, &n, &skipped, &n_skipped, &err) < 0)
    return nslab_error_print (&err);
  /* What is not a lab is left alone, and said so once, not as a failure:
   * --all means every lab, and there was none there. */
  for (size_t i = 0; i < n_skipped; i++)
    {
      fprintf (stderr, "nslab: skipped %s\n", skipped[i]);
      free (skipped[i]);
    }
  free (skipped);
  int rc = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (down_one (labs[i], &err) < 0)
        rc = nslab_error_print (&err);
      free (labs[i]);
    }
  free (labs);
  return rc;
}
