/* make bench: every Service kind's payload, generated and applied (issue 8,
 * Performance).
 *
 *   svcpayload LAB.ini RUNS
 *
 * LAB is the bench's 3 nodes x S services x 2 endpoints of mixed kinds
 * (NodePort with externalTrafficPolicy Local, LoadBalancer with source
 * ranges, ClusterIP with internalTrafficPolicy Local, ClusterIP with an
 * externalIP), so per-node payloads are generated. RUNS times each, into
 * fresh namespaces sp-node-0..:
 *   nslab  model_build + plan_from_model + iptables-restore --noflush of
 *          every node's payload (the nodes in parallel, as apply does)
 *   floor  iptables-restore --noflush of the same payloads, already made
 * Prints "S nslab_us plan_us floor_us payload_bytes" (medians; payload of
 * node 0). Needs root, inside the bench's sandbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s/model.h"
#include "kernel/iptables.h"
#include "kernel/netns.h"
#include "plan/kube_proxy_sync.h"
#include "plan/plan.h"
#include "scenario/scenario.h"

#define BENCH_NAME "svcpayload"
#include "bench.h"

#define MAX_NODES 16

static void
fresh (char **ns, size_t n)
{
  nslab_error_t err = NULL;
  for (size_t i = 0; i < n; i++)
    {
      if (netns_exists (ns[i]) && netns_delete (ns[i], &err) < 0)
        die_err ("netns delete", &err);
      if (netns_create (ns[i], &err) < 0)
        die_err ("netns create", &err);
    }
}

/* The nodes' restores at once, as apply runs them. */
static void
restore_all (char **ns, char **pl, size_t n)
{
  struct child_job jobs[MAX_NODES];
  nslab_error_t err = NULL;
  for (size_t i = 0; i < n; i++)
    if (iptables_restore_start (ns[i], pl[i], &jobs[i], &err) < 0)
      die_err ("iptables-restore", &err);
  for (size_t i = 0; i < n; i++)
    if (iptables_restore_finish (&jobs[i], &err) < 0)
      die_err ("iptables-restore", &err);
}

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, "usage: svcpayload LAB.ini RUNS\n");
      return 2;
    }
  int runs = atoi (argv[2]);
  if (runs < 1 || runs > 10000)
    runs = 10;
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  if (scenario_load (argv[1], &sc, &err) < 0)
    die_err (argv[1], &err);
  size_t n = sc->n_nodes;
  if (n > MAX_NODES)
    return 2;
  char *ns[MAX_NODES], *made[MAX_NODES];
  for (size_t i = 0; i < n; i++)
    {
      ns[i] = malloc (32);
      snprintf (ns[i], 32, "sp-node-%zu", i);
    }
  node_payloads (sc, made, n);
  long bytes = (long) strlen (made[0]);
  long *tot = calloc ((size_t) runs, sizeof *tot), *gen = calloc ((size_t) runs, sizeof *gen),
       *floor_us = calloc ((size_t) runs, sizeof *floor_us);
  for (int r = 0; r < runs; r++)
    {
      char *pl[MAX_NODES];
      fresh (ns, n);
      long t0 = now_us ();
      node_payloads (sc, pl, n);
      long t1 = now_us ();
      restore_all (ns, pl, n);
      long t2 = now_us ();
      tot[r] = t2 - t0;
      gen[r] = t1 - t0;
      for (size_t i = 0; i < n; i++)
        free (pl[i]);
      fresh (ns, n);
      long t3 = now_us ();
      restore_all (ns, made, n);
      floor_us[r] = now_us () - t3;
    }
  for (size_t i = 0; i < n; i++)
    {
      netns_delete (ns[i], &err);
      free (ns[i]);
      free (made[i]);
    }
  size_t svc = 0;
  for (size_t i = 0; i < sc->n_services; i++)
    svc += !sc->services[i].implicit;
  printf ("%zu %ld %ld %ld %ld\n", svc, median (tot, runs), median (gen, runs), median (floor_us, runs), bytes);
  scenario_free (sc);
  free (tot);
  free (gen);
  free (floor_us);
  return 0;
}
