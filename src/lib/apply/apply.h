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
/* Check (state_check_conflicts, under the state root's lock, together with
 * creating the record), then apply. scenario_path is recorded for
 * information. */
int apply_plan (const struct plan *p, const char *scenario_path, nslab_error_t *err);
/* Apply some ops to a running lab (the pods its control loop adds), each
 * namespace and process recorded in W's journal first, as at up. No
 * rollback: the caller tears down the namespaces it asked for on failure. */
struct state_writer;
int apply_ops (struct state_writer *w, const struct plan_op *ops, size_t n, nslab_error_t *err);
/* Undo applied ops of a running lab whose namespace stays (a node's
 * address an L2 announcer gave up): only OP_ADDR can be withdrawn. */
int withdraw_ops (const struct plan_op *ops, size_t n, nslab_error_t *err);

#endif
