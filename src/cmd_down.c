/* nslab down LAB | --all: remove exactly what each lab recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "state/state.h"
#include "state/teardown.h"

static void
print_down (const char *lab)
{
  cleanup_free char *shown = nslab_escape (lab, false);
  printf ("lab %s is down\n", shown);
}

int
cmd_down (int argc, char **argv, nslab_error_t *err)
{
  if (argc == 2 && cli_is_help (argv[1]))
    return cli_help ("down");
  if (argc != 2 || (argv[1][0] == '-' && strcmp (argv[1], "--all") != 0))
    return cli_usage ("down");
  if (apply_check_privileges (err) < 0)
    return -1;
  if (strcmp (argv[1], "--all") != 0)
    {
      if (teardown_lab (argv[1], err) < 0)
        return -1;
      print_down (argv[1]);
      return 0;
    }
  char **labs = NULL;
  size_t n = 0;
  if (state_list (&labs, &n, err) < 0)
    return -1;
  /* Go on after a failure: every other lab still goes down. The first
   * error is reported; the others are named in its hint. */
  struct strbuf failed;
  sb_init (&failed);
  size_t n_failed = 0;
  for (size_t i = 0; i < n; i++)
    {
      nslab_error_t e = NULL;
      if (teardown_lab (labs[i], &e) < 0)
        {
          if (n_failed++)
            sb_addf (&failed, " %s", labs[i]);
          nslab_error_keep_first (err, &e);
        }
      else
        print_down (labs[i]);
      free (labs[i]);
    }
  free (labs);
  if (n_failed > 1)
    nslab_error_hint (err, "also failed:%s (nslab down LAB for each error)", failed.buf);
  sb_free (&failed);
  return n_failed ? -1 : 0;
}
