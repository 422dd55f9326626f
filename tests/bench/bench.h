/* What the C benchmarks share: exits with the program's name, a
 * monotonic clock in microseconds, medians, and every node's kube-proxy
 * payload as the plan writes it. Define BENCH_NAME ("proxysync") first. */
#ifndef NSLAB_BENCH_H
#define NSLAB_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "k8s/model.h"
#include "plan/kube_proxy_sync.h"
#include "plan/plan.h"
#include "scenario/scenario.h"

static inline void __attribute__ ((noreturn))
die_err (const char *what, nslab_error_t *err)
{
  fprintf (stderr, BENCH_NAME ": %s: %s\n", what, *err ? (*err)->msg : "failed");
  exit (1);
}

static inline long
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static inline int
cmp_long (const void *a, const void *b)
{
  long x = *(const long *) a, y = *(const long *) b;
  return (x > y) - (x < y);
}

static inline long
median (long *v, int n)
{
  qsort (v, (size_t) n, sizeof *v, cmp_long);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Every node's payload, as plan_build writes it (strdup'd into pl[]). */
static inline void
node_payloads (const struct scenario *sc, char **pl, size_t n_nodes)
{
  struct model *m = NULL;
  nslab_error_t err = NULL;
  if (model_build (sc, &m, &err) < 0)
    die_err ("model_build", &err);
  struct plan *p = plan_from_model (m);
  for (size_t i = 0; i < n_nodes; i++)
    {
      const char *x = kube_proxy_plan_payload (p, m->netns[m->nodes[i].netns].name);
      if (x == NULL)
        {
          fprintf (stderr, BENCH_NAME ": node %zu has no iptables op\n", i);
          exit (1);
        }
      pl[i] = strdup (x);
    }
  plan_free (p);
  model_free (m);
}

#endif
