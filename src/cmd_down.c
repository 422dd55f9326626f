/* nslab down LAB | --all: remove exactly what each lab recorded. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apply/apply.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "state/state.h"
#include "state/teardown.h"

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
      cleanup_free char *shown = nslab_escape (lab, false);
      printf ("lab %s is down\n", shown);
      fflush (stdout);
    }
  sigprocmask (SIG_SETMASK, &old, NULL);
  return rc;
}

int
cmd_down (int argc, char **argv, nslab_error_t *err)
{
  if (argc == 2 && cli_is_help (argv[1]))
    return cli_help ("down");
  /* --ignore-not-found: a lab that is not up is fine (CI cleanup steps). */
  bool ignore = argc == 3 && strcmp (argv[1], "--ignore-not-found") == 0;
  if (ignore)
    argv++, argc--;
  if (argc != 2 || (argv[1][0] == '-' && strcmp (argv[1], "--all") != 0))
    return cli_usage ("down");
  if (apply_check_privileges (err) < 0)
    return -1;
  if (strcmp (argv[1], "--all") != 0)
    {
      cleanup_free char *dir = xasprintf ("%s/%s", state_root (), argv[1]);
      struct stat st;
      if (ignore && strchr (argv[1], '/') == NULL && lstat (dir, &st) < 0 && errno == ENOENT)
        {
          cleanup_free char *shown = nslab_escape (argv[1], false);
          printf ("lab %s is not up\n", shown);
          return 0;
        }
      return down_one (argv[1], err);
    }
  char **labs = NULL, **skipped = NULL;
  size_t n = 0, n_skipped = 0;
  if (state_scan (&labs, &n, &skipped, &n_skipped, err) < 0)
    return -1;
  /* What is not a lab is left alone, and said so once, not as a failure:
   * --all means every lab, and that was none. */
  for (size_t i = 0; i < n_skipped; i++)
    {
      cleanup_free char *shown = nslab_escape (skipped[i], false);
      fprintf (stderr, "nslab: skipped %s\n", shown);
      free (skipped[i]);
    }
  free (skipped);
  /* Go on after a failure: every other lab still goes down. The first
   * error is reported; the others are named in its hint. */
  struct strbuf failed;
  sb_init (&failed);
  size_t n_failed = 0;
  for (size_t i = 0; i < n; i++)
    {
      nslab_error_t e = NULL;
      if (down_one (labs[i], &e) < 0)
        {
          if (n_failed++)
            sb_addf (&failed, " %s", labs[i]);
          nslab_error_keep_first (err, &e);
        }
      free (labs[i]);
    }
  free (labs);
  if (n_failed > 1)
    nslab_error_hint (err, "also failed:%s (nslab down LAB for each error)", failed.buf);
  sb_free (&failed);
  return n_failed ? -1 : 0;
}
