/* Performing a plan on the kernel: ops front to back, each namespace and
 * process recorded in the lab's state journal before it is created. A
 * failure rolls back by tearing down what was recorded, so a failed up
 * leaves nothing, and so does Ctrl-C (SIGINT, SIGTERM, SIGHUP), which stops
 * at the next op and rolls back. NSLAB_TEST_CRASH_AFTER=N (tests only)
 * raises SIGKILL after N ops to prove `down` copes with any interruption;
 * with NSLAB_TEST_CRASH_SIGNAL=INT it raises SIGINT instead. */
#ifndef NSLAB_APPLY_H
#define NSLAB_APPLY_H

#include "base/error.h"
#include "plan/plan.h"

/* Needs CAP_NET_ADMIN and CAP_SYS_ADMIN: "needs root: CAP_NET_ADMIN +
 * CAP_SYS_ADMIN" otherwise. */
int apply_check_privileges (nslab_error_t *err);
struct state_writer;
/* What may start beside the pods: called once with the lab's journal,
 * when its namespaces, links and rules are made and its store is written,
 * before its first process starts (or after the last op if it has none).
 * Whatever it starts it records in W; a later failure tears it down with
 * the rest. (up's API server: its start and PKI overlap the pods'.) */
struct apply_hook {
  int (*before_processes) (struct state_writer *w, void *arg, nslab_error_t *err);
  void *arg;
};
/* Check (state_check_conflicts, under the state root's lock, together with
 * creating the record), then apply. scenario_path is recorded for
 * information; HOOK may be NULL. */
int apply_plan (const struct plan *p, const char *scenario_path, const struct apply_hook *hook, nslab_error_t *err);
/* Apply some ops to a running lab (the pods its control loop adds), each
 * namespace and process recorded in W's journal first, as at up. No
 * rollback: the caller tears down the namespaces it asked for on failure. */
int apply_ops (struct state_writer *w, const struct plan_op *ops, size_t n, nslab_error_t *err);
/* Undo applied ops of a running lab whose namespace stays (a node's
 * address an L2 announcer gave up): only OP_ADDR can be withdrawn. */
int withdraw_ops (const struct plan_op *ops, size_t n, nslab_error_t *err);

#endif
