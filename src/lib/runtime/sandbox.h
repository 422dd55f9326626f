/* Runtime-internal: both sides of pause_spawn's hand-over. The pause
 * process reports a failure of its setup as one struct written to the
 * error pipe and _exits. */
#ifndef NSLAB_RUNTIME_SANDBOX_H
#define NSLAB_RUNTIME_SANDBOX_H

#include <signal.h>

#include "runtime/pause.h"

/* What a failing child tells pause_spawn through the error pipe; one
 * write below PIPE_BUF, so the parent reads all of it or nothing. */
struct sandbox_error {
  int errnum;
  char msg[500];
};

/* Report a failure on ERRFD as one struct sandbox_error (or to the log
 * when ERRFD < 0), for pause_spawn to read. */
void sandbox_report (int errfd, int errnum, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

/* Where the spawned pause process finds what pause_spawn_start passes it:
 * the handshake socket (go byte, then the spec), the template mount
 * namespace (when the spec has one) and the error pipe. */
#define SANDBOX_GO_FD 3
#define SANDBOX_TEMPLATE_FD 4
#define SANDBOX_ERR_FD 5
/* Spawned by a node's spawner (spawner.h): the pod's network namespace, to
 * join rather than a path (the node's mount namespace has its own
 * /run/netns). */
#define SANDBOX_NETNS_FD 6
/* Test-only: the initial restart back-off in milliseconds (kubelet's 10 s
 * otherwise; the maximum is 30 times it), passed from nslab's environment
 * to the pause process, which removes it before the app starts. */
/* Where a node keeps its pods' network namespace names (node_netns.h). */
#define SANDBOX_NETNS_DIR "/run/netns"
#define SANDBOX_BACKOFF_ENV "NSLAB_TEST_BACKOFF_MS"

/* The signal mask a pause process starts with (posix_spawn's, or a
 * spawner's child's), until pause_main handles them: SIGCHLD and SIGTERM
 * wait, SIGINT and SIGHUP (a terminal's, until setsid) are discarded once
 * it ignores them. */
void sandbox_start_mask (sigset_t *mask);

/* The spec as the pause process reads it after the go byte (sandbox.c).
 * NETNS_AT_FD: it finds its network namespace at SANDBOX_NETNS_FD. */
char *sandbox_encode (const struct pause_spec *spec, bool netns_at_fd, size_t *len_out);
/* argv ("nslab-pause" + the title's words) and environment (the pod's,
 * then the defaults, then PAUSE_SETUP_ENV) of the pause process. */
char **sandbox_title_argv (const char *title);
char **sandbox_build_env (const struct pause_spec *spec);

/* Detach every network namespace mount (/run/netns and any nsfs mount)
 * from the calling process's (private) mount namespace; -1 with errno. */
int sandbox_detach_netns_mounts (void);
/* Then an empty, read-only tmpfs on SANDBOX_NETNS_DIR, where the detached
 * mount leaves the host directory's mount points showing: as names of no
 * namespace they cost every `ip addr` in a pod "Peer netns reference is
 * invalid". Read-only because its copies share one tmpfs; a node mounts
 * its own over it. No directory, nothing to hide: 0. -1 with errno. */
int sandbox_hide_netns_dir (void);

/* Where kubelet mounts a pod's service account (the kube-api-access
 * volume), relative to the directory /var/run resolves to. */
#define SANDBOX_SA_DIR "secrets/kubernetes.io/serviceaccount"

/* In the calling process's (private) mount namespace, give the directory
 * /var/run resolves to (/run) an empty SANDBOX_SA_DIR to mount on, without
 * creating anything in the machine's: a tmpfs over it holding a bind mount
 * of each of its former entries (live, with their submounts), symlinks
 * copied, and the new directory. -1 with errno. */
int sandbox_make_sa_mountpoint (void);
/* Whether the /sys of our mount namespace is mounted read-only (a
 * container's often is): a pod's own sysfs is then read-only too. */
bool sandbox_sys_rdonly (void);
/* Unmount /proc and /sys (neither there is fine): a template's, whose
 * copies mount their own (pause_mnt_template). -1 with errno. */
int sandbox_unmount_proc_sys (void);

#endif
