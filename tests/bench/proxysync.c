/* make bench: kube-proxy's resync on a lab's nodes (issue 7, Performance).
 *
 *   proxysync LAB.ini RUNS
 *
 * Loads LAB (the bench's 3 nodes x S services x 2 endpoints), plans it,
 * restores each node's payload into a namespace of its own (ps-node-0..),
 * then RUNS times changes one endpoint (the last deployment 2 -> 3 -> 2
 * replicas, in the loaded scenario as the control loop would hold it) and
 * times, from the changed input to the rules in place on every node:
 *   plan     model_build + plan_from_model (the re-plan)
 *   diff     kube_proxy_sync_digest per node, from the digest of what the
 *            node holds to the new payload and its digest (as the control
 *            loop keeps and syncs each node's rules)
 *   restore  iptables-restore --noflush, the nodes in parallel
 * and RUNS times a full sync (re-plan, full diff, restore). Prints one line
 *   S partial_us plan_us diff_us restore_us full_us full_plan_us full_diff_us full_restore_us partial_bytes full_bytes payload_bytes
 * of medians. Needs root, inside the bench's sandbox (it makes /run/netns
 * entries); checks the nodes end equal to a fresh restore of the last plan. */
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

#define BENCH_NAME "proxysync"
#include "bench.h"

static void
restore_all (char **ns, char **payload, size_t n)
{
  struct child_job jobs[16];
  nslab_error_t err = NULL;
  for (size_t i = 0; i < n; i++)
    if (payload[i] && iptables_restore_start (ns[i], payload[i], &jobs[i], &err) < 0)
      die_err ("restore", &err);
  for (size_t i = 0; i < n; i++)
    if (payload[i] && iptables_restore_finish (&jobs[i], &err) < 0)
      die_err ("restore", &err);
}

/* One sync of every node from cur[] (digests dg[]) to the scenario as it
   is now; cur[] and dg[] become the new payloads' and digests. Stage times
   added to t[0..2]; bytes to *bytes. */
static void
sync_nodes (const struct scenario *sc, char **ns, char **cur, struct kube_proxy_digest **dg, size_t n, bool full,
            long t[3], long *bytes)
{
  char *next[16] = { 0 }, *in[16] = { 0 };
  nslab_error_t err = NULL;
  long t0 = now_us ();
  node_payloads (sc, next, n);
  long t1 = now_us ();
  for (size_t i = 0; i < n; i++)
    {
      struct kube_proxy_digest *nd = NULL;
      if (kube_proxy_sync_digest (dg[i], next[i], full, &in[i], &nd, &err) < 0)
        die_err ("kube_proxy_sync_digest", &err);
      kube_proxy_digest_free (dg[i]);
      dg[i] = nd;
      *bytes += in[i] ? (long) strlen (in[i]) : 0;
    }
  long t2 = now_us ();
  restore_all (ns, in, n);
  long t3 = now_us ();
  t[0] += t1 - t0;
  t[1] += t2 - t1;
  t[2] += t3 - t2;
  for (size_t i = 0; i < n; i++)
    {
      free (in[i]);
      free (cur[i]);
      cur[i] = next[i];
    }
}

static char *
save_stripped (const char *ns)
{
  char *text = NULL;
  nslab_error_t err = NULL;
  if (iptables_save (ns, NULL, &text, &err) < 0)
    die_err ("iptables-save", &err);
  /* Drop comments and counters. */
  char *o = text;
  for (char *l = text; *l;)
    {
      char *nl = strchr (l, '\n');
      size_t len = nl ? (size_t) (nl - l + 1) : strlen (l);
      if (l[0] != '#')
        {
          memmove (o, l, len);
          if (o[0] == ':')
            {
              char *br = memchr (o, '[', len);
              if (br)
                {
                  *br = '\n';
                  len = (size_t) (br - o + 1);
                }
            }
          o += len;
        }
      l += len;
    }
  *o = '\0';
  return text;
}

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, "usage: proxysync LAB.ini RUNS\n");
      return 2;
    }
  int runs = atoi (argv[2]);
  if (runs < 1 || runs > 10000)
    runs = 10;
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  if (scenario_load (argv[1], &sc, &err) < 0)
    die_err (argv[1], &err);
  struct workload_def *w = &sc->workloads[sc->n_workloads - 1];
  size_t n = sc->n_nodes;
  if (n > 16)
    return 2;
  char *ns[16], *cur[16] = { 0 };
  for (size_t i = 0; i < n; i++)
    {
      ns[i] = malloc (32);
      snprintf (ns[i], 32, "ps-node-%zu", i);
      if (netns_create (ns[i], &err) < 0)
        die_err ("netns", &err);
    }
  node_payloads (sc, cur, n);
  struct kube_proxy_digest *dg[16] = { 0 };
  for (size_t i = 0; i < n; i++)
    if (kube_proxy_digest_new (cur[i], &dg[i], &err) < 0)
      die_err ("kube_proxy_digest_new", &err);
  long payload_bytes = (long) strlen (cur[0]);
  restore_all (ns, cur, n);

  long *tot = calloc ((size_t) runs, sizeof *tot), *st[3], *ftot = calloc ((size_t) runs, sizeof *ftot), *fst[3];
  for (int k = 0; k < 3; k++)
    {
      st[k] = calloc ((size_t) runs, sizeof (long));
      fst[k] = calloc ((size_t) runs, sizeof (long));
    }
  long pbytes = 0, fbytes = 0;
  int base = w->replicas;
  for (int r = 0; r < runs; r++)
    {
      long t[3] = { 0, 0, 0 }, b = 0;
      w->replicas = base + (r % 2 == 0); /* one endpoint more, then back */
      sync_nodes (sc, ns, cur, dg, n, false, t, &b);
      tot[r] = t[0] + t[1] + t[2];
      for (int k = 0; k < 3; k++)
        st[k][r] = t[k];
      pbytes = b;
    }
  for (int r = 0; r < runs; r++)
    {
      long t[3] = { 0, 0, 0 }, b = 0;
      sync_nodes (sc, ns, cur, dg, n, true, t, &b);
      ftot[r] = t[0] + t[1] + t[2];
      for (int k = 0; k < 3; k++)
        fst[k][r] = t[k];
      fbytes = b;
    }

  /* The nodes hold what a fresh restore of the last plan gives. */
  if (netns_create ("ps-fresh", &err) < 0)
    die_err ("netns", &err);
  char *fresh[1] = { cur[0] }, *fns[1] = { (char *) "ps-fresh" };
  restore_all (fns, fresh, 1);
  char *want = save_stripped ("ps-fresh");
  for (size_t i = 0; i < n; i++)
    {
      char *got = save_stripped (ns[i]);
      /* Nodes differ (flannel's pod CIDR), so compare the nat KUBE- lines
         of node 0 only, and that every node restored without error. */
      if (i == 0 && strcmp (got, want) != 0)
        {
          fprintf (stderr, "proxysync: node 0 differs from a fresh restore of its plan\n");
          return 1;
        }
      free (got);
    }
  free (want);
  netns_delete ("ps-fresh", &err);
  for (size_t i = 0; i < n; i++)
    {
      netns_delete (ns[i], &err);
      free (ns[i]);
      free (cur[i]);
      kube_proxy_digest_free (dg[i]);
    }

  size_t svc = 0;
  for (size_t i = 0; i < sc->n_services; i++)
    svc += !sc->services[i].implicit;
  printf ("%zu %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld\n", svc, median (tot, runs), median (st[0], runs),
          median (st[1], runs), median (st[2], runs), median (ftot, runs), median (fst[0], runs),
          median (fst[1], runs), median (fst[2], runs), pbytes / (long) n, fbytes / (long) n, payload_bytes);
  scenario_free (sc);
  return 0;
}
