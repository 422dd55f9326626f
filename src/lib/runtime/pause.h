/* Pause processes: one per pod (and one per node) holding its network, UTS,
 * IPC and mount namespaces, as the pause container does in a real pod. It
 * sleeps, reaps children, and runs the pod's app as a child. Starting one
 * is a handshake: the caller records the new process (pid and start time)
 * before it is allowed to do anything, so a crash of nslab at any moment
 * never leaves a process the state does not know about. */
#ifndef NSLAB_PAUSE_H
#define NSLAB_PAUSE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "kernel/proc.h"

/* Set in the environment of a pause process that still has to run
 * pause_setup; removed by it. */
#define PAUSE_SETUP_ENV "NSLAB_PAUSE_SETUP"

/* What the pause process does when its app exits (a pod's restartPolicy),
 * as kubelet does: Always restarts it after any exit, OnFailure after a
 * non-zero exit or a signal, Never leaves it terminated. */
enum pause_restart {
  PAUSE_RESTART_ALWAYS,
  PAUSE_RESTART_ON_FAILURE,
  PAUSE_RESTART_NEVER,
};

enum pause_app_kind {
  PAUSE_APP_NONE,
  PAUSE_APP_HTTP,    /* nslab-echo on port, forked by the pause process, the socket bound first */
  PAUSE_APP_COMMAND, /* argv, searched in the pod's PATH */
};

struct pause_app {
  enum pause_app_kind kind;
  uint16_t port;     /* PAUSE_APP_HTTP */
  char **argv;       /* PAUSE_APP_COMMAND: NULL-terminated */
  const char *path;  /* PAUSE_APP_COMMAND: the program to exec with argv (argv[0] is then only its
                      * name, as ps shows it), or NULL to search argv[0] in the pod's PATH */
  bool ready_fd;     /* PAUSE_APP_COMMAND, nslab's own: its first start gets the error pipe as the fd
                      * named by PAUSE_APP_READY_ENV, and the pod counts as started (pause_spawn_finish)
                      * only once the app has closed it, when it serves (the cluster DNS server) */
};

/* In a command app's environment when it has a ready fd (pause_app.ready_fd):
 * its number. */
#define PAUSE_APP_READY_ENV "NSLAB_APP_READY_FD"
#define PAUSE_APP_READY_FD 3

struct pause_spec {
  const char *title;       /* argv as ps shows it: "nslab-pause k3s demo/web-79ffc79c64-7lczb" */
  const char *netns_path;  /* /run/netns/k3s-cp1: network namespace to join */
  const char *hostname;    /* UTS hostname and /etc/hostname */
  const char *files_dir;   /* private dir for this process's /etc files (created by pause_spawn, 0700 parent) */
  const char *etc_hosts;   /* contents for /etc/hosts, or NULL to keep the host's */
  const char *resolv_conf; /* contents for /etc/resolv.conf, or NULL */
  char *const *files;      /* more files only this process's mount namespace has: absolute path,
                            * content, ..., NULL (a node's CNI conflist); may be NULL */
  const struct pause_app *app; /* NULL / PAUSE_APP_NONE: no app */
  char *const *env;        /* extra environment for the app, NULL-terminated, may be NULL */
  const char *log_path;    /* app stdout/stderr go here (append), NULL = /dev/null */
  int mnt_template;        /* > 0: mount namespace to copy (pause_mnt_template); otherwise the
                            * caller's is copied and its network namespace mounts detached */
  bool sys_rdonly;         /* with mnt_template: the caller's /sys is read-only (the template has
                            * no /sys to look at: pause_mnt_template) */
  bool privileged;         /* the app keeps every capability; otherwise containerd's default set */
  uint64_t cap_add;        /* not privileged: capabilities added to that set (securityContext.capabilities.add) */
  enum pause_restart restart; /* when the app is restarted after it exits */
  const char *sa_pki_dir;   /* a pod's: the lab's pki dir, whose ca.crt and token its service account
                             * directory links to (the mount template has its mount point), or NULL */
  const char *sa_namespace; /* the pod's namespace, for the service account's namespace file */
  bool own_netns_dir;      /* a node's: an empty tmpfs on /run/netns for its pods' names (node_netns.h) */
  int pid_ns;              /* > 0: the PID namespace (an fd: a node's, pause_open_pid_ns) that the
                            * process's own new one nests in; otherwise a child of the caller's */
  bool spawner;            /* a node's: its pause process forks its pods' on request (spawner.h) */
  pid_t spawner_pid;       /* > 0: a pod's node's pause process, as recorded, to ask for the fork */
  const char *spawner_netns; /* and that node's network namespace (its name), where it listens */
};

/* A mount namespace for pause processes to copy: the caller's, slave to it,
 * without the network namespace bind mounts (/run/netns and any other nsfs
 * mount), with an empty /var/run/secrets/kubernetes.io/serviceaccount for
 * pods' service accounts (sandbox_make_sa_mountpoint; the caller's /run is
 * untouched), and without /proc and /sys, which each pause process mounts
 * its own of. Copying the caller's own would cost every pod a copy of every
 * other namespace's mount (O(N^2) kernel memory and time at up and down)
 * and pin every other namespace alive; unmounting the copies of /proc and
 * /sys in each pod would cost it two RCU grace periods (namespace_unlock's
 * synchronize_rcu_expedited), which the template pays once. Make it after
 * the namespaces of the lab are mounted; *fd_out is an O_CLOEXEC fd for
 * pause_spec.mnt_template, *sys_rdonly for pause_spec.sys_rdonly. */
int pause_mnt_template (int *fd_out, bool *sys_rdonly, nslab_error_t *err);

/* NAME, a program nslab ships beside itself (nslab-pause, nslab-coredns,
 * nslab-apiserver, nslab-kube-proxy, nslab-export): next to this binary
 * (the build tree) or in ../lib/nslab (an install), owned by root or us and
 * writable by no one else, since it runs with our privileges. Its path in
 * OUT, or false: nslab-pause's caller then runs nslab itself (which
 * dispatches on argv[0]); the others are not part of nslab. */
bool pause_helper_path (const char *name, char out[PATH_MAX]);

/* What up tells nslab-apiserver in its environment (its argv stays
 * "nslab-apiserver LAB", which down checks): the nslab program that made
 * the lab, which kubectl exec runs (nslab exec), the lab PKI's parameters,
 * "NODE_IP PORT SERVICE_IP DOMAIN" (pki_lab_create), and the version it
 * serves (its flavor's gitVersion: reading the lab's snapshot for it cost
 * the server 55-87 ms of CPU at 100 pods, beside up's pods). */
#define HELPER_NSLAB_ENV "NSLAB_PROGRAM"
#define APISERVER_PKI_ENV "NSLAB_APISERVER_PKI"
#define APISERVER_VERSION_ENV "NSLAB_APISERVER_VERSION"

/* Record callback: called with the new process's pid and start time BEFORE
 * the process is allowed to go on; if the caller dies before returning from
 * it, the child sees the handshake socket close and exits, so no process is
 * ever left unrecorded. Return 0 to let the child proceed. */
typedef int (*pause_record_fn) (pid_t pid, uint64_t starttime, void *arg, nslab_error_t *err);

int pause_spawn (const struct pause_spec *spec, pause_record_fn record, void *arg,
                 pid_t *pid_out, nslab_error_t *err);
/* In a pause process started by pause_spawn, first thing: wait for the go
 * byte and the spec, join and make the pod's namespaces, /sys, /etc files,
 * log, and start a command app (fork + exec). For an HTTP app the socket
 * is bound at APPSOCK_FD and http_port set: the caller forks the built-in
 * app itself (no exec: apps are above the runtime) and reports a failure
 * with pause_setup_fail. Once the app runs, the caller closes errfd: its
 * EOF tells pause_spawn_finish that the pod started. On failure it reports
 * and exits; if the spawner died before releasing it, it exits quietly. */
struct pause_setup {
  pid_t app_pid;      /* command app, or 0 */
  uint16_t http_port; /* built-in HTTP app to fork, or 0 */
  bool privileged;    /* the app keeps every capability */
  uint64_t cap_add;   /* otherwise containerd's default set and these */
  int errfd;
  enum pause_app_kind app_kind;
  char **app_argv;    /* command app: its argv, for restarts */
  const char *app_path; /* command app: the program, or NULL (argv[0] in PATH) */
  enum pause_restart restart;
  unsigned backoff_ms; /* initial restart back-off: 10 s (NSLAB_TEST_BACKOFF_MS in tests) */
  int files_dirfd;    /* O_DIRECTORY fd of spec.files_dir (the status file), or -1 */
  bool spawner;       /* a node's: serve its pods' spawn requests (spawner.h) */
  bool own_pid_ns;    /* in: already PID 1 of its own PID namespace (a spawner's child) */
};
void pause_setup (struct pause_setup *out);
void pause_setup_fail (int errfd, int errnum, const char *what) __attribute__ ((noreturn));
/* Restart a command app: fork it as pause_setup did (a failure to exec
 * goes to the log, exit status 127). The child's pid, or -1 with errno. */
pid_t pause_fork_command_app (const struct pause_setup *su);

/* pause_spawn in two halves, so that many pause processes set themselves
 * up in parallel: start forks, records and releases the process; finish
 * waits until it (and its app) exec'd, or reports and cleans up what went
 * wrong. Every started process must be finished. */
struct pause_start {
  pid_t pid;         /* as the caller sees it (the process is PID 1 of its own namespace) */
  uint64_t starttime;
  int errfd;    /* reaches EOF once the process and its app exec'd */
  int pid_ns;   /* O_CLOEXEC fd of the process's PID namespace, for the pods of a node
                 * (pause_spec.pid_ns); the caller may take it (and set -1), else
                 * pause_spawn_finish closes it */
  /* Between pause_spawn_begin and pause_spawn_release: */
  pid_t spawned;  /* the spawned nslab-pause, which forks the pause process and exits */
  int gofd;       /* our end of the go socket */
  char *payload;  /* the encoded spec, sent after the go byte */
  size_t payload_len;
};
int pause_spawn_start (const struct pause_spec *spec, pause_record_fn record, void *arg,
                       struct pause_start *out, nslab_error_t *err);
int pause_spawn_finish (struct pause_start *ps, nslab_error_t *err);

/* pause_spawn_start in two halves again: begin spawns nslab-pause and
 * returns at once; release waits for the pause process's pid, records it
 * (RECORD, as above) and sends the go byte. Between the two the new process
 * only starts (exec, the C library's start-up, its PID namespace and first
 * fork) and waits, so the caller can begin the next pods meanwhile and
 * those start-ups run on the other CPUs. A begun process that is not
 * released goes with pause_spawn_abandon (it exits when the go socket
 * closes, also if the caller is killed). */
int pause_spawn_begin (const struct pause_spec *spec, struct pause_start *out, nslab_error_t *err);
int pause_spawn_release (struct pause_start *ps, pause_record_fn record, void *arg, nslab_error_t *err);
void pause_spawn_abandon (struct pause_start *ps);

/* The PID namespace of a running pause process (a node's, for starting a
 * pod in it later), checked to still be the process PID started at
 * STARTTIME: *fd_out is O_CLOEXEC. */
int pause_open_pid_ns (pid_t pid, uint64_t starttime, int *fd_out, nslab_error_t *err);
/* The same for any of its namespaces ("pid", "mnt", "net", ...). */
int pause_open_ns (pid_t pid, uint64_t starttime, const char *ns, int *fd_out, nslab_error_t *err);


#endif
