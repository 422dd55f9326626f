/* Semantic validation of the merged scenario. Sections are handled kind by
 * kind (lab and cluster first, since every address check needs the CIDRs,
 * then networks, nodes, workloads, services), each kind in file order, and
 * the first problem found is the one reported. This file classifies the
 * sections and checks their names and keys; the decoders (decode.h) turn
 * each kind into struct scenario. */
#include "scenario/validate.h"

#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/util.h"
#include "scenario/check.h"
#include "scenario/decode.h"
#include "scenario/flavor.h"

static const char *const lab_keys[] = { "name", "template", "description", NULL };
static const char *const cluster_keys[]
    = { "flavor",     "pod_cidr", "service_cidr",   "node_mask",      "cni",
        "proxy_mode", "dns_domain", "dns_ip",       "vxlan_vni",      "vxlan_port",
        "mtu",        "nodeport_range", "apiserver_port", "masquerade_bit",
        "control_plane_schedulable", "dns", "dns_replicas", "cni_runtime", "load_balancer_pool",
        "node_port_addresses", "localhost_nodeports", "nfacct", NULL };
static const char *const network_keys[] = { "type", "cidr", "gateway", "dns", "bridge", "hypervisor", NULL };
static const char *const node_keys[] = { "role", "nics", "internal_nic", "schedulable", NULL };
static const char *const pod_keys[]
    = { "labels", "node", "ip", "app", "command", "port", "privileged", "capabilities", "readiness", "restart_policy", "image", "container", NULL };
static const char *const deploy_keys[] = { "labels", "replicas", "nodes", "ips", "app", "command", "port",
                                           "privileged", "capabilities", "readiness", "restart_policy", "image",
                                           "container", NULL };
static const char *const service_keys[]
    = { "type",
        "selector",
        "ports",
        "cluster_ip",
        "session_affinity",
        "affinity_timeout",
        "external_traffic_policy",
        "internal_traffic_policy",
        "external_ips",
        "load_balancer_ip",
        "load_balancer_source_ranges",
        "health_check_node_port",
        NULL };

static const struct sec_type {
  const char *type;
  const char *form; /* how to write it, for messages */
  int arg;          /* 0: no name, 1: NAME, 2: NS/NAME */
  const char *const *keys;
} sec_types[SEC_N] = {
  [SEC_LAB] = { "lab", "[lab]", 0, lab_keys },
  [SEC_CLUSTER] = { "cluster", "[cluster]", 0, cluster_keys },
  [SEC_NETWORK] = { "network", "[network NAME]", 1, network_keys },
  [SEC_NODE] = { "node", "[node NAME]", 1, node_keys },
  [SEC_POD] = { "pod", "[pod NS/NAME]", 2, pod_keys },
  [SEC_DEPLOYMENT] = { "deployment", "[deployment NS/NAME]", 2, deploy_keys },
  [SEC_REPLICASET] = { "replicaset", "[replicaset NS/NAME]", 2, deploy_keys },
  [SEC_SERVICE] = { "service", "[service NS/NAME]", 2, service_keys },
  /* Names and keys are checked by check.c, which also reads checks-only files. */
  [SEC_CHECK] = { "check", "[check NAME]", -1, NULL },
  /* Its keys are image names, checked by images.c. */
  [SEC_IMAGES] = { "images", "[images]", 0, NULL },
};

/* Names people write out of habit from kubectl. */
static const struct {
  const char *alias;
  enum sec_kind kind;
} sec_aliases[] = {
  { "svc", SEC_SERVICE }, { "deploy", SEC_DEPLOYMENT }, { "rs", SEC_REPLICASET },
  { "po", SEC_POD },      { "net", SEC_NETWORK },       { "nodes", SEC_NODE },
};

static size_t
count_null_terminated (const char *const *v)
{
  size_t n = 0;
  while (v[n])
    n++;
  return n;
}

/* ---- pass 1: section kinds, names, keys ------------------------------ */

static int
suggest_section (struct ctx *c, const struct merged_section *s)
{
  const char *t = s->type;
  int kind = -1;
  for (size_t i = 0; i < ARRAY_SIZE (sec_aliases); i++)
    if (strcmp (t, sec_aliases[i].alias) == 0)
      kind = (int) sec_aliases[i].kind;
  for (int i = 0; kind < 0 && i < SEC_N; i++)
    {
      size_t lt = strlen (t), lk = strlen (sec_types[i].type);
      bool prefix = lt >= 3 && (strncmp (t, sec_types[i].type, lt < lk ? lt : lk) == 0);
      if (prefix || edit_distance (t, sec_types[i].type, 2) <= 2)
        kind = i;
    }
  if (kind >= 0)
    return serr (c, s, "unknown section (did you mean %s?)", sec_types[kind].form);
  return serr (c, s, "unknown section (sections are [lab], [cluster], [network NAME], [node NAME], "
                     "[pod NS/NAME], [deployment NS/NAME], [replicaset NS/NAME], [service NS/NAME], [check NAME], [images])");
}

static int
check_key_names (struct ctx *c, const struct merged_section *s, enum sec_kind kind)
{
  const char *const *keys = sec_types[kind].keys;
  if (keys == NULL)
    return 0;
  size_t nk = count_null_terminated (keys);
  for (size_t i = 0; i < s->n_keys; i++)
    {
      const struct merged_key *k = &s->keys[i];
      bool known = false;
      for (size_t j = 0; j < nk && !known; j++)
        known = strcmp (k->name, keys[j]) == 0;
      if (known)
        continue;
      if (kind == SEC_POD
          && (strcmp (k->name, "replicas") == 0 || strcmp (k->name, "nodes") == 0
              || strcmp (k->name, "ips") == 0))
        {
          const char *single = strcmp (k->name, "replicas") == 0 ? NULL
                               : strcmp (k->name, "nodes") == 0 ? "node" : "ip";
          if (single)
            return kerr (c, k, "unknown key (did you mean %s? a pod has one)", single);
          return kerr (c, k, "not valid in a pod (only in [deployment NS/NAME] and "
                             "[replicaset NS/NAME])");
        }
      const char *near = text_closest (k->name, keys, nk);
      if (near)
        return kerr (c, k, "unknown key (did you mean %s?)", near);
      struct strbuf sb;
      sb_init (&sb);
      for (size_t j = 0; j < nk; j++)
        sb_addf (&sb, "%s%s", j ? ", " : "", keys[j]);
      kerr (c, k, "unknown key (known keys: %s)", sb.buf);
      sb_free (&sb);
      return -1;
    }
  return 0;
}

static int
check_section (struct ctx *c, size_t idx)
{
  const struct merged_section *s = &c->secs[idx];
  int kind = -1;
  for (int i = 0; i < SEC_N; i++)
    if (strcmp (s->type, sec_types[i].type) == 0)
      kind = i;
  if (kind < 0)
    return suggest_section (c, s);
  c->kinds[idx] = (enum sec_kind) kind;
  const struct sec_type *st = &sec_types[kind];
  if (st->arg < 0)
    return 0;

  if (st->arg == 0 && *s->arg)
    return serr (c, s, "[%s] takes no name (write %s)", st->type, st->form);
  if (st->arg > 0 && *s->arg == '\0')
    return serr (c, s, "missing name (write %s)", st->form);
  if (st->arg == 1)
    {
      if (!dns_label_valid (s->arg, 63))
        return serr (c, s, "\"%s\" is not a valid name (DNS-1123 label: at most 63 of a-z, 0-9 and "
                           "'-', starting and ending with a letter or digit)", s->arg);
      if (kind == SEC_NODE && strcmp (s->arg, "host") == 0)
        return serr (c, s, "the node name \"host\" is reserved for the lab host");
    }
  if (st->arg == 2)
    {
      const char *slash = strchr (s->arg, '/');
      if (slash == NULL)
        return serr (c, s, "the name must be NAMESPACE/NAME (write %s)", st->form);
      cleanup_free char *ns = xstrndup (s->arg, (size_t) (slash - s->arg));
      const char *name = slash + 1;
      if (!dns_label_valid (ns, 63))
        return serr (c, s, "namespace \"%s\" is not a valid name (DNS-1123 label: at most 63 of a-z, "
                           "0-9 and '-', starting and ending with a letter or digit)", ns);
      if (!dns_label_valid (name, 63))
        return serr (c, s, "\"%s\" is not a valid name (DNS-1123 label: at most 63 of a-z, 0-9 and "
                           "'-', starting and ending with a letter or digit)", name);
      if ((kind == SEC_DEPLOYMENT || kind == SEC_REPLICASET) && strlen (name) > WORKLOAD_NAME_MAX)
        return serr (c, s, "\"%s\" is longer than %d characters (generated pod names must stay "
                           "within 63)", name, WORKLOAD_NAME_MAX);
      if (kind == SEC_SERVICE && !(name[0] >= 'a' && name[0] <= 'z'))
        return serr (c, s, "\"%s\": a service name must start with a letter (DNS-1035 label)",
                     name);
      if (kind == SEC_POD || kind == SEC_DEPLOYMENT || kind == SEC_REPLICASET)
        {
          size_t owner = strmap_claim (&c->workloads, s->arg, idx);
          if (owner != idx)
            return serr (c, s, "%s is already defined by [%s]", s->arg, c->secs[owner].name);
        }
    }
  return check_key_names (c, s, (enum sec_kind) kind);
}

const struct merged_key *
derived_key (const struct ctx *c, const struct merged_section *s, const char *name,
             const struct merged_key *from)
{
  const struct merged_key *k = find_key (s, name);
  if (k && from && from->file == c->main_file && k->file != c->main_file)
    return NULL;
  return k;
}

/* ---- driver ---------------------------------------------------------- */

static const struct merged_section *
find_singleton (struct ctx *c, enum sec_kind kind)
{
  for (size_t i = 0; i < c->n_secs; i++)
    if (c->kinds[i] == kind)
      return &c->secs[i];
  return NULL;
}

static int
run (struct ctx *c)
{
  struct scenario *sc = c->sc;
  if (c->n_secs == 0)
    return nslab_error_invalid (c->err, "%s: empty lab (no sections)", c->main_file);
  for (size_t i = 0; i < c->n_secs; i++)
    if (check_section (c, i) < 0)
      return -1;
  if (decode_lab (c, find_singleton (c, SEC_LAB)) < 0)
    return -1;
  if (decode_cluster (c, find_singleton (c, SEC_CLUSTER)) < 0)
    return -1;
  int hostonly = 0;
  for (size_t i = 0; i < c->n_secs; i++)
    if (c->kinds[i] == SEC_NETWORK)
      {
        const struct merged_key *t = find_key (&c->secs[i], "type");
        if (decode_network (c, &c->secs[i], hostonly) < 0)
          return -1;
        if (t && strcmp (t->value, "hostonly") == 0)
          hostonly++;
      }
  for (size_t i = 0; i < c->n_secs; i++)
    if (c->kinds[i] == SEC_NODE && decode_node (c, &c->secs[i]) < 0)
      return -1;
  if (sc->n_nodes == 0)
    return nslab_error_invalid (c->err, "%s: no [node NAME] section (a lab needs at least one node)",
                                c->main_file);
  bool cp = false;
  for (size_t i = 0; i < sc->n_nodes; i++)
    cp |= sc->nodes[i].role == ROLE_CONTROL_PLANE;
  if (!cp)
    return nslab_error_invalid (c->err, "%s: no node has role = control-plane", c->main_file);
  /* [images] first: a workload's image key without an app picks its app there. */
  for (size_t i = 0; i < c->n_secs; i++)
    if (c->kinds[i] == SEC_IMAGES && decode_images (c, &c->secs[i]) < 0)
      return -1;
  for (size_t i = 0; i < c->n_secs; i++)
    if ((c->kinds[i] == SEC_POD || c->kinds[i] == SEC_DEPLOYMENT || c->kinds[i] == SEC_REPLICASET)
        && decode_workload (c, &c->secs[i], c->kinds[i]) < 0)
      return -1;
  for (size_t i = 0; i < c->n_secs; i++)
    if (c->kinds[i] == SEC_SERVICE && decode_service (c, &c->secs[i]) < 0)
      return -1;
  for (size_t i = 0; i < c->n_secs; i++)
    if (c->kinds[i] == SEC_CHECK
        && decode_check_section (c->err, &c->secs[i], sc, VEC_PUSH (sc->checks, sc->n_checks)) < 0)
      return -1;
  selector_warnings (sc);
  add_implicit_services (sc);
  add_implicit_workloads (sc);
  return 0;
}

int
validate_scenario (struct scenario *sc, const struct merged_section *secs, size_t n_secs,
                   nslab_error_t *err)
{
  struct ctx c = { .sc = sc, .err = err, .secs = secs, .n_secs = n_secs, .main_file = sc->files[0] };
  c.kinds = xcalloc (n_secs + 1, sizeof *c.kinds);
  for (size_t i = 0; i < n_secs; i++)
    c.kinds[i] = SEC_N;
  strmap_init (&c.networks);
  strmap_init (&c.nodes);
  strmap_init (&c.workloads);
  strmap_init (&c.pod_ips);
  strmap_init (&c.cluster_ips);
  strmap_init (&c.node_ports);
  strmap_init (&c.bridges);
  strmap_init (&c.hostonly_addrs);
  int ret = run (&c);
  strmap_free (&c.networks);
  strmap_free (&c.nodes);
  strmap_free (&c.workloads);
  strmap_free (&c.pod_ips);
  strmap_free (&c.cluster_ips);
  strmap_free (&c.node_ports);
  strmap_free (&c.bridges);
  strmap_free (&c.hostonly_addrs);
  free (c.kinds);
  return ret;
}
