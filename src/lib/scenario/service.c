/* [service NS/NAME]: type, selector, ports, a pinned ClusterIP, session
 * affinity; and the warning for selectors that match nothing. */
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/util.h"
#include "scenario/decode.h"
#include "scenario/flavor.h"

#define MAX_SERVICES 10000
#define MAX_PORTS 100

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

/* A pinned node port (a service port's or a health-check one) of service
 * SVC_IDX: inside nodeport_range and no other service's. */
static int
claim_node_port (struct ctx *c, const struct merged_key *k, uint16_t port, size_t svc_idx)
{
  const struct cluster_def *cl = &c->sc->cluster;
  if (port < cl->nodeport_min || port > cl->nodeport_max)
    return kerr (c, k, "node port %u is outside nodeport_range %u-%u", port, cl->nodeport_min, cl->nodeport_max);
  char key[8];
  snprintf (key, sizeof key, "%u", port);
  size_t owner = strmap_claim (&c->node_ports, key, svc_idx);
  if (owner != svc_idx)
    return kerr (c, k, "node port %u is already used by [%s]", port, c->sc->services[owner].origin.section);
  return 0;
}

/* The port just appended to SV (ITEM as written) against the earlier ones
 * and the node ports of every service so far. */
static int
check_port (struct ctx *c, const struct merged_key *k, const char *item, struct service_def *sv,
            size_t svc_idx, size_t n_items)
{
  const struct port_def *p = &sv->ports[sv->n_ports - 1];
  if (n_items > 1 && p->name == NULL)
    return kerr (c, k, "%s: with several ports each needs a name (NAME:PORT)", item);
  for (size_t j = 0; j + 1 < sv->n_ports; j++)
    {
      const struct port_def *q = &sv->ports[j];
      if (p->name && q->name && strcmp (p->name, q->name) == 0)
        return kerr (c, k, "port name %s is used twice", p->name);
      if (p->port == q->port && p->protocol == q->protocol)
        return kerr (c, k, "%u/%s is listed twice", p->port, proto_name (p->protocol));
      if (p->node_port && p->node_port == q->node_port && p->protocol == q->protocol)
        return kerr (c, k, "node port %u/%s is listed twice", p->node_port, proto_name (p->protocol));
    }
  if (p->node_port == 0)
    return 0;
  if (sv->type == SVC_CLUSTER_IP)
    return kerr (c, k, "%s: a node port needs type = NodePort or LoadBalancer", item);
  return claim_node_port (c, k, p->node_port, svc_idx);
}

static int
decode_ports (struct ctx *c, const struct merged_key *k, struct service_def *sv, size_t svc_idx)
{
  cleanup_key_list struct key_list l;
  if (key_list (c->err, k, "no port (e.g. ports = 80->8080)", MAX_PORTS, "ports", &l) < 0)
    return -1;
  for (size_t i = 0; i < l.n; i++)
    {
      struct port_def *p = VEC_PUSH (sv->ports, sv->n_ports);
      if (parse_one_port (c, k, l.items[i], p) < 0 || check_port (c, k, l.items[i], sv, svc_idx, l.n) < 0)
        return -1;
    }
  return 0;
}

static bool
is_svc (const struct service_def *sv, const char *ns, const char *name)
{
  return strcmp (sv->ns, ns) == 0 && strcmp (sv->name, name) == 0;
}

static int
decode_type (struct ctx *c, const struct merged_key *k, enum svc_type *out)
{
  /* The names are svc_type_name()'s: spelled exactly, as the API does. */
  static const enum svc_type types[] = { SVC_CLUSTER_IP, SVC_NODE_PORT, SVC_LOAD_BALANCER };
  for (size_t i = 0; i < ARRAY_SIZE (types); i++)
    if (strcmp (k->value, svc_type_name (types[i])) == 0)
      {
        *out = types[i];
        return 0;
      }
  for (size_t i = 0; i < ARRAY_SIZE (types); i++)
    if (strcasecmp (k->value, svc_type_name (types[i])) == 0)
      return kerr (c, k, "\"%s\" is not ClusterIP, NodePort or LoadBalancer (did you mean %s?)",
                   k->value, svc_type_name (types[i]));
  return kerr (c, k, "\"%s\" is not ClusterIP, NodePort or LoadBalancer", k->value);
}

static int
decode_cluster_ip (struct ctx *c, const struct merged_key *k, struct service_def *sv, size_t idx)
{
  const struct cluster_def *cl = &c->sc->cluster;
  char b1[CIDR_STRLEN], ib[IP_STRLEN];
  uint32_t ip;
  /* spec.clusterIP: None, a headless service (no virtual IP: the cluster
   * DNS answers with the ready endpoints themselves). */
  if (strcmp (k->value, "None") == 0)
    {
      if (sv->type != SVC_CLUSTER_IP)
        return kerr (c, k, "None (headless) needs type = ClusterIP");
      sv->headless = true;
      return 0;
    }
  if (key_ip (c->err, k, k->value, &ip) < 0)
    return -1;
  cleanup_free char *in = xasprintf ("service CIDR %s", cidr_fmt (cl->service_cidr, b1));
  if (check_addr_in (c->err, k, "", k->value, ip, cl->service_cidr, in, in) < 0)
    return -1;
  if (ip == service_cidr_kubernetes_ip (cl->service_cidr) && !is_svc (sv, "default", "kubernetes"))
    return kerr (c, k, "%s is reserved for default/kubernetes", k->value);
  if (ip == cl->dns_ip && !is_svc (sv, "kube-system", "kube-dns"))
    return kerr (c, k, "%s is reserved for kube-system/kube-dns (dns_ip)", k->value);
  size_t owner = strmap_claim (&c->cluster_ips, ip_fmt (ip, ib), idx);
  if (owner != idx)
    return kerr (c, k, "%s is already used by [%s]", k->value, c->sc->services[owner].origin.section);
  sv->cluster_ip = ip;
  return 0;
}

/* Cluster | Local, spelled as the API spells them. */
static int
decode_policy (struct ctx *c, const struct merged_key *k, bool *local)
{
  if (strcmp (k->value, "Local") == 0 || strcmp (k->value, "Cluster") == 0)
    {
      *local = k->value[0] == 'L';
      return 0;
    }
  return kerr (c, k, "\"%s\" is not Cluster or Local", k->value);
}

static int
decode_external_ips (struct ctx *c, const struct merged_key *k, struct service_def *sv)
{
  const struct cluster_def *cl = &c->sc->cluster;
  cleanup_key_list struct key_list l;
  if (key_list (c->err, k, NULL, MAX_PORTS, "external IPs", &l) < 0)
    return -1;
  sv->external_ips = xcalloc (l.n ? l.n : 1, sizeof *sv->external_ips);
  for (size_t i = 0; i < l.n; i++)
    {
      uint32_t ip;
      if (key_ip (c->err, k, l.items[i], &ip) < 0)
        return -1;
      /* The apiserver refuses the addresses kube-proxy could never
         capture (validateNonSpecialIP) and ones inside the cluster's own
         ranges would shadow pods or services. */
      if (ip == 0 || (ip >> 24) == 127 || (ip >> 28) == 14 || (ip >> 16) == 0xa9fe)
        return kerr (c, k, "%s is a loopback, link-local, multicast or unspecified address", l.items[i]);
      if (cidr_contains (cl->pod_cidr, ip) || cidr_contains (cl->service_cidr, ip))
        return kerr (c, k, "%s is inside pod_cidr or service_cidr", l.items[i]);
      for (size_t j = 0; j < sv->n_external_ips; j++)
        if (sv->external_ips[j] == ip)
          return kerr (c, k, "%s is listed twice", l.items[i]);
      sv->external_ips[sv->n_external_ips++] = ip;
    }
  return 0;
}

static int
decode_source_ranges (struct ctx *c, const struct merged_key *k, struct service_def *sv)
{
  if (sv->type != SVC_LOAD_BALANCER)
    return kerr (c, k, "needs type = LoadBalancer");
  return key_cidr_list (c->err, k, MAX_PORTS, "source ranges", &sv->source_ranges, &sv->n_source_ranges);
}

static int
decode_hc_node_port (struct ctx *c, const struct merged_key *k, struct service_def *sv, size_t idx)
{
  /* The apiserver only keeps one for a LoadBalancer whose external
     traffic stays on the node (the load balancer asks it which nodes have
     endpoints). */
  if (sv->type != SVC_LOAD_BALANCER || !sv->etp_local)
    return kerr (c, k, "needs type = LoadBalancer and external_traffic_policy = Local");
  if (key_port (c->err, k, &sv->hc_node_port) < 0)
    return -1;
  return claim_node_port (c, k, sv->hc_node_port, idx);
}

static int
decode_lb_ip (struct ctx *c, const struct merged_key *k, struct service_def *sv)
{
  const struct cluster_def *cl = &c->sc->cluster;
  char pool[CIDR_STRLEN];
  if (sv->type != SVC_LOAD_BALANCER)
    return kerr (c, k, "needs type = LoadBalancer");
  if (cl->lb_pool.len == 0)
    return kerr (c, k, "needs [cluster] load_balancer_pool (flavor = kubeadm)");
  if (key_ip (c->err, k, k->value, &sv->lb_ip) < 0)
    return -1;
  if (!cidr_contains (cl->lb_pool, sv->lb_ip))
    return kerr (c, k, "%s is outside load_balancer_pool %s", k->value, cidr_fmt (cl->lb_pool, pool));
  for (size_t i = 0; i + 1 < c->sc->n_services; i++)
    if (c->sc->services[i].lb_ip == sv->lb_ip)
      return kerr (c, k, "%s is already used by [%s]", k->value, c->sc->services[i].origin.section);
  return 0;
}

/* The traffic-policy and load-balancer keys, after type and ports. */
static int
decode_external (struct ctx *c, const struct merged_section *s, struct service_def *sv, size_t idx)
{
  const struct merged_key *k;
  if ((k = find_key (s, "external_ips")) && decode_external_ips (c, k, sv) < 0)
    return -1;
  if ((k = find_key (s, "external_traffic_policy")))
    {
      if (decode_policy (c, k, &sv->etp_local) < 0)
        return -1;
      /* The apiserver: "may only be set for externally-accessible services". */
      if (sv->type == SVC_CLUSTER_IP && sv->n_external_ips == 0)
        return kerr (c, k, "needs type = NodePort or LoadBalancer, or external_ips");
    }
  if ((k = find_key (s, "internal_traffic_policy")) && decode_policy (c, k, &sv->itp_local) < 0)
    return -1;
  if ((k = find_key (s, "load_balancer_source_ranges")) && decode_source_ranges (c, k, sv) < 0)
    return -1;
  if ((k = find_key (s, "health_check_node_port")) && decode_hc_node_port (c, k, sv, idx) < 0)
    return -1;
  if ((k = find_key (s, "load_balancer_ip")) && decode_lb_ip (c, k, sv) < 0)
    return -1;
  return 0;
}

int
decode_service (struct ctx *c, const struct merged_section *s)
{
  struct scenario *sc = c->sc;
  if (sc->n_services >= MAX_SERVICES)
    return serr (c, s, "too many services (at most %d)", MAX_SERVICES);
  size_t idx = sc->n_services;
  struct service_def *sv = VEC_PUSH (sc->services, sc->n_services);
  const char *slash = strchr (s->arg, '/');
  sv->ns = xstrndup (s->arg, (size_t) (slash - s->arg));
  sv->name = xstrdup (slash + 1);
  sv->origin.file = s->file;
  sv->origin.section = xstrdup (s->name);
  sv->affinity_timeout = SVC_AFFINITY_TIMEOUT_DEFAULT;
  sv->type = SVC_CLUSTER_IP;

  const struct merged_key *k;
  if ((k = find_key (s, "type")) && decode_type (c, k, &sv->type) < 0)
    return -1;
  if ((k = find_key (s, "selector")) && key_labels (c->err, k, &sv->selector, &sv->n_selector) < 0)
    return -1;
  if ((k = find_key (s, "ports")) == NULL)
    return missing (c, s, "ports", " (e.g. ports = 80->8080)");
  if (decode_ports (c, k, sv, idx) < 0)
    return -1;
  if ((k = find_key (s, "cluster_ip")) && decode_cluster_ip (c, k, sv, idx) < 0)
    return -1;
  if (decode_external (c, s, sv, idx) < 0)
    return -1;

  if ((k = find_key (s, "session_affinity")))
    {
      if (strcmp (k->value, "ClientIP") == 0)
        sv->affinity_client_ip = true;
      else if (strcmp (k->value, "None") != 0)
        return kerr (c, k, "\"%s\" is not None or ClientIP", k->value);
    }
  if ((k = find_key (s, "affinity_timeout")))
    {
      uint64_t v;
      if (!sv->affinity_client_ip)
        return kerr (c, k, "needs session_affinity = ClientIP");
      if (key_uint (c->err, k, 1, 86400, &v) < 0)
        return -1;
      sv->affinity_timeout = (uint32_t) v;
    }
  return 0;
}

void
selector_warnings (struct scenario *sc)
{
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
