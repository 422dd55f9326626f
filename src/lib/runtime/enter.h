/* Entering a lab's node or pod, as nslab exec and nslab test do: open the
 * namespaces of its recorded pause process (checked to still be that
 * process) and join them. Plain arguments: the caller resolves the target
 * (the lab's snapshot and journal) to a pid and its start time. */
#ifndef NSLAB_RUNTIME_ENTER_H
#define NSLAB_RUNTIME_ENTER_H

#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

/* ipc, uts, net, pid, mnt; -1 for a namespace not to join. The PID
 * namespace applies to the children forked after enter_join: fork, then
 * exec, so that what runs there dies with the node or pod. */
#define ENTER_NS_N 5

struct enter_fds {
  int fd[ENTER_NS_N];
};

void enter_fds_init (struct enter_fds *f);
void enter_fds_close (struct enter_fds *f);

/* The namespaces of process PID started at STARTTIME. WHAT names it in
 * messages ("pod/web-..."), LAB for the "try nslab status" hint. */
int enter_open_proc (pid_t pid, uint64_t starttime, const char *what, const char *lab, struct enter_fds *f,
                     nslab_error_t *err);
/* Only a network namespace, by its bind-mount path (the lab host). */
int enter_open_netns (const char *path, const char *what, const char *lab, struct enter_fds *f,
                      nslab_error_t *err);
/* Join every open namespace, the mount namespace last. After joining a PID
 * namespace every fork of the caller lands in it: fork what should run
 * there, then enter_leave (or be a throwaway child, as nslab test's are).
 * After the mount namespace, /proc and paths may not be what they were.
 * Closes them. With a mount namespace, the working directory becomes /. */
int enter_join (struct enter_fds *f, nslab_error_t *err);

/* After forking the command that runs in the joined namespaces: back to our
 * own PID namespace (for our later children) and mount namespace (our own
 * /proc). Also run at exit: a sanitizer's leak check forks a tracer then,
 * which must find us in its /proc. Needs the capabilities we joined with. */
void enter_leave (void);

#endif
