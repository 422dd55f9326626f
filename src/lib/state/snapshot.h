/* The snapshot of a running lab: the plan `up` applied, with the lab's
 * objects (nodes, pods with IP/node/owner/app, services with ClusterIP,
 * ports and endpoints), as <state dir>/<lab>/plan.json in the schema of
 * `nslab plan -o json` (docs/state.md). It is the one place that says what
 * the lab is: exec, status and ls read it (later get/describe, the API
 * server, DNS). The journal beside it stays the crash-safe record of what to
 * tear down; the snapshot is never needed for that. */
#ifndef NSLAB_STATE_SNAPSHOT_H
#define NSLAB_STATE_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/error.h"
#include "base/util.h"
#include "plan/plan.h"

#define SNAPSHOT_FILE "plan.json"

struct state_writer;
/* Write plan.json into the writer's lab dir: a temporary file renamed into
 * place, so a reader sees the old file, the new one, or none. */
int snapshot_write (struct state_writer *w, const struct plan *p, nslab_error_t *err);
/* The control loop's: P's snapshot made by a thread from the moment the
 * plan is made, while the caller applies it, instead of a forked child: a
 * fork write-protects the whole loop, which then faults on every page it
 * writes during the apply (~23 us a page in this machine's guest). The
 * thread makes the text a part at a time (plan_dump_json) into an unnamed
 * file of LAB's dir (O_TMPFILE: named plan.json by _finish, gone by itself
 * when dropped or on a crash), or a memory file where that cannot be made
 * (copied into place then). P must
 * stay as it is until _finish, which waits for the text and writes it as
 * LAB's snapshot when WRITE_IT (the plan is applied and the lab changed:
 * it takes LAB's lock, which the caller must not hold), else drops it. A
 * maker that is not running finishes at once with 0. */
struct snapshot_maker {
  pthread_t thread;
  bool running;
  const struct plan *plan;
  int fd;  /* the text: an unnamed file in the lab dir, or a memory file */
  bool in_lab_dir;
  int err; /* errno of the thread's failed write */
  atomic_bool stop;
};
int snapshot_make_start (const char *lab, const struct plan *p, struct snapshot_maker *m, nslab_error_t *err);
int snapshot_make_finish (const char *lab, struct snapshot_maker *m, bool write_it, nslab_error_t *err);
/* The text will not be written: the thread stops at its next part (the
 * caller still finishes the maker, without WRITE_IT). */
void snapshot_make_stop (struct snapshot_maker *m);
/* Read LAB's snapshot. Only a regular file owned by root, not a link, in a
 * lab dir that is itself the lab's, is trusted. */
int snapshot_read (const char *lab, struct plan **out, nslab_error_t *err);

#endif
