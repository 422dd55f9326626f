/* Waking when a lab's state dir is written, as kube-proxy and the
 * controllers wake on a watch event instead of polling the API: the control
 * loop, the commands that wait for it and each node's kube-proxy health
 * server watch the dir its store's WAL is in (inotify), so a commit wakes
 * them at once. */
#ifndef NSLAB_STATE_WATCH_H
#define NSLAB_STATE_WATCH_H

#include <stdbool.h>

#include "base/error.h"

/* A commit's last step is the WAL index in the -shm file, written through
 * a shared mapping, which inotify does not see: after a write to the WAL,
 * look again this soon even if nothing more is written. */
#define COMMIT_SETTLE_MS 5

/* An inotify descriptor (non-blocking, close-on-exec; the caller closes it)
 * readable when a file of the lab's state dir, DIR_FD, is written (its
 * store's WAL on every commit). Through the descriptor: the dir's path may
 * not resolve in the node's mount namespace, where the loop runs. -1 with
 * *err when inotify is unavailable. */
int watch_state_dir (int dir_fd, const char *lab, nslab_error_t *err);
/* watch_state_dir of LAB by its path, or -1: then the caller polls only. */
int watch_lab_dir (const char *lab);
/* Until the lab's store is written (true) or WAIT_MS passes (false;
 * without a watch, WATCH < 0, this is the poll). Writes to the dir's other
 * files are drained and waited past. A wake drains the watch: the next
 * wait is for a write after this one. */
bool wait_for_write (int watch, int wait_ms);

#endif
