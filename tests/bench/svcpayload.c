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

#define MAX_NODES 16

static void __attribute__ ((noreturn))
die_err (const char *what, nslab_error_t *err)
{
  fprintf (stderr, "svcpayload: %s: %s\n", what, *err ? (*err)->msg : "failed");
  exit (1);
}

static long
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static int
cmp_long (const void *a, const void *b)
{
  long x = *(const long *) a, y = *(const long *) b;
  return (x > y) - (x < y);
}

static long
median (long *v, int n)
{
  qsort (v, (size_t) n, sizeof *v, cmp_long);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Every node's payload, as plan_build writes it (strdup'd into pl[]). */
static void
generate (const struct scenario *sc, char **pl, size_t n)
{
  struct model *m = NULL;
  nslab_error_t err = NULL;
  if (model_build (sc, &m, &err) < 0)
    die_err ("model_build", &err);
  struct plan *p = plan_from_model (m);
  for (size_t i = 0; i < n; i++)
    {
      const char *x = kube_proxy_plan_payload (p, m->netns[m->nodes[i].netns].name);
      if (x == NULL)
        {
          fprintf (stderr, "svcpayload: node %zu has no iptables op\n", i);
          exit (1);
        }
      pl[i] = strdup (x);
    }
  plan_free (p);
  model_free (m);
}

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
  struct ipt_job jobs[MAX_NODES];
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
  generate (sc, made, n);
  long bytes = (long) strlen (made[0]);
  long *tot = calloc ((size_t) runs, sizeof *tot), *gen = calloc ((size_t) runs, sizeof *gen),
       *floor_us = calloc ((size_t) runs, sizeof *floor_us);
  for (int r = 0; r < runs; r++)
    {
      char *pl[MAX_NODES];
      fresh (ns, n);
      long t0 = now_us ();
      generate (sc, pl, n);
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
