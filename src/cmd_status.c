/* nslab status [-o text|json] LAB: every recorded namespace (present?) and
 * process (alive, same start time?), the lab's control loop, runtime agent
 * and API server (alive?), what the kernel lost of the plan
 * (verify), and every pod the lab's store holds as `kubectl get pods -A -o
 * wide` shows it. Exit 0: healthy; 1: unhealthy (a process dead, a namespace
 * or kernel object missing, up unfinished); 3: degraded (the lab is whole,
 * but a pod is not ready, waiting in back-off or failed). */
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply/apply.h"
#include "apply/verify.h"
#include "base/table.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "kernel/netns.h"
#include "kernel/proc.h"
#include "runtime/pause.h"
#include "k8s/objects.h"
#include "plan/plan.h"
#include "state/snapshot.h"
#include "state/store.h"
#include "view/pods.h"
#include "state/state.h"

/* The store's pods as kubectl rows (NULL store: none). */
static int
store_pod_rows (const char *lab, struct pod_row **rows, size_t *n, nslab_error_t *err)
{
  struct store *s = NULL;
  json_t *list = NULL;
  *rows = NULL;
  *n = 0;
  if (store_open (lab, &s, err) < 0)
    return -1;
  int rc = store_list (s, "Pod", NULL, &list, err);
  store_close (s);
  if (rc < 0)
    return -1;
  time_t now = time (NULL);
  *rows = xcalloc (json_array_size (list) + 1, sizeof **rows);
  for (size_t i = 0; i < json_array_size (list); i++)
    pod_row_from_json (json_array_get (list, i), now, &(*rows)[(*n)++]);
  json_decref (list);
  return 0;
}

/* The lab is whole, but not every pod is ready. */
#define STATUS_EXIT_DEGRADED 3

int
cmd_status (int argc, char **argv, nslab_error_t *err)
{
  bool json;
  int rc = cli_output_options ("status", argc, argv, &json, err);
  if (rc != CLI_GO_ON)
    return rc;
  if (optind != argc - 1 || argv[optind][0] == '-')
    return cli_usage ("status");
  if (apply_check_privileges (err) < 0)
    return -1;
  struct state *st = NULL;
  if (state_load (argv[optind], &st, err) < 0)
    return -1;
  struct plan *snap = NULL;
  if (snapshot_read (argv[optind], &snap, err) < 0)
    {
      state_free (st);
      return -1;
    }
  const struct lab_objects *o = snap->objects;
  struct pod_row *rows = NULL;
  size_t n_rows = 0;
  if (store_pod_rows (argv[optind], &rows, &n_rows, err) < 0)
    {
      state_free (st);
      plan_free (snap);
      return -1;
    }
  size_t bad = 0, degraded = 0, control_dead = 0;
  long age_s = (long) (time (NULL) - st->created);
  cleanup_free char *age = table_age (age_s);
  cleanup_free char *lab = nslab_escape (st->lab, false);
  if (! st->complete)
    bad++;

  /* Every node and pod the snapshot names, with the process the journal
   * recorded for it: alive (same pid and start time) and in its namespace. */
  json_t *jprocs = json_array ();
  struct table procs;
  table_init (&procs, (const char *[]) { "KIND", "NAME", "NODE", "IP", "NETNS", "PID", "PROCESS", NULL });
  for (size_t i = 0; i < o->n_nodes + o->n_pods; i++)
    {
      bool is_node = i < o->n_nodes;
      const struct lab_node *n = is_node ? &o->nodes[i] : NULL;
      const struct lab_pod *pod = is_node ? NULL : &o->pods[i - o->n_nodes];
      cleanup_free char *key = is_node ? xstrdup (n->name) : xasprintf ("%s/%s", pod->ns, pod->name);
      const char *netns = is_node ? n->netns : pod->netns;
      const char *node = is_node ? n->name : pod->node;
      const struct state_process *p = NULL;
      for (size_t k = 0; k < st->n_procs; k++)
        if (st->procs[k].kind == (is_node ? STATE_PROC_NODE : STATE_PROC_POD) && strcmp (st->procs[k].name, key) == 0)
          p = &st->procs[k];
      bool alive = p && proc_alive (p->pid, p->starttime);
      bool present = netns_exists (netns);
      if (! alive || ! present)
        bad++;
      const char *kind = is_node ? "node" : "pod";
      char pid[16], ip[IP_STRLEN];
      snprintf (pid, sizeof pid, "%d", p ? (int) p->pid : 0);
      ip_fmt (is_node ? n->internal_ip : pod->ip, ip);
      cleanup_free char *nscol = xasprintf ("%s%s", netns, present ? "" : " (missing)");
      table_row (&procs, (const char *[]) { kind, key, node, ip, nscol, p ? pid : "-",
                                            alive ? "alive" : p ? "dead" : "not started" });
      json_t *j = json_object ();
      json_object_set_new (j, "kind", json_string (kind));
      json_object_set_new (j, "name", cli_json_str (key));
      json_object_set_new (j, "node", cli_json_str (node));
      json_object_set_new (j, "ip", json_string (ip));
      json_object_set_new (j, "netns", cli_json_str (netns));
      json_object_set_new (j, "netns_present", json_boolean (present));
      json_object_set_new (j, "pid", p ? json_integer ((json_int_t) p->pid) : json_null ());
      json_object_set_new (j, "alive", json_boolean (alive));
      json_array_append_new (jprocs, j);
    }

  /* The lab's own processes (control loop, runtime agent, API server), as
   * a node's k3s server and containerd: one killed, nothing follows the
   * lab any more (no restarts, no endpoints, no kubectl), so the lab is
   * unhealthy. The journal's last record of each name is the one running. */
  json_t *jcontrol = json_array ();
  for (size_t k = 0; k < st->n_procs; k++)
    {
      const struct state_process *p = &st->procs[k];
      if (p->kind != STATE_PROC_CONTROL)
        continue;
      bool later = false;
      for (size_t m = k + 1; m < st->n_procs; m++)
        later |= st->procs[m].kind == STATE_PROC_CONTROL && strcmp (st->procs[m].name, p->name) == 0;
      if (later)
        continue;
      bool alive = proc_alive (p->pid, p->starttime);
      if (! alive)
        bad++, control_dead++;
      char pid[16];
      snprintf (pid, sizeof pid, "%d", (int) p->pid);
      table_row (&procs, (const char *[]) { "control", p->name, p->node ? p->node : "-", "-",
                                            p->netns ? p->netns : "-", pid, alive ? "alive" : "dead" });
      json_array_append_new (jcontrol, json_pack ("{s:o, s:o, s:o, s:I, s:b}", "name", cli_json_str (p->name),
                                                  "node", p->node ? cli_json_str (p->node) : json_null (), "netns",
                                                  p->netns ? cli_json_str (p->netns) : json_null (), "pid",
                                                  (json_int_t) p->pid, "alive", alive));
    }

  /* Every namespace of the lab, those without a process of their own (lab
   * host, NAT routers) included. */
  json_t *jnetns = json_array ();
  struct table nst;
  table_init (&nst, (const char *[]) { "NETNS", "PRESENT", NULL });
  for (size_t i = 0; i < snap->n_ops; i++)
    {
      const struct plan_op *op = &snap->ops[i];
      if (op->kind != OP_NETNS)
        continue;
      bool present = netns_exists (op->ns);
      if (! present)
        bad++;
      table_row (&nst, (const char *[]) { op->ns, present ? "yes" : "no" });
      json_t *j = json_object ();
      json_object_set_new (j, "name", cli_json_str (op->ns));
      json_object_set_new (j, "present", json_boolean (present));
      json_array_append_new (jnetns, j);
    }

  /* What the plan made and the kernel no longer has: links, rules. */
  struct verify_finding *found = NULL;
  size_t n_found = 0;
  if (verify_plan (snap, &found, &n_found, err) < 0)
    {
      json_decref (jprocs);
      json_decref (jcontrol);
      json_decref (jnetns);
      table_free (&procs);
      table_free (&nst);
      state_free (st);
      plan_free (snap);
      for (size_t i = 0; i < n_rows; i++)
        pod_row_free (&rows[i]);
      free (rows);
      return -1;
    }
  bad += n_found;

  /* The pods as the store has them (kubelet's view, written by the control
   * loop): kubectl's columns. */
  json_t *jpods = json_array ();
  struct table pt;
  table_init (&pt, (const char *[]) { "NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", NULL });
  for (size_t i = 0; i < n_rows; i++)
    {
      const struct pod_row *r = &rows[i];
      if (r->degraded)
        degraded++;
      char ready[32];
      snprintf (ready, sizeof ready, "%d/%d", r->ready, r->total);
      cleanup_free char *page = kubectl_human_duration (r->age);
      cleanup_free char *pns = nslab_escape (r->ns, false), *pname = nslab_escape (r->name, false);
      table_row (&pt, (const char *[]) { pns, pname, ready, r->status, r->restarts_col, page, r->ip, r->node });
      json_t *j = json_object ();
      json_object_set_new (j, "namespace", cli_json_str (r->ns));
      json_object_set_new (j, "name", cli_json_str (r->name));
      json_object_set_new (j, "ready", json_integer (r->ready));
      json_object_set_new (j, "containers", json_integer (r->total));
      json_object_set_new (j, "status", cli_json_str (r->status));
      json_object_set_new (j, "restarts", json_integer (r->restarts));
      json_object_set_new (j, "last_restart_seconds_ago",
                           r->last_restart_age >= 0 ? json_integer (r->last_restart_age) : json_null ());
      json_object_set_new (j, "age_seconds", json_integer (r->age));
      json_object_set_new (j, "ip", cli_json_str (r->ip));
      json_object_set_new (j, "node", cli_json_str (r->node));
      json_object_set_new (j, "degraded", json_boolean (r->degraded));
      json_array_append_new (jpods, j);
    }
  const char *health = bad ? "unhealthy" : degraded ? "degraded" : "healthy";
  json_t *jfound = json_array ();
  for (size_t i = 0; i < n_found; i++)
    json_array_append_new (jfound, json_pack ("{s:o, s:o}", "netns", cli_json_str (found[i].netns), "problem",
                                              cli_json_str (found[i].what)));

  if (json)
    {
      json_t *j = json_object ();
      json_object_set_new (j, "lab", cli_json_str (st->lab));
      json_object_set_new (j, "status", json_string (st->complete ? "up" : "incomplete"));
      json_object_set_new (j, "created", json_integer ((json_int_t) st->created));
      json_object_set_new (j, "age_seconds", json_integer (age_s));
      json_object_set_new (j, "nodes", json_integer ((json_int_t) snap->objects->n_nodes));
      json_object_set_new (j, "pods", json_integer ((json_int_t) n_rows));
      json_object_set_new (j, "services", json_integer ((json_int_t) snap->objects->n_services));
      json_object_set_new (j, "processes", jprocs);
      json_object_set_new (j, "control", jcontrol);
      json_object_set_new (j, "netns", jnetns);
      json_object_set_new (j, "problems", jfound);
      json_object_set_new (j, "pod_status", jpods);
      json_object_set_new (j, "health", json_string (health));
      json_object_set_new (j, "healthy", json_boolean (bad == 0 && degraded == 0));
      cli_json_print (j, stdout);
    }
  else
    {
      json_decref (jprocs);
      json_decref (jcontrol);
      json_decref (jnetns);
      json_decref (jfound);
      json_decref (jpods);
      printf ("lab %s: %s, age %s, %zu nodes, %zu pods, %zu services\n\n", lab,
              st->complete ? "up" : "incomplete (up did not finish: nslab down it)", age, o->n_nodes, n_rows,
              o->n_services);
      table_print (&procs, stdout);
      fputc ('\n', stdout);
      table_print (&pt, stdout);
      fputc ('\n', stdout);
      table_print (&nst, stdout);
      if (n_found)
        {
          struct table probt;
          table_init (&probt, (const char *[]) { "NETNS", "PROBLEM", NULL });
          for (size_t i = 0; i < n_found; i++)
            table_row (&probt, (const char *[]) { found[i].netns, found[i].what });
          fputc ('\n', stdout);
          table_print (&probt, stdout);
          table_free (&probt);
        }
      /* Nothing restarts them (they stop for good when the lab dir stops
       * being root's own, or when killed): the user's way back. */
      if (control_dead)
        printf ("\nthe lab's control loop is not running: nothing applies changes, probes pods or answers kubectl; "
                "nslab down %s, then nslab up its scenario file, brings it back\n",
                lab);
      printf ("\n%s\n", health);
    }
  for (size_t i = 0; i < n_rows; i++)
    pod_row_free (&rows[i]);
  free (rows);
  table_free (&pt);
  verify_findings_free (found, n_found);
  table_free (&procs);
  table_free (&nst);
  state_free (st);
  plan_free (snap);
  return bad ? NSLAB_EXIT_FAILURE : degraded ? STATUS_EXIT_DEGRADED : 0;
}
