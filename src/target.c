#include "target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "k8s/objects.h"
#include "kernel/caps.h"
#include "kernel/netns.h"
#include "plan/plan.h"
#include "state/snapshot.h"
#include "state/state.h"
#include "state/store.h"

/* How many pods per namespace the "valid targets" hint lists. */
#define HINT_PODS 6

enum target_kind { T_HOST, T_NODE, T_POD, T_DEPLOY, T_RS };

struct target {
  enum target_kind kind;
  const char *name;
};

static int
parse_target (const char *arg, struct target *t, nslab_error_t *err)
{
  static const struct {
    const char *prefix;
    enum target_kind kind;
  } kinds[] = {
    { "node/", T_NODE }, { "nodes/", T_NODE }, { "no/", T_NODE },
    { "pod/", T_POD }, { "pods/", T_POD }, { "po/", T_POD },
    { "deploy/", T_DEPLOY }, { "deployment/", T_DEPLOY }, { "deployments/", T_DEPLOY },
    { "rs/", T_RS }, { "replicaset/", T_RS }, { "replicasets/", T_RS },
  };
  if (strcmp (arg, "host") == 0)
    {
      t->kind = T_HOST;
      t->name = "host";
      return 0;
    }
  for (size_t i = 0; i < ARRAY_SIZE (kinds); i++)
    if (str_has_prefix (arg, kinds[i].prefix))
      {
        t->kind = kinds[i].kind;
        t->name = arg + strlen (kinds[i].prefix);
        if (*t->name == '\0' || strchr (t->name, '/'))
          return nslab_error_invalid (err, "invalid target \"%s\" (use -n NAMESPACE for the namespace)", arg);
        return 0;
      }
  if (strchr (arg, '/'))
    return nslab_error_invalid (err, "invalid target \"%s\": expected host, node/NAME, pod/NAME, "
                                     "deploy/NAME or rs/NAME", arg);
  /* A bare name is a pod, as for kubectl exec. */
  t->kind = T_POD;
  t->name = arg;
  return 0;
}

bool
target_enters_pod (const char *arg)
{
  struct target t;
  nslab_error_t e = NULL;
  bool ok = parse_target (arg, &t, &e) == 0;
  nslab_error_free (&e);
  return ok && (t.kind == T_POD || t.kind == T_DEPLOY || t.kind == T_RS);
}

const char *
target_node_name (const char *arg)
{
  struct target t;
  nslab_error_t e = NULL;
  bool ok = parse_target (arg, &t, &e) == 0;
  nslab_error_free (&e);
  return ok && t.kind == T_NODE ? t.name : NULL;
}

/* The live process of a node ("cp1") or pod ("demo/web-..."): the journal's
 * last record of it, since a retried start records it again. The journal,
 * not the snapshot, holds pids: it is written before each process starts. */
static const struct state_process *
journal_process (const struct state *st, enum state_proc_kind kind, const char *name)
{
  const struct state_process *found = NULL;
  for (size_t i = 0; i < st->n_procs; i++)
    if (st->procs[i].kind == kind && strcmp (st->procs[i].name, name) == 0)
      found = &st->procs[i];
  return found;
}

static enum obj_kind
target_obj_kind (enum target_kind k)
{
  switch (k)
    {
    case T_DEPLOY:
      return OBJ_DEPLOYMENT;
    case T_RS:
      return OBJ_REPLICASET;
    case T_NODE:
      return OBJ_NODE;
    case T_HOST:
    case T_POD:
      break;
    }
  return OBJ_POD;
}

static const char *
kind_word (enum target_kind k)
{
  switch (k)
    {
    case T_NODE:
      return "node";
    case T_DEPLOY:
      return "deploy";
    case T_RS:
      return "rs";
    case T_HOST:
      return "host";
    case T_POD:
    default:
      return "pod";
    }
}

static int
unknown_target (const struct lab_objects *o, const struct target *t, const char *ns, nslab_error_t *err)
{
  cleanup_free char *hint = objects_targets_hint (o, HINT_PODS);
  if (t->kind == T_NODE)
    nslab_error_invalid (err, "lab %s has no node \"%s\"", o->lab, t->name);
  else
    nslab_error_invalid (err, "lab %s has no %s \"%s\" in namespace \"%s\"", o->lab, kind_word (t->kind),
                         t->name, ns);
  return nslab_error_hint (err, "%s", hint);
}

static int
lab_unknown (const char *lab, nslab_error_t *err)
{
  char **labs = NULL;
  size_t n = 0;
  nslab_error_t lerr = NULL;
  struct strbuf sb;
  sb_init (&sb);
  if (state_list (&labs, &n, &lerr) < 0 || n == 0)
    sb_add (&sb, "no lab is up");
  else
    {
      sb_add (&sb, "labs up:");
      for (size_t i = 0; i < n; i++)
        sb_addf (&sb, " %s", labs[i]);
    }
  for (size_t i = 0; i < n; i++)
    free (labs[i]);
  free (labs);
  nslab_error_free (&lerr);
  cleanup_free char *list = sb_steal (&sb);
  return nslab_error_invalid (err, "unknown lab \"%s\" (%s)", lab, list);
}

int
lab_view_load (const char *lab, struct lab_view *v, nslab_error_t *err)
{
  v->lab = lab;
  v->snap = NULL;
  v->st = NULL;
  cleanup_free char *labdir = xasprintf ("%s/%s", state_root (), lab);
  struct stat sbuf;
  if (strchr (lab, '/') == NULL && stat (labdir, &sbuf) < 0 && errno == ENOENT)
    return lab_unknown (lab, err);
  if (snapshot_read (lab, &v->snap, err) < 0)
    return -1;
  if (state_load (lab, &v->st, err) < 0)
    {
      plan_free (v->snap);
      v->snap = NULL;
      return -1;
    }
  return 0;
}

void
lab_view_free (struct lab_view *v)
{
  state_free (v->st);
  plan_free (v->snap);
  v->st = NULL;
  v->snap = NULL;
}

int
target_open (const struct lab_view *v, const char *arg, const char *ns, struct enter_fds *f, bool *is_host,
             uint64_t *pod_caps, nslab_error_t *err)
{
  if (pod_caps)
    *pod_caps = 0;
  const char *lab = v->lab;
  struct target t = { T_POD, "" };
  enter_fds_init (f);
  *is_host = false;
  if (parse_target (arg, &t, err) < 0)
    return -1;
  if (t.kind == T_HOST)
    {
      *is_host = true;
      const char *host = NULL;
      for (size_t k = 0; k < v->snap->n_ops && host == NULL; k++)
        if (v->snap->ops[k].kind == OP_NETNS && v->snap->ops[k].u.netns.kind == PLAN_NETNS_LABHOST)
          host = v->snap->ops[k].ns;
      if (host == NULL)
        return nslab_error (err, 0, "lab %s has no host namespace; try nslab status %s", lab, lab);
      cleanup_free char *path = netns_path (host);
      cleanup_free char *what = xasprintf ("host namespace %s", host);
      return enter_open_netns (path, what, lab, f, err);
    }
  const struct state_process *p = NULL;
  cleanup_free char *what = NULL;
  if (t.kind == T_NODE)
    {
      const struct lab_node *n = objects_find_node (v->snap->objects, t.name);
      if (n)
        {
          p = journal_process (v->st, STATE_PROC_NODE, n->name);
          what = xasprintf ("node/%s", n->name);
        }
    }
  else
    {
      const struct lab_pod *pod = objects_find_pod (v->snap->objects, target_obj_kind (t.kind), ns, t.name);
      if (pod)
        {
          cleanup_free char *key = xasprintf ("%s/%s", pod->ns, pod->name);
          p = journal_process (v->st, STATE_PROC_POD, key);
          if (pod_caps)
            *pod_caps = pod->privileged ? 0 : CAPS_CONTAINER_DEFAULT | pod->cap_add;
          what = t.kind == T_POD ? xasprintf ("pod/%s", pod->name)
                                 : xasprintf ("pod/%s (%s/%s)", pod->name, kind_word (t.kind), t.name);
        }
    }
  if (what == NULL)
    return unknown_target (v->snap->objects, &t, ns, err);
  if (p == NULL)
    return nslab_error (err, 0, "%s has no process recorded (its up did not get that far); try nslab status %s",
                        what, lab);
  return enter_open_proc (p->pid, p->starttime, what, lab, f, err);
}

/* In a child: enter POD and connect to its own IP and app port. */
static bool
pod_accepts (const struct lab_view *v, const struct lab_pod *pod)
{
  pid_t pid = fork ();
  if (pid < 0)
    return false;
  if (pid == 0)
    {
      nslab_error_t e = NULL;
      struct enter_fds f;
      bool is_host;
      cleanup_free char *arg = xasprintf ("pod/%s", pod->name);
      if (target_open (v, arg, pod->ns, &f, &is_host, NULL, &e) < 0 || enter_join (&f, &e) < 0)
        _exit (2);
      int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (pod->app.port),
                                .sin_addr.s_addr = htonl (pod->ip) };
      if (fd < 0)
        _exit (1);
      if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS)
        _exit (1);
      struct pollfd p = { .fd = fd, .events = POLLOUT };
      int soerr = 0;
      socklen_t len = sizeof soerr;
      if (poll (&p, 1, 500) != 1 || getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr)
        _exit (1);
      _exit (0);
    }
  int st = 0;
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED (st) && WEXITSTATUS (st) == 0;
}

/* The store's pods by "ns/name": true where the Ready condition is True
 * (NULL: the store cannot be read now). */
static json_t *
store_ready_pods (struct store *s, nslab_error_t *err)
{
  json_t *list = NULL;
  if (store_list (s, "Pod", NULL, &list, err) < 0)
    return NULL;
  json_t *by = json_object ();
  size_t i, k;
  json_t *pod, *cd;
  json_array_foreach (list, i, pod)
    {
      json_t *meta = json_object_get (pod, "metadata");
      const char *ns = json_string_value (json_object_get (meta, "namespace"));
      const char *name = json_string_value (json_object_get (meta, "name"));
      if (ns == NULL || name == NULL)
        continue;
      bool ready = false;
      json_array_foreach (json_object_get (json_object_get (pod, "status"), "conditions"), k, cd)
        if (json_is_string (json_object_get (cd, "type"))
            && strcmp (json_string_value (json_object_get (cd, "type")), "Ready") == 0)
          ready = json_is_string (json_object_get (cd, "status"))
                  && strcmp (json_string_value (json_object_get (cd, "status")), "True") == 0;
      cleanup_free char *key = xasprintf ("%s/%s", ns, name);
      json_object_set_new (by, key, json_boolean (ready));
    }
  json_decref (list);
  return by;
}

static char *
probe_words (const struct lab_probe *r)
{
  return r->kind == PROBE_HTTP ? xasprintf ("readiness http:%u%s", r->port, r->path ? r->path : "/")
                               : xasprintf ("readiness tcp:%u", r->port);
}

int
target_wait_ready (const struct lab_view *v, uint32_t timeout_ms, nslab_error_t *err)
{
  const struct lab_objects *o = v->snap->objects;
  bool *ready = xcalloc (o->n_pods + 1, sizeof *ready);
  struct store *s = NULL;
  if (store_open (v->lab, &s, err) < 0)
    {
      free (ready);
      return -1;
    }
  struct timespec t0, t;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  int rc = 0;
  for (;;)
    {
      /* A pod with a readiness probe is ready when kubelet (the control
       * loop) says so in the store; one without, when its http app
       * accepts on its port. */
      json_t *stored = store_ready_pods (s, err);
      if (stored == NULL)
        {
          rc = -1;
          break;
        }
      size_t n_waiting = 0;
      for (size_t i = 0; i < o->n_pods; i++)
        {
          const struct lab_pod *pod = &o->pods[i];
          cleanup_free char *key = xasprintf ("%s/%s", pod->ns, pod->name);
          json_t *in_store = json_object_get (stored, key);
          if (ready[i] || in_store == NULL)
            ready[i] = true; /* a pod deleted since is nobody's to wait for */
          else if (pod->readiness.kind != PROBE_NONE)
            ready[i] = json_is_true (in_store);
          else if (pod->app.kind == APP_HTTP)
            ready[i] = pod_accepts (v, pod);
          else
            ready[i] = true;
          n_waiting += !ready[i];
        }
      json_decref (stored);
      if (n_waiting == 0)
        break;
      clock_gettime (CLOCK_MONOTONIC, &t);
      uint64_t ms = (uint64_t) (t.tv_sec - t0.tv_sec) * 1000 + (uint64_t) ((t.tv_nsec - t0.tv_nsec) / 1000000);
      if (ms >= timeout_ms)
        {
          /* Every pod not ready, and what it waits for. */
          char *list = xstrdup ("");
          for (size_t i = 0; i < o->n_pods; i++)
            {
              if (ready[i])
                continue;
              const struct lab_pod *pod = &o->pods[i];
              char ip[IP_STRLEN];
              cleanup_free char *why = pod->readiness.kind != PROBE_NONE
                                           ? probe_words (&pod->readiness)
                                           : xasprintf ("does not accept on %s:%u", ip_fmt (pod->ip, ip),
                                                        pod->app.port);
              char *more = xasprintf ("%s%s%s/%s (%s)", list, *list ? ", " : "", pod->ns, pod->name, why);
              free (list);
              list = more;
            }
          rc = nslab_error (err, ETIMEDOUT, "lab %s: %zu pod%s not ready after %u ms: %s; try nslab status %s", v->lab,
                            n_waiting, n_waiting == 1 ? " is" : "s are", timeout_ms, list, v->lab);
          free (list);
          break;
        }
      struct timespec pause_ts = { 0, 100 * 1000 * 1000 };
      nanosleep (&pause_ts, NULL);
    }
  store_close (s);
  free (ready);
  return rc;
}
