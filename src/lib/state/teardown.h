/* Taking a lab down from its state record alone: kill the recorded
 * processes (only if pid and start time still match; the nodes first, which
 * takes everything in their PID namespaces along), delete the recorded
 * namespaces (newest first), remove the state dir. Objects already gone are
 * fine; the scenario file is not needed. */
#ifndef NSLAB_TEARDOWN_H
#define NSLAB_TEARDOWN_H

#include "base/error.h"
#include "state/state.h"
#include "state/journal.h"

/* Lock, load, tear down, remove the record. "lab X is not up" if none.
 * NSLAB_TEST_CRASH_AFTER=N (tests only) raises SIGKILL (SIGINT with
 * NSLAB_TEST_CRASH_SIGNAL=INT) before teardown step N. */
int teardown_lab (const char *lab, nslab_error_t *err);
/* Kill the processes and delete the namespaces of st (the caller holds the
 * lock); keeps going past failures and refused records and returns the
 * first one. */
int teardown_objects (const struct state *st, nslab_error_t *err);

/* The same for some namespaces of a running lab only (pods the control loop
 * deletes): their processes and the namespaces, then "gone" records in W's
 * journal, so down, ls and exec no longer count them. */
int teardown_namespaces (struct state_writer *w, const struct state *st, char *const *names, size_t n,
                         nslab_error_t *err);

#endif
