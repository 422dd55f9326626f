/* Apply a plan (see apply.h). */
#include "apply/apply.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/iptables.h"
#include "kernel/netns.h"
#include "kernel/rtnl.h"
#include "runtime/pause.h"
#include "state/state.h"
#include "state/conflicts.h"
#include "state/journal.h"
#include "kernel/sysctl.h"
#include "state/teardown.h"
#include "base/util.h"

int
apply_check_privileges (nslab_error_t *err)
{
  /* CapEff from /proc: bit 12 CAP_NET_ADMIN, bit 21 CAP_SYS_ADMIN. */
  cleanup_file FILE *f = fopen ("/proc/self/status", "re");
  unsigned long long eff = 0;
  if (f)
    {
      char line[256];
      while (fgets (line, sizeof line, f))
        if (sscanf (line, "CapEff: %llx", &eff) == 1)
          break;
    }
  if ((eff & (1ULL << 12)) && (eff & (1ULL << 21)))
    return 0;
  return nslab_error (err, 0, "needs root: CAP_NET_ADMIN + CAP_SYS_ADMIN");
}

static const char *
ns_name (const struct plan *p, int idx)
{
  if (idx < 0 || (size_t) idx >= p->model->n_netns)
    return NULL;
  return p->model->netns[idx].name;
}

/* Owner kind as kubectl prints it ("deployment/web"); local so the applier
 * does not depend on the scenario loader's object. */
static const char *
owner_kind (enum workload_kind k)
{
  switch (k)
    {
    case WL_DEPLOYMENT:
      return "deployment";
    case WL_REPLICASET:
      return "replicaset";
    case WL_POD:
    default:
      return "pod";
    }
}

struct proc_ctx {
  struct state_writer *w;
  struct state_process sp;
};

static int
record_proc (pid_t pid, uint64_t starttime, void *arg, nslab_error_t *err)
{
  struct proc_ctx *c = arg;
  c->sp.pid = pid;
  c->sp.starttime = starttime;
  return state_record_process (c->w, &c->sp, err);
}

/* Work started by an op and finished after the loop, so that it runs in
 * parallel with the rest of up: iptables-restore per namespace, and pause
 * processes setting up their namespaces and exec'ing. */
struct pending_proc {
  struct pause_start start;
  char *what; /* "k3s-cp1: start node cp1", for errors */
};

struct pending {
  struct ipt_job *ipt;
  size_t n_ipt;
  struct pending_proc *procs;
  size_t n_procs;
};

static int
do_process (const struct plan *p, const struct plan_op *op, struct state_writer *w, struct pending *pend,
            nslab_error_t *err)
{
  const struct model *m = p->model;
  const struct plan_process *pp = &op->u.proc;
  const char *ns = ns_name (p, op->ns);
  struct proc_ctx c = { .w = w };
  cleanup_free char *pname = NULL;
  cleanup_free char *owner = NULL;
  if (pp->role == PROC_NODE)
    {
      const struct model_node *node = &m->nodes[pp->owner];
      c.sp.kind = STATE_PROC_NODE;
      c.sp.name = node->name;
      c.sp.node = node->name;
    }
  else
    {
      const struct model_pod *pod = &m->pods[pp->owner];
      c.sp.kind = STATE_PROC_POD;
      pname = xasprintf ("%s/%s", pod->ns, pod->name);
      owner = xasprintf ("%s/%s", owner_kind (pod->wl->kind), pod->wl->name);
      c.sp.name = pname;
      c.sp.owner = owner;
      c.sp.node = m->nodes[pod->node].name;
    }
  c.sp.netns = (char *) ns;
  cleanup_free char *nspath = netns_path (ns);
  cleanup_free char *files = xasprintf ("%s/files/%s", state_writer_dir (w), ns);
  cleanup_free char *log = xasprintf ("%s/logs/%s.log", state_writer_dir (w), ns);
  struct pause_spec spec = {
    .title = pp->title,
    .netns_path = nspath,
    .hostname = pp->hostname,
    .files_dir = files,
    .etc_hosts = pp->etc_hosts,
    .resolv_conf = pp->resolv_conf,
    .app = pp->app,
    .env = pp->env,
    .log_path = (pp->app && pp->app->kind != APP_NONE) ? log : NULL,
  };
  struct pending_proc *started = VEC_PUSH (pend->procs, pend->n_procs);
  started->what = xasprintf ("%s: start %s %s", ns, pp->role == PROC_NODE ? "node" : "pod", c.sp.name);
  if (pause_spawn_start (&spec, record_proc, &c, &started->start, err) < 0)
    {
      nslab_error_wrap (err, "%s", started->what);
      free (started->what);
      pend->n_procs--;
      return -1;
    }
  return 0;
}

static int
record_netns_ident (const char *name, uint64_t dev, uint64_t ino, void *arg, nslab_error_t *err)
{
  return state_record_netns_ident (arg, name, dev, ino, err);
}

static int
do_op (const struct plan *p, const struct plan_op *op, struct state_writer *w, struct pending *pend,
       nslab_error_t *err)
{
  const char *ns = ns_name (p, op->ns);
  if (ns == NULL)
    return nslab_error (err, EINVAL, "plan op %d: bad namespace index %d", (int) op->kind, op->ns);
  switch (op->kind)
    {
    case OP_NETNS:
      if (state_record_netns (w, ns, err) < 0)
        return -1;
      return netns_create_recorded (ns, record_netns_ident, w, err);
    case OP_SYSCTL:
      return sysctl_write (ns, op->u.sysctl.key, op->u.sysctl.value, err);
    case OP_LINK:
      {
        const char *peer = NULL;
        if (op->u.link.kind == LINK_VETH && (peer = ns_name (p, op->u.link.peer_ns)) == NULL)
          return nslab_error (err, EINVAL, "%s: veth %s: bad peer namespace index", ns, op->u.link.name);
        return nlr_link_add (ns, &op->u.link, peer, err);
      }
    case OP_LINK_SET:
      return nlr_link_set (ns, &op->u.set, err);
    case OP_ADDR:
      return nlr_addr_add (ns, &op->u.addr, err);
    case OP_ROUTE:
      return nlr_route_add (ns, &op->u.route, err);
    case OP_NEIGH:
      return nlr_neigh_add (ns, &op->u.neigh, err);
    case OP_FDB:
      return nlr_fdb_append (ns, &op->u.fdb, err);
    case OP_IPTABLES:
      {
        struct ipt_job *j = VEC_PUSH (pend->ipt, pend->n_ipt);
        if (iptables_restore_start (ns, op->u.ipt.payload, j, err) < 0)
          {
            pend->n_ipt--;
            return -1;
          }
        return 0;
      }
    case OP_PROCESS:
      return do_process (p, op, w, pend, err);
    }
  return nslab_error (err, EINVAL, "%s: unknown plan op %d", ns, (int) op->kind);
}

/* Settle every link's carrier before `up` returns (see nlr_link_sync):
 * veth ends first, which enables their bridge ports, then the bridges,
 * whose own carrier only follows from their ports. */
static int
sync_carriers (const struct plan *p, nslab_error_t *err)
{
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < p->n_ops; i++)
      {
        const struct plan_op *op = &p->ops[i];
        if (op->kind != OP_LINK)
          continue;
        const struct plan_link *l = &op->u.link;
        if (pass == 0 && l->kind == LINK_VETH)
          {
            if (nlr_link_sync (ns_name (p, op->ns), l->name, err) < 0
                || nlr_link_sync (ns_name (p, l->peer_ns), l->peer_name, err) < 0)
              return -1;
          }
        else if (pass == 1 && l->kind == LINK_BRIDGE && nlr_link_sync (ns_name (p, op->ns), l->name, err) < 0)
          return -1;
      }
  return 0;
}

/* Wait for everything started; all of it, also after a failure: rollback
 * must not delete a namespace under a running iptables-restore's feet, and
 * every started pause process must be collected. The first error wins. */
static int
finish_pending (struct pending *pend, nslab_error_t *err)
{
  int rc = 0;
  for (size_t i = 0; i < pend->n_ipt; i++)
    if (iptables_restore_finish (&pend->ipt[i], err) < 0)
      rc = -1;
  for (size_t i = 0; i < pend->n_procs; i++)
    {
      nslab_error_t e = NULL;
      if (pause_spawn_finish (&pend->procs[i].start, &e) < 0)
        {
          nslab_error_wrap (&e, "%s", pend->procs[i].what);
          nslab_error_keep_first (err, &e);
          rc = -1;
        }
      free (pend->procs[i].what);
    }
  free (pend->ipt);
  free (pend->procs);
  memset (pend, 0, sizeof *pend);
  return rc;
}

static long
crash_after (void)
{
  const char *s = getenv ("NSLAB_TEST_CRASH_AFTER");
  if (s == NULL || *s == '\0')
    return -1;
  char *end;
  long n = strtol (s, &end, 10);
  return *end == '\0' && n >= 0 ? n : -1;
}

static void
rollback (struct state_writer *w, nslab_error_t *err)
{
  struct state *st = NULL;
  nslab_error_t e = NULL;
  if (state_writer_load (w, &st, &e) == 0)
    {
      if (teardown_objects (st, &e) == 0)
        state_remove (w, &e);
      state_free (st);
    }
  if (e && err && *err)
    {
      /* Both matter: why up failed, and that something may be left. */
      char *msg = xasprintf ("%s (rollback failed: %s%s%s; run nslab down %s)", (*err)->msg, e->msg,
                             e->status ? ": " : "", e->status ? strerror (e->status) : "",
                             state_writer_lab (w));
      free ((*err)->msg);
      (*err)->msg = msg;
    }
  nslab_error_free (&e);
}

static void
raise_nofile (void)
{
  /* Two fds per namespace (netlink socket, namespace fd) for the whole run. */
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

/* Ctrl-C (or SIGTERM/SIGHUP) during up is a failure like any other: the
 * handler only notes it, the loop stops at the next operation and rolls
 * back, so an interrupted up leaves nothing. SA_RESTART keeps the
 * operation under way intact. */
static volatile sig_atomic_t interrupted;

static void
note_interrupt (int sig)
{
  interrupted = sig;
}

static int
interrupted_error (nslab_error_t *err)
{
  return nslab_error (err, 0, "interrupted by %s: rolled back", strsignal (interrupted));
}

static const int interrupt_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void
catch_interrupts (struct sigaction old[3])
{
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = note_interrupt;
  sa.sa_flags = SA_RESTART;
  sigemptyset (&sa.sa_mask);
  interrupted = 0;
  for (size_t i = 0; i < ARRAY_SIZE (interrupt_signals); i++)
    sigaction (interrupt_signals[i], &sa, &old[i]);
}

static void
restore_interrupts (const struct sigaction old[3])
{
  for (size_t i = 0; i < ARRAY_SIZE (interrupt_signals); i++)
    sigaction (interrupt_signals[i], &old[i], NULL);
}

int
apply_plan (const struct plan *p, const char *scenario_path, nslab_error_t *err)
{
  if (apply_check_privileges (err) < 0)
    return -1;
  raise_nofile ();
  if (iptables_restore_program (err) == NULL)
    return -1;

  /* Interrupts are caught before the record exists: from its creation on,
   * an interrupt is noted and rolled back at the next op, so no moment of
   * up can leave an incomplete record behind. */
  struct sigaction old_actions[3];
  catch_interrupts (old_actions);
  struct state_writer *w = NULL;
  if (state_create_checked (p, scenario_path, &w, err) < 0)
    {
      restore_interrupts (old_actions);
      return -1;
    }
  int rc = 0;

  long crash = crash_after ();
  /* NSLAB_TEST_CRASH_SIGNAL=INT makes the hook a Ctrl-C instead of kill -9. */
  const char *crash_sig = getenv ("NSLAB_TEST_CRASH_SIGNAL");
  int crash_signal = crash_sig && strcmp (crash_sig, "INT") == 0 ? SIGINT : SIGKILL;
  struct pending pend = { 0 };
  for (size_t i = 0; rc == 0 && i < p->n_ops; i++)
    {
      if (crash >= 0 && (size_t) crash == i)
        raise (crash_signal);
      if (interrupted)
        rc = interrupted_error (err);
      else
        rc = do_op (p, &p->ops[i], w, &pend, err);
    }
  if (rc == 0 && crash >= 0 && (size_t) crash >= p->n_ops)
    raise (SIGKILL);
  if (rc == 0)
    rc = sync_carriers (p, err);
  nslab_error_t perr = NULL;
  if (finish_pending (&pend, rc == 0 ? err : &perr) < 0)
    rc = -1;
  nslab_error_free (&perr);

  if (rc == 0 && interrupted)
    rc = interrupted_error (err);
  if (rc == 0)
    rc = state_mark_complete (w, err);
  if (rc < 0)
    rollback (w, err);
  restore_interrupts (old_actions);
  nlr_close_all ();
  state_writer_close (w);
  return rc;
}
