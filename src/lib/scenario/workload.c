/* [pod NS/NAME], [deployment NS/NAME], [replicaset NS/NAME]: labels,
 * placement, pinned pod IPs and the app each pod runs. */
#include <stdlib.h>
#include <string.h>

#include "base/shellsplit.h"
#include "base/text.h"
#include "base/util.h"
#include "scenario/decode.h"

#define MAX_WORKLOADS 10000
#define MAX_REPLICAS 1000

static int
check_pod_ip (struct ctx *c, const struct merged_key *k, const char *text, uint32_t ip,
              size_t wl_idx)
{
  const struct cluster_def *cl = &c->sc->cluster;
  char b1[CIDR_STRLEN];
  if (!cidr_contains (cl->pod_cidr, ip))
    return kerr (c, k, "%s is outside pod CIDR %s", text, cidr_fmt (cl->pod_cidr, b1));
  struct cidr sub = { ip & cidr_mask (cl->node_mask), cl->node_mask };
  cleanup_free char *in = xasprintf ("node subnet %s", cidr_fmt (sub, b1));
  if (check_addr_in (c->err, k, "", text, ip, sub, in, in) < 0)
    return -1;
  if (ip == sub.addr + 1)
    return kerr (c, k, "%s is the cni0 gateway of node subnet %s", text, b1);
  char ib[IP_STRLEN];
  size_t owner = strmap_claim (&c->pod_ips, ip_fmt (ip, ib), wl_idx);
  if (owner != wl_idx)
    return kerr (c, k, "%s is already taken by [%s]", text, c->sc->workloads[owner].origin.section);
  for (size_t i = 0; i < c->sc->workloads[wl_idx].n_ips; i++)
    if (c->sc->workloads[wl_idx].ips[i] == ip)
      return kerr (c, k, "%s is listed twice", text);
  return 0;
}

int
node_ref (struct ctx *c, const struct merged_key *k, const char *name)
{
  size_t idx;
  if (strmap_owner (&c->nodes, name, &idx))
    return 0;
  cleanup_free const char **names = xcalloc (c->sc->n_nodes + 1, sizeof *names);
  for (size_t j = 0; j < c->sc->n_nodes; j++)
    names[j] = c->sc->nodes[j].name;
  const char *near = text_closest (name, names, c->sc->n_nodes);
  if (near)
    return kerr (c, k, "no [node %s] (did you mean %s?)", name, near);
  return kerr (c, k, "no [node %s]", name);
}

int
app_value (struct ctx *c, const struct merged_key *k, struct app_def *app)
{
  if (str_has_prefix (k->value, "http:"))
    {
      app->kind = APP_HTTP;
      if (!parse_port (k->value + 5, &app->port))
        return kerr (c, k, "\"%s\" is not a port (1-65535)", k->value + 5);
    }
  else if (strcmp (k->value, "command") == 0)
    app->kind = APP_COMMAND;
  else if (strcmp (k->value, "none") == 0)
    app->kind = APP_NONE;
  else
    return kerr (c, k, "\"%s\" is not http:PORT, none or command", k->value);
  return 0;
}

static int
decode_app (struct ctx *c, const struct merged_section *s, struct app_def *app)
{
  const struct merged_key *ka = find_key (s, "app"), *kc = find_key (s, "command"),
                          *kp = find_key (s, "port");
  app->kind = APP_NONE;
  if (kp && ka)
    return kerr (c, kp, "conflicts with app (port = N is short for app = http:N)");
  if (kp && kc)
    return kerr (c, kp, "conflicts with command (port = N is short for app = http:N)");
  if (kp)
    {
      app->kind = APP_HTTP;
      return key_port (c->err, kp, &app->port);
    }
  if (ka)
    {
      if (app_value (c, ka, app) < 0)
        return -1;
      if (app->kind == APP_COMMAND && kc == NULL)
        return missing (c, s, "command", " (app = command)");
      if (kc && app->kind != APP_COMMAND)
        return kerr (c, kc, "conflicts with app = %s", ka->value);
    }
  if (kc)
    {
      const char *why = NULL;
      size_t argc = 0;
      app->kind = APP_COMMAND;
      app->command = xstrdup (kc->value);
      if (shell_split (kc->value, &app->argv, &argc, &why) < 0)
        return kerr (c, kc, "%s", why);
      if (argc == 0 || app->argv[0][0] == '\0')
        return kerr (c, kc, "empty command");
    }
  return 0;
}

static int
decode_placement (struct ctx *c, const struct merged_section *s, enum sec_kind kind,
                  struct workload_def *w)
{
  const struct merged_key *k;
  if (kind == SEC_POD && (k = find_key (s, "node")))
    {
      if (node_ref (c, k, k->value) < 0)
        return -1;
      w->nodes = xcalloc (1, sizeof *w->nodes);
      w->nodes[0] = xstrdup (k->value);
      w->n_nodes = 1;
    }
  if (kind != SEC_POD && (k = find_key (s, "nodes")))
    {
      struct key_list l;
      if (key_list (c->err, k, "empty list (leave the key out to allow every schedulable node)", 0,
                    NULL, &l) < 0)
        return -1;
      w->nodes = l.items;
      w->n_nodes = l.n;
      for (size_t i = 0; i < l.n; i++)
        {
          if (node_ref (c, k, l.items[i]) < 0)
            return -1;
          for (size_t j = 0; j < i; j++)
            if (strcmp (l.items[j], l.items[i]) == 0)
              return kerr (c, k, "%s is listed twice", l.items[i]);
        }
    }
  return 0;
}

static int
decode_ips (struct ctx *c, const struct merged_section *s, enum sec_kind kind,
            struct workload_def *w, size_t idx)
{
  const struct merged_key *k;
  uint32_t ip;
  if (kind == SEC_POD && (k = find_key (s, "ip")))
    {
      if (key_ip (c->err, k, k->value, &ip) < 0 || check_pod_ip (c, k, k->value, ip, idx) < 0)
        return -1;
      w->ips = xcalloc (1, sizeof *w->ips);
      w->ips[0] = ip;
      w->n_ips = 1;
    }
  if (kind != SEC_POD && (k = find_key (s, "ips")))
    {
      cleanup_key_list struct key_list l;
      if (key_list (c->err, k, NULL, 0, NULL, &l) < 0)
        return -1;
      if (l.n != (size_t) w->replicas)
        return kerr (c, k, "%zu address%s for %d replica%s (one per replica)", l.n,
                     l.n == 1 ? "" : "es", w->replicas, w->replicas == 1 ? "" : "s");
      w->ips = xcalloc (l.n + 1, sizeof *w->ips);
      for (size_t i = 0; i < l.n; i++)
        {
          if (key_ip (c->err, k, l.items[i], &ip) < 0 || check_pod_ip (c, k, l.items[i], ip, idx) < 0)
            return -1;
          w->ips[w->n_ips++] = ip;
        }
    }
  return 0;
}

/* readiness = tcp:PORT | http:PORT/PATH | none (kubelet's readinessProbe
 * tcpSocket / httpGet). Without it: tcp on the app's port for an http app,
 * none for a command or no app. */
static int
decode_readiness (struct ctx *c, const struct merged_section *s, struct workload_def *w)
{
  struct probe_def *pr = &w->readiness;
  const struct merged_key *k = find_key (s, "readiness");
  if (k == NULL)
    {
      if (w->app.kind == APP_HTTP)
        *pr = (struct probe_def){ PROBE_TCP, w->app.port, NULL };
      return 0;
    }
  w->readiness_set = true;
  const char *v = k->value;
  if (strcmp (v, "none") == 0)
    return 0;
  if (str_has_prefix (v, "tcp:"))
    {
      pr->kind = PROBE_TCP;
      if (!parse_port (v + 4, &pr->port))
        return kerr (c, k, "\"%s\" is not a port (1-65535)", v + 4);
      return 0;
    }
  if (str_has_prefix (v, "http:"))
    {
      const char *slash = strchr (v + 5, '/');
      cleanup_free char *port = slash ? xstrndup (v + 5, (size_t) (slash - v - 5)) : xstrdup (v + 5);
      pr->kind = PROBE_HTTP;
      if (!parse_port (port, &pr->port))
        return kerr (c, k, "\"%s\" is not a port (1-65535)", port);
      if (slash == NULL)
        return kerr (c, k, "\"%s\" has no path (http:PORT/PATH, e.g. http:%s/healthz)", v, port);
      for (const char *p = slash; *p; p++)
        if ((unsigned char) *p <= ' ' || *p == 0x7f)
          return kerr (c, k, "path \"%s\" has a blank or control character", slash);
      pr->path = xstrdup (slash);
      return 0;
    }
  return kerr (c, k, "\"%s\" is not tcp:PORT, http:PORT/PATH or none", v);
}

/* Linux's capabilities in number order (linux/capability.h), named as a
 * container's securityContext names them. */
static const char *const capability_names[] = {
  "CHOWN",          "DAC_OVERRIDE",   "DAC_READ_SEARCH", "FOWNER",           "FSETID",      "KILL",
  "SETGID",         "SETUID",         "SETPCAP",         "LINUX_IMMUTABLE",  "NET_BIND_SERVICE",
  "NET_BROADCAST",  "NET_ADMIN",      "NET_RAW",         "IPC_LOCK",         "IPC_OWNER",   "SYS_MODULE",
  "SYS_RAWIO",      "SYS_CHROOT",     "SYS_PTRACE",      "SYS_PACCT",        "SYS_ADMIN",   "SYS_BOOT",
  "SYS_NICE",       "SYS_RESOURCE",   "SYS_TIME",        "SYS_TTY_CONFIG",   "MKNOD",       "LEASE",
  "AUDIT_WRITE",    "AUDIT_CONTROL",  "SETFCAP",         "MAC_OVERRIDE",     "MAC_ADMIN",   "SYSLOG",
  "WAKE_ALARM",     "BLOCK_SUSPEND",  "AUDIT_READ",      "PERFMON",          "BPF",         "CHECKPOINT_RESTORE",
};

const char *
capability_name (unsigned n)
{
  return n < ARRAY_SIZE (capability_names) ? capability_names[n] : NULL;
}

bool
capability_parse (const char *name, unsigned *n)
{
  if (str_has_prefix (name, "CAP_"))
    name += 4;
  for (unsigned i = 0; i < ARRAY_SIZE (capability_names); i++)
    if (strcmp (name, capability_names[i]) == 0)
      {
        *n = i;
        return true;
      }
  return false;
}

/* capabilities = NET_ADMIN, NET_RAW: what the containers add to
 * containerd's default set (securityContext.capabilities.add). */
static int
decode_capabilities (struct ctx *c, const struct merged_key *k, struct workload_def *w)
{
  cleanup_key_list struct key_list l = { 0 };
  if (key_list (c->err, k, "no capability (write NET_ADMIN, NET_RAW, ...)", 0, NULL, &l) < 0)
    return -1;
  for (size_t i = 0; i < l.n; i++)
    {
      unsigned n;
      if (!capability_parse (l.items[i], &n))
        {
          const char *near = text_closest (l.items[i], capability_names, ARRAY_SIZE (capability_names));
          if (strcmp (l.items[i], "ALL") == 0)
            return key_err (c->err, k, "\"ALL\" is not supported (privileged = true keeps every capability)");
          return key_err (c->err, k, "\"%s\" is not a Linux capability%s%s%s", l.items[i], near ? " (did you mean " : "",
                          near ? near : "", near ? "?)" : "");
        }
      w->cap_add |= 1ULL << n;
    }
  return 0;
}

/* image = REF: the pods' container runs REF as far as the API shows it;
 * without app, command or port the app is what [images] (or the built-in
 * map) gives REF's repository. container = NAME names that container. */
static int
decode_image (struct ctx *c, const struct merged_section *s, struct workload_def *w)
{
  const struct merged_key *ki = find_key (s, "image"), *kn = find_key (s, "container");
  if (kn && ki == NULL)
    return kerr (c, kn, "needs image (the container it names runs that image)");
  if (ki == NULL)
    return 0;
  if (!image_ref_valid (ki->value))
    return kerr (c, ki, "\"%s\" is not an image reference ([registry/]repository[:tag][@sha256:digest], e.g. "
                        "nginx:1.27-alpine)", ki->value);
  w->image = xstrdup (ki->value);
  if (kn)
    {
      if (!dns_label_valid (kn->value, 63))
        return kerr (c, kn, "\"%s\" is not a container name (up to 63 of a-z, 0-9 and '-', starting and ending "
                            "with a letter or digit)", kn->value);
      w->container = xstrdup (kn->value);
    }
  else
    {
      w->container = image_container_name (ki->value);
      if (!dns_label_valid (w->container, 63))
        return kerr (c, ki, "\"%s\" does not make a container name (set container = NAME)", w->container);
    }
  if (find_key (s, "app") == NULL && find_key (s, "command") == NULL && find_key (s, "port") == NULL)
    scenario_image_app (c->sc, w->image, &w->app);
  return 0;
}

int
decode_workload (struct ctx *c, const struct merged_section *s, enum sec_kind kind)
{
  struct scenario *sc = c->sc;
  if (sc->n_workloads >= MAX_WORKLOADS)
    return serr (c, s, "too many workloads (at most %d)", MAX_WORKLOADS);
  size_t idx = sc->n_workloads;
  struct workload_def *w = VEC_PUSH (sc->workloads, sc->n_workloads);
  w->kind = kind == SEC_POD ? WL_POD : kind == SEC_DEPLOYMENT ? WL_DEPLOYMENT : WL_REPLICASET;
  const char *slash = strchr (s->arg, '/');
  w->ns = xstrndup (s->arg, (size_t) (slash - s->arg));
  w->name = xstrdup (slash + 1);
  w->origin.file = s->file;
  w->origin.section = xstrdup (s->name);
  w->replicas = 1;

  const struct merged_key *k = find_key (s, "labels");
  if (k == NULL && kind != SEC_POD)
    return missing (c, s, "labels", " (they are also the selector)");
  if (k && key_labels (c->err, k, &w->labels, &w->n_labels) < 0)
    return -1;
  if (k && kind != SEC_POD && w->n_labels == 0)
    return kerr (c, k, "a %s needs at least one label (they are also its selector)",
                 workload_kind_name (w->kind));

  uint64_t v;
  if ((k = find_key (s, "replicas")))
    {
      if (key_uint (c->err, k, 0, MAX_REPLICAS, &v) < 0)
        return -1;
      w->replicas = (int) v;
    }
  if (decode_placement (c, s, kind, w) < 0 || decode_ips (c, s, kind, w, idx) < 0)
    return -1;
  if ((k = find_key (s, "privileged")) && key_bool (c->err, k, &w->privileged) < 0)
    return -1;
  if ((k = find_key (s, "capabilities")) && decode_capabilities (c, k, w) < 0)
    return -1;
  if ((k = find_key (s, "restart_policy")))
    {
      if (strcmp (k->value, "Always") == 0)
        w->restart_policy = RESTART_ALWAYS;
      else if (strcmp (k->value, "OnFailure") == 0)
        w->restart_policy = RESTART_ON_FAILURE;
      else if (strcmp (k->value, "Never") == 0)
        w->restart_policy = RESTART_NEVER;
      else
        return kerr (c, k, "\"%s\" is not Always, OnFailure or Never", k->value);
      /* As the API server: spec.template.spec.restartPolicy supports only Always. */
      if (kind != SEC_POD && w->restart_policy != RESTART_ALWAYS)
        return kerr (c, k, "a %s supports only Always (%s is for bare pods)", workload_kind_name (w->kind),
                     k->value);
    }
  if (decode_app (c, s, &w->app) < 0 || decode_image (c, s, w) < 0)
    return -1;
  return decode_readiness (c, s, w);
}
