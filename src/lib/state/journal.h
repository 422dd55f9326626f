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

/* The state root (created 0755 if missing), opened O_DIRECTORY|O_NOFOLLOW
 * and checked, with an exclusive flock on the directory itself: whoever
 * holds it may read every lab's record and create a new one, so checks
 * across labs and the creation are one step. Close the fd to unlock. */
int state_root_lock (nslab_error_t *err);
/* Create the lab's record under the root lock (ROOT_FD from
 * state_root_lock) and take the lab's lock. The dir is built under a
 * hidden name (journal with its header, lock, files/, logs/) and renamed
 * into place, so a lab dir never exists without its header. EEXIST becomes
 * "lab k3s is already up (nslab down k3s first)". */
int state_create_locked (int root_fd, const char *lab, const char *scenario, struct state_writer **out,
                         nslab_error_t *err);
/* state_root_lock + state_create_locked + unlock the root. */
int state_create (const char *lab, const char *scenario, struct state_writer **out, nslab_error_t *err);
/* Open an existing lab for teardown and take the lock (waits for a running
 * up/down of the same lab). ENOENT -> "lab X is not up". */
int state_open (const char *lab, struct state_writer **out, nslab_error_t *err);
/* The lab dir, opened and checked when the writer was made (for openat). */
int state_writer_dirfd (const struct state_writer *w);
const char *state_writer_dir (const struct state_writer *w);
const char *state_writer_lab (const struct state_writer *w);
/* Read the record through the writer's own dir fd (the one it locked). */
int state_writer_load (const struct state_writer *w, struct state **out, nslab_error_t *err);

int state_record_counts (struct state_writer *w, int nodes, int pods, int services, nslab_error_t *err);
int state_record_labhost (struct state_writer *w, const char *netns, nslab_error_t *err);
int state_record_cidr (struct state_writer *w, const char *kind, const char *name, struct cidr c,
                       nslab_error_t *err);
int state_record_netns (struct state_writer *w, const char *netns, nslab_error_t *err);
/* "netns-ino NAME DEV INO": the nsfs identity of the namespace, recorded
 * after it was made and before it is bind-mounted (see netns_create_recorded). */
int state_record_netns_ident (struct state_writer *w, const char *netns, uint64_t dev, uint64_t ino,
                              nslab_error_t *err);
int state_record_process (struct state_writer *w, const struct state_process *p, nslab_error_t *err);
/* "cni NODE_NS POD_NS ID IFNAME TYPE CONFIG": before the plugin's ADD. */
int state_record_cni (struct state_writer *w, const struct state_cni *c, nslab_error_t *err);
/* "node-netns NODE POD_NS NAME": before the pod's namespace is bound on
 * NAME in the node's /run/netns. */
int state_record_node_netns (struct state_writer *w, const struct state_node_netns *nn, nslab_error_t *err);
/* A namespace or process the lab's control loop removed while the lab runs
 * (a deleted or replaced pod): its earlier records no longer count, for
 * down, ls and exec alike. Written after the object is gone. */
int state_record_gone_netns (struct state_writer *w, const char *netns, nslab_error_t *err);
int state_record_gone_process (struct state_writer *w, const char *name, pid_t pid, nslab_error_t *err);
int state_mark_complete (struct state_writer *w, nslab_error_t *err);

/* Remove the lab dir (journal, lock, files, logs) while holding the lock,
 * walking it by fd: no link is followed and no mount point entered. */
int state_remove (struct state_writer *w, nslab_error_t *err);
/* Release the lock and free. */
void state_writer_close (struct state_writer *w);

#endif
