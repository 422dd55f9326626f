/* make bench: kube-proxy's payload, generated and applied, against the
 * kernel tool loading the same text (issue 8, Performance).
 *
 *   kpgen LAB.ini RUNS
 *
 * For each proxy mode (iptables, nftables) the lab is re-planned with that
 * mode, and RUNS times, each into a fresh network namespace (created and
 * deleted outside the timing):
 *   gen    the node's kube-proxy payload from the model: the service part
 *          (kube_proxy_services / kube_proxy_nft_services) and node 0's
 *          payload (iptables_node_payload_with / nftables_node_payload)
 *   apply  what nslab does with it: iptables-restore --noflush (a child
 *          fed through a pipe) / one libnftables transaction in place
 *   floor  the tool alone on the same text, from a file:
 *          `iptables-restore --noflush FILE` / `nft -f FILE`, exec'd in
 *          the namespace
 * Then, nftables mode only, the control loop's partial resync for one
 * endpoint change (the last deployment 2 -> 3 -> 2 replicas): re-plan
 * (model + payload), kube_proxy_nft_sync_payload, one libnftables run.
 * Prints one line per mode of medians in microseconds:
 *   MODE gen_us apply_us floor_us payload_bytes
 * and
 *   nft-sync total_us replan_us diff_us apply_us transaction_bytes
 * Needs root, inside the bench's sandbox. */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "k8s/model.h"
#include "kernel/iptables.h"
#include "kernel/netns.h"
#include "kernel/nftables.h"
#include "plan/kube_proxy_iptables.h"
#include "plan/kube_proxy_nftables.h"
#include "scenario/scenario.h"

#define BENCH_NAME "kpgen"
#include "bench.h"

/* PROG ARGV... inside namespace NS; exits on failure. */
static void
run_in_ns (const char *ns, char *const argv[])
{
  nslab_error_t err = NULL;
  int fd = netns_open (ns, &err);
  if (fd < 0)
    die_err ("netns_open", &err);
  pid_t pid = fork ();
  if (pid == 0)
    {
      if (setns (fd, CLONE_NEWNET) < 0)
        _exit (126);
      execvp (argv[0], argv);
      _exit (127);
    }
  int st = 0;
  waitpid (pid, &st, 0);
  close (fd);
  if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
    {
      fprintf (stderr, "kpgen: %s failed (status %d)\n", argv[0], st);
      exit (1);
    }
}

static char *
gen (const struct model *m, enum proxy_mode mode)
{
  if (mode == PROXY_IPTABLES)
    {
      struct kube_proxy_services *ks = kube_proxy_services (m);
      char *p = iptables_node_payload_with (m, 0, ks);
      kube_proxy_services_free (ks);
      return p;
    }
  struct kube_proxy_nft *ks = kube_proxy_nft_services (m);
  char *p = nftables_node_payload (m, 0, ks);
  kube_proxy_nft_free (ks);
  return p;
}

static void
bench_mode (struct scenario *sc, enum proxy_mode mode, int runs)
{
  nslab_error_t err = NULL;
  sc->cluster.proxy_mode = mode;
  struct model *m = NULL;
  if (model_build (sc, &m, &err) < 0)
    die_err ("model_build", &err);
  long *tg = calloc ((size_t) runs, sizeof *tg), *ta = calloc ((size_t) runs, sizeof *ta),
       *tf = calloc ((size_t) runs, sizeof *tf);
  char file[] = "/tmp/kpgen-XXXXXX";
  int fd = mkstemp (file);
  size_t bytes = 0;
  for (int r = 0; r < runs; r++)
    {
      long t0 = now_us ();
      char *payload = gen (m, mode);
      long t1 = now_us ();
      tg[r] = t1 - t0;
      bytes = strlen (payload);
      if (r == 0 && (ftruncate (fd, 0) < 0 || write (fd, payload, bytes) != (ssize_t) bytes))
        {
          perror ("kpgen: write");
          exit (1);
        }
      if (netns_create ("kpgen-a", &err) < 0 || netns_create ("kpgen-f", &err) < 0)
        die_err ("netns", &err);
      t0 = now_us ();
      if (mode == PROXY_IPTABLES ? iptables_restore ("kpgen-a", payload, &err) : nftables_run ("kpgen-a", payload, &err))
        die_err ("apply", &err);
      t1 = now_us ();
      ta[r] = t1 - t0;
      char *ipt[] = { (char *) "iptables-restore", (char *) "--noflush", file, NULL };
      char *nft[] = { (char *) "nft", (char *) "-f", file, NULL };
      t0 = now_us ();
      run_in_ns ("kpgen-f", mode == PROXY_IPTABLES ? ipt : nft);
      t1 = now_us ();
      tf[r] = t1 - t0;
      if (netns_delete ("kpgen-a", &err) < 0 || netns_delete ("kpgen-f", &err) < 0)
        die_err ("netns", &err);
      free (payload);
    }
  close (fd);
  unlink (file);
  printf ("%s %ld %ld %ld %zu\n", mode == PROXY_IPTABLES ? "iptables" : "nftables", median (tg, runs),
          median (ta, runs), median (tf, runs), bytes);
  free (tg);
  free (ta);
  free (tf);
  model_free (m);
}

static char *
plan_node0 (const struct scenario *sc)
{
  struct model *m = NULL;
  nslab_error_t err = NULL;
  if (model_build (sc, &m, &err) < 0)
    die_err ("model_build", &err);
  char *p = gen (m, PROXY_NFTABLES);
  model_free (m);
  return p;
}

static void
bench_nft_sync (struct scenario *sc, int runs)
{
  nslab_error_t err = NULL;
  sc->cluster.proxy_mode = PROXY_NFTABLES;
  struct workload_def *w = &sc->workloads[sc->n_workloads - 1];
  int base = w->replicas;
  char *cur = plan_node0 (sc);
  if (netns_create ("kpgen-s", &err) < 0 || nftables_run ("kpgen-s", cur, &err) < 0)
    die_err ("initial apply", &err);
  long *tt = calloc ((size_t) runs, sizeof *tt), *tp = calloc ((size_t) runs, sizeof *tp),
       *td = calloc ((size_t) runs, sizeof *td), *ta = calloc ((size_t) runs, sizeof *ta);
  size_t bytes = 0;
  for (int r = 0; r < runs; r++)
    {
      w->replicas = base + (r % 2 == 0);
      long t0 = now_us ();
      char *next = plan_node0 (sc);
      long t1 = now_us ();
      char *tx = NULL;
      if (kube_proxy_nft_sync_payload (cur, next, false, &tx, &err) < 0)
        die_err ("sync", &err);
      long t2 = now_us ();
      if (tx && nftables_run ("kpgen-s", tx, &err) < 0)
        die_err ("sync apply", &err);
      long t3 = now_us ();
      tp[r] = t1 - t0;
      td[r] = t2 - t1;
      ta[r] = t3 - t2;
      tt[r] = t3 - t0;
      bytes = tx ? strlen (tx) : 0;
      free (tx);
      free (cur);
      cur = next;
    }
  w->replicas = base;
  if (netns_delete ("kpgen-s", &err) < 0)
    die_err ("netns", &err);
  printf ("nft-sync %ld %ld %ld %ld %zu\n", median (tt, runs), median (tp, runs), median (td, runs),
          median (ta, runs), bytes);
  free (cur);
  free (tt);
  free (tp);
  free (td);
  free (ta);
}

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, "usage: kpgen LAB.ini RUNS\n");
      return 2;
    }
  int runs = atoi (argv[2]);
  if (runs < 1 || runs > 1000)
    runs = 5;
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  if (scenario_load (argv[1], &sc, &err) < 0)
    die_err (argv[1], &err);
  bench_mode (sc, PROXY_IPTABLES, runs);
  bench_mode (sc, PROXY_NFTABLES, runs);
  bench_nft_sync (sc, runs);
  scenario_free (sc);
  return 0;
}
