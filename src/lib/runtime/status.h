/* A pause process's status file: what kubelet reports in a pod's
 * containerStatuses (state, reason, restartCount, startedAt, the last
 * termination's exitCode and finishedAt), written by the pause process in
 * its files dir (pause_spec.files_dir) at start and on every change, read
 * by the lab's control loop. One "key value" per line, keys in this order,
 * absent keys omitted (docs/state.md):
 *
 *   state running|waiting|terminated
 *   reason CrashLoopBackOff|Error|Completed
 *   restarts N
 *   started_at UNIX_SECONDS
 *   exit_code N
 *   finished_at UNIX_SECONDS
 *   next_start UNIX_SECONDS
 *   last_started_at UNIX_SECONDS
 */
#ifndef NSLAB_RUNTIME_STATUS_H
#define NSLAB_RUNTIME_STATUS_H

#include <stdint.h>

#include "base/error.h"

#define PAUSE_STATUS_FILE "status"

enum pause_state {
  PAUSE_STATE_RUNNING,
  PAUSE_STATE_WAITING,
  PAUSE_STATE_TERMINATED,
};

enum pause_reason {
  PAUSE_REASON_NONE,
  PAUSE_REASON_CRASH_LOOP_BACK_OFF, /* waiting */
  PAUSE_REASON_ERROR,               /* terminated: non-zero exit or a signal */
  PAUSE_REASON_COMPLETED,           /* terminated: exit 0 */
};

struct pause_status {
  enum pause_state state;
  enum pause_reason reason;
  uint32_t restarts;
  int64_t started_at;  /* -1: absent (running only: when the current app started) */
  int exit_code;       /* -1: absent (the last termination: status, or 128 + signal) */
  int64_t finished_at; /* -1: absent (the last termination) */
  int64_t next_start;  /* -1: absent (waiting: when the back-off ends) */
  int64_t last_started_at; /* -1: absent (when the last terminated app had started) */
};

/* Write DIRFD/status through status.tmp and renameat: a reader sees the old
 * file or the new one, whole. -1 with errno. Async-signal-safe enough for a
 * pause process: no allocation. */
int pause_status_write (int dirfd, const struct pause_status *st);

/* Read and check DIRFD/status: every line known, in order, once; the
 * reason matches the state (waiting: CrashLoopBackOff; terminated: Error or
 * Completed; running: none); started_at only when running, next_start only
 * (and always) when waiting, exit_code and finished_at together (always
 * when waiting or terminated), last_started_at only with exit_code. Anything else is refused with one line
 * naming the line. */
int pause_status_read (int dirfd, struct pause_status *out, nslab_error_t *err);

const char *pause_state_name (enum pause_state s);
const char *pause_reason_name (enum pause_reason r);

#endif
