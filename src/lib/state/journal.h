/* Writing a lab's state record (see state.h for the reader). The journal
 * /run/nslab/<lab>/journal is append-only, one record a line, each line
 * written with a single write(2) so a kill -9 can at worst leave the last
 * line truncated (the reader ignores it). Every namespace and process is
 * recorded BEFORE it is created, so teardown never misses one. The lab dir
 * is created with mkdir (mode 0700): its existence is "the lab is up", and
 * an flock on <dir>/lock serialises up/down of one lab. */
#ifndef NSLAB_STATE_WRITE_H
#define NSLAB_STATE_WRITE_H

#include "base/ipaddr.h"
#include "state/state.h"

struct state_writer;

/* Create the lab dir and journal and take the lock. EEXIST becomes
 * "lab k3s is already up (nslab down k3s first)". */
int state_create (const char *lab, const char *scenario, struct state_writer **out, nslab_error_t *err);
/* Open an existing lab for teardown and take the lock (waits for a running
 * up/down of the same lab). ENOENT -> "lab X is not up". */
int state_open (const char *lab, struct state_writer **out, nslab_error_t *err);
const char *state_writer_dir (const struct state_writer *w);
const char *state_writer_lab (const struct state_writer *w);

int state_record_counts (struct state_writer *w, int nodes, int pods, int services, nslab_error_t *err);
int state_record_labhost (struct state_writer *w, const char *netns, nslab_error_t *err);
int state_record_cidr (struct state_writer *w, const char *kind, const char *name, struct cidr c,
                       nslab_error_t *err);
int state_record_netns (struct state_writer *w, const char *netns, nslab_error_t *err);
int state_record_process (struct state_writer *w, const struct state_process *p, nslab_error_t *err);
int state_mark_complete (struct state_writer *w, nslab_error_t *err);

/* Remove the lab dir (journal, lock, files, logs) while holding the lock. */
int state_remove (struct state_writer *w, nslab_error_t *err);
/* Release the lock and free. */
void state_writer_close (struct state_writer *w);

#endif
