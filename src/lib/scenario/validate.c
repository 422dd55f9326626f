/* Semantic validation of the merged scenario. Sections are handled kind by
 * kind (lab and cluster first, since every address check needs the CIDRs,
 * then networks, nodes, workloads, services), each kind in file order, and
 * the first problem found is the one reported. */
#include "scenario/validate.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/ini.h"
#include "base/shellsplit.h"
#include "base/util.h"

#define MAX_NETWORKS 64
#define MAX_WORKLOADS 10000
#define MAX_SERVICES 10000
#define MAX_REPLICAS 1000
#define MAX_NICS 8
#define MAX_PORTS 100
#define WORKLOAD_NAME_MAX 47

enum sec_kind {
  SEC_LAB,
  SEC_CLUSTER,
  SEC_NETWORK,
  SEC_NODE,
  SEC_POD,
  SEC_DEPLOYMENT,
  SEC_REPLICASET,
  SEC_SERVICE,
  SEC_N
};

static const char *const lab_keys[] = { "name", "template", "description", NULL };
static const char *const cluster_keys[]
    = { "flavor",     "pod_cidr", "service_cidr",   "node_mask",      "cni",
        "proxy_mode", "dns_domain", "dns_ip",       "vxlan_vni",      "vxlan_port",
        "mtu",        "nodeport_range", "apiserver_port", "masquerade_bit",
        "control_plane_schedulable", NULL };
static const char *const network_keys[] = { "type", "cidr", "gateway", "dns", "bridge", "hypervisor", NULL };
static const char *const node_keys[] = { "role", "nics", "internal_nic", "schedulable", NULL };
static const char *const pod_keys[] = { "labels", "node", "ip", "app", "command", "port", NULL };
static const char *const deploy_keys[]
    = { "labels", "replicas", "nodes", "ips", "app", "command", "port", NULL };
static const char *const service_keys[]
    = { "type", "selector", "ports", "cluster_ip", "session_affinity", "affinity_timeout", NULL };

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
};

/* Names people write out of habit from kubectl. */
static const struct {
  const char *alias;
  enum sec_kind kind;
} sec_aliases[] = {
  { "svc", SEC_SERVICE }, { "deploy", SEC_DEPLOYMENT }, { "rs", SEC_REPLICASET },
  { "po", SEC_POD },      { "net", SEC_NETWORK },       { "nodes", SEC_NODE },
};

struct ctx {
  struct scenario *sc;
  nslab_error_t *err;
  const struct merged_section *secs;
  size_t n_secs;
  enum sec_kind *kinds;
  const char *main_file;
  struct strmap networks;  /* name -> index + 1 */
  struct strmap nodes;     /* name -> index + 1 */
  struct strmap workloads; /* ns/name -> section index + 1 */
  struct strmap pod_ips;   /* ip -> workload index + 1 */
  struct strmap cluster_ips; /* ip -> service index + 1 */
  struct strmap node_ports;  /* port -> service index + 1 */
  struct strmap bridges;     /* name -> network index + 1 */
  struct strmap hostonly_addrs; /* ip -> node index + 1 */
  bool pod_cidr_from_main, service_cidr_from_main;
};

/* ---- messages -------------------------------------------------------- */

static int kerr (struct ctx *c, const struct merged_key *k, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int serr (struct ctx *c, const struct merged_section *s, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int missing (struct ctx *c, const struct merged_section *s, const char *key, const char *why);

static int
kerr (struct ctx *c, const struct merged_key *k, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  struct strbuf sb;
  sb_init (&sb);
  sb_vaddf (&sb, fmt, ap);
  va_end (ap);
  nslab_error_invalid (c->err, "%s: [%s] %s: %s", k->file, k->section, k->name, sb.buf);
  sb_free (&sb);
  return -1;
}

static int
serr (struct ctx *c, const struct merged_section *s, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  struct strbuf sb;
  sb_init (&sb);
  sb_vaddf (&sb, fmt, ap);
  va_end (ap);
  nslab_error_invalid (c->err, "%s: [%s]: %s", s->file, s->name, sb.buf);
  sb_free (&sb);
  return -1;
}

static int
missing (struct ctx *c, const struct merged_section *s, const char *key, const char *why)
{
  if (s == NULL)
    return nslab_error_invalid (c->err, "%s: [%s] %s: required key is missing%s", c->main_file,
                                strcmp (key, "name") == 0 ? "lab" : "cluster", key, why);
  return nslab_error_invalid (c->err, "%s: [%s] %s: required key is missing%s", s->file, s->name,
                              key, why);
}

/* ---- small parsers --------------------------------------------------- */

size_t
edit_distance (const char *a, const char *b, size_t cap)
{
  size_t la = strlen (a), lb = strlen (b);
  if (la > 64 || lb > 64)
    return cap + 1;
  if ((la > lb ? la - lb : lb - la) > cap)
    return cap + 1;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++)
    {
      size_t diag = row[0], best;
      row[0] = i;
      best = row[0];
      for (size_t j = 1; j <= lb; j++)
        {
          size_t up = row[j];
          size_t v = diag + (a[i - 1] != b[j - 1]);
          if (row[j - 1] + 1 < v)
            v = row[j - 1] + 1;
          if (up + 1 < v)
            v = up + 1;
          row[j] = v;
          diag = up;
          if (v < best)
            best = v;
        }
      if (best > cap)
        return cap + 1;
    }
  return row[lb];
}

static const char *
closest (const char *word, const char *const *cands, size_t n)
{
  const char *best = NULL;
  size_t bestd = 3;
  for (size_t i = 0; i < n; i++)
    {
      size_t d = edit_distance (word, cands[i], 2);
      if (d < bestd)
        {
          bestd = d;
          best = cands[i];
        }
    }
  return best;
}

static size_t
count_null_terminated (const char *const *v)
{
  size_t n = 0;
  while (v[n])
    n++;
  return n;
}

bool
dns_label_valid (const char *s, size_t max)
{
  size_t n = strlen (s);
  if (n == 0 || n > max)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char ch = s[i];
      bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
      if (!alnum && !(ch == '-' && i > 0 && i < n - 1))
        return false;
    }
  return true;
}

static bool
dns_subdomain_valid (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 253)
    return false;
  cleanup_free char *copy = xstrdup (s);
  char *save = NULL;
  if (s[0] == '.' || s[n - 1] == '.' || strstr (s, ".."))
    return false;
  for (char *l = strtok_r (copy, ".", &save); l; l = strtok_r (NULL, ".", &save))
    if (!dns_label_valid (l, 63))
      return false;
  return true;
}

bool
ifname_valid (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 15 || strcmp (s, ".") == 0 || strcmp (s, "..") == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '/' || s[i] == ':' || isspace ((unsigned char) s[i]) || (unsigned char) s[i] < 0x21
        || (unsigned char) s[i] > 0x7e)
      return false;
  return true;
}

/* Kubernetes "qualified name" part and label value: alphanumeric at both
 * ends, [-_.A-Za-z0-9] inside, at most 63. */
static bool
label_name_valid (const char *s, bool allow_empty)
{
  size_t n = strlen (s);
  if (n == 0)
    return allow_empty;
  if (n > 63 || !isalnum ((unsigned char) s[0]) || !isalnum ((unsigned char) s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return false;
  return true;
}

static bool
label_key_valid (const char *k)
{
  const char *slash = strchr (k, '/');
  if (slash == NULL)
    return label_name_valid (k, false);
  cleanup_free char *prefix = xstrndup (k, (size_t) (slash - k));
  return dns_subdomain_valid (prefix) && label_name_valid (slash + 1, false);
}

/* Strict unsigned decimal: digits only, no sign, no spaces. */
static bool
parse_uint (const char *s, uint64_t *out)
{
  if (*s == '\0' || strlen (s) > 10)
    return false;
  uint64_t v = 0;
  for (; *s; s++)
    {
      if (*s < '0' || *s > '9')
        return false;
      v = v * 10 + (uint64_t) (*s - '0');
    }
  *out = v;
  return true;
}

static int
key_uint (struct ctx *c, const struct merged_key *k, uint64_t lo, uint64_t hi, uint64_t *out)
{
  uint64_t v;
  if (!parse_uint (k->value, &v))
    return kerr (c, k, "\"%s\" is not an integer", k->value);
  if (v < lo || v > hi)
    return kerr (c, k, "%s is out of range (%llu-%llu)", k->value, (unsigned long long) lo,
                 (unsigned long long) hi);
  *out = v;
  return 0;
}

static bool
parse_port (const char *s, uint16_t *out)
{
  uint64_t v;
  if (!parse_uint (s, &v) || v < 1 || v > 65535)
    return false;
  *out = (uint16_t) v;
  return true;
}

static int
key_port (struct ctx *c, const struct merged_key *k, uint16_t *out)
{
  if (!parse_port (k->value, out))
    return kerr (c, k, "\"%s\" is not a port (1-65535)", k->value);
  return 0;
}

static int
key_bool (struct ctx *c, const struct merged_key *k, bool *out)
{
  const char *v = k->value;
  if (!strcmp (v, "true") || !strcmp (v, "yes") || !strcmp (v, "1"))
    *out = true;
  else if (!strcmp (v, "false") || !strcmp (v, "no") || !strcmp (v, "0"))
    *out = false;
  else
    return kerr (c, k, "\"%s\" is not a boolean (true/false, yes/no, 1/0)", v);
  return 0;
}

static int
key_ip (struct ctx *c, const struct merged_key *k, const char *text, uint32_t *out)
{
  if (!ip_parse (text, out))
    return kerr (c, k, "\"%s\" is not an IPv4 address", text);
  return 0;
}

static int
key_cidr (struct ctx *c, const struct merged_key *k, struct cidr *out)
{
  struct cidr any;
  if (!cidr_parse (k->value, &any, false))
    return kerr (c, k, "\"%s\" is not a CIDR (a.b.c.d/len)", k->value);
  if (!cidr_parse (k->value, out, true))
    {
      char buf[CIDR_STRLEN];
      any.addr &= cidr_mask (any.len);
      return kerr (c, k, "%s has host bits set (did you mean %s?)", k->value, cidr_fmt (any, buf));
    }
  return 0;
}

/* Split a comma list into trimmed items; an empty VALUE gives no items, an
 * empty item is an error. */
static int
split_list (struct ctx *c, const struct merged_key *k, char ***items, size_t *n)
{
  *items = NULL;
  *n = 0;
  cleanup_free char *copy = xstrdup (k->value);
  char *t = str_trim (copy);
  if (*t == '\0')
    return 0;
  char *p = t;
  for (;;)
    {
      char *comma = strchr (p, ',');
      if (comma)
        *comma = '\0';
      char *item = str_trim (p);
      if (*item == '\0')
        {
          for (size_t i = 0; i < *n; i++)
            free ((*items)[i]);
          free (*items);
          *items = NULL;
          *n = 0;
          return kerr (c, k, "empty item in the list");
        }
      *VEC_PUSH (*items, *n) = xstrdup (item);
      if (comma == NULL)
        break;
      p = comma + 1;
    }
  return 0;
}

static void
free_list (char **items, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (items[i]);
  free (items);
}

static const struct merged_key *
find_key (const struct merged_section *s, const char *name)
{
  if (s == NULL)
    return NULL;
  for (size_t i = 0; i < s->n_keys; i++)
    if (strcmp (s->keys[i].name, name) == 0)
      return &s->keys[i];
  return NULL;
}

static void
ip_key (uint32_t ip, char buf[IP_STRLEN])
{
  ip_fmt (ip, buf);
}

static int
parse_labels (struct ctx *c, const struct merged_key *k, struct label **out, size_t *n_out)
{
  char **items;
  size_t n;
  if (split_list (c, k, &items, &n) < 0)
    return -1;
  int ret = 0;
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      char *eq = strchr (items[i], '=');
      if (eq == NULL)
        {
          ret = kerr (c, k, "\"%s\" is not KEY=VALUE", items[i]);
          break;
        }
      *eq = '\0';
      char *key = str_trim (items[i]);
      char *val = str_trim (eq + 1);
      if (!label_key_valid (key))
        ret = kerr (c, k, "\"%s\" is not a valid label key ([prefix/]name, name: at most 63 of "
                          "A-Z a-z 0-9 - _ ., alphanumeric at both ends)", key);
      else if (!label_name_valid (val, true))
        ret = kerr (c, k, "\"%s\" is not a valid label value (at most 63 of A-Z a-z 0-9 - _ ., "
                          "alphanumeric at both ends)", val);
      for (size_t j = 0; ret == 0 && j < *n_out; j++)
        if (strcmp ((*out)[j].key, key) == 0)
          ret = kerr (c, k, "label %s is set twice", key);
      if (ret == 0)
        {
          struct label *l = VEC_PUSH (*out, *n_out);
          l->key = xstrdup (key);
          l->value = xstrdup (val);
        }
    }
  free_list (items, n);
  return ret;
}

static char *
labels_str (const struct label *l, size_t n)
{
  struct strbuf sb;
  sb_init (&sb);
  for (size_t i = 0; i < n; i++)
    sb_addf (&sb, "%s%s=%s", i ? "," : "", l[i].key, l[i].value);
  return sb_steal (&sb);
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
                     "[pod NS/NAME], [deployment NS/NAME], [replicaset NS/NAME], [service NS/NAME])");
}

static int
check_key_names (struct ctx *c, const struct merged_section *s, enum sec_kind kind)
{
  const char *const *keys = sec_types[kind].keys;
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
      const char *near = closest (k->name, keys, nk);
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
          void *prev = strmap_put (&c->workloads, s->arg, (void *) (uintptr_t) (idx + 1));
          size_t pi = (uintptr_t) prev - 1;
          if (pi != idx)
            return serr (c, s, "%s is already defined by [%s]", s->arg, c->secs[pi].name);
        }
    }
  return check_key_names (c, s, (enum sec_kind) kind);
}

/* ---- lab and cluster ------------------------------------------------- */

static bool
lab_name_valid (const char *s)
{
  size_t n = strlen (s);
  if (n < 1 || n > LAB_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z') || s[n - 1] == '-')
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
      return false;
  return true;
}

static int
do_lab (struct ctx *c, const struct merged_section *s)
{
  const struct merged_key *k = find_key (s, "name");
  if (k == NULL)
    return missing (c, s, "name", "");
  if (!lab_name_valid (k->value))
    return kerr (c, k, "\"%s\" must be 1-%d characters of a-z, 0-9 and '-', start with a letter "
                       "and not end with '-'", k->value, LAB_NAME_MAX);
  c->sc->lab = xstrdup (k->value);
  if ((k = find_key (s, "description")))
    c->sc->description = xstrdup (k->value);
  return 0;
}

static int
do_cluster (struct ctx *c, const struct merged_section *s)
{
  struct cluster_def *cl = &c->sc->cluster;
  const struct merged_key *k;
  char b1[CIDR_STRLEN], b2[CIDR_STRLEN];
  uint64_t v;

  if ((k = find_key (s, "flavor")) == NULL)
    return missing (c, s, "flavor", " (set it, or use [lab] template = k3s)");
  if (strcmp (k->value, "k3s") == 0)
    cl->flavor = FLAVOR_K3S;
  else if (strcmp (k->value, "kubeadm") == 0)
    cl->flavor = FLAVOR_KUBEADM;
  else
    return kerr (c, k, "\"%s\" is not k3s or kubeadm", k->value);
  bool k3s = cl->flavor == FLAVOR_K3S;

  /* The flavors' own defaults: k3s --cluster-cidr/--service-cidr, and for
   * kubeadm its service subnet with flannel's stock pod network. */
  cl->pod_cidr = (struct cidr) { k3s ? IP4 (10, 42, 0, 0) : IP4 (10, 244, 0, 0), 16 };
  cl->service_cidr = k3s ? (struct cidr) { IP4 (10, 43, 0, 0), 16 }
                         : (struct cidr) { IP4 (10, 96, 0, 0), 12 };
  const struct merged_key *kpod = find_key (s, "pod_cidr");
  const struct merged_key *ksvc = find_key (s, "service_cidr");
  if (kpod && key_cidr (c, kpod, &cl->pod_cidr) < 0)
    return -1;
  if (ksvc && key_cidr (c, ksvc, &cl->service_cidr) < 0)
    return -1;
  if (ksvc && cl->service_cidr.len > 28)
    return kerr (c, ksvc, "%s is too small (at most /28)", ksvc->value);
  if (cidr_overlaps (cl->pod_cidr, cl->service_cidr))
    {
      /* Blame the key the user wrote, when only one of them is theirs. */
      if (ksvc && (kpod == NULL || (ksvc->file == c->main_file && kpod->file != c->main_file)))
        return kerr (c, ksvc, "%s overlaps pod CIDR %s", cidr_fmt (cl->service_cidr, b1),
                     cidr_fmt (cl->pod_cidr, b2));
      if (kpod)
        return kerr (c, kpod, "%s overlaps service CIDR %s", cidr_fmt (cl->pod_cidr, b1),
                     cidr_fmt (cl->service_cidr, b2));
    }

  cl->node_mask = 24;
  if ((k = find_key (s, "node_mask")))
    {
      if (key_uint (c, k, 0, 32, &v) < 0)
        return -1;
      cl->node_mask = (uint8_t) v;
    }
  if (cl->node_mask <= cl->pod_cidr.len || cl->node_mask > 28)
    {
      /* Blame the key the user wrote rather than the template's. */
      if (k && (kpod == NULL || k->file == c->main_file || kpod->file != c->main_file))
        return kerr (c, k, "/%u must be longer than the pod CIDR prefix (/%u) and at most 28",
                     cl->node_mask, cl->pod_cidr.len);
      if (kpod)
        return kerr (c, kpod, "node_mask /%u must be longer than the pod CIDR prefix (/%u) and at most 28",
                     cl->node_mask, cl->pod_cidr.len);
    }

  cl->cni = CNI_FLANNEL;
  if ((k = find_key (s, "cni")))
    {
      if (strcmp (k->value, "weave") == 0 || strcmp (k->value, "host-gw") == 0)
        return kerr (c, k, "cni %s is not supported yet", k->value);
      if (strcmp (k->value, "flannel") != 0)
        return kerr (c, k, "\"%s\" is not a supported CNI (flannel)", k->value);
    }
  cl->proxy_mode = PROXY_IPTABLES;
  if ((k = find_key (s, "proxy_mode")))
    {
      if (strcmp (k->value, "nftables") == 0)
        return kerr (c, k, "proxy_mode nftables is not supported yet");
      if (strcmp (k->value, "iptables") != 0)
        return kerr (c, k, "\"%s\" is not a supported proxy mode (iptables)", k->value);
    }
  k = find_key (s, "dns_domain");
  if (k && !dns_subdomain_valid (k->value))
    return kerr (c, k, "\"%s\" is not a valid DNS domain", k->value);
  cl->dns_domain = xstrdup (k ? k->value : "cluster.local");

  cl->dns_ip = cidr_network (cl->service_cidr) + 10;
  if ((k = find_key (s, "dns_ip")))
    {
      char ib[IP_STRLEN];
      if (key_ip (c, k, k->value, &cl->dns_ip) < 0)
        return -1;
      if (!cidr_contains (cl->service_cidr, cl->dns_ip))
        return kerr (c, k, "%s is outside service CIDR %s", k->value, cidr_fmt (cl->service_cidr, b1));
      if (cl->dns_ip == cidr_network (cl->service_cidr))
        return kerr (c, k, "%s is the network address of service CIDR %s", k->value,
                     cidr_fmt (cl->service_cidr, b1));
      if (cl->dns_ip == cidr_broadcast (cl->service_cidr))
        return kerr (c, k, "%s is the broadcast address of service CIDR %s", k->value,
                     cidr_fmt (cl->service_cidr, b1));
      if (cl->dns_ip == cidr_network (cl->service_cidr) + 1)
        return kerr (c, k, "%s is the ClusterIP of default/kubernetes", ip_fmt (cl->dns_ip, ib));
    }
  cl->vxlan_vni = 1;
  if ((k = find_key (s, "vxlan_vni")))
    {
      if (key_uint (c, k, 1, 16777215, &v) < 0)
        return -1;
      cl->vxlan_vni = (uint32_t) v;
    }
  cl->vxlan_port = 8472;
  if ((k = find_key (s, "vxlan_port")) && key_port (c, k, &cl->vxlan_port) < 0)
    return -1;
  cl->underlay_mtu = 1500;
  if ((k = find_key (s, "mtu")))
    {
      if (key_uint (c, k, 1280, 9000, &v) < 0)
        return -1;
      cl->underlay_mtu = (uint32_t) v;
    }
  cl->nodeport_min = 30000;
  cl->nodeport_max = 32767;
  if ((k = find_key (s, "nodeport_range")))
    {
      cleanup_free char *copy = xstrdup (k->value);
      char *dash = strchr (copy, '-');
      uint16_t lo, hi;
      if (dash == NULL)
        return kerr (c, k, "\"%s\" is not LOW-HIGH (e.g. 30000-32767)", k->value);
      *dash = '\0';
      if (!parse_port (copy, &lo) || !parse_port (dash + 1, &hi))
        return kerr (c, k, "\"%s\" is not LOW-HIGH with ports 1-65535", k->value);
      if (lo > hi)
        return kerr (c, k, "%u is above %u", lo, hi);
      cl->nodeport_min = lo;
      cl->nodeport_max = hi;
    }
  cl->apiserver_port = 6443;
  if ((k = find_key (s, "apiserver_port")) && key_port (c, k, &cl->apiserver_port) < 0)
    return -1;
  cl->masquerade_bit = 14;
  if ((k = find_key (s, "masquerade_bit")))
    {
      if (key_uint (c, k, 0, 31, &v) < 0)
        return -1;
      cl->masquerade_bit = (int) v;
    }
  cl->cp_schedulable = k3s;
  if ((k = find_key (s, "control_plane_schedulable")) && key_bool (c, k, &cl->cp_schedulable) < 0)
    return -1;
  return 0;
}

/* ---- networks -------------------------------------------------------- */

static int
do_network (struct ctx *c, const struct merged_section *s, int hostonly_index)
{
  struct scenario *sc = c->sc;
  char b1[CIDR_STRLEN], b2[CIDR_STRLEN];
  if (sc->n_networks >= MAX_NETWORKS)
    return serr (c, s, "too many networks (at most %d)", MAX_NETWORKS);
  struct network_def *n = VEC_PUSH (sc->networks, sc->n_networks);
  n->name = xstrdup (s->arg);
  n->origin.file = s->file;
  n->origin.section = xstrdup (s->name);
  strmap_put (&c->networks, s->arg, (void *) (uintptr_t) sc->n_networks);

  const struct merged_key *k = find_key (s, "type");
  if (k == NULL)
    return missing (c, s, "type", " (nat or hostonly)");
  if (strcmp (k->value, "nat") == 0)
    n->kind = NET_NAT;
  else if (strcmp (k->value, "hostonly") == 0)
    n->kind = NET_HOSTONLY;
  else
    return kerr (c, k, "\"%s\" is not nat or hostonly", k->value);

  const struct merged_key *kc = find_key (s, "cidr");
  if (kc == NULL)
    return missing (c, s, "cidr", "");
  if (key_cidr (c, kc, &n->cidr) < 0)
    return -1;
  if (n->cidr.len > 30)
    return kerr (c, kc, "%s is too small (at most /30)", kc->value);
  if (cidr_overlaps (n->cidr, sc->cluster.pod_cidr))
    return kerr (c, kc, "%s overlaps pod CIDR %s", kc->value, cidr_fmt (sc->cluster.pod_cidr, b1));
  if (cidr_overlaps (n->cidr, sc->cluster.service_cidr))
    return kerr (c, kc, "%s overlaps service CIDR %s", kc->value,
                 cidr_fmt (sc->cluster.service_cidr, b1));
  for (size_t i = 0; i + 1 < sc->n_networks; i++)
    if (cidr_overlaps (n->cidr, sc->networks[i].cidr))
      return kerr (c, kc, "%s overlaps [%s] cidr %s", kc->value, sc->networks[i].origin.section,
                   cidr_fmt (sc->networks[i].cidr, b2));

  uint32_t net = cidr_network (n->cidr), bcast = cidr_broadcast (n->cidr);
  n->gateway = n->kind == NET_NAT ? net + 2 : net + 1;
  if ((k = find_key (s, "gateway")))
    {
      if (key_ip (c, k, k->value, &n->gateway) < 0)
        return -1;
      if (!cidr_contains (n->cidr, n->gateway))
        return kerr (c, k, "%s is outside cidr %s", k->value, cidr_fmt (n->cidr, b1));
      if (n->gateway == net || n->gateway == bcast)
        return kerr (c, k, "%s is the %s address of %s", k->value,
                     n->gateway == net ? "network" : "broadcast", cidr_fmt (n->cidr, b1));
    }

  n->dns = 0;
  k = find_key (s, "dns");
  if (n->kind == NET_HOSTONLY && k)
    return kerr (c, k, "only a nat network has a DNS address");
  if (n->kind == NET_NAT)
    {
      n->dns = net + 3;
      if (k && strcmp (k->value, "none") == 0)
        n->dns = 0;
      else if (k)
        {
          if (key_ip (c, k, k->value, &n->dns) < 0)
            return -1;
          if (!cidr_contains (n->cidr, n->dns))
            return kerr (c, k, "%s is outside cidr %s", k->value, cidr_fmt (n->cidr, b1));
          if (n->dns == net || n->dns == bcast)
            return kerr (c, k, "%s is the %s address of %s", k->value,
                         n->dns == net ? "network" : "broadcast", cidr_fmt (n->cidr, b1));
        }
      else if (n->dns >= bcast)
        return kerr (c, kc, "%s has no room for the default DNS address (set dns = none)", kc->value);
      if (n->dns != 0 && n->dns == n->gateway)
        {
          char ib[IP_STRLEN];
          const struct merged_key *blame = k ? k : find_key (s, "gateway");
          return kerr (c, blame, "%s is both the gateway and the DNS address", ip_fmt (n->dns, ib));
        }
    }

  n->hypervisor = HV_VIRTUALBOX;
  if ((k = find_key (s, "hypervisor")))
    {
      if (strcmp (k->value, "virtualbox") == 0)
        n->hypervisor = HV_VIRTUALBOX;
      else if (strcmp (k->value, "vmware") == 0)
        n->hypervisor = HV_VMWARE;
      else
        return kerr (c, k, "\"%s\" is not virtualbox or vmware", k->value);
    }

  k = find_key (s, "bridge");
  if (n->kind == NET_NAT && k)
    return kerr (c, k, "only a hostonly network has a bridge");
  if (n->kind == NET_HOSTONLY)
    {
      if (k && !ifname_valid (k->value))
        return kerr (c, k, "\"%s\" is not a valid interface name (1-15 characters, no '/', ':' or "
                           "whitespace)", k->value);
      n->bridge = k ? xstrdup (k->value) : xasprintf ("vboxnet%d", hostonly_index);
      void *prev = strmap_put (&c->bridges, n->bridge, (void *) (uintptr_t) sc->n_networks);
      size_t pi = (uintptr_t) prev - 1;
      if (pi != sc->n_networks - 1)
        {
          if (k)
            return kerr (c, k, "%s is already the bridge of [%s]", n->bridge,
                         sc->networks[pi].origin.section);
          return serr (c, s, "the default bridge %s is already the bridge of [%s]: set bridge",
                       n->bridge, sc->networks[pi].origin.section);
        }
    }
  return 0;
}

/* ---- nodes ----------------------------------------------------------- */

static bool
ifname_reserved (const char *s)
{
  return strcmp (s, "cni0") == 0 || strcmp (s, "flannel.1") == 0 || strcmp (s, "lo") == 0
         || str_has_prefix (s, "veth");
}

static int
nic_addr_check (struct ctx *c, const struct merged_key *k, const char *ifname,
                const struct network_def *net, uint32_t addr, size_t node_idx)
{
  char b1[CIDR_STRLEN], ib[IP_STRLEN];
  ip_fmt (addr, ib);
  if (!cidr_contains (net->cidr, addr))
    return kerr (c, k, "%s: %s is outside [%s] cidr %s", ifname, ib, net->origin.section,
                 cidr_fmt (net->cidr, b1));
  if (addr == cidr_network (net->cidr))
    return kerr (c, k, "%s: %s is the network address of [%s]", ifname, ib, net->origin.section);
  if (addr == cidr_broadcast (net->cidr))
    return kerr (c, k, "%s: %s is the broadcast address of [%s]", ifname, ib, net->origin.section);
  if (addr == net->gateway)
    return kerr (c, k, "%s: %s is the gateway of [%s]", ifname, ib, net->origin.section);
  if (net->dns && addr == net->dns)
    return kerr (c, k, "%s: %s is the DNS address of [%s]", ifname, ib, net->origin.section);
  if (net->kind == NET_HOSTONLY)
    {
      void *prev = strmap_put (&c->hostonly_addrs, ib, (void *) (uintptr_t) (node_idx + 1));
      size_t pi = (uintptr_t) prev - 1;
      if (pi != node_idx)
        return kerr (c, k, "%s: %s is already used by [%s]", ifname, ib,
                     c->sc->nodes[pi].origin.section);
    }
  return 0;
}

static int
do_nics (struct ctx *c, const struct merged_key *k, struct node_def *nd, size_t node_idx)
{
  struct scenario *sc = c->sc;
  char **items;
  size_t n;
  if (split_list (c, k, &items, &n) < 0)
    return -1;
  int ret = 0;
  if (n == 0)
    ret = kerr (c, k, "no NIC (write IFNAME=NETWORK:ADDRESS, ...)");
  else if (n > MAX_NICS)
    ret = kerr (c, k, "too many NICs (at most %d)", MAX_NICS);
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      char *eq = strchr (items[i], '=');
      char *colon = eq ? strchr (eq + 1, ':') : NULL;
      if (colon == NULL)
        {
          ret = kerr (c, k, "\"%s\" is not IFNAME=NETWORK:ADDRESS", items[i]);
          break;
        }
      *eq = *colon = '\0';
      char *ifname = str_trim (items[i]), *netname = str_trim (eq + 1), *addr = str_trim (colon + 1);
      if (!ifname_valid (ifname))
        {
          ret = kerr (c, k, "\"%s\" is not a valid interface name (1-15 characters, no '/', ':' or "
                            "whitespace)", ifname);
          break;
        }
      if (ifname_reserved (ifname))
        {
          ret = kerr (c, k, "%s is an interface nslab creates (cni0, flannel.1, lo, veth*): use "
                            "another name", ifname);
          break;
        }
      for (size_t j = 0; j < nd->n_nics && ret == 0; j++)
        if (strcmp (nd->nics[j].ifname, ifname) == 0)
          ret = kerr (c, k, "%s is listed twice", ifname);
      if (ret)
        break;
      uintptr_t ni = (uintptr_t) strmap_get (&c->networks, netname);
      if (ni == 0)
        {
          const char **names = xcalloc (sc->n_networks + 1, sizeof *names);
          for (size_t j = 0; j < sc->n_networks; j++)
            names[j] = sc->networks[j].name;
          const char *near = closest (netname, names, sc->n_networks);
          if (near)
            ret = kerr (c, k, "%s: no [network %s] (did you mean %s?)", ifname, netname, near);
          else
            ret = kerr (c, k, "%s: no [network %s]", ifname, netname);
          free (names);
          break;
        }
      for (size_t j = 0; j < nd->n_nics && ret == 0; j++)
        if (nd->nics[j].network == (int) ni - 1)
          ret = kerr (c, k, "%s: the node already has a NIC on [network %s]", ifname, netname);
      if (ret)
        break;
      uint32_t ip;
      if (key_ip (c, k, addr, &ip) < 0)
        {
          ret = -1;
          break;
        }
      struct nic_def *nic = VEC_PUSH (nd->nics, nd->n_nics);
      nic->ifname = xstrdup (ifname);
      nic->network = (int) ni - 1;
      nic->addr = ip;
      ret = nic_addr_check (c, k, ifname, &sc->networks[ni - 1], ip, node_idx);
    }
  free_list (items, n);
  return ret;
}

static int
do_node (struct ctx *c, const struct merged_section *s)
{
  struct scenario *sc = c->sc;
  struct cluster_def *cl = &sc->cluster;
  char b1[CIDR_STRLEN];
  uint64_t subnets = (uint64_t) 1 << (cl->node_mask - cl->pod_cidr.len);
  if (sc->n_nodes >= NSLAB_MAX_NODES)
    return serr (c, s, "too many nodes (at most %d)", NSLAB_MAX_NODES);
  if (sc->n_nodes >= subnets)
    return serr (c, s, "too many nodes for the pod CIDR %s with node_mask %u (at most %llu)",
                 cidr_fmt (cl->pod_cidr, b1), cl->node_mask, (unsigned long long) subnets);
  size_t idx = sc->n_nodes;
  struct node_def *nd = VEC_PUSH (sc->nodes, sc->n_nodes);
  nd->name = xstrdup (s->arg);
  nd->origin.file = s->file;
  nd->origin.section = xstrdup (s->name);
  nd->internal_nic = -1;
  strmap_put (&c->nodes, s->arg, (void *) (uintptr_t) sc->n_nodes);

  const struct merged_key *k;
  nd->role = ROLE_WORKER;
  if ((k = find_key (s, "role")))
    {
      if (strcmp (k->value, "control-plane") == 0)
        nd->role = ROLE_CONTROL_PLANE;
      else if (strcmp (k->value, "worker") != 0)
        return kerr (c, k, "\"%s\" is not control-plane or worker", k->value);
    }
  if ((k = find_key (s, "nics")) == NULL)
    return missing (c, s, "nics", " (e.g. nics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10)");
  if (do_nics (c, k, nd, idx) < 0)
    return -1;
  if ((k = find_key (s, "internal_nic")))
    {
      for (size_t i = 0; i < nd->n_nics; i++)
        if (strcmp (nd->nics[i].ifname, k->value) == 0)
          nd->internal_nic = (int) i;
      if (nd->internal_nic < 0)
        return kerr (c, k, "%s is not one of the node's nics", k->value);
    }
  else
    {
      for (size_t i = 0; i < nd->n_nics && nd->internal_nic < 0; i++)
        if (sc->networks[nd->nics[i].network].kind == NET_HOSTONLY)
          nd->internal_nic = (int) i;
      if (nd->internal_nic < 0)
        return serr (c, s, "no NIC on a hostonly network: set internal_nic");
    }
  nd->schedulable = nd->role == ROLE_WORKER ? true : cl->cp_schedulable;
  if ((k = find_key (s, "schedulable")) && key_bool (c, k, &nd->schedulable) < 0)
    return -1;
  return 0;
}

/* ---- workloads ------------------------------------------------------- */

static int
check_pod_ip (struct ctx *c, const struct merged_key *k, const char *text, uint32_t ip,
              size_t wl_idx)
{
  const struct cluster_def *cl = &c->sc->cluster;
  char b1[CIDR_STRLEN];
  if (!cidr_contains (cl->pod_cidr, ip))
    return kerr (c, k, "%s is outside pod CIDR %s", text, cidr_fmt (cl->pod_cidr, b1));
  struct cidr sub = { ip & cidr_mask (cl->node_mask), cl->node_mask };
  cidr_fmt (sub, b1);
  if (ip == sub.addr)
    return kerr (c, k, "%s is the network address of node subnet %s", text, b1);
  if (ip == sub.addr + 1)
    return kerr (c, k, "%s is the cni0 gateway of node subnet %s", text, b1);
  if (ip == cidr_broadcast (sub))
    return kerr (c, k, "%s is the broadcast address of node subnet %s", text, b1);
  char ib[IP_STRLEN];
  ip_key (ip, ib);
  void *prev = strmap_put (&c->pod_ips, ib, (void *) (uintptr_t) (wl_idx + 1));
  size_t pi = (uintptr_t) prev - 1;
  if (pi != wl_idx)
    return kerr (c, k, "%s is already taken by [%s]", text, c->sc->workloads[pi].origin.section);
  for (size_t i = 0; i < c->sc->workloads[wl_idx].n_ips; i++)
    if (c->sc->workloads[wl_idx].ips[i] == ip)
      return kerr (c, k, "%s is listed twice", text);
  return 0;
}

static int
node_ref (struct ctx *c, const struct merged_key *k, const char *name)
{
  if (strmap_get (&c->nodes, name))
    return 0;
  const char **names = xcalloc (c->sc->n_nodes + 1, sizeof *names);
  for (size_t j = 0; j < c->sc->n_nodes; j++)
    names[j] = c->sc->nodes[j].name;
  const char *near = closest (name, names, c->sc->n_nodes);
  if (near)
    kerr (c, k, "no [node %s] (did you mean %s?)", name, near);
  else
    kerr (c, k, "no [node %s]", name);
  free (names);
  return -1;
}

static int
do_app (struct ctx *c, const struct merged_section *s, struct app_def *app)
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
      return key_port (c, kp, &app->port);
    }
  if (ka)
    {
      if (str_has_prefix (ka->value, "http:"))
        {
          app->kind = APP_HTTP;
          if (!parse_port (ka->value + 5, &app->port))
            return kerr (c, ka, "\"%s\" is not a port (1-65535)", ka->value + 5);
        }
      else if (strcmp (ka->value, "command") == 0)
        {
          app->kind = APP_COMMAND;
          if (kc == NULL)
            return missing (c, s, "command", " (app = command)");
        }
      else if (strcmp (ka->value, "none") == 0)
        app->kind = APP_NONE;
      else
        return kerr (c, ka, "\"%s\" is not http:PORT, none or command", ka->value);
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
do_workload (struct ctx *c, const struct merged_section *s, enum sec_kind kind)
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
  if (k && parse_labels (c, k, &w->labels, &w->n_labels) < 0)
    return -1;
  if (k && kind != SEC_POD && w->n_labels == 0)
    return kerr (c, k, "a %s needs at least one label (they are also its selector)",
                 workload_kind_name (w->kind));

  uint64_t v;
  if ((k = find_key (s, "replicas")))
    {
      if (key_uint (c, k, 0, MAX_REPLICAS, &v) < 0)
        return -1;
      w->replicas = (int) v;
    }

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
      char **items;
      size_t n;
      if (split_list (c, k, &items, &n) < 0)
        return -1;
      w->nodes = items;
      w->n_nodes = n;
      if (n == 0)
        return kerr (c, k, "empty list (leave the key out to allow every schedulable node)");
      for (size_t i = 0; i < n; i++)
        {
          if (node_ref (c, k, items[i]) < 0)
            return -1;
          for (size_t j = 0; j < i; j++)
            if (strcmp (items[j], items[i]) == 0)
              return kerr (c, k, "%s is listed twice", items[i]);
        }
    }

  if (kind == SEC_POD && (k = find_key (s, "ip")))
    {
      uint32_t ip;
      if (key_ip (c, k, k->value, &ip) < 0 || check_pod_ip (c, k, k->value, ip, idx) < 0)
        return -1;
      w->ips = xcalloc (1, sizeof *w->ips);
      w->ips[0] = ip;
      w->n_ips = 1;
    }
  if (kind != SEC_POD && (k = find_key (s, "ips")))
    {
      char **items;
      size_t n;
      if (split_list (c, k, &items, &n) < 0)
        return -1;
      int ret = 0;
      if (n != (size_t) w->replicas)
        ret = kerr (c, k, "%zu address%s for %d replica%s (one per replica)", n, n == 1 ? "" : "es",
                    w->replicas, w->replicas == 1 ? "" : "s");
      w->ips = xcalloc (n + 1, sizeof *w->ips);
      for (size_t i = 0; i < n && ret == 0; i++)
        {
          uint32_t ip;
          if (key_ip (c, k, items[i], &ip) < 0 || check_pod_ip (c, k, items[i], ip, idx) < 0)
            ret = -1;
          else
            w->ips[w->n_ips++] = ip;
        }
      free_list (items, n);
      if (ret < 0)
        return -1;
    }
  return do_app (c, s, &w->app);
}

/* ---- services -------------------------------------------------------- */

static int
parse_one_port (struct ctx *c, const struct merged_key *k, const char *item, struct port_def *p)
{
  cleanup_free char *copy = xstrdup (item);
  char *rest = copy;
  const char *syntax = "\"%s\" is not [NAME:]PORT[/PROTO][->TARGET][@NODEPORT]";
  char *colon = strchr (rest, ':');
  if (colon)
    {
      *colon = '\0';
      if (!dns_label_valid (rest, 15) || strspn (rest, "0123456789") == strlen (rest))
        return kerr (c, k, "\"%s\" is not a valid port name (at most 15 of a-z, 0-9 and '-', "
                           "with a letter)", rest);
      p->name = xstrdup (rest);
      rest = colon + 1;
    }
  char *at = strchr (rest, '@');
  if (at)
    {
      *at = '\0';
      if (!parse_port (at + 1, &p->node_port))
        return kerr (c, k, "node port \"%s\" is not a port (1-65535)", at + 1);
    }
  char *arrow = strstr (rest, "->");
  if (arrow)
    {
      *arrow = '\0';
      if (!parse_port (arrow + 2, &p->target_port))
        return kerr (c, k, "target port \"%s\" is not a port (1-65535)", arrow + 2);
    }
  char *slash = strchr (rest, '/');
  p->protocol = PROTO_TCP;
  if (slash)
    {
      *slash = '\0';
      if (strcasecmp (slash + 1, "tcp") == 0)
        p->protocol = PROTO_TCP;
      else if (strcasecmp (slash + 1, "udp") == 0)
        p->protocol = PROTO_UDP;
      else if (strcasecmp (slash + 1, "sctp") == 0)
        p->protocol = PROTO_SCTP;
      else
        return kerr (c, k, "protocol \"%s\" is not tcp, udp or sctp", slash + 1);
    }
  if (*rest == '\0')
    return kerr (c, k, syntax, item);
  if (!parse_port (rest, &p->port))
    {
      if (strspn (rest, "0123456789") != strlen (rest))
        return kerr (c, k, syntax, item);
      return kerr (c, k, "\"%s\" is not a port (1-65535)", rest);
    }
  if (!arrow)
    p->target_port = p->port;
  return 0;
}

static int
do_ports (struct ctx *c, const struct merged_key *k, struct service_def *sv, size_t svc_idx)
{
  const struct cluster_def *cl = &c->sc->cluster;
  char **items;
  size_t n;
  if (split_list (c, k, &items, &n) < 0)
    return -1;
  int ret = 0;
  if (n == 0)
    ret = kerr (c, k, "no port (e.g. ports = 80->8080)");
  else if (n > MAX_PORTS)
    ret = kerr (c, k, "too many ports (at most %d)", MAX_PORTS);
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      struct port_def *p = VEC_PUSH (sv->ports, sv->n_ports);
      if (parse_one_port (c, k, items[i], p) < 0)
        {
          ret = -1;
          break;
        }
      if (n > 1 && p->name == NULL)
        {
          ret = kerr (c, k, "%s: with several ports each needs a name (NAME:PORT)", items[i]);
          break;
        }
      for (size_t j = 0; j + 1 < sv->n_ports && ret == 0; j++)
        {
          const struct port_def *q = &sv->ports[j];
          if (p->name && q->name && strcmp (p->name, q->name) == 0)
            ret = kerr (c, k, "port name %s is used twice", p->name);
          else if (p->port == q->port && p->protocol == q->protocol)
            ret = kerr (c, k, "%u/%s is listed twice", p->port, proto_name (p->protocol));
          else if (p->node_port && p->node_port == q->node_port && p->protocol == q->protocol)
            ret = kerr (c, k, "node port %u/%s is listed twice", p->node_port,
                        proto_name (p->protocol));
        }
      if (ret || p->node_port == 0)
        continue;
      if (sv->type == SVC_CLUSTER_IP)
        ret = kerr (c, k, "%s: a node port needs type = NodePort or LoadBalancer", items[i]);
      else if (p->node_port < cl->nodeport_min || p->node_port > cl->nodeport_max)
        ret = kerr (c, k, "node port %u is outside nodeport_range %u-%u", p->node_port,
                    cl->nodeport_min, cl->nodeport_max);
      else
        {
          char key[8];
          snprintf (key, sizeof key, "%u", p->node_port);
          void *prev = strmap_put (&c->node_ports, key, (void *) (uintptr_t) (svc_idx + 1));
          size_t pi = (uintptr_t) prev - 1;
          if (pi != svc_idx)
            ret = kerr (c, k, "node port %u is already used by [%s]", p->node_port,
                        c->sc->services[pi].origin.section);
        }
    }
  free_list (items, n);
  return ret;
}

static bool
is_svc (const struct service_def *sv, const char *ns, const char *name)
{
  return strcmp (sv->ns, ns) == 0 && strcmp (sv->name, name) == 0;
}

static int
do_service (struct ctx *c, const struct merged_section *s)
{
  struct scenario *sc = c->sc;
  const struct cluster_def *cl = &sc->cluster;
  char b1[CIDR_STRLEN];
  if (sc->n_services >= MAX_SERVICES)
    return serr (c, s, "too many services (at most %d)", MAX_SERVICES);
  size_t idx = sc->n_services;
  struct service_def *sv = VEC_PUSH (sc->services, sc->n_services);
  const char *slash = strchr (s->arg, '/');
  sv->ns = xstrndup (s->arg, (size_t) (slash - s->arg));
  sv->name = xstrdup (slash + 1);
  sv->origin.file = s->file;
  sv->origin.section = xstrdup (s->name);
  sv->affinity_timeout = 10800;

  const struct merged_key *k = find_key (s, "type");
  sv->type = SVC_CLUSTER_IP;
  if (k)
    {
      static const char *const types[] = { "ClusterIP", "NodePort", "LoadBalancer" };
      size_t i;
      for (i = 0; i < 3 && strcmp (k->value, types[i]) != 0; i++)
        ;
      if (i == 3)
        {
          for (i = 0; i < 3 && strcasecmp (k->value, types[i]) != 0; i++)
            ;
          if (i < 3)
            return kerr (c, k, "\"%s\" is not ClusterIP, NodePort or LoadBalancer (did you mean %s?)",
                         k->value, types[i]);
          return kerr (c, k, "\"%s\" is not ClusterIP, NodePort or LoadBalancer", k->value);
        }
      sv->type = (enum svc_type) i;
    }
  if ((k = find_key (s, "selector")) && parse_labels (c, k, &sv->selector, &sv->n_selector) < 0)
    return -1;
  if ((k = find_key (s, "ports")) == NULL)
    return missing (c, s, "ports", " (e.g. ports = 80->8080)");
  if (do_ports (c, k, sv, idx) < 0)
    return -1;

  if ((k = find_key (s, "cluster_ip")))
    {
      uint32_t ip;
      char ib[IP_STRLEN];
      if (key_ip (c, k, k->value, &ip) < 0)
        return -1;
      uint32_t net = cidr_network (cl->service_cidr);
      if (!cidr_contains (cl->service_cidr, ip))
        return kerr (c, k, "%s is outside service CIDR %s", k->value, cidr_fmt (cl->service_cidr, b1));
      if (ip == net)
        return kerr (c, k, "%s is the network address of service CIDR %s", k->value,
                     cidr_fmt (cl->service_cidr, b1));
      if (ip == cidr_broadcast (cl->service_cidr))
        return kerr (c, k, "%s is the broadcast address of service CIDR %s", k->value,
                     cidr_fmt (cl->service_cidr, b1));
      if (ip == net + 1 && !is_svc (sv, "default", "kubernetes"))
        return kerr (c, k, "%s is reserved for default/kubernetes", k->value);
      if (ip == cl->dns_ip && !is_svc (sv, "kube-system", "kube-dns"))
        return kerr (c, k, "%s is reserved for kube-system/kube-dns (dns_ip)", k->value);
      ip_key (ip, ib);
      void *prev = strmap_put (&c->cluster_ips, ib, (void *) (uintptr_t) (idx + 1));
      size_t pi = (uintptr_t) prev - 1;
      if (pi != idx)
        return kerr (c, k, "%s is already used by [%s]", k->value, sc->services[pi].origin.section);
      sv->cluster_ip = ip;
    }

  const struct merged_key *ka = find_key (s, "session_affinity");
  if (ka)
    {
      if (strcmp (ka->value, "ClientIP") == 0)
        sv->affinity_client_ip = true;
      else if (strcmp (ka->value, "None") != 0)
        return kerr (c, ka, "\"%s\" is not None or ClientIP", ka->value);
    }
  if ((k = find_key (s, "affinity_timeout")))
    {
      uint64_t v;
      if (!sv->affinity_client_ip)
        return kerr (c, k, "needs session_affinity = ClientIP");
      if (key_uint (c, k, 1, 86400, &v) < 0)
        return -1;
      sv->affinity_timeout = (uint32_t) v;
    }
  return 0;
}

static bool
have_service (const struct scenario *sc, const char *ns, const char *name)
{
  for (size_t i = 0; i < sc->n_services; i++)
    if (is_svc (&sc->services[i], ns, name))
      return true;
  return false;
}

static struct service_def *
add_implicit (struct scenario *sc, const char *ns, const char *name)
{
  struct service_def *sv = VEC_PUSH (sc->services, sc->n_services);
  sv->ns = xstrdup (ns);
  sv->name = xstrdup (name);
  sv->type = SVC_CLUSTER_IP;
  sv->affinity_timeout = 10800;
  sv->implicit = true;
  sv->origin.file = sc->files[0];
  sv->origin.section = xasprintf ("service %s/%s", ns, name);
  return sv;
}

static void
add_port (struct service_def *sv, const char *name, uint16_t port, enum l4proto proto, uint16_t target)
{
  struct port_def *p = VEC_PUSH (sv->ports, sv->n_ports);
  p->name = xstrdup (name);
  p->port = port;
  p->protocol = proto;
  p->target_port = target;
}

static void
add_implicit_services (struct scenario *sc)
{
  const struct cluster_def *cl = &sc->cluster;
  if (!have_service (sc, "default", "kubernetes"))
    {
      struct service_def *sv = add_implicit (sc, "default", "kubernetes");
      sv->cluster_ip = cidr_network (cl->service_cidr) + 1;
      add_port (sv, "https", 443, PROTO_TCP, cl->apiserver_port);
    }
  if (!have_service (sc, "kube-system", "kube-dns"))
    {
      struct service_def *sv = add_implicit (sc, "kube-system", "kube-dns");
      sv->cluster_ip = cl->dns_ip;
      sv->selector = xcalloc (1, sizeof *sv->selector);
      sv->selector[0].key = xstrdup ("k8s-app");
      sv->selector[0].value = xstrdup ("kube-dns");
      sv->n_selector = 1;
      add_port (sv, "dns", 53, PROTO_UDP, 53);
      add_port (sv, "dns-tcp", 53, PROTO_TCP, 53);
      add_port (sv, "metrics", 9153, PROTO_TCP, 9153);
    }
}

static void
selector_warnings (struct scenario *sc, const struct merged_section *secs, size_t n_secs)
{
  (void) secs;
  (void) n_secs;
  for (size_t i = 0; i < sc->n_services; i++)
    {
      const struct service_def *sv = &sc->services[i];
      if (sv->implicit || sv->n_selector == 0)
        continue;
      bool hit = false;
      for (size_t j = 0; j < sc->n_workloads && !hit; j++)
        {
          const struct workload_def *w = &sc->workloads[j];
          hit = w->replicas > 0 && strcmp (w->ns, sv->ns) == 0
                && labels_match (w->labels, w->n_labels, sv->selector, sv->n_selector);
        }
      if (hit)
        continue;
      cleanup_free char *sel = labels_str (sv->selector, sv->n_selector);
      *VEC_PUSH (sc->warnings, sc->n_warnings)
          = xasprintf ("%s: [%s] selector: %s matches no pod", sv->origin.file, sv->origin.section, sel);
    }
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
  if (do_lab (c, find_singleton (c, SEC_LAB)) < 0)
    return -1;
  if (do_cluster (c, find_singleton (c, SEC_CLUSTER)) < 0)
    return -1;
  int hostonly = 0;
  for (size_t i = 0; i < c->n_secs; i++)
    if (c->kinds[i] == SEC_NETWORK)
      {
        const struct merged_key *t = find_key (&c->secs[i], "type");
        if (do_network (c, &c->secs[i], hostonly) < 0)
          return -1;
        if (t && strcmp (t->value, "hostonly") == 0)
          hostonly++;
      }
  for (size_t i = 0; i < c->n_secs; i++)
    if (c->kinds[i] == SEC_NODE && do_node (c, &c->secs[i]) < 0)
      return -1;
  if (sc->n_nodes == 0)
    return nslab_error_invalid (c->err, "%s: no [node NAME] section (a lab needs at least one node)",
                                c->main_file);
  bool cp = false;
  for (size_t i = 0; i < sc->n_nodes; i++)
    cp |= sc->nodes[i].role == ROLE_CONTROL_PLANE;
  if (!cp)
    return nslab_error_invalid (c->err, "%s: no node has role = control-plane", c->main_file);
  for (size_t i = 0; i < c->n_secs; i++)
    if ((c->kinds[i] == SEC_POD || c->kinds[i] == SEC_DEPLOYMENT || c->kinds[i] == SEC_REPLICASET)
        && do_workload (c, &c->secs[i], c->kinds[i]) < 0)
      return -1;
  for (size_t i = 0; i < c->n_secs; i++)
    if (c->kinds[i] == SEC_SERVICE && do_service (c, &c->secs[i]) < 0)
      return -1;
  selector_warnings (sc, c->secs, c->n_secs);
  add_implicit_services (sc);
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
