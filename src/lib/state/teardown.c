/* Teardown from the state record (see teardown.h). The record is input
 * that root acts on, so every record is checked against what it may
 * touch: a namespace only by the lab's own name prefix and recorded
 * identity (netns_delete_owned), a process only while pid, start time and
 * its nslab-pause command line of this lab all still match. A refused
 * record is named in one line, the rest of the teardown goes on, and the
 * lab dir stays so the user sees what was left. */
#include "state/teardown.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/netns.h"
#include "kernel/proc.h"
#include "kernel/rtnl.h"
#include "plan/plan.h"
#include "runtime/cni.h"
#include "runtime/node_netns.h"
#include "runtime/pause.h"
#include "base/strmap.h"
#include "base/util.h"

/* NSLAB_TEST_CRASH_AFTER=N (tests only) for down: SIGKILL before step N
 * (steps: each process record, each namespace deleted, the record removed)
 * so the tests can prove a second down finishes any interrupted one; with
 * NSLAB_TEST_CRASH_SIGNAL=INT a Ctrl-C instead. */
struct steps {
  long crash;
  int sig;
  long done;
};

static void
step (struct steps *s)
{
  if (s->crash >= 0 && s->done == s->crash)
    raise (s->sig);
  s->done++;
}

/* Is pid a pause process (or the control loop) of LAB, run by root? Its argv
 * is "nslab-pause LAB ..." (pause_spawn), "nslab-controller LAB",
 * "nslab-runtime LAB" (its runtime agent) or "nslab-apiserver LAB"; a forged
 * record naming some other live process with its real start time fails
 * here. */
static bool
is_pause_of (pid_t pid, const char *lab)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d", (int) pid);
  cleanup_close int dfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (dfd < 0 || fstat (dfd, &st) < 0 || st.st_uid != 0)
    return false;
  cleanup_close int fd = openat (dfd, "cmdline", O_RDONLY | O_CLOEXEC);
  char buf[512];
  ssize_t n = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* The words are NUL-separated (an exec'd process's argv), or spaces in
   * one string (a pod's pause process forked by its node's spawner, which
   * wrote its title over the node's: proc_title_set). */
  size_t l0 = strcspn (buf, " ");
  if ((size_t) n <= l0 + 1)
    return false;
  char *word1 = buf + l0 + 1;
  size_t l1 = buf[l0] == ' ' ? strcspn (word1, " ") : strlen (word1);
  buf[l0] = '\0';
  return (strcmp (buf, "nslab-pause") == 0 || strcmp (buf, "nslab-controller") == 0
          || strcmp (buf, "nslab-runtime") == 0 || strcmp (buf, "nslab-apiserver") == 0)
         && strlen (lab) == l1 && strncmp (word1, lab, l1) == 0;
}

/* Whether pid is in our own PID namespace (not inside a node or pod). */
static bool
in_our_pid_ns (pid_t pid)
{
  char path[64];
  struct stat mine, its;
  snprintf (path, sizeof path, "/proc/%d/ns/pid", (int) pid);
  return stat ("/proc/self/ns/pid", &mine) == 0 && stat (path, &its) == 0 && mine.st_ino == its.st_ino
         && mine.st_dev == its.st_dev;
}

/* May the process recorded as P be killed? Gone or recycled (other start
 * time): nothing to do, silently. Our own child (rollback of this up): yes.
 * A zombie: its group may still hold the pod's app, and proc_kill_start
 * kills only that group, which stays reserved while the verified leader
 * exists. A process exiting right now inside a node's or pod's PID
 * namespace (killed with its node, whose namespace the kernel empties): 2,
 * only to be waited for. Otherwise only a pause process of this lab; the
 * start time is checked once more after the cmdline (pid not recycled
 * meanwhile), and proc_kill_start checks it again through its pidfd. */
static int
may_kill (const struct state *st, const struct state_process *p, nslab_error_t *err)
{
  struct proc_stat ps;
  if (proc_read_stat (p->pid, &ps) < 0 || ps.starttime != p->starttime)
    return 0;
  if (ps.ppid == getpid () || ps.state == 'Z' || ps.state == 'X')
    return 1;
  if (is_pause_of (p->pid, st->lab) && proc_read_stat (p->pid, &ps) == 0 && ps.starttime == p->starttime)
    return 1;
  if (proc_read_stat (p->pid, &ps) < 0 || ps.starttime != p->starttime)
    return 0;
  if (ps.state == 'Z' || ps.state == 'X')
    return 1;
  /* Exiting inside a PID namespace of the lab (a node's or a pod's), which
   * the kernel empties as its PID 1 goes: nothing of it can outlive it. */
  if ((ps.flags & PROC_FLAG_EXITING) && !in_our_pid_ns (p->pid))
    return 2;
  /* Exiting in ours: once a zombie, its group (which may hold more) is
   * killed as a zombie's is. */
  for (int i = 0; i < 100 && (ps.flags & PROC_FLAG_EXITING); i++)
    {
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
      if (proc_read_stat (p->pid, &ps) < 0 || ps.starttime != p->starttime)
        return 0;
      if (ps.state == 'Z' || ps.state == 'X')
        return 1;
    }
  return nslab_error (err, 0,
                      "refused journal record \"proc %s\": pid %d is not a pause process of lab %s: left as it is",
                      p->name, (int) p->pid, st->lab);
}

/* SIGKILL the processes of records ORDER[0..N) that are still the ones we
 * started, with their process groups (the app and whatever that started):
 * see proc_kill_start for why a recycled pid cannot be hit. All are
 * signalled first, then waited for together: one poll over every pidfd
 * (readable once its process has exited), so the exits overlap and a slow
 * one does not hold up noticing the others. */
static int
kill_and_wait (const struct state *st, const size_t *order, size_t n_order, struct steps *steps,
               nslab_error_t *err)
{
  int rc = 0;
  int *fds = xcalloc (n_order + 1, sizeof *fds);
  for (size_t o = 0; o < n_order; o++)
    {
      const struct state_process *p = &st->procs[order[o]];
      nslab_error_t e = NULL;
      fds[o] = -1;
      /* One step per record, alive or not: a crash test counts records,
         and a pod the control loop already replaced has a dead one. */
      step (steps);
      int ok = may_kill (st, p, &e);
      if (ok <= 0)
        {
          if (e != NULL)
            {
              nslab_error_keep_first (err, &e);
              rc = -1;
            }
          continue;
        }
      if (ok == 2)
        {
          fds[o] = proc_open_verified (p->pid, p->starttime);
          continue;
        }
      fds[o] = proc_kill_start (p->pid, p->starttime, &e);
      if (e != NULL)
        {
          nslab_error_wrap (&e, "kill %s", p->name);
          nslab_error_keep_first (err, &e);
          rc = -1;
        }
    }
  struct pollfd *pfd = xcalloc (n_order + 1, sizeof *pfd);
  size_t *which = xcalloc (n_order + 1, sizeof *which);
  size_t n = 0;
  for (size_t o = 0; o < n_order; o++)
    if (fds[o] >= 0)
      {
        pfd[n] = (struct pollfd) { .fd = fds[o], .events = POLLIN };
        which[n++] = order[o];
      }
  struct timespec t0;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  size_t left = n;
  while (left > 0)
    {
      struct timespec t;
      clock_gettime (CLOCK_MONOTONIC, &t);
      long ms = PROC_KILL_WAIT_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
      int r = poll (pfd, n, ms > 0 ? (int) ms : 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          int e = r < 0 ? errno : 0;
          for (size_t k = 0; k < n; k++)
            if (pfd[k].fd >= 0)
              {
                nslab_error_t ke = NULL;
                nslab_error (&ke, e, "%s: process %d did not exit within %d s of SIGKILL", st->procs[which[k]].name,
                             (int) st->procs[which[k]].pid, PROC_KILL_WAIT_MS / 1000);
                nslab_error_keep_first (err, &ke);
                close (pfd[k].fd);
                pfd[k].fd = -1;
              }
          rc = -1;
          break;
        }
      for (size_t k = 0; k < n; k++)
        if (pfd[k].fd >= 0 && pfd[k].revents)
          {
            close (pfd[k].fd);
            /* poll skips negative fds. */
            pfd[k].fd = -1;
            left--;
            /* Reap it if it happens to be our child (rollback of our own up). */
            waitpid (st->procs[which[k]].pid, NULL, WNOHANG);
          }
    }
  free (pfd);
  free (which);
  free (fds);
  return rc;
}

/* Every recorded process, in two rounds. First the nodes and whatever is
 * not a node's pod (the control loop, the API server), newest first: a
 * node's pause process is PID 1 of the node's PID namespace, which holds
 * its pods' (nested in it), and as it exits the kernel kills all of them,
 * many at once, and reports the node's exit only once they are gone
 * (zap_pid_ns_processes). Then the nodes' pods: by then their records
 * mostly name processes that are gone, one read each, instead of checks
 * of processes still exiting while the exits keep the CPUs busy; one
 * still there (not nested in its node: a lab of an older nslab) is killed
 * and waited for then. */
static int
kill_processes (const struct state *st, struct steps *steps, nslab_error_t *err)
{
  size_t *order = xcalloc (st->n_procs + 1, sizeof *order), n_first = 0, n_order = 0;
  bool *later = xcalloc (st->n_procs + 1, sizeof *later);
  struct strmap nodes;
  strmap_init (&nodes);
  for (size_t i = 0; i < st->n_procs; i++)
    if (st->procs[i].kind == STATE_PROC_NODE)
      {
        order[n_order++] = i;
        if (st->procs[i].name)
          strmap_put (&nodes, st->procs[i].name, (void *) 1);
      }
  for (size_t i = st->n_procs; i-- > 0;)
    {
      const struct state_process *p = &st->procs[i];
      if (p->kind == STATE_PROC_NODE)
        continue;
      later[i] = p->kind == STATE_PROC_POD && p->node && strmap_get (&nodes, p->node) != NULL;
      if (!later[i])
        order[n_order++] = i;
    }
  strmap_free (&nodes);
  n_first = n_order;
  for (size_t i = st->n_procs; i-- > 0;)
    if (later[i])
      order[n_order++] = i;
  int rc = kill_and_wait (st, order, n_first, steps, err);
  if (kill_and_wait (st, order + n_first, n_order - n_first, steps, err) < 0)
    rc = -1;
  free (later);
  free (order);
  return rc;
}

/* One namespace record: refused unless it names a namespace of this lab,
 * else deleted if it is still the one recorded. */
static void
delete_netns (const struct state *st, size_t i, nslab_error_t *e)
{
  const char *name = st->netns[i];
  const struct state_ns_ident *id = &st->netns_ident[i];
  if (! state_netns_name_ok (st->lab, name))
    nslab_error (e, 0, "refused journal record \"netns %s\": not a namespace name of lab %s (%s-NAME): left as it is",
                 name, st->lab, st->lab);
  else
    netns_delete_owned (name, id->known, id->dev, id->ino, e);
}

/* Each unmount of a namespace waits for an RCU grace period (hundreds of
 * microseconds while the pods' processes are being torn down); concurrent
 * unmounts share grace periods, so a big lab's namespaces go from a few
 * threads at once. The deletions are independent of each other. */
#define NETNS_THREADS 8

struct netns_work {
  const struct state *st;
  nslab_error_t *errs;
};

/* The K-th deletion: the namespaces newest first. */
static void
delete_netns_at (size_t k, void *arg)
{
  struct netns_work *w = arg;
  size_t i = w->st->n_netns - 1 - k;
  delete_netns (w->st, i, &w->errs[i]);
}

/* CNI DEL for every recorded call, as containerd tears a pod sandbox's
 * network down before it stops the sandbox: a pod's calls newest first,
 * with the config each was added with. A pod whose namespace is already
 * gone still gets its DEL, with an empty CNI_NETNS as the spec allows:
 * host-local's lease is a file in the node's data dir, not in the pod, and
 * left behind it would refuse the address to the next pod. Only a node
 * that is gone takes its plugins' state with it. A failing DEL is reported
 * and teardown goes on. */
static void
cni_delete_one (const struct state *st, const struct state_cni *c, const char *node_netns, nslab_error_t *e)
{
  if (!state_netns_name_ok (st->lab, c->node_ns) || !state_netns_name_ok (st->lab, c->pod_ns)
      || strchr (c->type, '/') || strchr (c->container_id, '/'))
    {
      nslab_error (e, 0, "refused journal record \"cni %s %s %s\": not lab %s's: left as it is", c->node_ns,
                   c->pod_ns, c->type, st->lab);
      return;
    }
  if (!netns_exists (c->node_ns))
    return;
  cleanup_free char *nspath = netns_exists (c->pod_ns) ? netns_path (c->pod_ns) : xstrdup ("");
  cleanup_free char *data = xasprintf ("%s/cni/%s", st->dir, c->node_ns);
  struct cni_call call = { .command = "DEL", .plugin_dir = PLAN_CNI_PATH, .type = c->type,
                           .container_id = c->container_id, .netns_path = nspath, .node_netns = node_netns,
                           .ifname = c->ifname, .config = c->config, .node_ns = c->node_ns, .data_dir = data };
  char *out = NULL;
  if (cni_exec (&call, &out, e) < 0)
    nslab_error_wrap (e, "%s: pod %s", c->node_ns, c->pod_ns);
  free (out);
}

/* Each plugin is a process of its own and pods are independent: a big
 * lab's pods go from a few threads at once, each pod's calls in order. */
#define CNI_THREADS 8

/* A pod namespace's recorded calls, newest first, and the name its node
 * gave it (the DEL gets the CNI_NETNS its ADD got, when the journal has
 * it). */
struct cni_pod {
  size_t *calls;
  size_t n_calls;
  const char *node_netns;
};

struct cni_work {
  const struct state *st;
  struct cni_pod *pods; /* distinct pod namespaces, newest first */
  size_t n_pods;
  nslab_error_t *errs;
};

/* The K-th pod's calls, in order. */
static void
cni_delete_pod (size_t k, void *arg)
{
  struct cni_work *w = arg;
  for (size_t i = 0; i < w->pods[k].n_calls; i++)
    {
      nslab_error_t e = NULL;
      cni_delete_one (w->st, &w->st->cnis[w->pods[k].calls[i]], w->pods[k].node_netns, &e);
      nslab_error_keep_first (&w->errs[k], &e);
    }
}

static int
cni_delete (const struct state *st, nslab_error_t *err)
{
  if (st->n_cnis == 0)
    return 0;
  struct cni_work w = { .st = st };
  w.pods = xcalloc (st->n_cnis, sizeof *w.pods);
  /* pod namespace -> its index + 1 in w.pods: one pass over the calls */
  struct strmap at;
  strmap_init (&at);
  for (size_t i = st->n_cnis; i-- > 0;)
    {
      size_t k = strmap_claim (&at, st->cnis[i].pod_ns, w.n_pods);
      if (k == w.n_pods)
        w.n_pods++;
      struct cni_pod *pod = &w.pods[k];
      *VEC_PUSH (pod->calls, pod->n_calls) = i;
    }
  for (size_t i = 0; i < st->n_node_netns; i++)
    {
      size_t k;
      if (strmap_owner (&at, st->node_netns[i].pod_ns, &k) && w.pods[k].node_netns == NULL)
        w.pods[k].node_netns = st->node_netns[i].name;
    }
  strmap_free (&at);
  w.errs = xcalloc (w.n_pods, sizeof *w.errs);
  run_threads_each (CNI_THREADS, w.n_pods, cni_delete_pod, &w);
  int rc = nslab_error_keep_first_of (err, w.errs, w.n_pods);
  for (size_t k = 0; k < w.n_pods; k++)
    free (w.pods[k].calls);
  free (w.errs);
  free (w.pods);
  return rc;
}

static int
teardown_run (const struct state *st, struct steps *steps, nslab_error_t *err)
{
  int rc = cni_delete (st, err);
  if (kill_processes (st, steps, err) < 0)
    rc = -1;
  /* A cached netlink socket (rollback of our own up) would keep the
   * namespace alive after its name is gone. */
  for (size_t i = 0; i < st->n_netns; i++)
    if (state_netns_name_ok (st->lab, st->netns[i]))
      rtnl_forget (st->netns[i]);
  nslab_error_t *errs = xcalloc (st->n_netns + 1, sizeof *errs);
  struct netns_work w = { .st = st, .errs = errs };
  /* Crash tests count steps one namespace at a time, in order. */
  if (steps->crash < 0 && st->n_netns >= 4 * NETNS_THREADS)
    run_threads_each (NETNS_THREADS, st->n_netns, delete_netns_at, &w);
  else
    for (size_t i = st->n_netns; i-- > 0;)
      {
        if (state_netns_name_ok (st->lab, st->netns[i]))
          step (steps);
        delete_netns (st, i, &errs[i]);
      }
  for (size_t i = st->n_netns; i-- > 0;)
    if (errs[i] != NULL)
      {
        nslab_error_keep_first (err, &errs[i]);
        nslab_error_free (&errs[i]);
        rc = -1;
      }
  free (errs);
  if (st->n_bad > 0)
    {
      nslab_error_t e = NULL;
      nslab_error (&e, 0, "refused journal record in %s/journal (%s): left as it is", st->dir, st->bad[0]);
      nslab_error_keep_first (err, &e);
      rc = -1;
    }
  return rc;
}

int
teardown_objects (const struct state *st, nslab_error_t *err)
{
  struct steps s = { .crash = -1 };
  return teardown_run (st, &s, err);
}

static bool
name_in (const char *name, const struct strmap *names)
{
  return strmap_get (names, name) != NULL;
}

int
teardown_namespaces (struct state_writer *w, const struct state *st, char *const *names, size_t n,
                     nslab_error_t *err)
{
  /* A view of st holding only the records of those namespaces: the same
   * checks as down, for fewer objects. */
  struct state part = { .lab = st->lab, .dir = st->dir };
  /* looked up by a hash: a scale to 0 takes a thousand pods at once */
  struct strmap set;
  strmap_init (&set);
  for (size_t i = 0; i < n; i++)
    strmap_put (&set, names[i], (void *) 1);
  part.netns = xcalloc (n + 1, sizeof *part.netns);
  part.netns_ident = xcalloc (n + 1, sizeof *part.netns_ident);
  part.procs = xcalloc (st->n_procs + 1, sizeof *part.procs);
  for (size_t i = 0; i < st->n_netns; i++)
    if (name_in (st->netns[i], &set))
      {
        part.netns[part.n_netns] = st->netns[i];
        part.netns_ident[part.n_netns++] = st->netns_ident[i];
      }
  for (size_t i = 0; i < st->n_procs; i++)
    if (name_in (st->procs[i].netns, &set))
      part.procs[part.n_procs++] = st->procs[i];
  part.cnis = xcalloc (st->n_cnis + 1, sizeof *part.cnis);
  for (size_t i = 0; i < st->n_cnis; i++)
    if (name_in (st->cnis[i].pod_ns, &set))
      part.cnis[part.n_cnis++] = st->cnis[i];
  /* Their names on their nodes first (the node lives on): each pins its
   * namespace, which would otherwise outlive its pod. */
  int rc = 0;
  size_t *node_procs = xcalloc (st->n_procs + 1, sizeof *node_procs), n_node_procs = 0;
  for (size_t j = 0; j < st->n_procs; j++)
    if (st->procs[j].kind == STATE_PROC_NODE)
      node_procs[n_node_procs++] = j;
  for (size_t i = 0; rc == 0 && i < st->n_node_netns; i++)
    {
      const struct state_node_netns *nn = &st->node_netns[i];
      if (!name_in (nn->pod_ns, &set))
        continue;
      for (size_t k = 0; rc == 0 && k < n_node_procs; k++)
        {
          const struct state_process *np = &st->procs[node_procs[k]];
          if (strcmp (np->name, nn->node) == 0)
            rc = node_netns_remove (np->pid, np->starttime, &nn->name, 1, err);
        }
    }
  free (node_procs);
  strmap_free (&set);
  struct steps s = { .crash = -1 };
  if (rc == 0)
    rc = teardown_run (&part, &s, err);
  /* Recorded as gone only once gone: a failure leaves them for down. */
  for (size_t i = 0; rc == 0 && i < part.n_procs; i++)
    rc = state_record_gone_process (w, part.procs[i].name, part.procs[i].pid, err);
  for (size_t i = 0; rc == 0 && i < part.n_netns; i++)
    rc = state_record_gone_netns (w, part.netns[i], err);
  free (part.netns);
  free (part.netns_ident);
  free (part.procs);
  free (part.cnis);
  return rc;
}

int
teardown_lab (const char *lab, nslab_error_t *err)
{
  struct state_writer *w = NULL;
  if (state_open (lab, &w, err) < 0)
    return -1;
  struct state *st = NULL;
  if (state_writer_load (w, &st, err) < 0)
    {
      state_writer_close (w);
      return -1;
    }
  const char *sig = getenv ("NSLAB_TEST_CRASH_SIGNAL");
  struct steps steps = { .crash = test_crash_after (), .sig = sig && strcmp (sig, "INT") == 0 ? SIGINT : SIGKILL };
  int rc = teardown_run (st, &steps, err);
  state_free (st);
  /* The record stays when something could not be removed (or was refused),
   * so a second `down` can retry and the user sees it. */
  if (rc == 0)
    {
      step (&steps);
      rc = state_remove (w, err);
    }
  state_writer_close (w);
  return rc;
}
