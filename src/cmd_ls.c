/* nslab ls [-o text|json]: labs that are up, with counts and age. A lab
 * whose up did not finish (crashed, killed) shows STATUS incomplete until
 * `nslab down`; one whose store has a pod not ready, in back-off or failed
 * shows degraded (nslab status LAB says which). PODS counts the store's
 * pods: what the lab now runs, scaled or not. */
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <time.h>

#include "apply/apply.h"
#include "base/table.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "plan/plan.h"
#include "state/snapshot.h"
#include "state/state.h"
#include "state/store.h"
#include "view/pods.h"

/* The store's pod count and how many are degraded; -1 when there is no
 * readable store (an interrupted up). */
static int
store_pods (const char *lab, int *n_pods, int *n_degraded)
{
  struct store *s = NULL;
  json_t *list = NULL;
  nslab_error_t e = NULL;
  int rc = store_open (lab, &s, &e);
  if (rc == 0)
    {
      rc = store_list (s, "Pod", NULL, &list, &e);
      store_close (s);
    }
  nslab_error_free (&e);
  if (rc < 0)
    return -1;
  time_t now = time (NULL);
  *n_pods = (int) json_array_size (list);
  *n_degraded = 0;
  for (size_t i = 0; i < json_array_size (list); i++)
    {
      struct pod_row r;
      pod_row_from_json (json_array_get (list, i), now, &r);
      *n_degraded += r.degraded;
      pod_row_free (&r);
    }
  json_decref (list);
  return 0;
}

int
cmd_ls (int argc, char **argv, nslab_error_t *err)
{
  bool json;
  int rc = cli_output_options ("ls", argc, argv, &json, err);
  if (rc != CLI_GO_ON)
    return rc;
  if (optind != argc)
    return cli_usage ("ls");
  if (apply_check_privileges (err) < 0)
    return -1;
  char **labs = NULL;
  size_t n = 0;
  if (state_list (&labs, &n, err) < 0)
    return -1;
  struct table t;
  table_init (&t, (const char *[]) { "NAME", "NODES", "PODS", "SERVICES", "AGE", "STATUS", NULL });
  json_t *arr = json_array ();
  /* A lab whose record cannot be read is still listed (it is there, and
   * `nslab down` may remove it); the first such error is reported. */
  for (size_t i = 0; i < n; i++)
    {
      struct state *st = NULL;
      nslab_error_t e = NULL;
      const char *name = labs[i];
      if (state_load (labs[i], &st, &e) < 0)
        {
          nslab_error_keep_first (err, &e);
          table_row (&t, (const char *[]) { name, "-", "-", "-", "-", "unreadable" });
          json_t *o = json_object ();
          json_object_set_new (o, "name", cli_json_str (labs[i]));
          json_object_set_new (o, "status", json_string ("unreadable"));
          json_array_append_new (arr, o);
        }
      else
        {
          /* What the lab is comes from its snapshot; the journal's counts
           * only stand in while up has not written it yet. */
          struct plan *snap = NULL;
          nslab_error_t serr = NULL;
          if (snapshot_read (labs[i], &snap, &serr) == 0)
            {
              st->n_nodes = (int) snap->objects->n_nodes;
              st->n_pods = (int) snap->objects->n_pods;
              st->n_services = (int) snap->objects->n_services;
              plan_free (snap);
            }
          nslab_error_free (&serr);
          int n_degraded = 0, n_pods = 0;
          if (st->complete && store_pods (labs[i], &n_pods, &n_degraded) == 0)
            st->n_pods = n_pods;
          long age_s = (long) (time (NULL) - st->created);
          const char *status = !st->complete ? "incomplete" : n_degraded ? "degraded" : "up";
          char nodes[16], pods[16], svcs[16];
          snprintf (nodes, sizeof nodes, "%d", st->n_nodes);
          snprintf (pods, sizeof pods, "%d", st->n_pods);
          snprintf (svcs, sizeof svcs, "%d", st->n_services);
          cleanup_free char *age = table_age (age_s);
          table_row (&t, (const char *[]) { name, nodes, pods, svcs, age, status });
          json_t *o = json_object ();
          json_object_set_new (o, "name", cli_json_str (st->lab));
          json_object_set_new (o, "nodes", json_integer (st->n_nodes));
          json_object_set_new (o, "pods", json_integer (st->n_pods));
          json_object_set_new (o, "services", json_integer (st->n_services));
          json_object_set_new (o, "created", json_integer ((json_int_t) st->created));
          json_object_set_new (o, "age_seconds", json_integer (age_s));
          json_object_set_new (o, "status", json_string (status));
          json_array_append_new (arr, o);
          state_free (st);
        }
      free (labs[i]);
    }
  free (labs);
  if (json)
    cli_json_print (arr, stdout);
  else
    {
      json_decref (arr);
      table_print (&t, stdout);
    }
  table_free (&t);
  return *err ? -1 : 0;
}
