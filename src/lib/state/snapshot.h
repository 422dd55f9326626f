/* The snapshot of a running lab: the plan `up` applied, with the lab's
 * objects (nodes, pods with IP/node/owner/app, services with ClusterIP,
 * ports and endpoints), as <state dir>/<lab>/plan.json in the schema of
 * `nslab plan -o json` (docs/state.md). It is the one place that says what
 * the lab is: exec, status and ls read it (later get/describe, the API
 * server, DNS). The journal beside it stays the crash-safe record of what to
 * tear down; the snapshot is never needed for that. */
#ifndef NSLAB_STATE_SNAPSHOT_H
#define NSLAB_STATE_SNAPSHOT_H

#include "base/error.h"
#include "base/util.h"
#include "plan/plan.h"

#define SNAPSHOT_FILE "plan.json"

struct state_writer;
/* Write plan.json into the writer's lab dir: a temporary file renamed into
 * place, so a reader sees the old file, the new one, or none. */
int snapshot_write (struct state_writer *w, const struct plan *p, nslab_error_t *err);
/* The same, written by a child process while the caller goes on (the
 * control loop syncs its store meanwhile): the child inherits the writer's
 * lock and holds it until the file is in place. _finish waits for it: 0,
 * or -1 with the child's error. A job whose start failed (pid -1) finishes
 * at once with 0. */
int snapshot_write_start (struct state_writer *w, const struct plan *p, struct child_job *job, nslab_error_t *err);
int snapshot_write_finish (struct child_job *job, nslab_error_t *err);
/* The control loop's: a child makes the snapshot of P from the moment the
 * plan is made, while the caller applies it; snapshot_prepared_release
 * tells it whether to write it (WRITE_IT: the plan is applied and the lab
 * changed) or drop it, and closes *GATE. The child takes LAB's lock only
 * to write, once released (the caller must not hold it then: it would
 * wait). _finish waits for it as for snapshot_write_start's. */
int snapshot_prepare_start (const char *lab, const struct plan *p, struct child_job *job, int *gate,
                            nslab_error_t *err);
void snapshot_prepared_release (int *gate, bool write_it);
/* Read LAB's snapshot. Only a regular file owned by root, not a link, in a
 * lab dir that is itself the lab's, is trusted. */
int snapshot_read (const char *lab, struct plan **out, nslab_error_t *err);

#endif
