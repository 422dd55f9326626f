/* nslab down LAB | --all: remove exactly what each lab recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "cli.h"
#include "cmd.h"
#include "state/state.h"
#include "state/teardown.h"
#include "base/util.h"

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
      if (teardown_lab (argv[1], &err) < 0)
        return nslab_error_print (&err);
      printf ("lab %s is down\n", argv[1]);
      return 0;
    }
  char **labs = NULL;
  size_t n = 0;
  if (state_list (&labs, &n, &err) < 0)
    return nslab_error_print (&err);
  int rc = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (teardown_lab (labs[i], &err) < 0)
        rc = nslab_error_print (&err);
      else
        printf ("lab %s is down\n", labs[i]);
      free (labs[i]);
    }
  free (labs);
  return rc;
}
