/* kube-proxy's nftables mode (pkg/proxy/nftables/proxier.go), written as the
 * transaction its first sync sends to `nft -f`: setupNFTables, then the
 * service ports one after the other.
 *
 * The expected ruleset of kube-proxy's own unit tests (baseRules and
 * TestOverallNFTablesRules in proxier_test.go) is the reference: the same
 * base chains and priorities, the same chain, set and map names and the same
 * rule text. Their dumps are sorted (sortNFTablesTransaction); this file
 * writes lines in the order kube-proxy adds them, so `nft list table` shows
 * what a real node shows, and the unit test sorts both sides.
 *
 * What is modelled: every Service kind the iptables mode has, as the
 * nftables proxier writes it: externalTrafficPolicy Local (external- chain
 * short-circuits for pods and the node, a local- policy chain where the
 * node has endpoints, "drop" elements in no-endpoint-services/-nodeports
 * where it has none), internalTrafficPolicy Local, externalIPs and
 * load-balancer IPs in service-ips, loadBalancerSourceRanges through
 * firewall-ips and a firewall- chain, detectLocalMode ClusterCIDR, and a
 * ServiceCIDR object for the cluster's service range (the "unallocated
 * ClusterIPs" drop). NodePorts answer on nodePortAddresses, "primary" (the
 * node's INTERNAL-IP) when unset, every local address but 127/8 with
 * 0.0.0.0/0: this mode never has localhost NodePorts, whatever
 * localhost_nodeports says. Health-check node ports get no rule (kube-proxy
 * writes none in this mode) and there are no nfacct counters. Ports whose
 * text depends on the node (Local policies, source ranges) are written per
 * node, the others once. Unlike the iptables mode there is no large-cluster
 * mode: endpoint chains carry no comments at any size. */
#include "plan/kube_proxy_nftables.h"
#include "plan/builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ipaddr.h"
#include "base/util.h"
#include "k8s/kube_proxy_chains.h"
#include "plan/kube_proxy_iptables.h"

#define TABLE "ip kube-proxy"
/* Default sessionAffinityConfig.clientIP.timeoutSeconds. */
#define DEFAULT_AFFINITY_TIMEOUT 10800
/* knftables.NameLengthMax (256) - chainNamePrefixLengthMax (16). */
#define NAME_BASE_MAX 240

char *
kube_nft_hash_name (char out[256], const char *prefix, const char *name)
{
  char hash[KUBE_HASH_LEN + 1];
  kube_hash16 (hash, name);
  hash[8] = '\0';
  cleanup_free char *base = xasprintf ("%s-%s", hash, name);
  /* Never reached for valid names (205 characters at most before the
     endpoint), but kube-proxy truncates with "..." and so do we. */
  if (strlen (base) > NAME_BASE_MAX)
    memcpy (base + NAME_BASE_MAX - 3, "...", 4);
  /* Prefixes are at most 15 characters (chainNamePrefixLengthMax - 1). */
  size_t pl = strnlen (prefix, 15), bl = strlen (base);
  memcpy (out, prefix, pl);
  memcpy (out + pl, base, bl + 1);
  return out;
}

/* One service port with everything its rules need, in kube-proxy's names. */
struct nft_port {
  const struct model_service *svc;
  const struct model_svc_port *port;
  char *name;                 /* ServicePortName.String(): "ns/svc:port" (comments) */
  const char *proto;
  char cluster_chain[256];    /* service-HASH-ns/svc/proto/port */
  char local_chain[256];      /* local-... */
  char external_chain[256];   /* external-... */
  char firewall_chain[256];   /* firewall-... */
  char cip[IP_STRLEN];
  bool first_of_ip;           /* the first port of its ClusterIP in emit order */
  uint16_t node_port;         /* 0: none */
  size_t n_lb;
  bool per_node;              /* its text depends on the node */
  size_t range[2];            /* !per_node: its text in kube_proxy_nft.out */
};

struct kube_proxy_nft {
  struct strbuf out;          /* the text of the ports that are the same on every node */
  struct nft_port *ports;     /* sorted */
  size_t n_ports;
};

struct gen {
  struct strbuf *sb;
  const struct model *m;
  char pod_cidr[CIDR_STRLEN];
  bool have_pod_cidr;
};

static void
endpoint_names (const struct nft_port *sp, const struct model_endpoint *ep, char chain[256], char set[256])
{
  char ip[IP_STRLEN];
  cleanup_free char *base = xasprintf ("%s/%s/%s/%s__%s/%u", sp->svc->ns, sp->svc->name, sp->proto,
                                       sp->port->name ? sp->port->name : "", ip_fmt (ep->ip, ip),
                                       (unsigned) ep->port);
  kube_nft_hash_name (chain, "endpoint-", base);
  if (set)
    kube_nft_hash_name (set, "affinity-", base);
}

/* One service port on one node as syncProxyRules sees it: which chains it
   uses and what the filter maps do with traffic it cannot serve. */
struct nft_view {
  struct kube_port_view v;
  int node;
  bool uses_cluster_chain, uses_local_chain, uses_external_chain, uses_fw_chain;
  const char *internal_chain, *external_policy_chain;
  const char *internal_verdict, *external_verdict; /* no-endpoint-* values */
};

static struct nft_view
nft_view (const struct nft_port *sp, int node)
{
  struct nft_view w = { 0 };
  w.node = node;
  w.v = kube_proxy_port_view (sp->svc, sp->port, sp->node_port, sp->n_lb, node);
  w.uses_cluster_chain = w.v.has_endpoints && w.v.uses_cluster;
  w.uses_local_chain = w.v.uses_local && w.v.n_local > 0;
  w.uses_external_chain = w.v.has_endpoints && w.v.externally_accessible;
  /* Unlike the iptables mode, whether or not there are endpoints: the
     firewall runs before the no-endpoints check. */
  w.uses_fw_chain = sp->n_lb > 0 && sp->svc->n_source_ranges > 0;
  w.internal_chain = w.v.int_local ? sp->local_chain : sp->cluster_chain;
  w.external_policy_chain = w.v.ext_local ? sp->local_chain : sp->cluster_chain;
  /* No endpoints at all: rejected; none on this node for a Local policy:
     dropped, as the load balancer's health check would have avoided it. */
  w.internal_verdict = !w.v.has_endpoints ? "goto reject-chain" : "drop";
  w.external_verdict = w.internal_verdict;
  return w;
}

/* allLocallyReachableEndpoints: every endpoint when the Cluster policy is
   in use, else only the node's own. */
static bool
reachable (const struct nft_view *w, const struct model_endpoint *ep)
{
  return w->v.has_endpoints && (w->v.uses_cluster || ep->node == w->node);
}

/* ---- one function per part of a service port, in syncProxyRules order -- */

/* The chains the port uses, created (ensureChain) before any element or
   rule points at them: the endpoints', the cluster and local policy
   chains, the external one, the firewall. */
static void
nft_port_chains (struct gen *g, const struct nft_port *sp, const struct nft_view *w)
{
  for (size_t i = 0; i < sp->port->n_endpoints; i++)
    if (reachable (w, &sp->port->endpoints[i]))
      {
        char chain[256];
        endpoint_names (sp, &sp->port->endpoints[i], chain, NULL);
        sb_addf (g->sb, "add chain " TABLE " %s\n", chain);
      }
  if (w->uses_cluster_chain)
    sb_addf (g->sb, "add chain " TABLE " %s\n", sp->cluster_chain);
  if (w->uses_local_chain)
    sb_addf (g->sb, "add chain " TABLE " %s\n", sp->local_chain);
  if (w->uses_external_chain)
    sb_addf (g->sb, "add chain " TABLE " %s\n", sp->external_chain);
  if (w->uses_fw_chain)
    sb_addf (g->sb, "add chain " TABLE " %s\n", sp->firewall_chain);
}

static void
no_endpoint_element (struct gen *g, const struct nft_port *sp, const char *ip, const char *verdict)
{
  sb_addf (g->sb, "add element " TABLE " no-endpoint-services { %s . %s . %u comment \"%s\" : %s }\n", ip, sp->proto,
           (unsigned) sp->port->port, sp->name, verdict);
}

/* The ClusterIP: always in cluster-ips (so other ports of it are
   rejected); dispatched through service-ips to the internal policy chain,
   or refused by no-endpoint-services. */
static void
nft_cluster_ip (struct gen *g, const struct nft_port *sp, const struct nft_view *w)
{
  /* A set element is added once (kube-proxy's ensureElem), however many
     ports share the address. */
  if (sp->first_of_ip)
    sb_addf (g->sb, "add element " TABLE " cluster-ips { %s }\n", sp->cip);
  if (w->v.has_internal)
    sb_addf (g->sb, "add element " TABLE " service-ips { %s . %s . %u : goto %s }\n", sp->cip, sp->proto,
             (unsigned) sp->port->port, w->internal_chain);
  else
    no_endpoint_element (g, sp, sp->cip, w->internal_verdict);
}

/* An external destination (externalIP or load-balancer IP): to the
   external chain while there are endpoints anywhere (its short-circuits
   serve pods and the node), refused by no-endpoint-services when none
   serve outside traffic here. */
static void
nft_external_dest (struct gen *g, const struct nft_port *sp, const struct nft_view *w, uint32_t addr)
{
  char ip[IP_STRLEN];
  ip_fmt (addr, ip);
  if (w->v.has_endpoints)
    sb_addf (g->sb, "add element " TABLE " service-ips { %s . %s . %u : goto %s }\n", ip, sp->proto,
             (unsigned) sp->port->port, sp->external_chain);
  if (!w->v.has_external)
    no_endpoint_element (g, sp, ip, w->external_verdict);
}

static void
nft_external_ips (struct gen *g, const struct nft_port *sp, const struct nft_view *w)
{
  for (size_t i = 0; i < sp->svc->n_external_ips; i++)
    nft_external_dest (g, sp, w, sp->svc->external_ips[i]);
}

/* Load-balancer ingress IPs (k3s servicelb: the nodes' INTERNAL-IPs;
   kubeadm: the pool address), through the firewall with source ranges. */
static void
nft_lb_ips (struct gen *g, const struct nft_port *sp, const struct nft_view *w)
{
  for (size_t i = 0; i < sp->n_lb; i++)
    {
      nft_external_dest (g, sp, w, sp->svc->lb_ips[i]);
      if (w->uses_fw_chain)
        {
          char ip[IP_STRLEN];
          sb_addf (g->sb, "add element " TABLE " firewall-ips { %s . %s . %u : goto %s }\n",
                   ip_fmt (sp->svc->lb_ips[i], ip), sp->proto, (unsigned) sp->port->port, sp->firewall_chain);
        }
    }
}

static void
nft_node_port (struct gen *g, const struct nft_port *sp, const struct nft_view *w)
{
  if (sp->node_port == 0)
    return;
  /* Not subject to loadBalancerSourceRanges, as in kube-proxy. */
  if (w->v.has_endpoints)
    sb_addf (g->sb, "add element " TABLE " service-nodeports { %s . %u : goto %s }\n", sp->proto,
             (unsigned) sp->node_port, sp->external_chain);
  if (!w->v.has_external)
    sb_addf (g->sb, "add element " TABLE " no-endpoint-nodeports { %s . %u comment \"%s\" : %s }\n", sp->proto,
             (unsigned) sp->node_port, sp->name, w->external_verdict);
}

/* Off-cluster sources reaching the ClusterIP are masqueraded so replies
   come back through this node. External destinations: with the Cluster
   policy always masqueraded (the endpoint may be on another node); with
   Local the client's address is kept, except for pods and the node itself,
   which go to any endpoint as if out through the load balancer and back. */
static void
nft_masquerade_rules (struct gen *g, const struct nft_port *sp, const struct nft_view *w)
{
  if (w->v.has_internal && g->have_pod_cidr)
    sb_addf (g->sb, "add rule " TABLE " %s ip daddr %s ip saddr != %s jump mark-for-masquerade\n", w->internal_chain,
             sp->cip, g->pod_cidr);
  if (!w->uses_external_chain)
    return;
  const char *ext = sp->external_chain;
  if (!w->v.ext_local)
    sb_addf (g->sb, "add rule " TABLE " %s jump mark-for-masquerade\n", ext);
  else
    {
      if (g->have_pod_cidr)
        sb_addf (g->sb, "add rule " TABLE " %s ip saddr %s goto %s comment \"short-circuit pod traffic\"\n", ext,
                 g->pod_cidr, sp->cluster_chain);
      sb_addf (g->sb, "add rule " TABLE " %s fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\"\n",
               ext);
      sb_addf (g->sb, "add rule " TABLE " %s fib saddr type local goto %s comment \"short-circuit local traffic\"\n", ext,
               sp->cluster_chain);
    }
  if (w->v.has_external)
    sb_addf (g->sb, "add rule " TABLE " %s goto %s\n", ext, w->external_policy_chain);
}

/* loadBalancerSourceRanges: anything else to the load-balancer IPs is
   dropped before DNAT. A node inside the ranges reaches a VIP its own
   routing made local with the VIP as source, so the VIPs are allowed too. */
static void
nft_firewall (struct gen *g, const struct nft_port *sp, const struct nft_view *w)
{
  if (!w->uses_fw_chain)
    return;
  uint32_t node_ip = w->node >= 0 ? g->m->nodes[w->node].internal_ip : 0;
  bool allow_node = false;
  sb_addf (g->sb, "add rule " TABLE " %s ip saddr != { ", sp->firewall_chain);
  for (size_t i = 0; i < sp->svc->n_source_ranges; i++)
    {
      char r[CIDR_STRLEN];
      sb_addf (g->sb, "%s%s", i ? " , " : "", cidr_fmt (sp->svc->source_ranges[i], r));
      allow_node = allow_node || (w->node >= 0 && cidr_contains (sp->svc->source_ranges[i], node_ip));
    }
  for (size_t i = 0; allow_node && i < sp->n_lb; i++)
    {
      char ip[IP_STRLEN];
      sb_addf (g->sb, " , %s", ip_fmt (sp->svc->lb_ips[i], ip));
    }
  sb_add (g->sb, " } drop\n");
}

/* ClientIP affinity: one dynamic set per endpoint remembering the clients
   it served, consulted before the random choice. */
static void
nft_affinity_sets (struct gen *g, const struct nft_port *sp, const struct nft_view *w)
{
  if (!sp->svc->affinity_client_ip)
    return;
  uint32_t timeout = sp->svc->affinity_timeout ? sp->svc->affinity_timeout : DEFAULT_AFFINITY_TIMEOUT;
  for (size_t i = 0; i < sp->port->n_endpoints; i++)
    if (reachable (w, &sp->port->endpoints[i]))
      {
        char chain[256], set[256];
        endpoint_names (sp, &sp->port->endpoints[i], chain, set);
        sb_addf (g->sb, "add set " TABLE " %s { type ipv4_addr ; flags dynamic,timeout ; timeout %us ; }\n", set,
                 (unsigned) timeout);
      }
}

/* writeServiceToEndpointRules: the affinity lookups, then one numgen vmap
   spreading new connections evenly over the endpoints (local_node >= 0:
   only that node's). */
static void
nft_service_to_endpoints (struct gen *g, const struct nft_port *sp, const char *policy_chain, int local_node)
{
  char chain[256], set[256];
  size_t n = 0;
  for (size_t i = 0; i < sp->port->n_endpoints; i++)
    n += local_node < 0 || sp->port->endpoints[i].node == local_node;
  if (sp->svc->affinity_client_ip)
    for (size_t i = 0; i < sp->port->n_endpoints; i++)
      if (local_node < 0 || sp->port->endpoints[i].node == local_node)
        {
          endpoint_names (sp, &sp->port->endpoints[i], chain, set);
          sb_addf (g->sb, "add rule " TABLE " %s ip saddr @%s goto %s\n", policy_chain, set, chain);
        }
  sb_addf (g->sb, "add rule " TABLE " %s numgen random mod %zu vmap { ", policy_chain, n);
  size_t k = 0;
  for (size_t i = 0; i < sp->port->n_endpoints; i++)
    if (local_node < 0 || sp->port->endpoints[i].node == local_node)
      {
        endpoint_names (sp, &sp->port->endpoints[i], chain, NULL);
        sb_addf (g->sb, "%s%zu : goto %s", k ? " , " : "", k, chain);
        k++;
      }
  sb_add (g->sb, " }\n");
}

/* Each endpoint: hairpin masquerade, affinity update, DNAT. */
static void
nft_endpoint_chains (struct gen *g, const struct nft_port *sp, const struct nft_view *w)
{
  for (size_t i = 0; i < sp->port->n_endpoints; i++)
    {
      const struct model_endpoint *ep = &sp->port->endpoints[i];
      if (!reachable (w, ep))
        continue;
      char chain[256], set[256], ip[IP_STRLEN];
      endpoint_names (sp, ep, chain, set);
      ip_fmt (ep->ip, ip);
      sb_addf (g->sb, "add rule " TABLE " %s ip saddr %s jump mark-for-masquerade\n", chain, ip);
      if (sp->svc->affinity_client_ip)
        sb_addf (g->sb, "add rule " TABLE " %s update @%s { ip saddr }\n", chain, set);
      sb_addf (g->sb, "add rule " TABLE " %s meta l4proto %s dnat to %s:%u\n", chain, sp->proto, ip,
               (unsigned) ep->port);
    }
}

/* One port on NODE (-1: a port whose text is the same on every node). */
static void
emit_port (struct gen *g, const struct nft_port *sp, int node)
{
  struct nft_view w = nft_view (sp, node);
  nft_port_chains (g, sp, &w);
  nft_cluster_ip (g, sp, &w);
  nft_external_ips (g, sp, &w);
  nft_lb_ips (g, sp, &w);
  nft_node_port (g, sp, &w);
  nft_masquerade_rules (g, sp, &w);
  nft_firewall (g, sp, &w);
  nft_affinity_sets (g, sp, &w);
  if (w.uses_cluster_chain)
    nft_service_to_endpoints (g, sp, sp->cluster_chain, -1);
  if (w.uses_local_chain)
    nft_service_to_endpoints (g, sp, sp->local_chain, node);
  nft_endpoint_chains (g, sp, &w);
}

static int
cmp_port (const void *a, const void *b)
{
  const struct nft_port *x = a, *y = b;
  int c = strcmp (x->name, y->name);
  return c ? c : strcmp (x->proto, y->proto);
}

static void
gen_init (struct gen *g, const struct model *m, struct strbuf *sb)
{
  g->sb = sb;
  g->m = m;
  g->have_pod_cidr = m->sc->cluster.pod_cidr.len > 0;
  cidr_fmt (m->sc->cluster.pod_cidr, g->pod_cidr);
}

struct kube_proxy_nft *
kube_proxy_nft_services (const struct model *m)
{
  struct kube_proxy_nft *ks = xcalloc (1, sizeof *ks);
  sb_init (&ks->out);
  struct gen g;
  gen_init (&g, m, &ks->out);
  /* kube-proxy walks its service map in Go's random order; sorting by the
     service port name (as the iptables mode does) makes the output
     deterministic. */
  struct nft_port *ports = NULL;
  size_t n = 0;
  for (size_t s = 0; s < m->n_services; s++)
    {
      const struct model_service *svc = &m->services[s];
      for (size_t i = 0; i < svc->n_ports; i++)
        {
          struct nft_port *sp = VEC_PUSH (ports, n);
          memset (sp, 0, sizeof *sp);
          sp->svc = svc;
          sp->port = &svc->ports[i];
          sp->name = kube_svc_port_name (svc->ns, svc->name, svc->ports[i].name);
          sp->proto = proto_lower (svc->ports[i].protocol);
          cleanup_free char *base = xasprintf ("%s/%s/%s/%s", svc->ns, svc->name, sp->proto,
                                               svc->ports[i].name ? svc->ports[i].name : "");
          kube_nft_hash_name (sp->cluster_chain, "service-", base);
          kube_nft_hash_name (sp->local_chain, "local-", base);
          kube_nft_hash_name (sp->external_chain, "external-", base);
          kube_nft_hash_name (sp->firewall_chain, "firewall-", base);
          ip_fmt (svc->cluster_ip, sp->cip);
          sp->node_port = svc->type != SVC_CLUSTER_IP ? sp->port->node_port : 0;
          sp->n_lb = svc->type == SVC_LOAD_BALANCER ? svc->n_lb_ips : 0;
          sp->per_node = kube_proxy_port_per_node (svc);
        }
    }
  if (n > 1)
    qsort (ports, n, sizeof *ports, cmp_port);
  bool *seen = xcalloc (m->n_services + 1, sizeof *seen);
  for (size_t i = 0; i < n; i++)
    {
      size_t s = (size_t) (ports[i].svc - m->services);
      ports[i].first_of_ip = !seen[s];
      seen[s] = true;
    }
  free (seen);
  for (size_t i = 0; i < n; i++)
    {
      ports[i].range[0] = ks->out.len;
      if (!ports[i].per_node)
        emit_port (&g, &ports[i], -1);
      ports[i].range[1] = ks->out.len;
    }
  ks->ports = ports;
  ks->n_ports = n;
  return ks;
}

void
kube_proxy_nft_free (struct kube_proxy_nft *ks)
{
  if (ks == NULL)
    return;
  for (size_t i = 0; i < ks->n_ports; i++)
    free (ks->ports[i].name);
  free (ks->ports);
  sb_free (&ks->out);
  free (ks);
}

/* The service part of node NODE's table: the shared text, with the ports
   that depend on the node written for it in their place. */
static void
nft_services_for_node (struct strbuf *sb, const struct kube_proxy_nft *ks, const struct model *m, int node)
{
  struct gen g;
  gen_init (&g, m, sb);
  for (size_t i = 0; i < ks->n_ports; i++)
    {
      const struct nft_port *sp = &ks->ports[i];
      if (sp->per_node)
        emit_port (&g, sp, node);
      else if (sp->range[1] > sp->range[0])
        sb_addn (sb, ks->out.buf + sp->range[0], sp->range[1] - sp->range[0]);
    }
}

/* nodePortAddresses containing 0.0.0.0/0 means every local address
   (NodePortAddresses.MatchAll). */
static bool
nodeport_match_all (const struct cluster_def *cl)
{
  for (size_t i = 0; i < cl->n_node_port_addresses; i++)
    if (cl->node_port_addresses[i].len == 0)
      return true;
  return false;
}

static int
cmp_ip_text (const void *a, const void *b)
{
  char x[IP_STRLEN], y[IP_STRLEN];
  return strcmp (ip_fmt (*(const uint32_t *) a, x), ip_fmt (*(const uint32_t *) b, y));
}

/* The nodeport-ips set: unset nodePortAddresses is "primary" in nftables
   mode (the node's INTERNAL-IP); CIDRs select the node's addresses inside
   them (GetNodeIPs: its NICs' and loopback's), never loopback, which
   kube-proxy skips with "localhost NodePorts are not supported". */
static void
nft_nodeport_ips (struct strbuf *sb, const struct cluster_def *cl, const struct model_node *nd)
{
  sb_add (sb, "add set " TABLE " nodeport-ips { type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }\n");
  uint32_t *ips = xcalloc (nd->n_nics + 1, sizeof *ips);
  size_t n = 0;
  if (cl->n_node_port_addresses == 0)
    ips[n++] = nd->internal_ip;
  for (size_t i = 0; cl->n_node_port_addresses > 0 && i < nd->n_nics; i++)
    {
      uint32_t a = nd->nics[i].addr;
      bool in = false, dup = false;
      for (size_t c = 0; c < cl->n_node_port_addresses; c++)
        in = in || cidr_contains (cl->node_port_addresses[c], a);
      for (size_t k = 0; k < n; k++)
        dup = dup || ips[k] == a;
      if (in && !dup && a != 0 && (a >> 24) != 127)
        ips[n++] = a;
    }
  if (n > 1)
    qsort (ips, n, sizeof *ips, cmp_ip_text);
  for (size_t i = 0; i < n; i++)
    {
      char ip[IP_STRLEN];
      sb_addf (sb, "add element " TABLE " nodeport-ips { %s }\n", ip_fmt (ips[i], ip));
    }
  free (ips);
}

/* setupNFTables: the table, its base chains (filter ones before DNAT so they
   see the service address, the "pre-dnat" ones at dstnat-10), the fixed
   chains and the jumps to them, masquerading, the sets and verdict maps the
   service ports fill, and the dispatch rules. */
static void
nft_setup (struct strbuf *sb, const struct model *m, const struct model_node *nd)
{
  const struct cluster_def *cl = &m->sc->cluster;
  char mark[16], svc_cidr[CIDR_STRLEN], node_ip[IP_STRLEN];
  /* NewProxier formats the mark as the iptables mode does ("0x00004000");
     the unit tests' fake proxier sets "0x4000" directly. */
  kube_proxy_mark (cl->masquerade_bit, mark);
  cidr_fmt (cl->service_cidr, svc_cidr);
  ip_fmt (nd->internal_ip, node_ip);

  sb_add (sb, "add table " TABLE " { comment \"rules for kube-proxy\" ; }\n"
              "add chain " TABLE " filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }\n"
              "add chain " TABLE " filter-input { type filter hook input priority 0 ; }\n"
              "add chain " TABLE " filter-forward { type filter hook forward priority 0 ; }\n"
              "add chain " TABLE " filter-output { type filter hook output priority 0 ; }\n"
              "add chain " TABLE " filter-output-pre-dnat { type filter hook output priority -110 ; }\n"
              "add chain " TABLE " nat-prerouting { type nat hook prerouting priority -100 ; }\n"
              "add chain " TABLE " nat-output { type nat hook output priority -100 ; }\n"
              "add chain " TABLE " nat-postrouting { type nat hook postrouting priority 100 ; }\n"
              "add chain " TABLE " nodeport-endpoints-check\n"
              "add rule " TABLE " filter-input ct state new jump nodeport-endpoints-check\n"
              "add chain " TABLE " service-endpoints-check\n"
              "add rule " TABLE " filter-input ct state new jump service-endpoints-check\n"
              "add rule " TABLE " filter-forward ct state new jump service-endpoints-check\n"
              "add rule " TABLE " filter-output ct state new jump service-endpoints-check\n"
              "add chain " TABLE " firewall-check\n"
              "add rule " TABLE " filter-prerouting-pre-dnat ct state new jump firewall-check\n"
              "add rule " TABLE " filter-output-pre-dnat ct state new jump firewall-check\n"
              "add chain " TABLE " services\n"
              "add rule " TABLE " nat-output jump services\n"
              "add rule " TABLE " nat-prerouting jump services\n"
              "add chain " TABLE " masquerading\n"
              "add rule " TABLE " nat-postrouting jump masquerading\n"
              "add chain " TABLE " cluster-ips-check\n"
              "add rule " TABLE " filter-forward ct state new jump cluster-ips-check\n"
              "add rule " TABLE " filter-output ct state new jump cluster-ips-check\n"
              "add chain " TABLE " mark-for-masquerade\n");
  /* Masquerade only what mark-for-masquerade marked, and clear the mark so
     a packet that re-traverses the stack is not masqueraded twice. */
  sb_addf (sb, "add rule " TABLE " mark-for-masquerade mark set mark or %s\n", mark);
  sb_addf (sb, "add rule " TABLE " masquerading mark and %s == 0 return\n", mark);
  sb_addf (sb, "add rule " TABLE " masquerading mark set mark xor %s\n", mark);
  sb_add (sb, "add rule " TABLE " masquerading masquerade fully-random\n"
              "add set " TABLE " cluster-ips { type ipv4_addr ; comment \"Active ClusterIPs\" ; }\n"
              "add rule " TABLE " cluster-ips-check ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"\n");
  if (cl->service_cidr.len > 0)
    sb_addf (sb, "add rule " TABLE " cluster-ips-check ip daddr { %s } drop comment \"Drop traffic to unallocated ClusterIPs\"\n",
             svc_cidr);
  bool match_all = nodeport_match_all (cl);
  if (!match_all)
    nft_nodeport_ips (sb, cl, nd);
  sb_add (sb,
          "add map " TABLE " no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to services with no endpoints\" ; }\n"
          "add map " TABLE " no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to service nodeports with no endpoints\" ; }\n"
          "add chain " TABLE " reject-chain { comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ; }\n"
          "add rule " TABLE " reject-chain reject\n"
          "add rule " TABLE " service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services\n"

          "add map " TABLE " firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }\n"
          "add rule " TABLE " firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips\n"
          "add map " TABLE " service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }\n"
          "add map " TABLE " service-nodeports { type inet_proto . inet_service : verdict ; comment \"NodePort traffic\" ; }\n"
          "add rule " TABLE " services ip daddr . meta l4proto . th dport vmap @service-ips\n");
  /* Every local address but 127/8 (nftables mode has no localhost
     NodePorts), or the nodeport-ips set. */
  if (match_all)
    sb_add (sb, "add rule " TABLE " nodeport-endpoints-check ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports\n"
                "add rule " TABLE " services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports\n");
  else
    sb_add (sb, "add rule " TABLE " nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports\n"
                "add rule " TABLE " services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports\n");
}

char *
nftables_node_payload (const struct model *m, int node, const struct kube_proxy_nft *ks)
{
  if (m == NULL || m->sc == NULL || node < 0 || (size_t) node >= m->n_nodes)
    return NULL;
  struct kube_proxy_nft *own = NULL;
  if (ks == NULL)
    ks = own = kube_proxy_nft_services (m);
  struct strbuf sb;
  sb_init (&sb);
  nft_setup (&sb, m, &m->nodes[node]);
  nft_services_for_node (&sb, ks, m, node);
  kube_proxy_nft_free (own);
  return sb_steal (&sb);
}

void
kube_proxy_nft_plan_node (struct plan *p, const struct model *m, const struct model_node *n,
                          const struct kube_proxy_nft *ks)
{
  plan_push (p, OP_NFTABLES, plan_ns (m, n->netns))->u.nft.payload = nftables_node_payload (m, n->index, ks);
}
