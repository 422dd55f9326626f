/* The lab's control loop (see controller.h). */
#include "control/controller.h"

#define _GNU_SOURCE 1
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apply/apply.h"
#include "base/hash.h"
#include "base/ipaddr.h"
#include "base/strmap.h"
#include "base/util.h"
#include "control/agent.h"
#include "control/converge.h"
#include "control/events.h"
#include "control/prober.h"
#include "control/round_scope.h"
#include "control/store_sync.h"
#include "kernel/netns.h"
#include "kernel/proc.h"
#include "runtime/pause.h"
#include "runtime/status.h"
#include "scenario/flavor.h"
#include "state/journal.h"
#include "state/lab_scenario.h"
#include "state/snapshot.h"
#include "state/state.h"
#include "state/store.h"
#include "state/watch.h"

static int64_t
now_ms (void)
{
  return monotonic_us () / 1000;
}

/* ---- starting the loop (up) ---------------------------------------------- */

static const struct lab_node *
control_plane_node (const struct lab_objects *o)
{
  for (size_t i = 0; i < o->n_nodes; i++)
    if (o->nodes[i].role == ROLE_CONTROL_PLANE)
      return &o->nodes[i];
  return o->n_nodes ? &o->nodes[0] : NULL;
}

/* /proc/PID/ns/WHICH of NODE's recorded pause process, opened only while
 * the pid still has its recorded start time (a pidfd pins it meanwhile). */
static int
node_ns_open (const struct state *st, const char *node, const char *which, nslab_error_t *err)
{
  for (size_t i = 0; i < st->n_procs; i++)
    {
      const struct state_process *sp = &st->procs[i];
      if (sp->kind != STATE_PROC_NODE || strcmp (sp->name, node) != 0)
        continue;
      int fd = -1;
      nslab_error_t e = NULL;
      if (pause_open_ns (sp->pid, sp->starttime, which, &fd, &e) == 0)
        return fd;
      if (e->status == ESRCH)
        {
          nslab_error_free (&e);
          break;
        }
      *err = e;
      return nslab_error_wrap (err, "node %s", node);
    }
  return nslab_error (err, ESRCH, "node %s: its pause process is not running", node);
}

/* The API server's listening socket, made before its exec in the node's
 * network namespace: a busy address fails up, and kubectl's first
 * connection waits in the backlog rather than being refused while the
 * server starts. Nothing but syscalls: we are a vfork-style child. */
static int
apiserver_listen (uint32_t ip, uint16_t port)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (port), .sin_addr.s_addr = htonl (ip) };
  if (fd < 0 || setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
      || bind (fd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen (fd, 256) < 0)
    return -1;
  return fd;
}

/* The port the kubernetes service sends to: the API server's. */
static uint16_t
apiserver_port (const struct lab_objects *o)
{
  for (size_t i = 0; i < o->n_services; i++)
    if (o->services[i].implicit && strcmp (o->services[i].name, "kubernetes") == 0 && o->services[i].n_ports)
      return o->services[i].ports[0].target_port;
  return 6443;
}

/* The lab PKI's parameters (APISERVER_PKI_ENV) from the kubernetes
 * service: its endpoint (the control-plane node's INTERNAL-IP and the API
 * server's port), its ClusterIP and the cluster's DNS domain. NULL when
 * there is no such endpoint, and so no PKI. */
static char *
apiserver_pki_params (const struct lab_objects *o)
{
  const struct lab_service *kube = NULL;
  for (size_t i = 0; i < o->n_services; i++)
    if (o->services[i].implicit && strcmp (o->services[i].name, "kubernetes") == 0 && o->services[i].n_ports
        && o->services[i].ports[0].n_endpoints)
      kube = &o->services[i];
  if (kube == NULL)
    return NULL;
  const struct lab_endpoint *ep = &kube->ports[0].endpoints[0];
  char node_ip[IP_STRLEN], svc_ip[IP_STRLEN];
  return xasprintf ("%s=%s %u %s %s", APISERVER_PKI_ENV, ip_fmt (ep->ip, node_ip), ep->port,
                    ip_fmt (kube->cluster_ip, svc_ip), o->dns_domain ? o->dns_domain : "cluster.local");
}

/* ENVP: environ and EXTRA (NULL-terminated), made before the clone. */
static char **
env_with (char *const *extra)
{
  extern char **environ;
  size_t n = 0, k = 0;
  while (environ[n])
    n++;
  while (extra[k])
    k++;
  char **envp = xcalloc (n + k + 1, sizeof *envp);
  memcpy (envp, environ, n * sizeof *envp);
  memcpy (envp + n, extra, k * sizeof *envp);
  return envp;
}

/* The loop's environment: environ with glibc's per-thread cache of freed
 * chunks off (GLIBC_TUNABLES, after any tunables the user set). A round at
 * 1000 services frees ~100 MiB; chunks parked in that cache are never
 * coalesced, so malloc_trim cannot give back the pages around them: at
 * rest the loop kept ~0.6 MiB more (11.0 against 10.3-10.45 MiB),
 * and rounds are no slower without it. Made before the clone. (One
 * tunable only: Debian's glibc 2.36 leaves just the first in the
 * environment it shows, though it applies all; the loop's single arena is
 * a mallopt of its own.) */
static char **
controller_envp (char **tunables)
{
  const char *was = getenv ("GLIBC_TUNABLES");
  *tunables = xasprintf ("GLIBC_TUNABLES=%s%sglibc.malloc.tcache_count=0", was ? was : "", was && *was ? ":" : "");
  char *extra[] = { *tunables, NULL };
  char **envp = env_with (extra);
  /* the user's own entry gives way to the merged one */
  size_t j = 0;
  for (size_t i = 0; envp[i]; i++)
    if (envp[i] == *tunables || strncmp (envp[i], "GLIBC_TUNABLES=", 15) != 0)
      envp[j++] = envp[i];
  envp[j] = NULL;
  return envp;
}

/* One of the loop's processes as it starts (proc_vfork_call: nothing of
 * up's memory copied), all made before the clone. It execs at once; the
 * program then waits for up's go byte on CONTROL_GO_FD (proc_await_go), so
 * that it does nothing before the journal records it, and exits if the
 * pipe closes without one (a rollback). */
struct control_child {
  const char *program; /* NULL: ourselves (/proc/self/exe) */
  char *const *argv, *const *envp;
  int nsfd;            /* the node's network namespace, or -1 */
  bool listen;         /* the API server: its socket on fd 3 (below) */
  uint32_t listen_ip;
  uint16_t listen_port;
  int sock;            /* else this on fd 3 */
  int fd4;             /* the node's mount namespace, or the API server's ready pipe, or -1 */
  int go;              /* the go pipe's read end, on CONTROL_GO_FD */
  const char *log;     /* stdout and stderr; stdin /dev/null */
  int ex;              /* a byte here says the start failed */
  int pid_sock;        /* the brain: its pid is sent here first, or -1 */
};

/* The child: system calls only, in up's memory. */
static PROC_VFORK_CHILD int
control_child_run (void *arg)
{
  const struct control_child *c = arg;
  if (c->pid_sock >= 0 && proc_send_pid (c->pid_sock) < 0)
    _exit (0);
  if (c->nsfd >= 0 && setns (c->nsfd, CLONE_NEWNET) < 0)
    goto fail;
  int sock = c->listen ? apiserver_listen (c->listen_ip, c->listen_port) : c->sock;
  if (sock < 0)
    goto fail;
  int log_fd = open (c->log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  int null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0)
    goto fail;
  /* Every source above the targets first (the two just opened may have
   * got a low number), so that no dup2 replaces another's. */
  int s = fcntl (sock, F_DUPFD_CLOEXEC, 10), f4 = c->fd4 >= 0 ? fcntl (c->fd4, F_DUPFD_CLOEXEC, 10) : -1;
  int g = fcntl (c->go, F_DUPFD_CLOEXEC, 10);
  int lfd = fcntl (log_fd, F_DUPFD_CLOEXEC, 10), nfd = fcntl (null_fd, F_DUPFD_CLOEXEC, 10);
  if (s < 0 || (c->fd4 >= 0 && f4 < 0) || g < 0 || lfd < 0 || nfd < 0 || dup2 (s, 3) < 0
      || (f4 >= 0 && dup2 (f4, 4) < 0) || dup2 (g, CONTROL_GO_FD) < 0 || dup2 (nfd, 0) < 0 || dup2 (lfd, 1) < 0
      || dup2 (lfd, 2) < 0)
    goto fail;
  /* Nothing else of ours or our caller's (a test's pipe) reaches it: a
   * daemon holding the caller's descriptor would keep its reader waiting. */
  if ((c->fd4 < 0 && close (4) < 0 && errno != EBADF) || close_range (CONTROL_GO_FD + 1, ~0U, 0) < 0)
    goto fail;
  setsid ();
  sigset_t none;
  sigemptyset (&none);
  proc_vfork_exec_signals (&none);
  extern char **environ;
  execve (c->program ? c->program : "/proc/self/exe", c->argv, c->envp ? c->envp : environ);
fail:
  (void) !write (c->ex, "x", 1);
  _exit (127);
}

/* The brain's parent, in the node's PID namespace: it goes as soon as the
 * brain has exec'd, so that the brain is orphaned there (control_start). */
static PROC_VFORK_CHILD int
control_mid_run (void *arg)
{
  const struct control_child *c = arg;
  pid_t b = proc_vfork_call (control_child_run, (void *) c);
  _exit (b < 0);
}

/* The start's end: the pipe's write ends are all closed (each child's at
 * its exec, the API server's once its PKI is made); a byte is a failure. */
static bool
children_started (int fd)
{
  char b;
  ssize_t r;
  while ((r = read (fd, &b, 1)) < 0 && errno == EINTR)
    ;
  return r == 0;
}

/* One of the loop's processes in the journal (proc control NAME), by the
 * start time its pid has now. */
static int
record_control (struct state_writer *w, const char *name, const char *netns, const char *node, pid_t pid,
                nslab_error_t *err)
{
  struct state_process sp = { .kind = STATE_PROC_CONTROL, .name = (char *) name, .netns = (char *) netns,
                              .node = (char *) node, .pid = pid };
  if (proc_starttime (pid, &sp.starttime, err) < 0)
    return -1;
  return state_record_process (w, &sp, err);
}

int
control_start_apiserver (struct state_writer *w, const struct lab_objects *applied, struct control_apiserver *out,
                         nslab_error_t *err)
{
  *out = (struct control_apiserver) { .pid = -1, .ready = -1 };
  const struct lab_node *cp = control_plane_node (applied);
  if (cp == NULL)
    return 0;
  /* A program of its own (nslab-apiserver, with the libraries only it
   * needs); it learns the PKI to make, the version to serve and the nslab
   * that kubectl exec runs from its environment, made here before the
   * clone. */
  char api_exe[PATH_MAX], self_exe[PATH_MAX];
  if (!pause_helper_path ("nslab-apiserver", api_exe))
    return nslab_error (err, ENOENT, "nslab-apiserver is not installed beside nslab");
  ssize_t self_n = readlink ("/proc/self/exe", self_exe, sizeof self_exe - 1);
  if (self_n <= 0)
    return nslab_error (err, errno, "readlink /proc/self/exe");
  self_exe[self_n] = '\0';
  cleanup_free char *self_env = xasprintf ("%s=%s", HELPER_NSLAB_ENV, self_exe);
  cleanup_free char *version_env
      = xasprintf ("%s=%s", APISERVER_VERSION_ENV, flavor_defaults (applied->flavor)->kube_version);
  cleanup_free char *pki_env = apiserver_pki_params (applied);
  char *extra[] = { self_env, version_env, pki_env, NULL };
  cleanup_free char **envp = env_with (extra);
  cleanup_free char *log = xasprintf ("%s/logs/apiserver.log", state_writer_dir (w));
  cleanup_free char *nspath = netns_path (cp->netns);
  cleanup_close int nsfd = open (nspath, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return nslab_error (err, errno, "open %s", nspath);
  int go[2], ready[2];
  if (pipe2_two (go, ready, O_CLOEXEC) < 0)
    return nslab_error (err, errno, "pipe");
  /* In the node's network namespace, listening on its INTERNAL-IP as k3s
   * does on :6443, but in the lab's root PID namespace, where it sees every
   * pod's processes (logs, exec). The ready pipe's write end stays open
   * across its exec as fd 4: it closes it once it has made the lab's PKI
   * (pki_lab_create), so up returns with the kubeconfig written. */
  char *argv[] = { (char *) "nslab-apiserver", applied->lab, NULL };
  struct control_child child = { .program = api_exe, .argv = argv, .envp = envp, .nsfd = nsfd, .listen = true,
                                 .listen_ip = cp->internal_ip, .listen_port = apiserver_port (applied),
                                 .sock = -1, .fd4 = ready[1], .go = go[0], .log = log, .ex = ready[1],
                                 .pid_sock = -1 };
  pid_t pid = proc_vfork_call (control_child_run, &child);
  int rc = pid < 0 ? nslab_error (err, errno, "start nslab-apiserver") : 0;
  close (go[0]);
  close (ready[1]);
  if (rc == 0)
    rc = record_control (w, "apiserver", cp->netns, cp->name, pid, err);
  if (rc == 0 && write (go[1], "g", 1) != 1)
    rc = nslab_error (err, errno, "write");
  close (go[1]); /* EOF: an unrecorded child exits */
  if (rc < 0)
    {
      close (ready[0]);
      if (pid > 0)
        waitpid (pid, NULL, 0);
      return nslab_error_wrap (err, "start the API server of lab %s", applied->lab);
    }
  *out = (struct control_apiserver) { .pid = pid, .ready = ready[0] };
  return 0;
}

int
control_start (const char *lab, const struct lab_objects *applied, char *const *files, size_t n_files,
               struct control_apiserver *api, nslab_error_t *err)
{
  const struct lab_node *cp = control_plane_node (applied);
  if (cp == NULL)
    return 0; /* a lab without nodes has nothing to control */
  cleanup_free char *netns = xstrdup (cp->netns);
  cleanup_free char *node = xstrdup (cp->name);

  struct state_writer *w = NULL;
  if (state_open (lab, &w, err) < 0)
    return -1;
  int rc = lab_scenario_save (w, files, n_files, err);
  if (rc == 0 && api->pid < 0)
    rc = control_start_apiserver (w, applied, api, err);
  cleanup_free char *log = xasprintf ("%s/logs/controller.log", state_writer_dir (w));
  cleanup_free char *api_log = xasprintf ("%s/logs/apiserver.log", state_writer_dir (w));
  /* The brain is started in the node's PID namespace (it joins the node's
   * network and mount namespaces itself); the agent stays in ours. */
  cleanup_close int node_pidns = -1, node_mntns = -1, own_pidns = -1;
  if (rc == 0)
    {
      struct state *st = NULL;
      rc = state_writer_load (w, &st, err);
      if (rc == 0 && ((node_pidns = node_ns_open (st, node, "pid", err)) < 0
                      || (node_mntns = node_ns_open (st, node, "mnt", err)) < 0))
        rc = -1;
      state_free (st);
    }
  if (rc == 0 && (own_pidns = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0)
    rc = nslab_error (err, errno, "open /proc/self/ns/pid");
  int sv[2] = { -1, -1 }, go[2] = { -1, -1 }, ex[2] = { -1, -1 };
  if (rc == 0 && socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    rc = nslab_error (err, errno, "socketpair");
  /* ex: each child holds its write end until its exec closes it, so we
   * return only once both run as what the journal says they are (down
   * checks their command lines). Each waits for one byte on go
   * (control_child): we record them first, and if we die before that, the
   * pipe's EOF ends them. */
  if (rc == 0 && (pipe2 (go, O_CLOEXEC) < 0 || pipe2 (ex, O_CLOEXEC) < 0))
    rc = nslab_error (err, errno, "pipe");
  cleanup_free char *tunables = NULL;
  cleanup_free char **brain_envp = controller_envp (&tunables);
  pid_t agent = -1, brain = -1;
  cleanup_free char *nspath = netns_path (netns);
  cleanup_close int nsfd = -1;
  if (rc == 0 && (nsfd = open (nspath, O_RDONLY | O_CLOEXEC)) < 0)
    rc = nslab_error (err, errno, "open %s", nspath);
  char *agent_argv[] = { (char *) "nslab-runtime", (char *) lab, NULL };
  struct control_child agent_child = { .argv = agent_argv, .nsfd = -1, .sock = sv[0], .fd4 = -1, .go = go[0],
                                       .log = log, .ex = ex[1], .pid_sock = -1 };
  if (rc == 0 && (agent = proc_vfork_call (control_child_run, &agent_child)) < 0)
    rc = nslab_error (err, errno, "start nslab-runtime");
  /* The brain is started inside the node's PID namespace by a child that
   * exits at once, so that it is orphaned there: reparented to the node's
   * pause process (that namespace's PID 1), as k3s server is to a node's
   * init, which reaps it. Started by us, it would go to our own init when up
   * returns, and its zombie would keep the node's PID namespace from
   * emptying: the node's pause process cannot finish exiting, nor `down`
   * return, until that init reaps it, which a container's init may never
   * do (`timeout`, `sleep infinity`). The brain tells us its pid as we see
   * it (proc_send_pid). */
  int pid_sv[2] = { -1, -1 };
  int one = 1;
  pid_t mid = -1;
  cleanup_close int brain_fd = -1;
  if (rc == 0
      && (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pid_sv) < 0
          || setsockopt (pid_sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0))
    rc = nslab_error (err, errno, "socketpair");
  char *brain_argv[] = { (char *) "nslab-controller", (char *) lab, NULL };
  struct control_child brain_child = { .argv = brain_argv, .envp = brain_envp, .nsfd = nsfd, .sock = sv[1],
                                       .fd4 = node_mntns, .go = go[0], .log = log, .ex = ex[1],
                                       .pid_sock = pid_sv[1] };
  if (rc == 0 && setns (node_pidns, CLONE_NEWPID) < 0)
    rc = nslab_error (err, errno, "setns the PID namespace of node %s", node);
  if (rc == 0 && (mid = proc_vfork_call (control_mid_run, &brain_child)) < 0)
    rc = nslab_error (err, errno, "start nslab-controller");
  /* Our own later children are ours again. */
  if (own_pidns >= 0 && setns (own_pidns, CLONE_NEWPID) < 0 && rc == 0)
    rc = nslab_error (err, errno, "setns our own PID namespace");
  if (pid_sv[1] >= 0)
    close (pid_sv[1]); /* EOF below if no brain was started */
  int mid_status = 0;
  while (mid > 0 && waitpid (mid, &mid_status, 0) < 0 && errno == EINTR)
    ;
  if (rc == 0 && mid_status != 0)
    rc = nslab_error (err, 0, "start the controller in node %s: failed", node);
  if (rc == 0
      && ((brain = proc_receive_pid (pid_sv[0])) <= 0 || (brain_fd = (int) syscall (SYS_pidfd_open, brain, 0)) < 0))
    rc = nslab_error (err, errno, "the controller in node %s: its pid", node);
  if (pid_sv[0] >= 0)
    close (pid_sv[0]);
  if (go[0] >= 0)
    close (go[0]);
  if (sv[0] >= 0)
    close (sv[0]);
  if (sv[1] >= 0)
    close (sv[1]);
  /* The brain and the agent (the API server is recorded already). Down
   * kills the brain with the control-plane node (whose PID namespace it is
   * in) and the others newest first; while down holds the lab's lock the
   * agent, which takes it for each request, is between requests, so no pod
   * starts meanwhile. */
  if (rc == 0)
    {
      rc = record_control (w, "controller", netns, node, brain, err);
      if (rc == 0)
        rc = record_control (w, "runtime", "-", NULL, agent, err);
      if (rc == 0 && write (go[1], "gg", 2) != 2)
        rc = nslab_error (err, errno, "write");
    }
  if (go[1] >= 0)
    close (go[1]); /* EOF: an unrecorded child exits */
  if (ex[1] >= 0)
    close (ex[1]);
  if (ex[0] >= 0)
    {
      if (!children_started (ex[0]) && rc == 0)
        rc = nslab_error (err, 0, "a process of the control loop could not start (%s)", log);
      close (ex[0]);
    }
  if (api->ready >= 0)
    {
      if (!children_started (api->ready) && rc == 0)
        rc = nslab_error (err, 0, "the API server could not start (%s)", api_log);
      close (api->ready);
      api->ready = -1;
    }
  if (rc < 0)
    {
      if (agent > 0)
        waitpid (agent, NULL, 0);
      /* Not our child: gone once it sees go close, reaped by the node. */
      if (brain_fd >= 0)
        {
          nslab_error_t e = NULL;
          proc_kill_wait (brain_fd, brain, &e);
          brain_fd = -1;
          nslab_error_free (&e);
        }
    }
  state_writer_close (w);
  if (rc < 0)
    nslab_error_wrap (err, "start the control loop of lab %s", lab);
  return rc;
}

/* ---- waiting for it (commands) ----------------------------------------- */

/* "5s" or "1500ms", as --timeout was given. */
static void
format_timeout (int ms, char out[24])
{
  if (ms % 1000 == 0)
    snprintf (out, 24, "%ds", ms / 1000);
  else
    snprintf (out, 24, "%dms", ms);
}

/* The journal's last record of LAB's control loop (what down would
 * signal); pid 0 when there is none. */
static void
control_loop_record (const char *lab, pid_t *pid, uint64_t *starttime)
{
  struct state *st = NULL;
  nslab_error_t e = NULL;
  *pid = 0;
  if (state_load (lab, &st, &e) < 0)
    {
      nslab_error_free (&e);
      return;
    }
  for (size_t i = 0; i < st->n_procs; i++)
    if (st->procs[i].kind == STATE_PROC_CONTROL && strcmp (st->procs[i].name, "controller") == 0)
      {
        *pid = st->procs[i].pid;
        *starttime = st->procs[i].starttime;
      }
  state_free (st);
}

int
control_wait (const char *lab, uint64_t rv, int timeout_ms, nslab_error_t *err)
{
  /* A dead loop never applies anything: said at once, not after the
   * whole timeout. The pid with its start time, so a reused pid is not
   * taken for the loop. */
  pid_t loop = 0;
  uint64_t loop_start = 0;
  control_loop_record (lab, &loop, &loop_start);
  struct store *s = NULL;
  if (store_open (lab, &s, err) < 0)
    return -1;
  /* Watched before the first look, so no write after it goes unnoticed:
   * we wake as the loop commits, not at a poll's next tick. */
  cleanup_close int watch = watch_lab_dir (lab);
  int64_t t0 = now_ms ();
  int rc = 0;
  bool written = false;
  for (;;)
    {
      uint64_t seen = 0;
      if ((rc = store_meta_get (s, "observedResourceVersion", &seen, err)) < 0)
        break;
      if (seen >= rv)
        break;
      if (loop > 0 && !proc_alive (loop, loop_start))
        {
          rc = nslab_error (err, 0, "the control loop of lab %s is not running (pid %d exited; its log: %s/%s/logs/"
                                    "controller.log): the change is stored but nothing applies it",
                            lab, (int) loop, state_root (), lab);
          break;
        }
      int64_t left = timeout_ms - (now_ms () - t0);
      if (left <= 0)
        {
          char t[24];
          format_timeout (timeout_ms, t);
          rc = nslab_error (err, 0, "timed out after %s waiting for the control loop of lab %s to apply the change "
                                    "(its log: %s/%s/logs/controller.log)", t, lab, state_root (), lab);
          break;
        }
      int64_t ms = watch < 0 ? 20 : written ? COMMIT_SETTLE_MS : 1000;
      written = wait_for_write (watch, (int) (left < ms ? left : ms));
    }
  store_close (s);
  return rc;
}

int
control_wait_first (const char *lab, int timeout_ms, nslab_error_t *err)
{
  struct store *s = NULL;
  if (store_open (lab, &s, err) < 0)
    return -1;
  uint64_t rv = 0;
  int rc = store_resource_version (s, &rv, err);
  store_close (s);
  return rc < 0 ? -1 : control_wait (lab, rv, timeout_ms, err);
}

/* ---- the rounds ---------------------------------------------------------- */

/* The loop's SQLite page cache: a round reads the objects' index rows
 * (not their bodies) once, in order; a larger cache only holds pages the
 * next round reads again from the kernel's page cache anyway. */
#define CONTROL_STORE_CACHE_KIB 256

/* What kubelet knows of one pod: its app's state (from the pause process's
 * status file) and its readiness (from the probes). */
struct pod_rt {
  char *netns, *node_netns;
  uint32_t ip;
  struct {
    enum probe_kind kind;
    uint16_t port;
    char *path;
  } probe;
  int status_wd;     /* its status directory's watch in controller.status_watch, -1: none (read every round) */
  bool status_dirty; /* the watch saw the status file replaced since it was read */
  bool have_status;
  char state[32];        /* running | waiting | terminated */
  char reason[32];
  unsigned restarts;
  long long started_at, finished_at, last_started_at;
  int exit_code;
  bool probed, probe_ok;
  int fails;             /* consecutive failed probes */
  bool ready;
  int64_t next_probe;
  uint64_t synced_status; /* rt_status_hash of what the store has of it (0: not stored yet) */
  enum { RT_EVENT_NONE, RT_EVENT_STARTED, RT_EVENT_BACKOFF } event; /* kubelet's, to record */
};

/* A pod in the prober's batch: its result counts only for the container
 * it was made for. */
struct probe_ticket {
  char *netns;
  unsigned restarts;
  long long started_at;
};

struct controller {
  char *lab;
  struct plan *applied;
  struct store *store;
  int dir_fd;
  time_t created;
  struct pod_rt *pods; /* parallel to applied->objects->pods */
  size_t n_pods;
  struct strmap by_name; /* "ns/name" -> index + 1 in pods, while store_sync runs */
  uint64_t seen_rv;
  struct timespec scenario_mtime;
  bool gone;
  bool unsettled;        /* the last store sync did not mark the change observed */
  struct control_round_times times;
  struct control_runtime rt;
  struct store_sync_cache *synced;
  struct scenario_cache *scenario;
  struct snapshot_maker snap; /* the round's snapshot */
  bool snap_due;              /* and whether it is written */
  /* inotify on each pod's status directory: a round reads the status files
   * the pause processes replaced, not all of them (thousands of opens
   * every round, at rest too); -1: every one is read. */
  int status_watch;
  /* applied's op keys: after the first round, applied holds only what
   * stays of it (converge_compact) */
  struct op_keys *applied_keys;
  /* The store's objects of every kind but those a pod/endpoint round
   * writes, as the last round left them (valid: nobody else wrote since):
   * while they stay, a round that only moved pods syncs only its scope. */
  struct store_kinds_version others;
  bool others_valid;
  /* else why not, for the trace (a static string) */
  const char *others_unsure;
  /* kubelet's prober (started with the first batch), the pods of the batch
   * it runs, in its order, and when that batch was handed over */
  struct prober *prober;
  struct probe_ticket *probing;
  size_t n_probing;
  int64_t probes_at;
};

/* The kinds a scoped round looks at changes of (store_changed_since), and
 * Events, which it writes without reading. */
static const char *const scoped_kinds[4] = { "Pod", "Deployment", "ReplicaSet", "Event" };

static void
pod_rt_free (struct controller *c, struct pod_rt *r)
{
  /* A torn-down pod's watch went with its directory (IN_IGNORED). */
  if (r->status_wd >= 0 && c->status_watch >= 0)
    inotify_rm_watch (c->status_watch, r->status_wd);
  free (r->netns);
  free (r->node_netns);
  free (r->probe.path);
}

/* One pod_rt per pod of the applied plan, keeping what was known of pods
 * that stay; a new pod is not ready until its first probe passes. */
static void
rebuild_rt (struct controller *c)
{
  const struct lab_objects *o = c->applied->objects;
  struct pod_rt *nv = xcalloc (o->n_pods + 1, sizeof *nv);
  int64_t now = now_ms ();
  struct strmap olds; /* netns -> index + 1 in c->pods */
  strmap_init (&olds);
  for (size_t i = 0; i < c->n_pods; i++)
    strmap_put (&olds, c->pods[i].netns, (void *) (uintptr_t) (i + 1));
  for (size_t i = 0; i < o->n_pods; i++)
    {
      const struct lab_pod *p = &o->pods[i];
      uintptr_t oi = (uintptr_t) strmap_get (&olds, p->netns);
      struct pod_rt *old = oi && c->pods[oi - 1].netns[0] ? &c->pods[oi - 1] : NULL;
      if (old)
        {
          nv[i] = *old;
          memset (old, 0, sizeof *old);
          old->netns = xstrdup ("");
          old->status_wd = -1;
        }
      else
        {
          nv[i].netns = xstrdup (p->netns);
          nv[i].status_wd = -1;
          nv[i].next_probe = now;
          /* what the plan was made with: up's, a pod with a probe not
           * ready until it passes; a new pod of a round, not ready */
          nv[i].ready = p->ready;
          nv[i].probed = false;
        }
      const struct lab_node *n = objects_find_node (o, p->node);
      free (nv[i].node_netns);
      nv[i].node_netns = xstrdup (n ? n->netns : "");
      nv[i].ip = p->ip;
      free (nv[i].probe.path);
      nv[i].probe.kind = p->readiness.kind;
      nv[i].probe.port = p->readiness.port;
      nv[i].probe.path = p->readiness.path ? xstrdup (p->readiness.path) : NULL;
    }
  strmap_free (&olds);
  for (size_t i = 0; i < c->n_pods; i++)
    pod_rt_free (c, &c->pods[i]);
  free (c->pods);
  c->pods = nv;
  c->n_pods = o->n_pods;
}

int
controller_open (const char *lab, const struct control_runtime *rt, struct controller **out, nslab_error_t *err)
{
  struct controller *c = xcalloc (1, sizeof *c);
  c->lab = xstrdup (lab);
  c->rt = *rt;
  c->dir_fd = -1;
  c->others_unsure = "no round yet";
  c->status_watch = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  c->synced = store_sync_cache_new ();
  c->scenario = scenario_cache_new ();
  struct state *st = NULL;
  if (state_load (lab, &st, err) < 0)
    goto fail;
  c->created = st->created;
  state_free (st);
  if (snapshot_read (lab, &c->applied, err) < 0 || store_open (lab, &c->store, err) < 0
      || store_limit_cache (c->store, CONTROL_STORE_CACHE_KIB, err) < 0)
    goto fail;
  c->dir_fd = state_open_lab_dirfd (lab, err);
  if (c->dir_fd < 0)
    goto fail;
  rebuild_rt (c);
  *out = c;
  return 0;
fail:
  controller_close (c);
  return -1;
}

int
controller_enter_node (struct controller *c, int mntns, nslab_error_t *err)
{
  const struct plan *p = c->applied;
  /* The namespaces the loop enters (rules and probes run in the nodes, the
   * lab host and NAT routers), opened while /run/netns is still ours. */
  if (netns_origin_fd (err) < 0)
    return -1;
  for (size_t i = 0; i < p->n_ops; i++)
    if (p->ops[i].kind == OP_NETNS && p->ops[i].u.netns.kind != PLAN_NETNS_POD
        && netns_pin (p->ops[i].ns, err) < 0)
      return -1;
  if (setns (mntns, CLONE_NEWNS) < 0)
    return nslab_error (err, errno, "setns the control-plane node's mount namespace");
  if (chdir ("/") < 0)
    return nslab_error (err, errno, "chdir /");
  /* The kept scenario parsed now, before any round: what stays in memory
   * sits below what rounds allocate and free, which then goes back to the
   * kernel (malloc_trim). A failure shows in the first round. */
  nslab_error_t e = NULL;
  cleanup_free char *spath = lab_scenario_path (c->lab, &e);
  if (spath == NULL || scenario_cache_load (c->scenario, spath, &e) < 0)
    nslab_error_free (&e);
  return 0;
}

static void tickets_free (struct controller *c);

void
controller_close (struct controller *c)
{
  if (c == NULL)
    return;
  prober_stop (c->prober);
  tickets_free (c);
  for (size_t i = 0; i < c->n_pods; i++)
    pod_rt_free (c, &c->pods[i]);
  free (c->pods);
  if (c->status_watch >= 0)
    close (c->status_watch);
  plan_free (c->applied);
  op_keys_free (c->applied_keys);
  store_sync_cache_free (c->synced);
  scenario_cache_free (c->scenario);
  store_close (c->store);
  if (c->dir_fd >= 0)
    close (c->dir_fd);
  free (c->lab);
  free (c);
}

int
controller_watch (const struct controller *c, nslab_error_t *err)
{
  return watch_state_dir (c->dir_fd, c->lab, err);
}

int
controller_probe_fd (const struct controller *c)
{
  return prober_fd (c->prober);
}

int
controller_status_watch (const struct controller *c)
{
  return c->status_watch;
}

void
controller_round_times (const struct controller *c, struct control_round_times *out)
{
  *out = c->times;
}

/* Gone, or no longer root's own: a lab dir another user could write is
 * not one the loop may act on (every command refuses it too), so the loop
 * stops rather than retrying until it is root's again. */
bool
controller_lab_gone (const struct controller *c)
{
  struct stat st;
  return c->gone || fstat (c->dir_fd, &st) < 0 || st.st_nlink == 0 || st.st_uid != 0 || (st.st_mode & 077) != 0;
}

/* Which pods' status files were replaced (pause_status_write renames a
 * new one in) since the last round: marked dirty; all of them when the
 * kernel's queue overflowed. */
static void
drain_status_watch (struct controller *c)
{
  if (c->status_watch < 0)
    return;
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  ssize_t n;
  while ((n = read (c->status_watch, buf, sizeof buf)) > 0)
    for (char *at = buf; at < buf + n;)
      {
        const struct inotify_event *ev = (const struct inotify_event *) at;
        at += sizeof *ev + ev->len;
        for (size_t i = 0; i < c->n_pods; i++)
          if ((ev->mask & IN_Q_OVERFLOW) || c->pods[i].status_wd == ev->wd)
            {
              c->pods[i].status_dirty = true;
              if (ev->mask & IN_IGNORED)
                c->pods[i].status_wd = -1;
            }
      }
}

/* The pause process's status file (runtime/status.h): true when it
 * changed. Read when the watch saw it replaced, or every round while the
 * pod's directory has no watch (one is added before the read, so no
 * replacement after it goes unseen). */
static bool
read_app_state (struct controller *c, struct pod_rt *r)
{
  if (r->status_wd >= 0 && !r->status_dirty)
    return false;
  struct pause_status ps;
  cleanup_free char *rel = xasprintf ("files/%s", r->netns);
  int dfd = openat (c->dir_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return false;
  if (r->status_wd < 0 && c->status_watch >= 0)
    {
      char self[64];
      snprintf (self, sizeof self, "/proc/self/fd/%d", dfd);
      r->status_wd = inotify_add_watch (c->status_watch, self, IN_MOVED_TO | IN_ONLYDIR);
    }
  r->status_dirty = false;
  nslab_error_t e = NULL;
  int got = pause_status_read (dfd, &ps, &e);
  close (dfd);
  nslab_error_free (&e);
  if (got < 0)
    return false;
  const char *state = pause_state_name (ps.state), *reason = pause_reason_name (ps.reason);
  bool changed = !r->have_status || strcmp (r->state, state) != 0 || r->restarts != ps.restarts
                 || strcmp (r->reason, reason) != 0;
  /* A restarted container is probed afresh: not ready until it passes,
   * as kubelet resets a container's readiness when it starts. kubelet sees
   * the exit first (the pod's Ready goes False, its endpoint ready=false)
   * and probes the new container on its prober's next tick: this round
   * writes the pod not ready, a probe one period on may make it ready. */
  if (r->have_status && (r->restarts != ps.restarts || strcmp (r->state, state) != 0))
    {
      r->probed = false;
      r->ready = false;
      r->fails = 0;
      r->next_probe = now_ms () + CONTROL_PROBE_PERIOD_MS;
    }
  /* kubelet's events: the container started again, or waits in back-off. */
  if (r->have_status && strcmp (state, "waiting") == 0 && strcmp (r->state, "waiting") != 0)
    r->event = RT_EVENT_BACKOFF;
  else if (r->have_status && ps.restarts > r->restarts && strcmp (state, "running") == 0)
    r->event = RT_EVENT_STARTED;
  r->have_status = true;
  snprintf (r->state, sizeof r->state, "%s", state);
  snprintf (r->reason, sizeof r->reason, "%s", reason);
  r->restarts = ps.restarts;
  r->started_at = ps.started_at;
  r->finished_at = ps.finished_at;
  r->last_started_at = ps.last_started_at;
  r->exit_code = ps.exit_code;
  return changed;
}

static bool
app_running (const struct pod_rt *r)
{
  return !r->have_status || strcmp (r->state, "running") == 0;
}

/* kubelet's view: running and (no probe, or the last probe passed). */
static bool
update_ready (struct pod_rt *r)
{
  bool ready = app_running (r) && (r->probe.kind == PROBE_NONE || (r->probed && r->probe_ok)
                                   || (!r->probed && r->ready));
  bool changed = ready != r->ready;
  r->ready = ready;
  return changed;
}

/* Whether a pod awaits its first probe (what submit_probes reports as
 * pending). */
static bool
probes_pending (const struct controller *c)
{
  for (size_t i = 0; i < c->n_pods; i++)
    if (c->pods[i].probe.kind != PROBE_NONE && app_running (&c->pods[i]) && !c->pods[i].probed)
      return true;
  return false;
}

/* The pods whose due probes go to the prober (not while a batch runs),
 * from the prober's own thread: the round goes on without them.
 * *PENDING: whether a pod awaits its first probe. */
static int
submit_probes (struct controller *c, bool *pending, nslab_error_t *err)
{
  *pending = probes_pending (c);
  if (c->prober && prober_busy (c->prober))
    return 0;
  int64_t now = now_ms ();
  struct probe *pr = xcalloc (c->n_pods + 1, sizeof *pr);
  size_t n = 0;
  for (size_t i = 0; i < c->n_pods; i++)
    {
      struct pod_rt *r = &c->pods[i];
      if (r->probe.kind == PROBE_NONE || !app_running (r) || now < r->next_probe)
        continue;
      pr[n] = (struct probe) { .kind = r->probe.kind, .node_netns = r->node_netns, .ip = r->ip,
                               .port = r->probe.port, .path = r->probe.path };
      *VEC_PUSH (c->probing, c->n_probing) = (struct probe_ticket) { .netns = xstrdup (r->netns),
                                                                    .restarts = r->restarts,
                                                                    .started_at = r->last_started_at };
      n++;
    }
  /* Started with the first batch: a thread must not exist before the loop
   * joins the node's mount namespace (controller_enter_node). */
  int rc = 0;
  if (n && c->prober == NULL)
    rc = prober_start (&c->prober, err);
  if (n && rc == 0)
    {
      prober_submit (c->prober, pr, n, 1000);
      c->probes_at = now;
    }
  if (rc < 0)
    tickets_free (c);
  free (pr);
  return rc;
}

static void
tickets_free (struct controller *c)
{
  for (size_t i = 0; i < c->n_probing; i++)
    free (c->probing[i].netns);
  free (c->probing);
  c->probing = NULL;
  c->n_probing = 0;
}

/* What the prober's finished batch says of the pods that are still there
 * with the same container. */
static int
collect_probes (struct controller *c, nslab_error_t *err)
{
  struct probe *pr = NULL;
  size_t n = 0;
  int got = c->prober ? prober_collect (c->prober, &pr, &n, err) : 0;
  if (got <= 0)
    {
      if (got < 0)
        tickets_free (c);
      return got;
    }
  struct strmap at; /* netns -> index + 1 in c->pods */
  strmap_init (&at);
  for (size_t i = 0; i < c->n_pods; i++)
    strmap_put (&at, c->pods[i].netns, (void *) (uintptr_t) (i + 1));
  int64_t now = c->probes_at;
  for (size_t k = 0; k < n && k < c->n_probing; k++)
    {
      const struct probe_ticket *t = &c->probing[k];
      uintptr_t i = (uintptr_t) strmap_get (&at, t->netns);
      if (i == 0)
        continue; /* gone meanwhile */
      struct pod_rt *r = &c->pods[i - 1];
      /* a restarted container is probed afresh (read_app_state) */
      if (r->restarts != t->restarts || r->last_started_at != t->started_at)
        continue;
      r->probed = true;
      /* kubelet's thresholds: one success makes a pod ready, only
       * failureThreshold failures in a row make a ready one unready (a
       * slow answer under load is not an outage). */
      r->fails = pr[k].ok ? 0 : r->fails + 1;
      r->probe_ok = pr[k].ok || (r->ready && r->fails < CONTROL_PROBE_FAILURE_THRESHOLD);
      /* Until a new pod is ready, probe it again soon. */
      r->next_probe = now + (r->ready || !pr[k].ok ? CONTROL_PROBE_PERIOD_MS : 0);
      if (!pr[k].ok && !r->ready)
        r->next_probe = now + 100;
    }
  strmap_free (&at);
  probes_free (pr, n);
  tickets_free (c);
  return 1;
}

/* ---- status as kubelet reports it ---- */

static char *
rfc3339 (long long t)
{
  char b[32];
  time_format_rfc3339 ((time_t) t, b);
  return xstrdup (b);
}

static void
set_pod_status (json_t *pod, const json_t *was, void *arg)
{
  struct controller *c = arg;
  const char *name = json_string_value (json_object_get (json_object_get (pod, "metadata"), "name"));
  const char *ns = json_string_value (json_object_get (json_object_get (pod, "metadata"), "namespace"));
  if (name == NULL || ns == NULL)
    return;
  cleanup_free char *key = xasprintf ("%s/%s", ns, name);
  uintptr_t at = (uintptr_t) strmap_get (&c->by_name, key);
  struct pod_rt *r = at ? &c->pods[at - 1] : NULL;
  json_t *status = json_object_get (pod, "status");
  if (r == NULL || status == NULL)
    return;
  /* The start time kubelet reported first stays. */
  const json_t *wst = json_object_get (was, "status");
  if (json_object_get (wst, "startTime"))
    json_object_set (status, "startTime", json_object_get (wst, "startTime"));
  json_t *cs = json_array_get (json_object_get (status, "containerStatuses"), 0);
  const char *ready = r->ready ? "True" : "False";
  json_t *conds = json_object_get (status, "conditions");
  for (size_t i = 0; i < json_array_size (conds); i++)
    {
      json_t *cd = json_array_get (conds, i);
      const char *type = json_string_value (json_object_get (cd, "type"));
      if (type && (strcmp (type, "Ready") == 0 || strcmp (type, "ContainersReady") == 0))
        json_object_set_new (cd, "status", json_string (ready));
    }
  if (cs == NULL)
    return;
  json_object_set_new (cs, "ready", json_boolean (r->ready));
  json_object_set_new (cs, "restartCount", json_integer (r->restarts));
  json_t *state = json_object ();
  if (strcmp (r->state, "waiting") == 0)
    json_object_set_new (state, "waiting", json_pack ("{s:s}", "reason", r->reason[0] ? r->reason : "Waiting"));
  else if (strcmp (r->state, "terminated") == 0)
    {
      cleanup_free char *fin = rfc3339 (r->finished_at);
      json_t *term = json_pack ("{s:i, s:s, s:s}", "exitCode", (json_int_t) r->exit_code, "reason",
                                r->reason[0] ? r->reason : "Error", "finishedAt", fin);
      if (r->last_started_at >= 0)
        {
          cleanup_free char *st = rfc3339 (r->last_started_at);
          json_object_set_new (term, "startedAt", json_string (st));
        }
      json_object_set_new (state, "terminated", term);
      json_object_set_new (status, "phase", json_string (r->exit_code == 0 ? "Succeeded" : "Failed"));
    }
  else
    {
      json_t *old_state = json_object_get (json_object_get (json_array_get (json_object_get (wst, "containerStatuses"),
                                                                            0), "state"), "running");
      /* started_at -1: no app ever started (app none), the sandbox's time stays */
      if (r->have_status && r->started_at > 0)
        {
          cleanup_free char *st = rfc3339 (r->started_at);
          json_object_set_new (state, "running", json_pack ("{s:s}", "startedAt", st));
        }
      else if (old_state)
        json_object_set (state, "running", old_state);
      else
        json_object_set (state, "running", json_object_get (json_object_get (cs, "state"), "running"));
    }
  json_object_set_new (cs, "state", state);
  if (r->restarts > 0 && r->finished_at)
    {
      cleanup_free char *fin = rfc3339 (r->finished_at);
      json_t *term = json_pack ("{s:i, s:s, s:s}", "exitCode", (json_int_t) r->exit_code, "reason",
                                r->exit_code == 0 ? "Completed" : "Error", "finishedAt", fin);
      /* kubelet always reports when the exited container had started */
      if (r->last_started_at >= 0)
        {
          cleanup_free char *st = rfc3339 (r->last_started_at);
          json_object_set_new (term, "startedAt", json_string (st));
        }
      json_object_set_new (cs, "lastState", json_pack ("{s:o}", "terminated", term));
    }
  /* A pod of several containers (servicelb's) has one app: the same state
   * for each. */
  json_t *css = json_object_get (status, "containerStatuses");
  for (size_t k = 1; k < json_array_size (css); k++)
    {
      json_t *other = json_array_get (css, k);
      static const char *const keys[] = { "ready", "restartCount", "state", "lastState" };
      for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (json_object_get (cs, keys[i]))
          json_object_set_new (other, keys[i], json_deep_copy (json_object_get (cs, keys[i])));
    }
}

/* What set_pod_status reads of a pod's runtime state, field by field. */
static uint64_t
rt_status_hash (const struct pod_rt *r)
{
  uint64_t h = fnv1a64_mem (r->state, strlen (r->state) + 1, FNV64_INIT);
  h = fnv1a64_mem (r->reason, strlen (r->reason) + 1, h);
  long long v[] = { r->ready,       r->have_status, r->restarts,       r->started_at,
                    r->finished_at, r->exit_code,   r->last_started_at };
  h = fnv1a64_mem (v, sizeof v, h);
  return h ? h : 1;
}

static uint64_t
pod_status_hash (const json_t *pod, void *arg)
{
  struct controller *c = arg;
  const char *name = json_string_value (json_object_get (json_object_get (pod, "metadata"), "name"));
  const char *ns = json_string_value (json_object_get (json_object_get (pod, "metadata"), "namespace"));
  if (name == NULL || ns == NULL)
    return 0;
  cleanup_free char *key = xasprintf ("%s/%s", ns, name);
  uintptr_t at = (uintptr_t) strmap_get (&c->by_name, key);
  if (at == 0)
    return 0;
  return rt_status_hash (&c->pods[at - 1]);
}

/* Whether this round may sync the store for its scope only (*SCOPE, then
 * to be freed): not a full sync, the scenario the same, and nobody wrote
 * anything but pods, workloads and events since the last round. */
static bool
find_scope (struct controller *c, const struct plan *oldp, const struct plan *newp, bool full_sync,
            bool scenario_changed, struct round_scope *scope, const char **why)
{
  *why = full_sync ? "full sync" : scenario_changed ? "scenario changed" : c->others_unsure;
  if (full_sync || scenario_changed || !c->others_valid)
    return false;
  struct store_kinds_version now;
  json_t *rows = NULL;
  nslab_error_t e = NULL;
  if (store_kinds_version_except (c->store, scoped_kinds, &now, &e) < 0 || now.newest != c->others.newest
      || now.count != c->others.count
      || store_changed_since (c->store, c->seen_rv, "Pod", "Deployment", "ReplicaSet", &rows, &e) < 0)
    {
      *why = e != NULL ? "store error" : "other kinds written";
      nslab_error_free (&e);
      return false;
    }
  bool *status = xcalloc (c->n_pods + 1, sizeof *status);
  for (size_t i = 0; i < c->n_pods; i++)
    status[i] = rt_status_hash (&c->pods[i]) != c->pods[i].synced_status;
  bool ok = round_scope_find (oldp->objects, newp->objects, status, rows, scope);
  *why = ok ? NULL : "objects added or removed";
  free (status);
  json_decref (rows);
  return ok;
}

static int
snapshot_ready (void *arg, nslab_error_t *err)
{
  struct controller *c = arg;
  long long t0 = monotonic_us ();
  int rc = snapshot_make_finish (c->lab, &c->snap, c->snap_due, err);
  c->times.snapshot_wait = monotonic_us () - t0;
  return rc;
}

/* The events kubelet records for what read_app_state saw. */
static int
record_container_events (struct controller *c, nslab_error_t *err)
{
  bool any = false;
  for (size_t i = 0; i < c->n_pods; i++)
    any |= c->pods[i].event != RT_EVENT_NONE;
  if (!any)
    return 0;
  struct timespec t;
  clock_gettime (CLOCK_REALTIME, &t);
  int64_t now_ns = (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
  int rc = store_begin (c->store, err);
  for (size_t i = 0; rc == 0 && i < c->n_pods; i++)
    if (c->pods[i].event != RT_EVENT_NONE)
      {
        rc = events_container (c->store, &c->applied->objects->pods[i], c->pods[i].event == RT_EVENT_BACKOFF,
                               now_ns, err);
        c->pods[i].event = RT_EVENT_NONE;
      }
  return store_end (c->store, rc, err);
}

int
controller_round (struct controller *c, bool full_sync, nslab_error_t *err)
{
  if (controller_lab_gone (c))
    {
      c->gone = true;
      return nslab_error (err, ENOENT, "lab %s is gone", c->lab);
    }
  long long t0 = monotonic_us ();
  struct control_round_times tm = { 0 };
  c->times.snapshot_wait = 0;
  bool changed = full_sync, pending = false;
  drain_status_watch (c);
  for (size_t i = 0; i < c->n_pods; i++)
    changed |= read_app_state (c, &c->pods[i]);
  if (record_container_events (c, err) < 0)
    return -1;
  /* The probes run in the prober's thread: the round takes what its last
   * batch found, and hands it the probes now due unless a change waits in
   * the store or the scenario (the round's CPU goes to that change first;
   * the probes go with the next round, 20 ms on). A batch can take its
   * whole timeout (a lab of thousands of pods overflows the kernel's
   * shared neighbour table, so many connects are never answered), and
   * kubelet's probes never hold up kube-proxy. */
  if (collect_probes (c, err) < 0)
    return -1;
  uint64_t rv = 0;
  if (store_resource_version (c->store, &rv, err) < 0)
    return -1;
  cleanup_free char *spath = lab_scenario_path (c->lab, err);
  if (spath == NULL)
    return -1;
  struct stat sst;
  bool scenario_changed = stat (spath, &sst) == 0
                          && (sst.st_mtim.tv_sec != c->scenario_mtime.tv_sec
                              || sst.st_mtim.tv_nsec != c->scenario_mtime.tv_nsec);
  bool waiting = c->seen_rv != 0 && (rv != c->seen_rv || scenario_changed);
  if (waiting)
    pending = probes_pending (c);
  else if (submit_probes (c, &pending, err) < 0)
    return -1;
  /* Commands wait for observedResourceVersion: it moves once no new pod
   * awaits its first probe, so scale returns with its pods in the rules. */
  tm.app_changed = changed && !full_sync;
  tm.settled = c->unsettled && !pending;
  changed |= tm.settled;
  for (size_t i = 0; i < c->n_pods; i++)
    tm.ready_changed |= update_ready (&c->pods[i]);
  changed |= tm.ready_changed;
  tm.store_changed = rv != c->seen_rv || scenario_changed;
  changed |= rv != c->seen_rv;
  /* A rolling update's next step, as the deployment controller's next sync. */
  changed |= scenario_cache_again (c->scenario);
  if (scenario_changed)
    {
      changed = true;
      c->scenario_mtime = sst.st_mtim;
    }
  if (!changed)
    return pending ? 1 : 0;

  /* Re-plan: the kept scenario as the store now has it, with the live pods. */
  long long t1 = monotonic_us ();
  tm.observe = t1 - t0;
  struct plan *newp = NULL;
  bool *ready = xcalloc (c->n_pods + 1, sizeof *ready);
  for (size_t i = 0; i < c->n_pods; i++)
    ready[i] = c->pods[i].ready;
  int rc = converge_plan (c->lab, spath, c->scenario, c->store, c->applied, ready, &newp, err);
  free (ready);
  if (rc < 0)
    return -1;
  long long t2 = monotonic_us ();
  tm.plan = t2 - t1;
  /* The new snapshot is made by a thread while the plan is applied (it is
   * megabytes of JSON for a large lab), and written once it is. */
  if (snapshot_make_start (c->lab, newp, &c->snap, err) < 0)
    {
      plan_free (newp);
      return -1;
    }
  struct op_keys *new_keys = NULL;
  bool snapshot_due = false;
  rc = converge_apply (c->lab, &c->rt, c->applied, c->applied_keys, newp, full_sync, &tm.rules, &snapshot_due,
                       &new_keys, err);
  /* Written when the lab changed, else dropped (the thread stops at its
   * next part); finished by the sync either way: nothing may change newp
   * until then. */
  c->snap_due = rc == 0 && snapshot_due;
  if (!c->snap_due)
    snapshot_make_stop (&c->snap);
  long long t3 = monotonic_us ();
  tm.apply = t3 - t2;
  json_t *old_uids = rc < 0 ? NULL : events_pod_uids (c->store, err);
  if (old_uids == NULL)
    {
      nslab_error_t e = NULL;
      snapshot_make_finish (c->lab, &c->snap, false, &e);
      nslab_error_free (&e);
      plan_free (newp);
      op_keys_free (new_keys);
      return -1;
    }
  struct plan *oldp = c->applied;
  c->applied = newp;
  op_keys_free (c->applied_keys);
  c->applied_keys = new_keys;
  rebuild_rt (c);
  for (size_t i = 0; i < c->n_pods; i++)
    update_ready (&c->pods[i]);
  bool settling = false;
  for (size_t i = 0; i < c->n_pods; i++)
    settling |= c->pods[i].probe.kind != PROBE_NONE && app_running (&c->pods[i]) && !c->pods[i].probed;
  uint64_t observed = 0, ev_before = 0, ev_after = 0;
  strmap_init (&c->by_name);
  for (size_t i = 0; i < newp->objects->n_pods; i++)
    {
      cleanup_free char *key = xasprintf ("%s/%s", newp->objects->pods[i].ns, newp->objects->pods[i].name);
      strmap_put (&c->by_name, key, (void *) (uintptr_t) (i + 1));
    }
  /* The full sync compares every object again. */
  if (full_sync)
    store_sync_cache_clear (c->synced);
  struct round_scope scope;
  tm.scoped = find_scope (c, oldp, newp, full_sync, scenario_changed, &scope, &tm.unscoped);
  if (tm.scoped)
    {
      struct lab_objects *now_view = round_scope_view (newp->objects, &scope);
      struct lab_objects *was_view = round_scope_view (oldp->objects, &scope);
      rc = store_sync_scoped (c->store, now_view, was_view, c->created, set_pod_status, pod_status_hash,
                              snapshot_ready, c, c->synced, rv, settling ? NULL : &observed, err);
      round_scope_view_free (now_view);
      round_scope_view_free (was_view);
    }
  else
    rc = store_sync (c->store, newp->objects, c->created, set_pod_status, pod_status_hash, snapshot_ready, c,
                     c->synced, rv, settling ? NULL : &observed, err);
  /* What the store now has of each pod's kubelet status. */
  for (size_t i = 0; rc == 0 && i < c->n_pods; i++)
    {
      cleanup_free char *key = xasprintf ("%s/%s", newp->objects->pods[i].ns, newp->objects->pods[i].name);
      if (!tm.scoped || strmap_get (&scope.pods, key))
        c->pods[i].synced_status = rt_status_hash (&c->pods[i]);
    }
  if (tm.scoped)
    round_scope_free (&scope);
  /* Finished by the sync unless it failed first. */
  if (c->snap.running)
    {
      nslab_error_t e = NULL;
      if (snapshot_make_finish (c->lab, &c->snap, c->snap_due, &e) < 0 && rc == 0)
        rc = -1, *err = e, e = NULL;
      nslab_error_free (&e);
    }
  strmap_free (&c->by_name);
  long long t4 = monotonic_us ();
  tm.store = t4 - t3;
  /* What happened, as the components record it, and the events older
   * than the apiserver's TTL dropped. */
  if (rc == 0)
    {
      struct timespec t;
      clock_gettime (CLOCK_REALTIME, &t);
      int64_t now_ns = (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
      rc = store_begin (c->store, err);
      if (rc == 0)
        rc = store_resource_version (c->store, &ev_before, err);
      if (rc == 0)
        rc = events_round (c->store, oldp->objects, newp->objects, old_uids, now_ns, err);
      if (rc == 0)
        rc = events_expire (c->store, t.tv_sec, err);
      if (rc == 0)
        rc = store_resource_version (c->store, &ev_after, err);
      /* What the next round tells a pod/endpoint change by: taken only
       * when the store holds exactly this round's writes. */
      c->others_valid = false;
      c->others_unsure = settling ? "pods awaiting their first probe" : "the store written during the round";
      if (rc == 0 && !settling && ev_before == observed)
        {
          nslab_error_t e = NULL;
          c->others_valid = store_kinds_version_except (c->store, scoped_kinds, &c->others, &e) == 0;
          nslab_error_free (&e);
        }
      rc = store_end (c->store, rc, err);
    }
  json_decref (old_uids);
  plan_free (oldp);
  /* The snapshot is written (store_sync waited for it): of the new plan
   * the next round needs its keys, its objects and the nodes' ops. */
  converge_compact (c->applied, c->applied_keys);
  if (rc < 0)
    {
      c->others_valid = false;
      c->others_unsure = "the last round failed";
      return -1;
    }
  tm.events = monotonic_us () - t4;
  tm.total = monotonic_us () - t0;
  tm.snapshot_wait = c->times.snapshot_wait;
  c->times = tm;
  c->unsettled = settling;
  /* The events are our own writes: when nobody wrote between the sync and
   * them, the next round has nothing new to see. */
  if (!settling)
    c->seen_rv = ev_before == observed ? ev_after : observed;
  else if (store_resource_version (c->store, &c->seen_rv, err) < 0)
    return -1;
  return 1;
}
