/* nslab status [-o text|json] LAB: every recorded namespace (present?) and
 * process (alive, same start time?). Exit 0 when all is healthy, 1
 * otherwise. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "apply/apply.h"
#include "base/table.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "kernel/netns.h"
#include "runtime/pause.h"
#include "state/state.h"

int
cmd_status (int argc, char **argv, nslab_error_t *err)
{
  static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  bool json = false;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+ho:", opts, NULL)) != -1)
    {
      if (c == 'h')
        return cli_help ("status");
      if (c != 'o')
        return cli_usage ("status");
      if (cli_output_format ("status", optarg, &json, err) < 0)
        return -1;
    }
  if (optind != argc - 1 || argv[optind][0] == '-')
    return cli_usage ("status");
  if (apply_check_privileges (err) < 0)
    return -1;
  struct state *st = NULL;
  if (state_load (argv[optind], &st, err) < 0)
    return -1;
  size_t bad = 0;
  long age_s = (long) (time (NULL) - st->created);
  cleanup_free char *age = table_age (age_s);
  cleanup_free char *lab = nslab_escape (st->lab, false);
  if (! st->complete)
    bad++;

  json_t *jprocs = json_array ();
  struct table procs;
  table_init (&procs, (const char *[]) { "KIND", "NAME", "NODE", "NETNS", "PID", "PROCESS", NULL });
  for (size_t i = 0; i < st->n_procs; i++)
    {
      const struct state_process *p = &st->procs[i];
      bool alive = pause_alive (p->pid, p->starttime);
      bool present = netns_exists (p->netns);
      if (! alive || ! present)
        bad++;
      const char *kind = p->kind == STATE_PROC_NODE ? "node" : "pod";
      char pid[16];
      snprintf (pid, sizeof pid, "%d", (int) p->pid);
      cleanup_free char *name = nslab_escape (p->name, false);
      cleanup_free char *node = nslab_escape (p->node ? p->node : "-", false);
      cleanup_free char *nscol = xasprintf ("%s%s", p->netns, present ? "" : " (missing)");
      cleanup_free char *nscol_shown = nslab_escape (nscol, false);
      table_row (&procs, (const char *[]) { kind, name, node, nscol_shown, pid, alive ? "alive" : "dead" });
      json_t *o = json_object ();
      json_object_set_new (o, "kind", json_string (kind));
      json_object_set_new (o, "name", cli_json_str (p->name));
      json_object_set_new (o, "node", p->node ? cli_json_str (p->node) : json_null ());
      json_object_set_new (o, "netns", cli_json_str (p->netns));
      json_object_set_new (o, "netns_present", json_boolean (present));
      json_object_set_new (o, "pid", json_integer ((json_int_t) p->pid));
      json_object_set_new (o, "alive", json_boolean (alive));
      json_array_append_new (jprocs, o);
    }

  /* Namespaces without a process of their own: lab host, NAT routers. */
  json_t *jnetns = json_array ();
  struct table nst;
  table_init (&nst, (const char *[]) { "NETNS", "PRESENT", NULL });
  for (size_t i = 0; i < st->n_netns; i++)
    {
      bool present = netns_exists (st->netns[i]);
      if (! present)
        bad++;
      cleanup_free char *name = nslab_escape (st->netns[i], false);
      table_row (&nst, (const char *[]) { name, present ? "yes" : "no" });
      json_t *o = json_object ();
      json_object_set_new (o, "name", cli_json_str (st->netns[i]));
      json_object_set_new (o, "present", json_boolean (present));
      json_array_append_new (jnetns, o);
    }

  if (json)
    {
      json_t *o = json_object ();
      json_object_set_new (o, "lab", cli_json_str (st->lab));
      json_object_set_new (o, "status", json_string (st->complete ? "up" : "incomplete"));
      json_object_set_new (o, "created", json_integer ((json_int_t) st->created));
      json_object_set_new (o, "age_seconds", json_integer (age_s));
      json_object_set_new (o, "nodes", json_integer (st->n_nodes));
      json_object_set_new (o, "pods", json_integer (st->n_pods));
      json_object_set_new (o, "services", json_integer (st->n_services));
      json_object_set_new (o, "processes", jprocs);
      json_object_set_new (o, "netns", jnetns);
      json_object_set_new (o, "healthy", json_boolean (bad == 0));
      cli_json_print (o, stdout);
    }
  else
    {
      json_decref (jprocs);
      json_decref (jnetns);
      printf ("lab %s: %s, age %s, %d nodes, %d pods, %d services\n\n", lab,
              st->complete ? "up" : "incomplete (up did not finish: nslab down it)", age, st->n_nodes, st->n_pods,
              st->n_services);
      table_print (&procs, stdout);
      fputc ('\n', stdout);
      table_print (&nst, stdout);
      printf ("\n%s\n", bad ? "unhealthy" : "healthy");
    }
  table_free (&procs);
  table_free (&nst);
  state_free (st);
  return bad ? NSLAB_EXIT_FAILURE : 0;
}
