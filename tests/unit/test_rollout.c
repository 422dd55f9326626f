/* The rolling-update arithmetic against the cases of Kubernetes' own unit
 * tests: pkg/controller/deployment/util/deployment_util_test.go
 * (TestResolveFenceposts, TestMaxUnavailable, TestNewRSNewReplicas) and
 * pkg/controller/deployment/rolling_test.go (reconcileNewReplicaSet,
 * reconcileOldReplicaSets, cleanupUnhealthyReplicas,
 * scaleDownOldReplicaSetsForRollingUpdate), each row as it stands there. */
#include "unit.h"

#include "k8s/rollout.h"

static struct rollout_amount
count (int v)
{
  return (struct rollout_amount) { .set = true, .value = v };
}

static struct rollout_amount
pct (const char *s)
{
  struct rollout_amount a;
  ck_assert_int_eq (rollout_amount_parse (s, &a), 0);
  return a;
}

static const struct rollout_amount unset = { 0 };

START_TEST (test_resolve_fenceposts)
{
  /* TestResolveFenceposts: "oops" and "urg" are errors there. */
  struct rollout_amount a;
  ck_assert_int_eq (rollout_amount_parse ("oops", &a), -1);
  ck_assert_int_eq (rollout_amount_parse ("urg", &a), -1);
  ck_assert_int_eq (rollout_amount_parse ("%", &a), -1);
  ck_assert_int_eq (rollout_amount_parse ("1x%", &a), -1);
  static const struct { const char *surge, *unavail; int desired, want_surge, want_unavail; } v[] = {
    { "0%", "0%", 0, 0, 1 },   { "39%", "39%", 10, 4, 3 }, { NULL, "39%", 10, 0, 3 },
    { "39%", NULL, 10, 4, 0 }, { NULL, NULL, 10, 0, 1 },
    /* The API defaults (25%/25%) at small sizes, as kubectl describe shows. */
    { "25%", "25%", 2, 1, 0 }, { "25%", "25%", 3, 1, 0 }, { "25%", "25%", 4, 1, 1 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    {
      int s, u;
      rollout_fenceposts (v[i].surge ? pct (v[i].surge) : unset, v[i].unavail ? pct (v[i].unavail) : unset,
                          v[i].desired, &s, &u);
      ck_assert_msg (s == v[i].want_surge && u == v[i].want_unavail, "#%zu got %d:%d, want %d:%d", i, s, u,
                     v[i].want_surge, v[i].want_unavail);
    }
}
END_TEST

START_TEST (test_max_unavailable)
{
  static const struct { int replicas; int unavail; const char *unavail_pct; int want; } v[] = {
    { 10, 5, NULL, 5 },      { 10, 10, NULL, 10 },  { 5, 10, NULL, 5 },      { 0, 10, NULL, 0 },
    { 10, 0, "50%", 5 },     { 10, 0, "100%", 10 }, { 5, 0, "100%", 5 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    {
      struct rollout_strategy st = { .max_surge = count (1),
                                     .max_unavailable = v[i].unavail_pct ? pct (v[i].unavail_pct) : count (v[i].unavail) };
      ck_assert_int_eq (rollout_max_unavailable (&st, v[i].replicas), v[i].want);
    }
  struct rollout_strategy recreate = { .recreate = true };
  ck_assert_int_eq (rollout_max_unavailable (&recreate, 0), 0);
  ck_assert_int_eq (rollout_max_surge (&recreate, 10), 0);
}
END_TEST

START_TEST (test_new_rs_new_replicas)
{
  /* TestNewRSNewReplicas: allRSs holds only rs5 (5 replicas), not the new
   * one; maxUnavailable 1. */
  static const struct { bool recreate; int dep, new_rs, surge, want; } v[] = {
    { false, 1, 5, 1, 5 }, /* can not scale up - to newRSReplicas */
    { false, 6, 2, 10, 6 }, /* scale up - to depReplicas */
    { true, 3, 1, 1, 3 },   /* recreate - to depReplicas */
  };
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    {
      struct rollout_strategy st = { .recreate = v[i].recreate, .max_surge = count (v[i].surge),
                                     .max_unavailable = count (1) };
      ck_assert_int_eq (rollout_new_rs_new_replicas (&st, v[i].dep, 5, v[i].new_rs), v[i].want);
    }
}
END_TEST

START_TEST (test_reconcile_new_replica_set)
{
  /* rolling_test.go TestDeploymentController_reconcileNewReplicaSet:
   * maxUnavailable 0, allRSs = {new, old}. want -1: no scaling. */
  static const struct { int dep, surge, old, new_rs, want; } v[] = {
    { 10, 0, 10, 0, -1 }, { 10, 2, 10, 0, 2 }, { 10, 2, 5, 0, 7 }, { 10, 2, 10, 2, -1 }, { 10, 2, 2, 11, 10 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    {
      struct rollout_strategy st = { .max_surge = count (v[i].surge), .max_unavailable = count (0) };
      int got = rollout_reconcile_new (&st, v[i].dep, v[i].old + v[i].new_rs, v[i].new_rs);
      ck_assert_msg (got == (v[i].want < 0 ? v[i].new_rs : v[i].want), "#%zu: %d", i, got);
    }
}
END_TEST

START_TEST (test_reconcile_old_replica_sets)
{
  /* TestDeploymentController_reconcileOldReplicaSets: maxSurge 0. The
   * expected old replicas are the test's expectedOldReplicas (it checks
   * only that a scale happened; the rows state the sizes). */
  static const struct { int dep, unavail, old, new_rs, ready_old, ready_new, want_old; bool scaled; } v[] = {
    { 10, 0, 10, 0, 10, 0, 9, true }, { 10, 2, 10, 0, 10, 0, 8, true }, { 10, 2, 10, 0, 8, 0, 8, true },
    { 10, 2, 10, 0, 9, 0, 8, true },  { 10, 2, 8, 2, 8, 0, 8, false },
  };
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    {
      struct rollout_strategy st = { .max_surge = count (0), .max_unavailable = count (v[i].unavail) };
      struct rollout_rs old = { v[i].old, v[i].ready_old }, nrs = { v[i].new_rs, v[i].ready_new };
      int n = rollout_reconcile_old (&old, 1, &nrs, v[i].dep, rollout_max_unavailable (&st, v[i].dep));
      ck_assert_msg ((n > 0) == v[i].scaled && old.replicas == v[i].want_old, "#%zu: %d gone, old %d", i, n,
                     old.replicas);
    }
}
END_TEST

START_TEST (test_cleanup_unhealthy_replicas)
{
  static const struct { int old, ready, max_cleanup, want; } v[] = {
    { 10, 8, 1, 1 }, { 10, 8, 3, 2 }, { 10, 8, 0, 0 }, { 10, 10, 3, 0 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    {
      struct rollout_rs old = { v[i].old, v[i].ready };
      ck_assert_int_eq (rollout_cleanup_unhealthy (&old, 1, v[i].max_cleanup), v[i].want);
      ck_assert_int_eq (old.replicas, v[i].old - v[i].want);
    }
}
END_TEST

START_TEST (test_scale_down_old_for_rolling_update)
{
  /* maxSurge 0; allRSs = oldRSs = {old}. want -1: no scaling. */
  static const struct { int dep, unavail, ready, old, want; } v[] = {
    { 10, 0, 10, 10, 9 }, { 10, 2, 10, 10, 8 }, { 10, 2, 8, 10, -1 }, { 10, 2, 10, 0, -1 }, { 10, 2, 1, 10, -1 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    {
      struct rollout_strategy st = { .max_surge = count (0), .max_unavailable = count (v[i].unavail) };
      struct rollout_rs old = { v[i].old, v[i].ready };
      int n = rollout_scale_down_old (&old, 1, NULL, v[i].dep, rollout_max_unavailable (&st, v[i].dep));
      if (v[i].want < 0)
        ck_assert_msg (n == 0 && old.replicas == v[i].old, "#%zu scaled %d", i, n);
      else
        ck_assert_msg (n > 0 && old.replicas == v[i].want, "#%zu: old %d", i, old.replicas);
    }
}
END_TEST

/* A whole rollout of web (2 replicas, 25%/25%) as syncs with every new pod
 * ready at once: the steps a cluster shows in its events (Scaled up ... from
 * 0 to 1, Scaled down ... from 2 to 1, from 1 to 2, from 1 to 0). */
START_TEST (test_two_replica_rollout_steps)
{
  struct rollout_strategy st = { .max_surge = pct ("25%"), .max_unavailable = pct ("25%") };
  struct rollout_rs old = { 2, 2 }, nrs = { 0, 0 };
  int mu = rollout_max_unavailable (&st, 2);
  ck_assert_int_eq (mu, 0);
  ck_assert_int_eq (rollout_max_surge (&st, 2), 1);
  static const int want[][2] = { { 1, 2 }, { 1, 1 }, { 2, 1 }, { 2, 0 } }; /* new, old after each step */
  for (size_t step = 0; step < ARRAY_SIZE (want); step++)
    {
      if (step % 2 == 0)
        nrs.replicas = rollout_reconcile_new (&st, 2, old.replicas + nrs.replicas, nrs.replicas);
      else
        rollout_reconcile_old (&old, 1, &nrs, 2, mu);
      nrs.available = nrs.replicas;
      old.available = old.replicas;
      ck_assert_msg (nrs.replicas == want[step][0] && old.replicas == want[step][1], "step %zu: new %d old %d", step,
                     nrs.replicas, old.replicas);
    }
  /* A new pod not yet ready holds the old one back. */
  struct rollout_rs o2 = { 2, 2 }, n2 = { 1, 0 };
  ck_assert_int_eq (rollout_reconcile_old (&o2, 1, &n2, 2, mu), 0);
  ck_assert_int_eq (o2.replicas, 2);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("rollout");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_resolve_fenceposts);
  tcase_add_test (tc, test_max_unavailable);
  tcase_add_test (tc, test_new_rs_new_replicas);
  tcase_add_test (tc, test_reconcile_new_replica_set);
  tcase_add_test (tc, test_reconcile_old_replica_sets);
  tcase_add_test (tc, test_cleanup_unhealthy_replicas);
  tcase_add_test (tc, test_scale_down_old_for_rolling_update);
  tcase_add_test (tc, test_two_replica_rollout_steps);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
