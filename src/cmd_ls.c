/* nslab ls: labs that are up, with counts and age. A lab whose up did not
 * finish (crashed, killed) shows STATUS incomplete until `nslab down`. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "apply/apply.h"
#include "cli.h"
#include "cmd.h"
#include "state/state.h"
#include "base/table.h"
#include "base/util.h"

int
cmd_ls (int argc, char **argv)
{
  (void) argv;
  if (argc != 1)
    return cli_usage ("ls");
  nslab_error_t err = NULL;
  if (apply_check_privileges (&err) < 0)
    return nslab_error_print (&err);
  char **labs = NULL;
  size_t n = 0;
  if (state_list (&labs, &n, &err) < 0)
    return nslab_error_print (&err);
  struct table t;
  table_init (&t, (const char *[]) { "NAME", "NODES", "PODS", "SERVICES", "AGE", "STATUS", NULL });
  int rc = 0;
  for (size_t i = 0; i < n; i++)
    {
      struct state *st = NULL;
      if (state_load (labs[i], &st, &err) < 0)
        rc = nslab_error_print (&err);
      else
        {
          char nodes[16], pods[16], svcs[16];
          snprintf (nodes, sizeof nodes, "%d", st->n_nodes);
          snprintf (pods, sizeof pods, "%d", st->n_pods);
          snprintf (svcs, sizeof svcs, "%d", st->n_services);
          cleanup_free char *age = table_age ((long) (time (NULL) - st->created));
          table_row (&t, (const char *[]) { st->lab, nodes, pods, svcs, age, st->complete ? "up" : "incomplete" });
          state_free (st);
        }
      free (labs[i]);
    }
  free (labs);
  table_print (&t, stdout);
  table_free (&t);
  return rc;
}
