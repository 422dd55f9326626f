/* nslab up FILE: validate, plan, apply, and show the cluster the way
 * `kubectl get -o wide` would. A lab that is already up is refused ("lab
 * k3s is already up (nslab down k3s first)") rather than converged: the
 * state record then always describes exactly one apply. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply/apply.h"
#include "control/controller.h"
#include "kernel/sysctl.h"
#include "state/teardown.h"
#include "base/error.h"
#include "cli.h"
#include "cmd.h"
#include "target.h"
#include "lab_change.h"
#include "plan/plan.h"
#include "state/snapshot.h"
#include "view/kubectl.h"
#include "base/table.h"
#include "base/util.h"

/* up --wait's default --timeout. */
#define UP_WAIT_TIMEOUT_MS 60000

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
print_summary (const struct plan *p, double secs, FILE *out)
{
  const struct lab_objects *m = p->objects;
  char ip[IP_STRLEN];
  fprintf (out, "lab %s is up: %zu nodes, %zu pods, %zu services (%.0f ms)\n\n", m->lab, m->n_nodes, m->n_pods,
           m->n_services, secs * 1000);
  kubectl_print_summary (m, true, out);

  /* A ready-made first experiment: a pod curling a user service. */
  fputc ('\n', out);
  const struct lab_service *svc = NULL;
  for (size_t i = 0; i < m->n_services && svc == NULL; i++)
    if (! m->services[i].implicit && m->services[i].cluster_ip && m->services[i].n_ports && m->services[i].ports[0].n_endpoints
        && m->services[i].ports[0].protocol == PROTO_TCP)
      svc = &m->services[i];
  if (m->n_pods)
    {
      const struct lab_pod *pod = &m->pods[0];
      if (svc)
        fprintf (out, "Try:\n  nslab exec %s -n %s pod/%s -- curl -s http://%s:%u/\n", m->lab, pod->ns, pod->name,
                 ip_fmt (svc->cluster_ip, ip), svc->ports[0].port);
      else
        fprintf (out, "Try:\n  nslab exec %s -n %s pod/%s -- ip addr\n", m->lab, pod->ns, pod->name);
    }
  else
    fprintf (out, "Try:\n");
  if (m->n_nodes)
    fprintf (out, "  nslab exec %s node/%s -- ip route\n  ip netns exec %s iptables-save -t nat\n", m->lab,
             m->nodes[0].name, m->nodes[0].netns);
  fprintf (out, "  nslab down %s\n", m->lab);
}

/* The kernel has one IPv4 neighbour table for every namespace on the
 * machine, and only the initial namespace can size it
 * (net.ipv4.neigh.default.gc_thresh*; a node has no such sysctl). A lab
 * whose pods can fill it breaks every other lab and the host itself, so
 * up says so before it starts, and leaves the host's limits alone. */
/* A sysctl of the namespace nslab runs in, as a number; false if it has
 * none (only the initial namespace has neigh/default). */
static bool
host_sysctl_ulong (const char *key, unsigned long *out)
{
  cleanup_free char *v = NULL;
  nslab_error_t e = NULL;
  if (sysctl_read (NULL, key, &v, &e) < 0)
    {
      nslab_error_free (&e);
      return false;
    }
  char *end;
  errno = 0;
  *out = strtoul (v, &end, 10);
  return errno == 0 && end != v && *end == '\0';
}

static void
warn_neighbour_table (const struct lab_objects *m)
{
  unsigned long thresh2, thresh3;
  if (!host_sysctl_ulong ("net.ipv4.neigh.default.gc_thresh2", &thresh2)
      || !host_sysctl_ulong ("net.ipv4.neigh.default.gc_thresh3", &thresh3))
    return;
  /* A talking pod costs two entries (its gateway in the pod, the pod on
   * cni0); each node one per other node (the VTEP's, permanent). */
  unsigned long need = 2 * (unsigned long) m->n_pods + (unsigned long) (m->n_nodes * m->n_nodes);
  if (need > thresh2)
    fprintf (stderr,
             "nslab: warning: lab %s can use up to %lu neighbour entries; the kernel's table is shared by every "
             "namespace on this machine, purges entries above net.ipv4.neigh.default.gc_thresh2 = %lu and "
             "refuses new ones above gc_thresh3 = %lu, for other labs and the host too: raise both on the host first "
             "(docs/limits.md)\n",
             m->lab, need, thresh2, thresh3);
}

struct apiserver_hook_arg {
  const struct lab_objects *objects;
  struct control_apiserver *api;
};

static int
start_apiserver (struct state_writer *w, void *arg, nslab_error_t *err)
{
  struct apiserver_hook_arg *a = arg;
  return control_start_apiserver (w, a->objects, a->api, err);
}

int
cmd_up (int argc, char **argv, nslab_error_t *err)
{
  if (argc == 2 && cli_is_help (argv[1]))
    return cli_help ("up");
  /* --wait: return once every pod is ready (CI's gate before nslab
   * test), at most --timeout. */
  bool wait = false;
  int timeout_ms = UP_WAIT_TIMEOUT_MS;
  while (argc > 2 && argv[1][0] == '-')
    {
      if (strcmp (argv[1], "--wait") == 0)
        wait = true;
      else if (strcmp (argv[1], "--timeout") == 0 && argc > 3)
        {
          if (lab_change_timeout (argv[2], &timeout_ms) < 0)
            return nslab_error_invalid (err, "nslab up: --timeout: \"%s\" is not a duration (60s, 500ms, 2m)",
                                        argv[2]);
          argv++, argc--;
        }
      else
        return cli_usage ("up");
      argv++, argc--;
    }
  if (argc != 2 || argv[1][0] == '-')
    return cli_usage ("up");
  if (apply_check_privileges (err) < 0)
    return -1;
  double t0 = now ();
  struct scenario *sc;
  struct plan *p;
  if (cli_load_up_plan (argv[1], &sc, &p, err) < 0)
    return -1;
  warn_neighbour_table (p->objects);
  char real[PATH_MAX];
  const char *path = realpath (argv[1], real) ? real : argv[1];
  /* The API server starts before the pods, recorded with them. */
  struct control_apiserver api = CONTROL_APISERVER_INIT;
  struct apiserver_hook_arg harg = { .objects = p->objects, .api = &api };
  struct apply_hook hook = { .before_processes = start_apiserver, .arg = &harg };
  int rc = apply_plan (p, path, &hook, err);
  /* The lab lives from here on: its control loop, in the control-plane
   * node. If it cannot start, the lab goes again: up is all or nothing. */
  /* Every pod probed once (kubelet's first probes), the ready ones
   * endpoints on every node: a pod without a probe is ready as it starts,
   * and one whose first probe up knows the result of (model_probe_decided:
   * a TCP probe on nslab's own app's port, listening before the pod
   * counted as started) is ready in the plan, its rules and the store
   * already. Only other probes need the loop's first round, which up
   * then waits for; otherwise that round runs after up returns. */
  bool probes = false;
  for (size_t i = 0; i < p->objects->n_pods && !probes; i++)
    probes = p->objects->pods[i].readiness.kind != PROBE_NONE && !p->objects->pods[i].ready;
  if (rc == 0
      && (control_start (sc->lab, p->objects, sc->files, sc->n_files, &api, err) < 0
          || (probes && control_wait_first (sc->lab, 60000, err) < 0)))
    {
      nslab_error_t e = NULL;
      teardown_lab (sc->lab, &e);
      nslab_error_free (&e);
      rc = -1;
    }
  if (api.ready >= 0) /* up failed before waiting for it; it is torn down */
    close (api.ready);
  if (rc == 0 && wait)
    {
      struct lab_view v;
      rc = lab_view_load (sc->lab, &v, err);
      if (rc == 0)
        {
          rc = target_wait_ready (&v, (uint32_t) timeout_ms, err);
          lab_view_free (&v);
        }
    }
  double secs = now () - t0;
  /* The lab as the loop has made it since (its pods' readiness), when up
   * waited for the loop. Otherwise it is the plan up applied: every pod
   * was ready in it, and reading it back cost a 100-pod up 55-87 ms. */
  struct plan *now_p = NULL;
  nslab_error_t e = NULL;
  if (rc == 0 && (probes || wait) && snapshot_read (sc->lab, &now_p, &e) < 0)
    nslab_error_free (&e);
  if (rc == 0)
    print_summary (now_p ? now_p : p, secs, stdout);
  plan_free (now_p);
  cli_plan_free (sc, p);
  return rc;
}
