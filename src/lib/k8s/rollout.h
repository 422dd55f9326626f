/* The Deployment controller's rolling-update arithmetic (kubernetes
 * pkg/controller/deployment: util/deployment_util.go ResolveFenceposts,
 * MaxUnavailable, MaxSurge, NewRSNewReplicas; rolling.go
 * reconcileNewReplicaSet, reconcileOldReplicaSets, cleanupUnhealthyReplicas,
 * scaleDownOldReplicaSetsForRollingUpdate): how far one sync may scale a
 * Deployment's new ReplicaSet up and its old ones down. Pure integers: no
 * store, no JSON; the control loop feeds it the ReplicaSets it holds. */
#ifndef NSLAB_K8S_ROLLOUT_H
#define NSLAB_K8S_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>

/* An IntOrString of spec.strategy.rollingUpdate: unset (the field is
 * absent), a count, or a percentage of spec.replicas. */
struct rollout_amount {
  bool set;
  bool percent;
  int value;
};

/* "25%" -> a percentage, as intstr.FromString; anything without a trailing
 * '%' or whose number does not parse is refused (-1), as
 * GetScaledValueFromIntOrPercent refuses it. */
int rollout_amount_parse (const char *s, struct rollout_amount *out);

/* GetScaledValueFromIntOrPercent: a count as is; a percentage of TOTAL
 * rounded up (ROUND_UP) or down. An unset amount is 0 (ValueOrDefault). */
int rollout_scaled_value (struct rollout_amount a, int total, bool round_up);

/* ResolveFenceposts: maxSurge rounded up, maxUnavailable rounded down; when
 * both come to 0, maxUnavailable is 1 (a surge may be refused by quota). */
void rollout_fenceposts (struct rollout_amount max_surge, struct rollout_amount max_unavailable, int desired,
                         int *surge, int *unavailable);

/* A Deployment's strategy as far as the arithmetic goes. */
struct rollout_strategy {
  bool recreate; /* type Recreate; otherwise RollingUpdate */
  struct rollout_amount max_surge, max_unavailable;
};

/* MaxUnavailable: 0 for Recreate or 0 replicas, never more than DESIRED. */
int rollout_max_unavailable (const struct rollout_strategy *st, int desired);
/* MaxSurge: 0 for Recreate. The max-replicas annotation is DESIRED + this. */
int rollout_max_surge (const struct rollout_strategy *st, int desired);

/* What of a Deployment's spec its status shows, as its controller read
 * it: MaxSurge and MaxUnavailable for spec.replicas (the max-replicas
 * annotation is replicas + max_surge; Available is at least replicas -
 * max_unavailable pods available), and spec.paused. */
struct rollout_spec {
  int max_surge, max_unavailable;
  bool paused;
  /* progress.go DeploymentTimedOut: spec.progressDeadlineSeconds went by
   * without the rollout progressing */
  bool deadline_exceeded;
};

/* ST resolved for DESIRED replicas. */
struct rollout_spec rollout_spec_of (const struct rollout_strategy *st, int desired, bool paused);
/* A Deployment's as the API server defaults it (RollingUpdate 25 %% /
 * 25 %%, not paused): what its status shows before the loop read it. */
struct rollout_spec rollout_spec_default (int desired);

/* A ReplicaSet as the controller sees it: spec.replicas and
 * status.availableReplicas. */
struct rollout_rs {
  int replicas;
  int available;
};

/* NewRSNewReplicas: the new ReplicaSet's replicas for a scale-up.
 * ALL_REPLICAS is the sum of spec.replicas over the Deployment's
 * ReplicaSets. Recreate: DESIRED; RollingUpdate: up to DESIRED + maxSurge
 * pods in all, never above DESIRED for the new one, never down. */
int rollout_new_rs_new_replicas (const struct rollout_strategy *st, int desired, int all_replicas,
                                 int new_rs_replicas);

/* reconcileNewReplicaSet: the new ReplicaSet's replicas after this sync
 * (ALL_REPLICAS includes the new one): DESIRED when it has that many or
 * more, else rollout_new_rs_new_replicas. */
int rollout_reconcile_new (const struct rollout_strategy *st, int desired, int all_replicas, int new_rs_replicas);

/* cleanupUnhealthyReplicas: OLD (oldest first) lose their unavailable
 * replicas, at most MAX_CLEANUP in all. Returns how many went. */
int rollout_cleanup_unhealthy (struct rollout_rs *old, size_t n_old, int max_cleanup);

/* scaleDownOldReplicaSetsForRollingUpdate: OLD (oldest first) shrink while
 * more pods are available (over OLD and NEW; NEW may be NULL) than
 * DESIRED - MAX_UNAVAILABLE. Returns how many went. */
int rollout_scale_down_old (struct rollout_rs *old, size_t n_old, const struct rollout_rs *new_rs, int desired,
                            int max_unavailable);

/* reconcileOldReplicaSets: as many old pods go as keep DESIRED -
 * MAX_UNAVAILABLE available, counting the new ReplicaSet's unavailable
 * pods as missing; unhealthy ones first. OLD's replicas are updated in
 * place; returns how many went. */
int rollout_reconcile_old (struct rollout_rs *old, size_t n_old, const struct rollout_rs *new_rs, int desired,
                           int max_unavailable);

#endif
