/* What must hold before a lab is created, checked against the host and
 * every other lab's record under the state root's lock, so that two `up`s
 * at the same instant cannot both pass the check and then both create. */
#ifndef NSLAB_STATE_CONFLICTS_H
#define NSLAB_STATE_CONFLICTS_H

#include "base/error.h"
#include "plan/plan.h"
#include "state/journal.h"

/* The lab is not up, none of its namespace names exist, no host-only
 * network overlaps one of a lab that is up. Meaningful only while the
 * caller holds state_root_lock (up does, through state_create_checked). */
int state_check_conflicts (const struct plan *p, nslab_error_t *err);
/* Take the root lock, check, create the lab's record (state_create_locked)
 * with the records the check reads (counts, lab host, networks), release
 * the root lock. */
int state_create_checked (const struct plan *p, const char *scenario, struct state_writer **out,
                          nslab_error_t *err);

#endif
