/* Pause processes: one per pod (and one per node) holding its network, UTS,
 * IPC and mount namespaces, as the pause container does in a real pod. It
 * sleeps, reaps children, and runs the pod's app as a child. */
#ifndef NSLAB_PAUSE_H
#define NSLAB_PAUSE_H

#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "scenario/scenario.h"

struct pause_spec {
  const char *title;       /* argv as ps shows it: "nslab-pause k3s demo/web-79ffc79c64-7lczb" */
  const char *netns_path;  /* /run/netns/k3s-cp1: network namespace to join */
  const char *hostname;    /* UTS hostname and /etc/hostname */
  const char *files_dir;   /* private dir for this process's /etc files (created by pause_spawn, 0700 parent) */
  const char *etc_hosts;   /* contents for /etc/hosts, or NULL to keep the host's */
  const char *resolv_conf; /* contents for /etc/resolv.conf, or NULL */
  const struct app_def *app; /* NULL / APP_NONE: no app */
  char *const *env;        /* extra environment for the app, NULL-terminated, may be NULL */
  const char *log_path;    /* app stdout/stderr go here (append), NULL = /dev/null */
};

/* Record callback: called with the new process's pid and start time BEFORE
 * the process is allowed to go on; if the caller dies before returning from
 * it, the child sees the handshake pipe close and exits, so no process is
 * ever left unrecorded. Return 0 to let the child proceed. */
typedef int (*pause_record_fn) (pid_t pid, uint64_t starttime, void *arg, nslab_error_t *err);

int pause_spawn (const struct pause_spec *spec, pause_record_fn record, void *arg,
                 pid_t *pid_out, nslab_error_t *err);
/* pause_spawn in two halves, so that many pause processes set themselves
 * up in parallel: start forks, records and releases the process; finish
 * waits until it (and its app) exec'd, or reports and cleans up what went
 * wrong. Every started process must be finished. */
struct pause_start {
  pid_t pid;
  uint64_t starttime;
  int errfd;    /* reaches EOF once the process and its app exec'd */
  char *title;
};
int pause_spawn_start (const struct pause_spec *spec, pause_record_fn record, void *arg,
                       struct pause_start *out, nslab_error_t *err);
int pause_spawn_finish (struct pause_start *ps, nslab_error_t *err);
/* /proc/PID/stat field 22. */
int proc_starttime (pid_t pid, uint64_t *out, nslab_error_t *err);
/* Kill the process if (and only if) pid still has that start time, and wait
 * until it is gone. A process already gone is success. */
int pause_kill (pid_t pid, uint64_t starttime, nslab_error_t *err);
/* pause_kill in two halves, so many processes can be killed first and
 * waited for together: start returns a pidfd that turns readable once the
 * process is gone, or -1 with *err unset when it was gone already (or the
 * pid is someone else's now), or -1 with *err set on failure. wait closes
 * the pidfd. */
int pause_kill_start (pid_t pid, uint64_t starttime, nslab_error_t *err);
int pause_kill_wait (int pidfd, pid_t pid, nslab_error_t *err);
/* Is pid alive with that start time? */
bool pause_alive (pid_t pid, uint64_t starttime);

/* The pause process itself: what /proc/self/exe runs when re-executed as
 * argv[0] "nslab-pause" (cmd_internal). Reaps children until SIGTERM. */
int pause_main (int argc, char **argv);

#endif
