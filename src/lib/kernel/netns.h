/* Named network namespaces, the way `ip netns add` makes them: an empty file
 * /run/netns/NAME with the namespace bind-mounted on it, /run/netns being a
 * shared mount so the bind mounts propagate to (and vanish from) every mount
 * namespace that sees the directory. The enter/leave helpers switch the
 * calling thread only and always return to the namespace nslab was started
 * in. */
#ifndef NSLAB_NETNS_H
#define NSLAB_NETNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

#define NETNS_RUN_DIR "/run/netns"

/* /run/netns/NAME (caller frees). */
char *netns_path (const char *name);
bool netns_exists (const char *name);

/* Create NAME (fails with EEXIST if the file is there) and bring its lo up.
 * The calling thread is back in its original namespace on return. */
int netns_create (const char *name, nslab_error_t *err);
/* The same, calling RECORD with the namespace's nsfs identity (st_dev,
 * st_ino) after it exists and before it is mounted on /run/netns/NAME; a
 * failing RECORD undoes the creation. */
typedef int (*netns_record_fn) (const char *name, uint64_t dev, uint64_t ino, void *arg, nslab_error_t *err);
int netns_create_recorded (const char *name, netns_record_fn record, void *arg, nslab_error_t *err);
/* Unmount and unlink; a namespace already gone is success. A netlink
 * socket still open in it (rtnl_forget) keeps it alive until closed. */
int netns_delete (const char *name, nslab_error_t *err);
/* Teardown's delete: removes /run/netns/NAME only if it is the namespace
 * with that recorded identity (have_ident) or an empty placeholder, never
 * following a link; anything else is refused with one line. */
int netns_delete_owned (const char *name, bool have_ident, uint64_t dev, uint64_t ino, nslab_error_t *err);

/* fd (O_CLOEXEC) of the namespace nslab started in; opened once. */
int netns_origin_fd (nslab_error_t *err);
/* Open /run/netns/NAME (O_CLOEXEC), or a copy of its pinned fd. */
int netns_open (const char *name, nslab_error_t *err);
/* Open NAME now and keep it: later netns_open/netns_enter of NAME use it,
 * so a process that then moves to a mount namespace without /run/netns's
 * mounts (a node's) can still enter it. Call before starting threads. */
int netns_pin (const char *name, nslab_error_t *err);
void netns_unpin_all (void);

/* A guard that, when it goes out of scope, returns the thread to the
 * original namespace: declare `netns_guard g = NETNS_GUARD_INIT;` with the
 * cleanup attribute and every return path leaves the foreign namespace. */
struct netns_guard {
  bool entered;
};
#define NETNS_GUARD_INIT { false }
#define cleanup_netns __attribute__ ((cleanup (netns_guard_cleanup)))
void netns_guard_cleanup (struct netns_guard *g);

/* Enter NAME (or the namespace behind fd). Guards do not nest: entering
 * while another guard of this thread is inside fails with EBUSY. */
int netns_enter (struct netns_guard *g, const char *name, nslab_error_t *err);
int netns_enter_fd (struct netns_guard *g, int fd, const char *name, nslab_error_t *err);
/* Return to the original namespace now. Aborts if that is impossible:
 * going on inside a lab namespace would modify the wrong network. */
void netns_leave (struct netns_guard *g);

/* Start PROG with ARGV and ENVP in the network namespace NSFD (this one
 * when -1), with FDS[0..2] as its standard input, output and error (-1:
 * /dev/null) and no other descriptor, SIGPIPE at its default, every caught
 * signal at its default and the calling thread's signal mask. The child
 * shares this process's memory until its execve (CLONE_VM | CLONE_VFORK,
 * as posix_spawn's child does), where fork() would copy the page tables of
 * a large caller and then make it fault on every page it writes again: in
 * this machine's guest that is ~23 us a page (40 MiB written after a fork
 * took 234 ms, against 2 ms). Returns the child's pid, or -1 with errno
 * when entering NSFD, setting up the descriptors or the execve failed
 * (nothing left to reap then). */
pid_t netns_spawn (const char *prog, char *const argv[], char *const envp[], int nsfd, const int fds[3]);

struct child_job;
/* PROG (ARGV, with a fixed PATH and LC_ALL=C) started in namespace NS (the
 * caller's when NULL) with PAYLOAD on its standard input, its standard
 * error kept as the job's text (child_job_reap), its output discarded: a
 * fresh program, so that a large caller's heap is neither copied nor walked
 * (iptables-restore, nft). The payload is written before this returns. */
int netns_exec_stdin_start (const char *ns, const char *prog, char *const argv[], const char *payload,
                            struct child_job *job, nslab_error_t *err);
/* Wait for it: 0 when it exited 0, else -1 with *err "NS: NAME: ..." (killed,
 * or the first line of its standard error, less the program's own name when
 * it starts with it). Not entering NS or not executing PROG is an error of
 * the start. */
int netns_exec_finish (struct child_job *job, const char *name, nslab_error_t *err);

#endif
