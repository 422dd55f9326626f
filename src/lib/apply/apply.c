/* Apply a plan (see apply.h). */
#include "apply/apply.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/addr.h"
#include "kernel/caps.h"
#include "kernel/fdb.h"
#include "kernel/iptables.h"
#include "kernel/link.h"
#include "kernel/neigh.h"
#include "kernel/nfacct.h"
#include "kernel/nftables.h"
#include "kernel/netns.h"
#include "kernel/route.h"
#include "kernel/proc.h"
#include "kernel/rtnl.h"
#include "runtime/cni.h"
#include "runtime/node_netns.h"
#include "runtime/pause.h"
#include "state/snapshot.h"
#include "state/store.h"
#include "state/state.h"
#include "state/conflicts.h"
#include "state/journal.h"
#include "kernel/sysctl.h"
#include "plan/op.h"
#include "state/teardown.h"
#include "base/util.h"

int
apply_check_privileges (nslab_error_t *err)
{
  return caps_check_admin (err);
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
 * processes starting, setting up their namespaces and exec'ing. */
struct pending_proc {
  struct pause_start start;
  enum { PROC_BEGUN, PROC_RELEASED, PROC_FINISHED, PROC_FAILED } state;
  struct proc_ctx rec; /* what is recorded at release (owned strings) */
  char *what; /* "k3s-cp1: start node cp1", for errors */
};

/* The lab's node pause processes, as the journal records them: their pods'
 * PID namespaces nest in theirs, they fork their pods (spawner.h), and in
 * their mount namespaces the pods get their names (name_pods_on_nodes).
 * Kept from the start (up) or the journal load (apply_ops) that found them,
 * never read again per round. */
struct node_proc {
  char *name, *netns;
  pid_t pid;
  uint64_t starttime;
  int pid_ns;     /* its PID namespace, for its pods' to nest in */
  size_t started; /* its entry in pending.procs (this up started it: its pods wait for its
                   * setup, spawner.h), or SIZE_MAX (the journal's) */
};

struct node_procs {
  struct node_proc *v;
  size_t n;
};

/* PID_NS is taken. */
static void
node_procs_add (struct node_procs *np, const char *name, const char *netns, pid_t pid, uint64_t starttime,
                int pid_ns, size_t started)
{
  *VEC_PUSH (np->v, np->n) = (struct node_proc) { .name = xstrdup (name), .netns = xstrdup (netns), .pid = pid,
                                                  .starttime = starttime, .pid_ns = pid_ns, .started = started };
}

static void
node_procs_free (struct node_procs *np)
{
  for (size_t i = 0; i < np->n; i++)
    {
      free (np->v[i].name);
      free (np->v[i].netns);
      if (np->v[i].pid_ns >= 0)
        close (np->v[i].pid_ns);
    }
  free (np->v);
  memset (np, 0, sizeof *np);
}

/* At most this many pods' pause processes are begun and not yet released
 * (pause_spawn_begin): each one's start-up (exec, the C library's start,
 * its PID namespace) runs on another CPU while we go on with the next
 * pods' links, instead of us waiting for it pod after pod. */
#define PROC_WINDOW 8

struct pending {
  struct child_job *ipt;
  size_t n_ipt;
  struct pending_proc *procs;
  size_t n_procs;
  size_t n_begun;   /* of procs, in state PROC_BEGUN */
  size_t next_release; /* no proc before this index is PROC_BEGUN */
  int mnt_template; /* > 0 once made, for every pause process of this up */
  bool sys_rdonly;  /* the template's: whether the host's /sys is read-only */
};

static struct node_proc *
node_proc_named (const struct node_procs *np, const char *name)
{
  for (size_t i = 0; i < np->n; i++)
    if (strcmp (np->v[i].name, name) == 0)
      return &np->v[i];
  return NULL;
}

static void
pending_proc_free_record (struct pending_proc *pp)
{
  free (pp->rec.sp.name);
  free (pp->rec.sp.node);
  free (pp->rec.sp.netns);
  memset (&pp->rec.sp, 0, sizeof pp->rec.sp);
}

/* Wait for a begun pause process, record it and let it go. */
static int
release_proc (struct pending *pend, size_t i, nslab_error_t *err)
{
  struct pending_proc *pp = &pend->procs[i];
  int rc = pause_spawn_release (&pp->start, record_proc, &pp->rec, err);
  pp->state = rc == 0 ? PROC_RELEASED : PROC_FAILED;
  /* Only a node's PID namespace is needed again (its pods' nest in it): a
   * pod's fd would stay open to the end of up, one more per pod in the fd
   * table that every later spawn copies and closes at its exec. */
  if (rc == 0 && pp->rec.sp.kind != STATE_PROC_NODE && pp->start.pid_ns >= 0)
    {
      close (pp->start.pid_ns);
      pp->start.pid_ns = -1;
    }
  pend->n_begun--;
  pending_proc_free_record (pp);
  if (rc < 0)
    nslab_error_wrap (err, "%s", pp->what);
  return rc;
}

/* Release the begun pause processes that are ready to be (their pid has
 * arrived: the socket is readable), without waiting for the others; then
 * the oldest, waiting for each, until at most KEEP remain begun. A ready
 * process is let go at once: its setup runs while we go on. */
static int
release_procs (struct pending *pend, size_t keep, nslab_error_t *err)
{
  if (pend->n_begun > 0)
    {
      struct pollfd *pfd = xcalloc (pend->n_begun, sizeof *pfd);
      size_t *which = xcalloc (pend->n_begun, sizeof *which);
      size_t m = 0;
      for (size_t i = pend->next_release; i < pend->n_procs && m < pend->n_begun; i++)
        if (pend->procs[i].state == PROC_BEGUN)
          {
            pfd[m] = (struct pollfd) { .fd = pend->procs[i].start.gofd, .events = POLLIN };
            which[m++] = i;
          }
      int rc = 0;
      if (poll (pfd, m, 0) > 0)
        for (size_t k = 0; rc == 0 && k < m; k++)
          if (pfd[k].revents)
            rc = release_proc (pend, which[k], err);
      free (pfd);
      free (which);
      if (rc < 0)
        return -1;
    }
  for (; pend->n_begun > keep && pend->next_release < pend->n_procs; pend->next_release++)
    if (pend->procs[pend->next_release].state == PROC_BEGUN && release_proc (pend, pend->next_release, err) < 0)
      {
        pend->next_release++;
        return -1;
      }
  return 0;
}

static int
do_process (const struct plan_op *op, struct state_writer *w, struct pending *pend, struct node_procs *nodes,
            nslab_error_t *err)
{
  const struct plan_process *pp = &op->u.proc;
  const char *ns = op->ns;
  struct proc_ctx c = { .w = w };
  cleanup_free char *pname = NULL;
  if (pp->owner.kind == OBJ_NODE)
    {
      c.sp.kind = STATE_PROC_NODE;
      c.sp.name = pp->owner.name;
    }
  else
    {
      c.sp.kind = STATE_PROC_POD;
      pname = xasprintf ("%s/%s", pp->owner.ns, pp->owner.name);
      c.sp.name = pname;
    }
  c.sp.node = pp->node;
  c.sp.netns = (char *) ns;
  cleanup_free char *nspath = netns_path (ns);
  cleanup_free char *files = xasprintf ("%s/files/%s", state_writer_dir (w), ns);
  cleanup_free char *log = xasprintf ("%s/logs/%s.log", state_writer_dir (w), ns);
  struct pause_app app = { .kind = PAUSE_APP_NONE };
  if (pp->app.kind == APP_HTTP)
    app = (struct pause_app) { .kind = PAUSE_APP_HTTP, .port = pp->app.port };
  else if (pp->app.kind == APP_COMMAND)
    app = (struct pause_app) { .kind = PAUSE_APP_COMMAND, .argv = pp->app.argv, .ready_fd = pp->app.ready_fd };
  /* The cluster DNS server (SQLite, ldns) and a node's kube-proxy
   * (libmicrohttpd) are programs of their own beside nslab, not the small
   * static nslab-pause, and not nslab, which does not load their
   * libraries. */
  char exe[PATH_MAX], port[8];
  /* The zone from the plan: without it (a plan older than the member)
   * the server parses the lab's whole snapshot for it. */
  char *dns_argv[7] = { (char *) "nslab-coredns", (char *) "--port", port };
  size_t dns_argc = 3;
  if (pp->app.dns_domain)
    {
      dns_argv[dns_argc++] = (char *) "--domain";
      dns_argv[dns_argc++] = pp->app.dns_domain;
    }
  dns_argv[dns_argc] = (char *) state_writer_lab (w);
  if (pp->app.kind == APP_DNS || pp->app.kind == APP_KUBE_PROXY)
    {
      const char *helper = pp->app.kind == APP_DNS ? "nslab-coredns" : "nslab-kube-proxy";
      if (!pause_helper_path (helper, exe))
        return nslab_error (err, ENOENT, "%s: start %s %s: %s is not installed beside nslab", ns,
                            pp->app.kind == APP_DNS ? "pod" : "node", c.sp.name, helper);
    }
  if (pp->app.kind == APP_DNS)
    {
      snprintf (port, sizeof port, "%u", pp->app.port);
      /* Started once it serves: its readiness probe (TCP on its port) is
       * then decided (model_probe_decided), and up need not wait for it. */
      app = (struct pause_app) { .kind = PAUSE_APP_COMMAND, .argv = dns_argv, .path = exe, .ready_fd = true };
    }
  if (pp->app.kind == APP_KUBE_PROXY)
    app = (struct pause_app) { .kind = PAUSE_APP_COMMAND, .argv = pp->app.argv, .path = exe };
  /* A node keeps the host's /etc/hosts (it is a VM the user set up) and
   * learns the lab's node names; read here, not in the plan, which stays a
   * pure function of the scenario. */
  cleanup_free char *node_hosts = NULL;
  if (pp->owner.kind == OBJ_NODE && pp->etc_hosts)
    {
      struct strbuf sb;
      sb_init (&sb);
      cleanup_file FILE *f = fopen ("/etc/hosts", "re");
      char buf[4096];
      size_t n;
      while (f && (n = fread (buf, 1, sizeof buf, f)) > 0)
        sb_addn (&sb, buf, n);
      if (sb.len && sb.buf[sb.len - 1] != '\n')
        sb_add (&sb, "\n");
      sb_add (&sb, pp->etc_hosts);
      node_hosts = sb_steal (&sb);
    }
  /* The lab's API server keeps the service account's ca.crt and token in
   * its pki dir (apiserver/pki.h), beside files/. */
  cleanup_free char *pki = pp->owner.kind == OBJ_POD ? xasprintf ("%s/pki", state_writer_dir (w)) : NULL;
  struct pause_spec spec = {
    .title = pp->title,
    .sa_pki_dir = pki,
    .sa_namespace = pp->owner.kind == OBJ_POD ? pp->owner.ns : NULL,
    .netns_path = nspath,
    .hostname = pp->hostname,
    .files_dir = files,
    .etc_hosts = node_hosts ? node_hosts : pp->etc_hosts,
    .resolv_conf = pp->resolv_conf,
    .files = pp->files,
    .app = &app,
    .env = pp->env,
    .log_path = pp->app.kind != APP_NONE ? log : NULL,
    .privileged = pp->privileged,
    .cap_add = pp->cap_add,
    .own_netns_dir = pp->owner.kind == OBJ_NODE,
    .restart = pp->restart_policy == RESTART_NEVER        ? PAUSE_RESTART_NEVER
               : pp->restart_policy == RESTART_ON_FAILURE ? PAUSE_RESTART_ON_FAILURE
                                                          : PAUSE_RESTART_ALWAYS,
  };
  /* Made at the first process, after its namespace is mounted: by then
   * /run/netns is the bind mount the template leaves out. */
  if (pend->mnt_template <= 0 && pause_mnt_template (&pend->mnt_template, &pend->sys_rdonly, err) < 0)
    return nslab_error_wrap (err, "%s: start %s %s", ns, pp->owner.kind == OBJ_NODE ? "node" : "pod", c.sp.name);
  spec.mnt_template = pend->mnt_template;
  spec.sys_rdonly = pend->sys_rdonly;
  /* A pod's PID namespace nests in its node's, as on a real node: the
   * node's pause process starts first (plan order). */
  if (pp->owner.kind == OBJ_POD)
    {
      struct node_proc *node = node_proc_named (nodes, pp->node);
      if (node == NULL)
        return nslab_error (err, 0, "%s: start pod %s: node %s has no pause process started", ns, c.sp.name,
                            pp->node);
      spec.pid_ns = node->pid_ns;
      /* The node's pause process forks its pods (spawner.h) once it is set
       * up: a node this up started is waited for at its first pod. */
      if (node->started != SIZE_MAX)
        {
          struct pending_proc *nodep = &pend->procs[node->started];
          node->started = SIZE_MAX;
          if (nodep->state == PROC_RELEASED)
            {
              int rc = pause_spawn_finish (&nodep->start, err);
              nodep->state = rc == 0 ? PROC_FINISHED : PROC_FAILED;
              if (rc < 0)
                return nslab_error_wrap (err, "%s", nodep->what);
            }
        }
      spec.spawner_pid = node->pid;
      spec.spawner_netns = node->netns;
    }
  else if (pp->owner.kind == OBJ_NODE)
    spec.spawner = true;
  size_t idx = pend->n_procs;
  struct pending_proc *started = VEC_PUSH (pend->procs, pend->n_procs);
  memset (started, 0, sizeof *started);
  started->what = xasprintf ("%s: start %s %s", ns, pp->owner.kind == OBJ_NODE ? "node" : "pod", c.sp.name);
  if (pause_spawn_begin (&spec, &started->start, err) < 0)
    {
      nslab_error_wrap (err, "%s", started->what);
      free (started->what);
      pend->n_procs--;
      return -1;
    }
  started->state = PROC_BEGUN;
  pend->n_begun++;
  started->rec = c;
  started->rec.sp.name = xstrdup (c.sp.name);
  started->rec.sp.node = c.sp.node ? xstrdup (c.sp.node) : NULL;
  started->rec.sp.netns = xstrdup (c.sp.netns);
  /* A node's PID namespace is needed by its pods' starts: released now. */
  if (pp->owner.kind == OBJ_NODE)
    {
      if (release_proc (pend, idx, err) < 0)
        return -1;
      node_procs_add (nodes, pp->owner.name, ns, pend->procs[idx].start.pid, pend->procs[idx].start.starttime,
                      pend->procs[idx].start.pid_ns, idx);
      pend->procs[idx].start.pid_ns = -1;
      return 0;
    }
  return release_procs (pend, PROC_WINDOW, err);
}

/* The applier's column of the op table (plan/op.h has the others): one
 * function per op kind, each translating the op into kernel or runtime calls.
 * Work that can run in parallel with the rest of up (iptables-restore, pause
 * processes setting themselves up) is started here and finished later. */
struct apply_ctx {
  struct state_writer *w;
  struct pending pend;
  struct node_procs nodes;
};

static int
record_netns_ident (const char *name, uint64_t dev, uint64_t ino, void *arg, nslab_error_t *err)
{
  return state_record_netns_ident (arg, name, dev, ino, err);
}

static int
apply_netns (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  /* Recorded before it exists, its identity before it gets its name: a kill
   * in between leaves a record that down clears, never an unrecorded
   * namespace, and down removes only a namespace proven to be this one. */
  if (state_record_netns (c->w, op->ns, err) < 0)
    return -1;
  /* A socket kept under this name would talk to an older namespace. */
  rtnl_forget (op->ns);
  return netns_create_recorded (op->ns, record_netns_ident, c->w, err);
}

static int
apply_sysctl (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  (void) c;
  return sysctl_write (op->ns, op->u.sysctl.key, op->u.sysctl.value, err);
}

/* The kernel layer names the object; the namespace is named here, once. */
static int
in_ns (const struct plan_op *op, int rc, nslab_error_t *err)
{
  return rc < 0 ? nslab_error_wrap (err, "%s", op->ns) : 0;
}

static int
apply_link (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  (void) c;
  const struct plan_link *l = &op->u.link;
  const uint8_t *mac = l->has_mac ? l->mac : NULL;
  switch (l->kind)
    {
    case LINK_BRIDGE:
      return in_ns (op, link_add_bridge (op->ns, l->name, l->mtu, mac, err), err);
    case LINK_VETH:
      {
        struct veth_spec v = { .name = l->name, .mac = mac, .peer_name = l->peer_name,
                               .peer_mac = l->peer_has_mac ? l->peer_mac : NULL, .peer_ns = l->peer_ns,
                               .mtu = l->mtu, .no_queue = l->no_queue };
        return in_ns (op, link_add_veth (op->ns, &v, err), err);
      }
    case LINK_VXLAN:
      {
        struct vxlan_spec v = { .name = l->name, .mac = mac, .mtu = l->mtu, .vni = l->vni, .dstport = l->dstport,
                                .local = l->local, .dev = l->dev, .learning = l->learning };
        return in_ns (op, link_add_vxlan (op->ns, &v, err), err);
      }
    }
  return nslab_error (err, EINVAL, "%s: unknown link kind %d", op->ns, (int) l->kind);
}

static int
apply_link_set (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  (void) c;
  /* Master, then hairpin, then up: a port must be enslaved before its
   * bridge-port options exist. */
  const struct plan_link_set *ls = &op->u.set;
  int rc = 0;
  if (ls->master)
    rc = link_set_master (op->ns, ls->name, ls->master, err);
  if (rc == 0 && ls->hairpin)
    rc = link_set_hairpin (op->ns, ls->name, true, err);
  if (rc == 0 && ls->up)
    rc = link_set_up (op->ns, ls->name, err);
  return in_ns (op, rc, err);
}

static int
apply_addr (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  (void) c;
  return in_ns (op, addr_add (op->ns, op->u.addr.dev, op->u.addr.addr, op->u.addr.metric, err), err);
}

static int
apply_route (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  (void) c;
  const struct plan_route *r = &op->u.route;
  struct route_spec rs = { .dst = r->dst, .gw = r->gw, .dev = r->dev, .src = r->src, .metric = r->metric,
                           .protocol = r->protocol, .onlink = r->onlink, .scope_link = r->scope_link };
  return in_ns (op, route_add (op->ns, &rs, err), err);
}

static int
apply_neigh (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  (void) c;
  return in_ns (op, neigh_add (op->ns, op->u.neigh.dev, op->u.neigh.ip, op->u.neigh.lladdr, err), err);
}

static int
apply_fdb (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  (void) c;
  return in_ns (op, fdb_append (op->ns, op->u.fdb.dev, op->u.fdb.lladdr, op->u.fdb.dst, err), err);
}

static int
apply_nfacct (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  (void) c;
  return in_ns (op, nfacct_add (op->ns, op->u.nfacct.name, err), err);
}

static int
apply_iptables (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  struct child_job *j = VEC_PUSH (c->pend.ipt, c->pend.n_ipt);
  if (iptables_restore_start (op->ns, op->u.ipt.payload, j, err) < 0)
    {
      c->pend.n_ipt--;
      return -1;
    }
  return 0;
}

/* One libnftables transaction in the namespace, in place (it is one
   netlink batch). The namespace's iptables-restore finishes first: of two
   nat chains on one hook at one priority the kernel runs the one registered
   last first, and kube-proxy's masquerading must run before Weave's nat
   POSTROUTING MASQUERADE. Otherwise Weave masquerades, kube-proxy's mark
   stays on the packet, and its copy crossing the `datapath` bridge (a Linux
   bridge seen by br_netfilter, where Weave's is an Open vSwitch datapath) is
   masqueraded a second time and lost. */
static int
apply_nftables (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  for (size_t i = 0; i < c->pend.n_ipt; i++)
    if (c->pend.ipt[i].ns && strcmp (c->pend.ipt[i].ns, op->ns) == 0
        && iptables_restore_finish (&c->pend.ipt[i], err) < 0)
      return -1;
  return nftables_run (op->ns, op->u.nft.payload, err);
}

static int
apply_process (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  return do_process (op, c->w, &c->pend, &c->nodes, err);
}

/* The node's /var/lib/cni for the plugins: <lab dir>/cni/<node ns>. */
static char *
cni_data_dir (struct state_writer *w, const char *node_ns, nslab_error_t *err)
{
  int dfd = state_writer_dirfd (w);
  cleanup_free char *rel = xasprintf ("cni/%s", node_ns);
  if ((mkdirat (dfd, "cni", 0700) < 0 && errno != EEXIST) || (mkdirat (dfd, rel, 0700) < 0 && errno != EEXIST))
    {
      nslab_error (err, errno, "mkdir %s/%s", state_writer_dir (w), rel);
      return NULL;
    }
  return xasprintf ("%s/%s", state_writer_dir (w), rel);
}

/* The result as libcni caches it for the runtime: /var/lib/cni/results/
 * <network>-<container id>-<ifname>. */
static int
cache_result (struct state_writer *w, const struct plan_op *op, const char *result, nslab_error_t *err)
{
  const struct plan_cni *c = &op->u.cni;
  cleanup_free char *dir = xasprintf ("cni/%s/results", op->ns);
  cleanup_free char *rel = xasprintf ("%s/%s-%s-%s", dir, c->network, c->container_id, c->ifname);
  int dfd = state_writer_dirfd (w);
  if (mkdirat (dfd, dir, 0700) < 0 && errno != EEXIST)
    return nslab_error (err, errno, "mkdir %s/%s", state_writer_dir (w), dir);
  int fd = openat (dfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return nslab_error (err, errno, "create %s/%s", state_writer_dir (w), rel);
  size_t len = strlen (result);
  ssize_t n = write (fd, result, len);
  int e = errno;
  close (fd);
  return n == (ssize_t) len ? 0 : nslab_error (err, n < 0 ? e : EIO, "write %s/%s", state_writer_dir (w), rel);
}

/* What the bridge plugin made, settled like the builtin's links (see
 * sync_carriers): the veth ends, then the bridge. */
static int
sync_cni_links (const struct plan_op *op, const struct cni_result *r, nslab_error_t *err)
{
  if (r->host_veth && link_sync (op->ns, r->host_veth, err) < 0)
    return -1;
  if (link_sync (op->u.cni.pod_ns, op->u.cni.ifname, err) < 0)
    return nslab_error_wrap (err, "%s", op->u.cni.pod_ns);
  return r->bridge ? link_sync (op->ns, r->bridge, err) : 0;
}

static int
apply_cni (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err)
{
  const struct plan_cni *pc = &op->u.cni;
  cleanup_free char *data = cni_data_dir (c->w, op->ns, err);
  if (data == NULL)
    return -1;
  /* Recorded before the ADD: a kill during it leaves a call that down
   * undoes with DEL. */
  struct state_cni rec = { .node_ns = op->ns, .pod_ns = pc->pod_ns, .container_id = pc->container_id,
                           .ifname = pc->ifname, .type = pc->type, .config = pc->config };
  if (state_record_cni (c->w, &rec, err) < 0)
    return -1;
  cleanup_free char *nspath = netns_path (pc->pod_ns);
  struct cni_call call = { .command = "ADD", .plugin_dir = PLAN_CNI_PATH, .type = pc->type,
                           .container_id = pc->container_id, .netns_path = nspath, .node_netns = pc->node_netns,
                           .ifname = pc->ifname, .args = pc->args, .config = pc->config, .node_ns = op->ns,
                           .data_dir = data };
  cleanup_free char *out = NULL;
  if (cni_exec (&call, &out, err) < 0)
    return in_ns (op, -1, err);
  struct cni_result r;
  if (cni_result_parse (out, &r, err) < 0)
    return nslab_error_wrap (err, "%s: %s %s of pod %s", op->ns, pc->type, pc->ifname, pc->pod_ns);
  int rc = 0;
  char got[CIDR_STRLEN], want[IP_STRLEN];
  /* Everything else of the lab (endpoints, kube-proxy's rules) was planned
   * with the model's address: host-local must have agreed. */
  if (pc->expect_ip && r.ip.addr != pc->expect_ip)
    rc = nslab_error (err, 0, "%s: %s %s of pod %s: host-local gave %s, the plan has %s", op->ns, pc->type,
                      pc->ifname, pc->pod_ns, r.ip.addr ? cidr_fmt (r.ip, got) : "no address",
                      ip_fmt (pc->expect_ip, want));
  /* portmap, chained after the bridge, passes the bridge's result on:
   * the cache keeps the bridge's own, and it made no link. */
  bool chained = strcmp (pc->type, "portmap") == 0;
  if (rc == 0 && !chained)
    rc = cache_result (c->w, op, out, err);
  if (rc == 0 && !chained && strcmp (pc->ifname, "lo") != 0)
    rc = sync_cni_links (op, &r, err);
  cni_result_free (&r);
  return rc;
}

typedef int (*apply_fn) (const struct plan_op *op, struct apply_ctx *c, nslab_error_t *err);

static const apply_fn appliers[] = {
  [OP_NETNS] = apply_netns,       [OP_SYSCTL] = apply_sysctl, [OP_LINK] = apply_link,
  [OP_LINK_SET] = apply_link_set, [OP_ADDR] = apply_addr,     [OP_ROUTE] = apply_route,
  [OP_NEIGH] = apply_neigh,       [OP_FDB] = apply_fdb,       [OP_IPTABLES] = apply_iptables,
  [OP_NFTABLES] = apply_nftables, [OP_PROCESS] = apply_process, [OP_CNI] = apply_cni,
  [OP_NFACCT] = apply_nfacct,
};
static_assert (ARRAY_SIZE (appliers) == OP__COUNT, "one applier per enum plan_op_kind");
static_assert (PLAN_APP_READY_FD == PAUSE_APP_READY_FD, "the plan's ready fd is the one the runtime passes");

/* Settle every link's carrier before `up` returns (see link_sync):
 * veth ends first, which enables their bridge ports, then the bridges,
 * whose own carrier only follows from their ports. */
static int
sync_carriers (const struct plan_op *ops, size_t n_ops, nslab_error_t *err)
{
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < n_ops; i++)
      {
        const struct plan_op *op = &ops[i];
        if (op->kind != OP_LINK)
          continue;
        const struct plan_link *l = &op->u.link;
        if (pass == 0 && l->kind == LINK_VETH)
          {
            if (link_sync (op->ns, l->name, err) < 0)
              return nslab_error_wrap (err, "%s", op->ns);
            if (link_sync (l->peer_ns, l->peer_name, err) < 0)
              return nslab_error_wrap (err, "%s", l->peer_ns);
          }
        else if (pass == 1 && l->kind == LINK_BRIDGE && link_sync (op->ns, l->name, err) < 0)
          return nslab_error_wrap (err, "%s", op->ns);
      }
  return 0;
}

/* Wait for everything started; all of it, also after a failure: rollback
 * must not delete a namespace under a running iptables-restore's feet, and
 * every started pause process must be collected. The first error wins. */
static int
finish_pending (struct pending *pend, bool failed, nslab_error_t *err)
{
  int rc = 0;
  /* The pause processes still waiting to be released: recorded and let go
   * after a success, else they exit unrecorded as their socket closes. */
  for (size_t i = 0; i < pend->n_procs; i++)
    if (pend->procs[i].state == PROC_BEGUN)
      {
        nslab_error_t e = NULL;
        if (!failed && rc == 0 && release_proc (pend, i, &e) < 0)
          {
            nslab_error_keep_first (err, &e);
            rc = -1;
          }
        else if (pend->procs[i].state == PROC_BEGUN)
          {
            pause_spawn_abandon (&pend->procs[i].start);
            pend->procs[i].state = PROC_FAILED;
            pend->n_begun--;
            pending_proc_free_record (&pend->procs[i]);
          }
      }
  for (size_t i = 0; i < pend->n_ipt; i++)
    {
      nslab_error_t e = NULL;
      if (iptables_restore_finish (&pend->ipt[i], &e) < 0)
        {
          nslab_error_keep_first (err, &e);
          rc = -1;
        }
    }
  for (size_t i = 0; i < pend->n_procs; i++)
    {
      nslab_error_t e = NULL;
      if (pend->procs[i].state == PROC_RELEASED && pause_spawn_finish (&pend->procs[i].start, &e) < 0)
        {
          nslab_error_wrap (&e, "%s", pend->procs[i].what);
          nslab_error_keep_first (err, &e);
          rc = -1;
        }
      free (pend->procs[i].what);
    }
  free (pend->ipt);
  free (pend->procs);
  if (pend->mnt_template > 0)
    close (pend->mnt_template);
  memset (pend, 0, sizeof *pend);
  return rc;
}

/* Each started pod's network namespace under the name containerd gives it
 * on its node (plan_process.node_netns), in the node's /run/netns: one
 * helper per node, after every pause process has finished its setup (a
 * node's mounted its own /run/netns). Recorded before it is made. */
static int
name_pods_on_nodes (struct state_writer *w, const struct node_procs *nodes, const struct plan_op *ops, size_t n,
                    nslab_error_t *err)
{
  size_t n_named = 0;
  for (size_t i = 0; i < n; i++)
    n_named += ops[i].kind == OP_PROCESS && ops[i].u.proc.owner.kind == OBJ_POD && ops[i].u.proc.node_netns;
  if (n_named == 0)
    return 0;
  char **sources = xcalloc (n_named, sizeof *sources);
  char **names = xcalloc (n_named, sizeof *names);
  int rc = 0;
  for (size_t k = 0; rc == 0 && k < nodes->n; k++)
    {
      const struct node_proc *node = &nodes->v[k];
      size_t m = 0;
      for (size_t i = 0; rc == 0 && i < n; i++)
        {
          const struct plan_process *pp = &ops[i].u.proc;
          if (ops[i].kind != OP_PROCESS || pp->owner.kind != OBJ_POD || pp->node_netns == NULL
              || strcmp (pp->node, node->name) != 0)
            continue;
          struct state_node_netns nn = { .node = node->name, .pod_ns = ops[i].ns, .name = pp->node_netns };
          rc = state_record_node_netns (w, &nn, err);
          sources[m] = netns_path (ops[i].ns);
          names[m++] = pp->node_netns;
        }
      if (rc == 0 && node_netns_add (node->pid, node->starttime, sources, names, m, err) < 0)
        rc = nslab_error_wrap (err, "%s: name its pods' network namespaces", node->netns);
      for (size_t i = 0; i < m; i++)
        free (sources[i]);
    }
  free (sources);
  free (names);
  return rc;
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
  /* Both matter: why up failed, and that something may be left. */
  if (e && err && *err)
    nslab_error_hint (err, "rollback failed: %s%s%s; run nslab down %s", e->msg, e->status ? ": " : "",
                      e->status ? strerror (e->status) : "", state_writer_lab (w));
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

/* The store is written (the lab's objects as JSON into SQLite: ~0.2 s at
 * 1000 pods) while the namespaces and links are made: nothing reads it
 * before a process starts (the coredns pods and each node's kube-proxy
 * read it), so it is waited for before the first process op. */
struct store_job {
  struct state_writer *w;
  const struct lab_objects *objects;
  nslab_error_t err;
  int rc;
  pthread_t th;
  bool running;
};

static void *
store_job_run (void *arg)
{
  struct store_job *j = arg;
  j->rc = store_create (j->w, j->objects, &j->err);
  return NULL;
}

static void
store_job_start (struct store_job *j)
{
  j->running = pthread_create (&j->th, NULL, store_job_run, j) == 0;
  if (!j->running)
    store_job_run (j);
}

/* 0, or the store's error (once). */
static int
store_job_wait (struct store_job *j, nslab_error_t *err)
{
  if (j->running)
    pthread_join (j->th, NULL);
  j->running = false;
  if (j->rc == 0)
    return 0;
  j->rc = 0;
  if (err && *err == NULL)
    {
      *err = j->err;
      j->err = NULL;
    }
  nslab_error_free (&j->err);
  return -1;
}

/* Before the first process: the store written (the coredns pods and the
 * nodes' kube-proxy read it), then the caller's hook, once. */
static int
before_processes (struct store_job *store, const struct apply_hook *hook, bool *hooked, struct state_writer *w,
                  nslab_error_t *err)
{
  if (store_job_wait (store, err) < 0)
    return -1;
  if (*hooked || hook == NULL)
    return 0;
  *hooked = true;
  return hook->before_processes (w, hook->arg, err);
}

int
apply_plan (const struct plan *p, const char *scenario_path, const struct apply_hook *hook, nslab_error_t *err)
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
  /* What the lab is, before any of it exists: exec and status of a lab
   * whose up is under way (or died) still know its objects. */
  int rc = snapshot_write (w, p, err);
  /* And the cluster's objects, as the API would hold them. */
  struct store_job store = { .w = w, .objects = p->objects };
  if (rc == 0)
    store_job_start (&store);

  long crash = test_crash_after ();
  /* NSLAB_TEST_CRASH_SIGNAL=INT makes the hook a Ctrl-C instead of kill -9. */
  const char *crash_sig = getenv ("NSLAB_TEST_CRASH_SIGNAL");
  int crash_signal = crash_sig && strcmp (crash_sig, "INT") == 0 ? SIGINT : SIGKILL;
  struct apply_ctx ctx = { .w = w };
  bool hooked = false;
  for (size_t i = 0; rc == 0 && i < p->n_ops; i++)
    {
      if (crash >= 0 && (size_t) crash == i)
        raise (crash_signal);
      if (interrupted)
        rc = interrupted_error (err);
      else if (p->ops[i].kind == OP_PROCESS && before_processes (&store, hook, &hooked, w, err) < 0)
        rc = -1;
      else
        rc = appliers[p->ops[i].kind] (&p->ops[i], &ctx, err);
    }
  /* Also before a rollback removes the lab dir under it. */
  if (rc == 0)
    rc = before_processes (&store, hook, &hooked, w, err);
  else if (store_job_wait (&store, NULL) < 0)
    rc = -1;
  if (rc == 0 && crash >= 0 && (size_t) crash >= p->n_ops)
    raise (SIGKILL);
  if (rc == 0)
    rc = sync_carriers (p->ops, p->n_ops, err);
  nslab_error_t perr = NULL;
  if (finish_pending (&ctx.pend, rc < 0, rc == 0 ? err : &perr) < 0)
    rc = -1;
  nslab_error_free (&perr);
  if (rc == 0)
    rc = name_pods_on_nodes (w, &ctx.nodes, p->ops, p->n_ops, err);
  node_procs_free (&ctx.nodes);

  if (rc == 0 && interrupted)
    rc = interrupted_error (err);
  if (rc == 0)
    rc = state_mark_complete (w, err);
  if (rc < 0)
    rollback (w, err);
  restore_interrupts (old_actions);
  rtnl_close_all ();
  state_writer_close (w);
  return rc;
}

/* A running lab's node pause processes, as the journal records them: their
 * PID namespaces, for new pods to nest in, and (NODES) their pids for
 * naming the pods. Each is opened only while the recorded pid still has its
 * start time (a pidfd pins it meanwhile). */
static int
load_node_pidns (struct state_writer *w, struct node_procs *nodes, nslab_error_t *err)
{
  struct state *st = NULL;
  if (state_writer_load (w, &st, err) < 0)
    return -1;
  for (size_t i = 0; i < st->n_procs; i++)
    {
      const struct state_process *sp = &st->procs[i];
      if (sp->kind != STATE_PROC_NODE)
        continue;
      int fd = -1;
      nslab_error_t e = NULL;
      /* A node whose pause process is gone has no pods to start. */
      if (pause_open_pid_ns (sp->pid, sp->starttime, &fd, &e) < 0)
        {
          nslab_error_free (&e);
          continue;
        }
      node_procs_add (nodes, sp->name, sp->netns, sp->pid, sp->starttime, fd, SIZE_MAX);
    }
  state_free (st);
  return 0;
}

int
apply_ops (struct state_writer *w, const struct plan_op *ops, size_t n, nslab_error_t *err)
{
  raise_nofile ();
  struct apply_ctx ctx = { .w = w };
  int rc = load_node_pidns (w, &ctx.nodes, err);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = appliers[ops[i].kind] (&ops[i], &ctx, err);
  if (rc == 0)
    rc = sync_carriers (ops, n, err);
  nslab_error_t perr = NULL;
  if (finish_pending (&ctx.pend, rc < 0, rc == 0 ? err : &perr) < 0)
    rc = -1;
  nslab_error_free (&perr);
  if (rc == 0)
    rc = name_pods_on_nodes (w, &ctx.nodes, ops, n, err);
  node_procs_free (&ctx.nodes);
  return rc;
}

int
withdraw_ops (const struct plan_op *ops, size_t n, nslab_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      const struct plan_op *op = &ops[i];
      if (op->kind != OP_ADDR)
        return nslab_error (err, EINVAL, "%s: %s: only addresses can be withdrawn", op->ns,
                            op_type (op->kind)->name);
      if (addr_del (op->ns, op->u.addr.dev, op->u.addr.addr, err) < 0)
        return nslab_error_wrap (err, "%s", op->ns);
    }
  return 0;
}
