/* nslab status LAB: every recorded namespace (present?) and process
 * (alive, same start time?). Exit 0 when all is healthy, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "apply/apply.h"
#include "cli.h"
#include "cmd.h"
#include "kernel/netns.h"
#include "runtime/pause.h"
#include "state/state.h"
#include "base/table.h"
#include "base/util.h"

int
cmd_status (int argc, char **argv)
{
  if (argc != 2 || argv[1][0] == '-')
    return cli_usage ("status LAB");
  nslab_error_t err = NULL;
  if (apply_check_privileges (&err) < 0)
    return nslab_error_print (&err);
  struct state *st = NULL;
  if (state_load (argv[1], &st, &err) < 0)
    return nslab_error_print (&err);
  size_t bad = 0;
  cleanup_free char *age = table_age ((long) (time (NULL) - st->created));
  printf ("lab %s: %s, age %s, %d nodes, %d pods, %d services\n\n", st->lab,
          st->complete ? "up" : "incomplete (up did not finish: nslab down it)", age, st->n_nodes, st->n_pods,
          st->n_services);
  if (! st->complete)
    bad++;

  struct table t;
  table_init (&t, (const char *[]) { "KIND", "NAME", "NODE", "NETNS", "PID", "PROCESS", NULL });
  for (size_t i = 0; i < st->n_procs; i++)
    {
      const struct state_process *p = &st->procs[i];
      bool alive = pause_alive (p->pid, p->starttime);
      bool present = netns_exists (p->netns);
      if (! alive || ! present)
        bad++;
      char pid[16];
      snprintf (pid, sizeof pid, "%d", (int) p->pid);
      cleanup_free char *nscol = xasprintf ("%s%s", p->netns, present ? "" : " (missing)");
      table_row (&t, (const char *[]) { p->kind == STATE_PROC_NODE ? "node" : "pod", p->name,
                                        p->node ? p->node : "-", nscol, pid, alive ? "alive" : "dead" });
    }
  table_print (&t, stdout);
  table_free (&t);

  /* Namespaces without a process of their own: lab host, NAT routers. */
  fputc ('\n', stdout);
  table_init (&t, (const char *[]) { "NETNS", "PRESENT", NULL });
  for (size_t i = 0; i < st->n_netns; i++)
    {
      bool present = netns_exists (st->netns[i]);
      if (! present)
        bad++;
      table_row (&t, (const char *[]) { st->netns[i], present ? "yes" : "no" });
    }
  table_print (&t, stdout);
  table_free (&t);
  printf ("\n%s\n", bad ? "unhealthy" : "healthy");
  state_free (st);
  return bad ? 1 : 0;
}
