/* What kubelet, kube-proxy (iptables mode) and flannel leave in a node's
 * iptables, written as one iptables-restore --noflush payload.
 *
 * The layout follows kube-proxy's own restore input (chain lines first, then
 * rules, per table) and its argument order ("-m tcp -p tcp -d IP --dport P",
 * "--or-mark 0x00004000", comments with spaces in double quotes, bare
 * comments otherwise), so `iptables-save` in the namespace prints what a real
 * node prints. The namespace starts empty, so the jumps from the built-in
 * chains are appended in the final order a real node shows rather than
 * prepended one by one as kube-proxy and kubelet do (EnsureRule(Prepend)).
 *
 * What is modelled: every service kind of kube-proxy's syncProxyRules
 * (pkg/proxy/iptables/proxier.go, 1.29+): internal and external traffic
 * policies (KUBE-SVL- chains, the EXT short-circuits for pods and the node,
 * the "has no local endpoints" DROPs), externalIPs, load-balancer IPs with
 * source ranges (KUBE-FW- chains and KUBE-PROXY-FIREWALL), health-check
 * node ports, nodePortAddresses and localhostNodePorts, the nfacct
 * counters where the kernel has them ([cluster] nfacct; off by default, as
 * the seeds' nodes show the INVALID drop without them), large-cluster mode,
 * iptables with --random-fully support, nf_conntrack_tcp_be_liberal=0 and
 * detect-local by cluster CIDR. A port whose rules depend on the node
 * (local policies, source ranges) is written per node; the rest once per
 * plan and spliced into every node's payload.
 *
 * k3s also runs kube-router's network policy controller, which inserts
 * KUBE-ROUTER-* jumps first of all; nslab models k3s started with
 * --disable-network-policy, so those chains are absent. */
#include "plan/kube_proxy_iptables.h"
#include "plan/builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ipaddr.h"
#include "k8s/kube_proxy_chains.h"
#include "base/util.h"

/* kube-proxy above this many endpoints in total drops the per-endpoint
   comments to keep the restore input small ("large cluster mode"). */
#define LARGE_CLUSTER_ENDPOINTS 1000

/* flannel hard-codes kube-proxy's default mark (trafficmngr.KubeProxyMark)
   instead of reading kube-proxy's configuration. */
#define FLANNEL_KUBE_PROXY_MARK "0x4000/0x4000"

/* kube-proxy's nfacct counters (pkg/proxy/metrics). */
#define NFACCT_CT_INVALID "ct_state_invalid_dropped_pkts"
#define NFACCT_LOCALHOST_NODEPORTS "localhost_nps_accepted_pkts"

/* Default sessionAffinityConfig.clientIP.timeoutSeconds. */
#define DEFAULT_AFFINITY_TIMEOUT 10800

char *
kube_proxy_mark (int masquerade_bit, char out[16])
{
  /* Go's "%#08x" pads the digits to 8 after the 0x (C's counts the 0x in the
     width), so write the prefix by hand. */
  /* kube-proxy validates the bit to 0-31 (so does the scenario); anything
     else gives a visibly wrong 0 mark rather than an undefined shift. */
  uint32_t v = masquerade_bit >= 0 && masquerade_bit < 32 ? 1u << masquerade_bit : 0;
  snprintf (out, 16, "0x%08x", v);
  return out;
}

char *
kube_proxy_probability (int n, char out[16])
{
  snprintf (out, 16, "%0.10f", 1.0 / (double) n);
  return out;
}

/* scenario.c owns proto_lower(); a local copy keeps this file usable (and
   testable) on its own. kube-proxy lower-cases v1.Protocol. */
static const char *
l4_lower (enum l4proto p)
{
  switch (p)
    {
    case PROTO_UDP:
      return "udp";
    case PROTO_SCTP:
      return "sctp";
    case PROTO_TCP:
    default:
      return "tcp";
    }
}

struct svc_port_ref {
  const struct model_service *svc;
  const struct model_svc_port *port;
  char *name; /* "<ns>/<svc>[:<port>]" */
  size_t order;
};

static int
cmp_svc_port_ref (const void *a, const void *b)
{
  const struct svc_port_ref *x = a, *y = b;
  int c = strcmp (x->name, y->name);
  if (c != 0)
    return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

struct payload {
  const struct model *m;
  struct strbuf filter_chains, filter_rules, nat_chains, nat_rules;
  char mark[16];
  char cluster_cidr[CIDR_STRLEN];
  bool have_cluster_cidr;
  bool large_cluster;
  bool nfacct, localhost_nodeports;
};

struct kube_port_view
kube_proxy_port_view (const struct model_service *svc, const struct model_svc_port *port, uint16_t node_port,
                      size_t n_lb, int node)
{
  struct kube_port_view v = { 0 };
  v.has_endpoints = port->n_endpoints > 0;
  v.externally_accessible = node_port != 0 || n_lb > 0 || svc->n_external_ips > 0;
  v.ext_local = v.externally_accessible && svc->etp_local;
  v.int_local = svc->itp_local;
  /* External traffic with Local policy still needs the cluster-wide
     endpoints for the short-circuit of pod and host traffic. */
  v.uses_cluster = !v.int_local || v.externally_accessible;
  v.uses_local = v.int_local || v.ext_local;
  for (size_t i = 0; i < port->n_endpoints && v.uses_local; i++)
    v.n_local += port->endpoints[i].node == node;
  v.has_internal = v.has_endpoints && (!v.int_local || v.n_local > 0);
  v.has_external = v.has_endpoints && (!v.ext_local || v.n_local > 0);
  return v;
}

bool
kube_proxy_port_per_node (const struct model_service *svc)
{
  /* Local policies pick the node's own endpoints; source ranges that hold
     the node's address let it through its own firewall chain. */
  return svc->itp_local || svc->etp_local || svc->n_source_ranges > 0;
}


/* The SVC->SEP jumps of one policy chain (writeServiceToEndpointRules):
   affinity checks first, then the random spread. local_node >= 0 keeps
   only that node's endpoints. */
static void
emit_policy_chain (struct payload *p, const struct svc_port_ref *ref, const char *chain, int local_node,
                   char (*sep)[KUBE_CHAIN_MAX], char (*epstr)[IP_STRLEN + 6])
{
  const struct model_service *svc = ref->svc;
  const struct model_svc_port *port = ref->port;
  size_t n = 0;
  for (size_t i = 0; i < port->n_endpoints; i++)
    n += local_node < 0 || port->endpoints[i].node == local_node;

  sb_addf (&p->nat_chains, ":%s - [0:0]\n", chain);
  if (svc->affinity_client_ip)
    {
      uint32_t timeout = svc->affinity_timeout ? svc->affinity_timeout : DEFAULT_AFFINITY_TIMEOUT;
      for (size_t i = 0; i < port->n_endpoints; i++)
        {
          if (local_node >= 0 && port->endpoints[i].node != local_node)
            continue;
          sb_addf (&p->nat_rules, "-A %s", chain);
          if (!p->large_cluster)
            sb_addf (&p->nat_rules, " -m comment --comment \"%s -> %s\"", ref->name, epstr[i]);
          sb_addf (&p->nat_rules, " -m recent --name %s --rcheck --seconds %u --reap -j %s\n", sep[i],
                   (unsigned) timeout, sep[i]);
        }
    }

  /* Endpoint k is taken with probability 1/(n-k) among those left, which
     spreads connections evenly; the last one takes the rest. */
  size_t k = 0;
  for (size_t i = 0; i < port->n_endpoints; i++)
    {
      if (local_node >= 0 && port->endpoints[i].node != local_node)
        continue;
      sb_addf (&p->nat_rules, "-A %s", chain);
      if (!p->large_cluster)
        sb_addf (&p->nat_rules, " -m comment --comment \"%s -> %s\"", ref->name, epstr[i]);
      if (k + 1 < n)
        {
          char prob[16];
          sb_addf (&p->nat_rules, " -m statistic --mode random --probability %s",
                   kube_proxy_probability ((int) (n - k), prob));
        }
      sb_addf (&p->nat_rules, " -j %s\n", sep[i]);
      k++;
    }
}

/* The rules one service port contributes on node NODE, in the order
   kube-proxy's syncProxyRules writes them: the captures (cluster IP,
   external IPs, load-balancer IPs, node port, health-check node port)
   with their REJECT/DROP rules in the filter table when there is nowhere
   to send the traffic, then the chains: the SVC masquerade rule, EXT, FW,
   SVC, SVL and the SEPs. */
static void
emit_service_port (struct payload *p, const struct svc_port_ref *ref, int node)
{
  const struct model_service *svc = ref->svc;
  const struct model_svc_port *port = ref->port;
  const char *proto = l4_lower (port->protocol);
  const char *name = ref->name;
  char svc_chain[KUBE_CHAIN_MAX], svl_chain[KUBE_CHAIN_MAX], ext_chain[KUBE_CHAIN_MAX], fw_chain[KUBE_CHAIN_MAX];
  char cip[IP_STRLEN], ipbuf[IP_STRLEN];
  uint16_t node_port = svc->type != SVC_CLUSTER_IP ? port->node_port : 0;
  size_t n_lb = svc->type == SVC_LOAD_BALANCER ? svc->n_lb_ips : 0;
  struct kube_port_view v = kube_proxy_port_view (svc, port, node_port, n_lb, node);
  bool uses_ext = v.has_endpoints && v.externally_accessible;
  bool uses_fw = v.has_endpoints && n_lb > 0 && svc->n_source_ranges > 0;

  kube_svc_chain (svc_chain, KUBE_SVC_PREFIX, name, proto);
  kube_svc_chain (svl_chain, KUBE_SVL_PREFIX, name, proto);
  kube_svc_chain (ext_chain, KUBE_EXT_PREFIX, name, proto);
  kube_svc_chain (fw_chain, KUBE_FW_PREFIX, name, proto);
  const char *int_chain = v.int_local ? svl_chain : svc_chain;
  const char *ext_policy_chain = v.ext_local ? svl_chain : svc_chain;
  const char *lb_chain = uses_fw ? fw_chain : ext_chain;
  ip_fmt (svc->cluster_ip, cip);

  /* Where the filter table sends what the nat table could not DNAT: no
     endpoints at all is refused, no endpoint on this node for a Local
     policy is dropped silently, as a real load balancer's health check
     would have steered clear of the node. */
  cleanup_free char *no_ep = xasprintf ("\"%s has no endpoints\"", name);
  cleanup_free char *no_local = xasprintf ("\"%s has no local endpoints\"", name);
  const char *int_comment = v.has_endpoints ? no_local : no_ep;
  const char *int_target = v.has_endpoints ? "DROP" : "REJECT";
  const char *ext_comment = int_comment, *ext_target = int_target;

  if (v.has_internal)
    sb_addf (&p->nat_rules,
             "-A KUBE-SERVICES -m comment --comment \"%s cluster IP\" -m %s -p %s -d %s --dport %u -j %s\n",
             name, proto, proto, cip, (unsigned) port->port, int_chain);
  else
    sb_addf (&p->filter_rules, "-A KUBE-SERVICES -m comment --comment %s -m %s -p %s -d %s --dport %u -j %s\n",
             int_comment, proto, proto, cip, (unsigned) port->port, int_target);

  for (size_t i = 0; i < svc->n_external_ips; i++)
    {
      ip_fmt (svc->external_ips[i], ipbuf);
      if (v.has_endpoints)
        sb_addf (&p->nat_rules,
                 "-A KUBE-SERVICES -m comment --comment \"%s external IP\" -m %s -p %s -d %s --dport %u -j %s\n",
                 name, proto, proto, ipbuf, (unsigned) port->port, ext_chain);
      if (!v.has_external)
        sb_addf (&p->filter_rules,
                 "-A KUBE-EXTERNAL-SERVICES -m comment --comment %s -m %s -p %s -d %s --dport %u -j %s\n",
                 ext_comment, proto, proto, ipbuf, (unsigned) port->port, ext_target);
    }

  for (size_t i = 0; i < n_lb; i++)
    {
      ip_fmt (svc->lb_ips[i], ipbuf);
      if (v.has_endpoints)
        sb_addf (&p->nat_rules,
                 "-A KUBE-SERVICES -m comment --comment \"%s loadbalancer IP\" -m %s -p %s -d %s --dport %u -j %s\n",
                 name, proto, proto, ipbuf, (unsigned) port->port, lb_chain);
      if (uses_fw)
        sb_addf (&p->filter_rules,
                 "-A KUBE-PROXY-FIREWALL -m comment --comment \"%s traffic not accepted by %s\" -m %s -p %s -d %s --dport %u -j DROP\n",
                 name, fw_chain, proto, proto, ipbuf, (unsigned) port->port);
    }
  if (!v.has_external)
    for (size_t i = 0; i < n_lb; i++)
      sb_addf (&p->filter_rules,
               "-A KUBE-EXTERNAL-SERVICES -m comment --comment %s -m %s -p %s -d %s --dport %u -j %s\n", ext_comment,
               proto, proto, ip_fmt (svc->lb_ips[i], ipbuf), (unsigned) port->port, ext_target);

  if (node_port != 0)
    {
      /* Counts NodePort connections to 127/8 (a security hole kube-proxy
         tracks): only where the counter exists. */
      if (v.has_endpoints && p->nfacct && p->localhost_nodeports)
        sb_addf (&p->nat_rules,
                 "-A KUBE-NODEPORTS -m comment --comment %s -m %s -p %s -d 127.0.0.0/8 --dport %u -m nfacct --nfacct-name " NFACCT_LOCALHOST_NODEPORTS " -j %s\n",
                 name, proto, proto, (unsigned) node_port, ext_chain);
      if (v.has_endpoints)
        sb_addf (&p->nat_rules, "-A KUBE-NODEPORTS -m comment --comment %s -m %s -p %s --dport %u -j %s\n",
                 name, proto, proto, (unsigned) node_port, ext_chain);
      if (!v.has_external)
        sb_addf (&p->filter_rules,
                 "-A KUBE-EXTERNAL-SERVICES -m comment --comment %s -m addrtype --dst-type LOCAL -m %s -p %s --dport %u -j %s\n",
                 ext_comment, proto, proto, (unsigned) node_port, ext_target);
    }

  /* Open whatever the node's INPUT policy, so the cloud load balancer can
     ask each node whether it has endpoints. */
  if (svc->hc_node_port != 0)
    sb_addf (&p->filter_rules,
             "-A KUBE-NODEPORTS -m comment --comment \"%s health check node port\" -m tcp -p tcp --dport %u -j ACCEPT\n",
             name, (unsigned) svc->hc_node_port);

  /* No endpoints: kube-proxy writes no nat chains at all for the port. */
  if (!v.has_endpoints)
    return;

  /* Off-cluster sources reaching the ClusterIP get masqueraded, so replies
     come back through this node (detectLocalMode ClusterCIDR). */
  if (v.has_internal && p->have_cluster_cidr)
    sb_addf (&p->nat_rules,
             "-A %s -m comment --comment \"%s cluster IP\" -m %s -p %s -d %s --dport %u ! -s %s -j KUBE-MARK-MASQ\n",
             int_chain, name, proto, proto, cip, (unsigned) port->port, p->cluster_cidr);

  if (uses_ext)
    {
      sb_addf (&p->nat_chains, ":%s - [0:0]\n", ext_chain);
      if (!v.ext_local)
        sb_addf (&p->nat_rules,
                 "-A %s -m comment --comment \"masquerade traffic for %s external destinations\" -j KUBE-MARK-MASQ\n",
                 ext_chain, name);
      else
        {
          /* The client's address is kept, except for pods (they go
             anywhere, as if out through the load balancer and back) and
             the node itself (its source would be the external IP). */
          if (p->have_cluster_cidr)
            sb_addf (&p->nat_rules,
                     "-A %s -m comment --comment \"pod traffic for %s external destinations\" -s %s -j %s\n",
                     ext_chain, name, p->cluster_cidr, svc_chain);
          sb_addf (&p->nat_rules,
                   "-A %s -m comment --comment \"masquerade LOCAL traffic for %s external destinations\" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ\n",
                   ext_chain, name);
          sb_addf (&p->nat_rules,
                   "-A %s -m comment --comment \"route LOCAL traffic for %s external destinations\" -m addrtype --src-type LOCAL -j %s\n",
                   ext_chain, name, svc_chain);
        }
      if (v.has_external)
        sb_addf (&p->nat_rules, "-A %s -j %s\n", ext_chain, ext_policy_chain);
    }

  if (uses_fw)
    {
      bool allow_node = false;
      uint32_t node_ip = node >= 0 ? p->m->nodes[node].internal_ip : 0;
      sb_addf (&p->nat_chains, ":%s - [0:0]\n", fw_chain);
      for (size_t i = 0; i < svc->n_source_ranges; i++)
        {
          char r[CIDR_STRLEN];
          sb_addf (&p->nat_rules, "-A %s -m comment --comment \"%s loadbalancer IP\" -s %s -j %s\n", fw_chain, name,
                   cidr_fmt (svc->source_ranges[i], r), ext_chain);
          allow_node = allow_node || (node >= 0 && cidr_contains (svc->source_ranges[i], node_ip));
        }
      /* A node reaching a VIP its own routing made local arrives with the
         VIP as source. */
      for (size_t i = 0; allow_node && i < n_lb; i++)
        sb_addf (&p->nat_rules, "-A %s -m comment --comment \"%s loadbalancer IP\" -s %s -j %s\n", fw_chain, name,
                 ip_fmt (svc->lb_ips[i], ipbuf), ext_chain);
      sb_addf (&p->nat_rules,
               "-A %s -m comment --comment \"other traffic to %s will be dropped by KUBE-PROXY-FIREWALL\"\n", fw_chain,
               name);
    }

  size_t n = port->n_endpoints;
  char (*sep)[KUBE_CHAIN_MAX] = xcalloc (n, sizeof *sep);
  char (*epstr)[IP_STRLEN + 6] = xcalloc (n, sizeof *epstr);
  for (size_t i = 0; i < n; i++)
    {
      const struct model_endpoint *ep = &port->endpoints[i];
      kube_sep_chain (sep[i], name, proto, ep->ip, ep->port);
      snprintf (epstr[i], sizeof epstr[i], "%s:%u", ip_fmt (ep->ip, ipbuf), (unsigned) ep->port);
    }

  if (v.uses_cluster)
    emit_policy_chain (p, ref, svc_chain, -1, sep, epstr);
  if (v.uses_local && v.n_local > 0)
    emit_policy_chain (p, ref, svl_chain, node, sep, epstr);

  /* The SEPs of every endpoint a policy chain above can reach. */
  for (size_t i = 0; i < n; i++)
    {
      const struct model_endpoint *ep = &port->endpoints[i];
      if (!v.uses_cluster && ep->node != node)
        continue;
      char comment[256] = "";
      if (!p->large_cluster)
        snprintf (comment, sizeof comment, " -m comment --comment %s", name);
      sb_addf (&p->nat_chains, ":%s - [0:0]\n", sep[i]);
      /* Hairpin: a pod reaching itself through the service is masqueraded
         so the reply comes back through the bridge, not straight to it. */
      sb_addf (&p->nat_rules, "-A %s%s -s %s -j KUBE-MARK-MASQ\n", sep[i], comment, ip_fmt (ep->ip, ipbuf));
      sb_addf (&p->nat_rules, "-A %s%s", sep[i], comment);
      if (svc->affinity_client_ip)
        sb_addf (&p->nat_rules, " -m recent --name %s --set", sep[i]);
      sb_addf (&p->nat_rules, " -m %s -p %s -j DNAT --to-destination %s\n", proto, proto, epstr[i]);
    }

  free (sep);
  free (epstr);
}

static void
sb_append (struct strbuf *dst, const struct strbuf *src)
{
  if (src->len > 0)
    sb_addn (dst, src->buf, src->len);
}

static bool
flannel_rules_apply (const struct scenario *sc)
{
  /* host-gw is flannel's other backend: same masquerade and forward rules. */
  return sc->cluster.cni == CNI_FLANNEL || sc->cluster.cni == CNI_HOST_GW;
}

static int
cmp_str_ptr (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* weave-npc's base rules (prog/weave-npc/main.go createBaseRules), its
 * DefaultAllow rules for namespaces without NetworkPolicies, and the
 * masquerade `weave expose` adds for traffic entering or leaving the range.
 * weave-npc matches a namespace's pods with an ipset (weave-<hash>); nslab
 * has no ipset op, so each set becomes one rule per pod address, in the
 * same place and with the same comment (docs/weave.md). */
static void
weave_rules (struct payload *p)
{
  const struct model *m = p->m;
  const char *cc = p->cluster_cidr;
  sb_add (&p->filter_rules, "-A WEAVE-NPC -m state --state RELATED,ESTABLISHED -j ACCEPT\n"
                            "-A WEAVE-NPC -d 224.0.0.0/4 -j ACCEPT\n"
                            "-A WEAVE-NPC -m physdev --physdev-out vethwe-bridge -j ACCEPT\n"
                            "-A WEAVE-NPC -m state --state NEW -j WEAVE-NPC-DEFAULT\n"
                            "-A WEAVE-NPC -m state --state NEW -j WEAVE-NPC-INGRESS\n"
                            "-A WEAVE-NPC-EGRESS -m state --state RELATED,ESTABLISHED -j ACCEPT\n"
                            "-A WEAVE-NPC-EGRESS -m physdev --physdev-in vethwe-bridge -j RETURN\n"
                            "-A WEAVE-NPC-EGRESS -d 224.0.0.0/4 -j RETURN\n"
                            "-A WEAVE-NPC-EGRESS -m state --state NEW -j WEAVE-NPC-EGRESS-DEFAULT\n"
                            "-A WEAVE-NPC-EGRESS -m state --state NEW -m mark ! --mark 0x40000/0x40000 -j WEAVE-NPC-EGRESS-CUSTOM\n"
                            "-A WEAVE-NPC-EGRESS -m state --state NEW -m mark ! --mark 0x40000/0x40000 -j NFLOG --nflog-group 86\n"
                            "-A WEAVE-NPC-EGRESS -m mark ! --mark 0x40000/0x40000 -j DROP\n"
                            "-A WEAVE-NPC-EGRESS-ACCEPT -j MARK --set-xmark 0x40000/0x40000\n");
  /* Namespaces in name order, as weave-npc's sets are keyed by name. */
  const char **nss = NULL;
  size_t n_nss = 0;
  for (size_t i = 0; i < m->n_pods; i++)
    {
      bool seen = false;
      for (size_t k = 0; k < n_nss; k++)
        seen = seen || strcmp (nss[k], m->pods[i].ns) == 0;
      if (!seen)
        *VEC_PUSH (nss, n_nss) = m->pods[i].ns;
    }
  if (n_nss > 1)
    qsort (nss, n_nss, sizeof *nss, cmp_str_ptr);
  for (size_t k = 0; k < n_nss; k++)
    for (size_t i = 0; i < m->n_pods; i++)
      {
        if (strcmp (m->pods[i].ns, nss[k]) != 0)
          continue;
        char ip[IP_STRLEN];
        ip_fmt (m->pods[i].ip, ip);
        sb_addf (&p->filter_rules,
                 "-A WEAVE-NPC-DEFAULT -d %s/32 -m comment --comment \"DefaultAllow ingress isolation for namespace: %s\" -j ACCEPT\n",
                 ip, nss[k]);
        sb_addf (&p->filter_rules,
                 "-A WEAVE-NPC-EGRESS-DEFAULT -s %s/32 -m comment --comment \"DefaultAllow egress isolation for namespace: %s\" -j WEAVE-NPC-EGRESS-ACCEPT\n"
                 "-A WEAVE-NPC-EGRESS-DEFAULT -s %s/32 -m comment --comment \"DefaultAllow egress isolation for namespace: %s\" -j RETURN\n",
                 ip, nss[k], ip, nss[k]);
      }
  free (nss);
  sb_addf (&p->nat_rules, "-A WEAVE -s %s -d 224.0.0.0/4 -j RETURN\n", cc);
  sb_addf (&p->nat_rules, "-A WEAVE ! -s %s -d %s -j MASQUERADE\n", cc, cc);
  sb_addf (&p->nat_rules, "-A WEAVE -s %s ! -d %s -j MASQUERADE\n", cc, cc);
}

/* The service model both proxy modes read, built once per plan: the
 * service ports in kube-proxy's test order, and the text of every port
 * that is the same on every node (segment offsets into the three
 * buffers); ports whose rules depend on the node (port_per_node) are
 * written per node. */
struct ks_segment {
  size_t filter[2], chains[2], rules[2];
  bool per_node;
};

struct kube_proxy_services {
  struct svc_port_ref *refs;
  size_t n_refs;
  struct ks_segment *segs;
  bool large_cluster;
  struct strbuf filter_rules, nat_chains, nat_rules;
};

static void
payload_cluster (struct payload *p, const struct model *m)
{
  const struct cluster_def *cl = &m->sc->cluster;
  p->m = m;
  kube_proxy_mark (cl->masquerade_bit, p->mark);
  cidr_fmt (cl->pod_cidr, p->cluster_cidr);
  p->have_cluster_cidr = cl->pod_cidr.len > 0;
  p->nfacct = cl->nfacct;
  p->localhost_nodeports = cluster_localhost_nodeports (cl);
}

struct kube_proxy_services *
kube_proxy_services (const struct model *m)
{
  struct payload p = { .m = m };
  payload_cluster (&p, m);
  sb_init (&p.filter_rules);
  sb_init (&p.nat_chains);
  sb_init (&p.nat_rules);
  /* kube-proxy walks its service map in Go's random map order, so a real
     node's KUBE-SERVICES order differs from sync to sync and node to node.
     Its unit tests (sortIPTablesRules) compare dumps sorted by the service
     port name in the comment; emitting in that order makes nslab's output
     deterministic and directly comparable with those expected dumps. */
  struct kube_proxy_services *ks = xcalloc (1, sizeof *ks);
  size_t total_endpoints = 0;
  for (size_t s = 0; s < m->n_services; s++)
    /* A headless service has no virtual IP: kube-proxy skips it
       (ShouldSkipService), its endpoints are for the DNS alone. */
    for (size_t i = 0; m->services[s].cluster_ip && i < m->services[s].n_ports; i++)
      {
        const struct model_service *svc = &m->services[s];
        struct svc_port_ref *r = VEC_PUSH (ks->refs, ks->n_refs);
        r->svc = svc;
        r->port = &svc->ports[i];
        r->name = kube_svc_port_name (svc->ns, svc->name, svc->ports[i].name);
        r->order = ks->n_refs - 1;
        total_endpoints += svc->ports[i].n_endpoints;
      }
  if (ks->n_refs > 0)
    qsort (ks->refs, ks->n_refs, sizeof *ks->refs, cmp_svc_port_ref);
  p.large_cluster = ks->large_cluster = total_endpoints > LARGE_CLUSTER_ENDPOINTS;
  ks->segs = xcalloc (ks->n_refs ? ks->n_refs : 1, sizeof *ks->segs);
  for (size_t i = 0; i < ks->n_refs; i++)
    {
      struct ks_segment *g = &ks->segs[i];
      g->per_node = kube_proxy_port_per_node (ks->refs[i].svc);
      g->filter[0] = p.filter_rules.len;
      g->chains[0] = p.nat_chains.len;
      g->rules[0] = p.nat_rules.len;
      if (!g->per_node)
        emit_service_port (&p, &ks->refs[i], -1);
      g->filter[1] = p.filter_rules.len;
      g->chains[1] = p.nat_chains.len;
      g->rules[1] = p.nat_rules.len;
    }
  ks->filter_rules = p.filter_rules;
  ks->nat_chains = p.nat_chains;
  ks->nat_rules = p.nat_rules;
  return ks;
}

void
kube_proxy_services_free (struct kube_proxy_services *ks)
{
  if (ks == NULL)
    return;
  for (size_t i = 0; i < ks->n_refs; i++)
    free (ks->refs[i].name);
  free (ks->refs);
  free (ks->segs);
  sb_free (&ks->filter_rules);
  sb_free (&ks->nat_chains);
  sb_free (&ks->nat_rules);
  free (ks);
}

static void
sb_append_range (struct strbuf *dst, const struct strbuf *src, const size_t range[2])
{
  if (range[1] > range[0])
    sb_addn (dst, src->buf + range[0], range[1] - range[0]);
}

/* Every service port's rules for node NODE, in order. */
static void
append_services (struct payload *p, const struct kube_proxy_services *ks, int node)
{
  p->large_cluster = ks->large_cluster;
  for (size_t i = 0; i < ks->n_refs; i++)
    {
      const struct ks_segment *g = &ks->segs[i];
      if (g->per_node)
        {
          emit_service_port (p, &ks->refs[i], node);
          continue;
        }
      sb_append_range (&p->filter_rules, &ks->filter_rules, g->filter);
      sb_append_range (&p->nat_chains, &ks->nat_chains, g->chains);
      sb_append_range (&p->nat_rules, &ks->nat_rules, g->rules);
    }
}

static int
cmp_u32_str (const void *a, const void *b)
{
  char x[IP_STRLEN], y[IP_STRLEN];
  return strcmp (ip_fmt (*(const uint32_t *) a, x), ip_fmt (*(const uint32_t *) b, y));
}

/* The tail call to KUBE-NODEPORTS: every local address, or with
   nodePortAddresses only the node's addresses inside them (GetNodeIPs;
   the NICs' and loopback, in a set, so nslab sorts them), loopback only
   with localhostNodePorts. */
static void
nodeports_tail (struct payload *p, const struct model_node *nd)
{
  const struct cluster_def *cl = &p->m->sc->cluster;
  static const char comment[] = "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this "
                                "must be the last rule in this chain\"";
  /* No CIDRs, or one that holds every address (0.0.0.0/0): kube-proxy's
     NodePortAddresses matches all, and keeps the one addrtype rule. */
  bool match_all = cl->n_node_port_addresses == 0;
  for (size_t c = 0; c < cl->n_node_port_addresses; c++)
    match_all = match_all || cl->node_port_addresses[c].len == 0;
  if (match_all)
    {
      sb_addf (&p->nat_rules, "%s -m addrtype --dst-type LOCAL%s -j KUBE-NODEPORTS\n", comment,
               cluster_localhost_nodeports (cl) ? "" : " ! -d 127.0.0.0/8");
      return;
    }
  uint32_t *ips = xcalloc (nd->n_nics + 2, sizeof *ips);
  size_t n = 0;
  uint32_t loopback = 0x7f000001;
  for (size_t i = 0; i <= nd->n_nics; i++)
    {
      uint32_t a = i < nd->n_nics ? nd->nics[i].addr : loopback;
      bool in = false, dup = false;
      for (size_t c = 0; c < cl->n_node_port_addresses; c++)
        in = in || cidr_contains (cl->node_port_addresses[c], a);
      for (size_t k = 0; k < n; k++)
        dup = dup || ips[k] == a;
      if (in && !dup && (a != loopback || cluster_localhost_nodeports (cl)))
        ips[n++] = a;
    }
  if (n > 1)
    qsort (ips, n, sizeof *ips, cmp_u32_str);
  for (size_t i = 0; i < n; i++)
    {
      char ip[IP_STRLEN];
      sb_addf (&p->nat_rules, "%s -d %s -j KUBE-NODEPORTS\n", comment, ip_fmt (ips[i], ip));
    }
  free (ips);
}

char *
iptables_node_payload (const struct model *m, int node)
{
  if (m == NULL || m->sc == NULL || node < 0 || (size_t) node >= m->n_nodes)
    return NULL;
  struct kube_proxy_services *ks = NULL;
  if (m->sc->cluster.proxy_mode == PROXY_IPTABLES)
    ks = kube_proxy_services (m);
  char *out = iptables_node_payload_with (m, node, ks);
  kube_proxy_services_free (ks);
  return out;
}

char *
iptables_node_payload_with (const struct model *m, int node, const struct kube_proxy_services *ks)
{
  if (m == NULL || m->sc == NULL || node < 0 || (size_t) node >= m->n_nodes)
    return NULL;

  const struct cluster_def *cl = &m->sc->cluster;
  const struct model_node *nd = &m->nodes[node];
  bool k3s = cl->flavor == FLAVOR_K3S;
  bool proxy = cl->proxy_mode == PROXY_IPTABLES;
  bool flannel = flannel_rules_apply (m->sc);
  bool weave = cl->cni == CNI_WEAVE;
  char pod_cidr[CIDR_STRLEN];
  struct payload p = { .m = m };
  struct strbuf out;

  sb_init (&out);
  sb_init (&p.filter_chains);
  sb_init (&p.filter_rules);
  sb_init (&p.nat_chains);
  sb_init (&p.nat_rules);
  payload_cluster (&p, m);
  cidr_fmt (nd->pod_cidr, pod_cidr);

  /* ---- mangle: kubelet's hint chain (tells other tools which iptables
     backend the node uses) and the canaries kubelet and kube-proxy watch to
     notice a flush. */
  sb_add (&out, "*mangle\n:KUBE-IPTABLES-HINT - [0:0]\n:KUBE-KUBELET-CANARY - [0:0]\n");
  if (proxy)
    sb_add (&out, ":KUBE-PROXY-CANARY - [0:0]\n");
  sb_add (&out, "COMMIT\n");

  /* ---- filter */
  sb_add (&p.filter_chains, ":KUBE-FIREWALL - [0:0]\n:KUBE-KUBELET-CANARY - [0:0]\n");
  if (proxy)
    sb_add (&p.filter_chains, ":KUBE-PROXY-CANARY - [0:0]\n:KUBE-SERVICES - [0:0]\n"
                              ":KUBE-EXTERNAL-SERVICES - [0:0]\n:KUBE-FORWARD - [0:0]\n"
                              ":KUBE-NODEPORTS - [0:0]\n:KUBE-PROXY-FIREWALL - [0:0]\n");
  if (flannel)
    sb_add (&p.filter_chains, ":FLANNEL-FWD - [0:0]\n");
  if (weave)
    sb_add (&p.filter_chains, ":WEAVE-CANARY - [0:0]\n:WEAVE-NPC - [0:0]\n:WEAVE-NPC-DEFAULT - [0:0]\n"
                              ":WEAVE-NPC-EGRESS - [0:0]\n:WEAVE-NPC-EGRESS-ACCEPT - [0:0]\n"
                              ":WEAVE-NPC-EGRESS-CUSTOM - [0:0]\n:WEAVE-NPC-EGRESS-DEFAULT - [0:0]\n"
                              ":WEAVE-NPC-INGRESS - [0:0]\n");

  /* Jumps, in the order `iptables -S` shows on a real node. Every component
     prepends its jumps; on kubeadm kubelet runs first so its KUBE-FIREWALL
     jumps end up last, on k3s kube-proxy's copy of them (it ensures kubelet's
     jumps too) is inserted last and so ends up first. flannel appends. */
  static const char input_fw[] = "-A INPUT -j KUBE-FIREWALL\n";
  static const char output_fw[] = "-A OUTPUT -j KUBE-FIREWALL\n";
  if (k3s || !proxy)
    sb_add (&p.filter_rules, input_fw);
  if (proxy)
    sb_add (&p.filter_rules,
            "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
            "-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS\n"
            "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n");
  if (!k3s && proxy)
    sb_add (&p.filter_rules, input_fw);
  if (weave)
    /* The weave router (net/bridge.go ConfigureIPTables) appends these
       after kube-proxy's, and puts its FORWARD rules at the top: NPC has
       to see pod traffic before KUBE-FORWARD accepts marked packets. */
    sb_add (&p.filter_rules,
            "-A INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 6784 -m addrtype ! --src-type LOCAL -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment \"Block non-local access to Weave Net control port\" -j DROP\n"
            "-A INPUT -i weave -j WEAVE-NPC-EGRESS\n"
            "-A FORWARD -i weave -m comment --comment \"NOTE: this must go before '-j KUBE-FORWARD'\" -j WEAVE-NPC-EGRESS\n"
            "-A FORWARD -o weave -m comment --comment \"NOTE: this must go before '-j KUBE-FORWARD'\" -j WEAVE-NPC\n"
            "-A FORWARD -o weave -m state --state NEW -j NFLOG --nflog-group 86\n"
            "-A FORWARD -o weave -j DROP\n"
            "-A FORWARD -i weave ! -o weave -j ACCEPT\n"
            "-A FORWARD -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
  if (proxy)
    sb_add (&p.filter_rules,
            "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
            "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n"
            "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
            "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n");
  if (flannel)
    sb_add (&p.filter_rules, "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD\n");
  if (k3s || !proxy)
    sb_add (&p.filter_rules, output_fw);
  if (proxy)
    sb_add (&p.filter_rules,
            "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
            "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
  if (!k3s && proxy)
    sb_add (&p.filter_rules, output_fw);

  /* kubelet's (and kube-proxy's identical) anti-martian rule: route_localnet=1
     lets 127/8 NodePorts work, and this stops outsiders from using it. */
  sb_add (&p.filter_rules,
          "-A KUBE-FIREWALL -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n");

  /* ---- nat */
  sb_add (&p.nat_chains, ":KUBE-KUBELET-CANARY - [0:0]\n");
  if (proxy)
    sb_add (&p.nat_chains, ":KUBE-PROXY-CANARY - [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n"
                           ":KUBE-POSTROUTING - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n");
  if (flannel)
    sb_add (&p.nat_chains, ":FLANNEL-POSTRTG - [0:0]\n");
  if (weave)
    sb_add (&p.nat_chains, ":WEAVE - [0:0]\n:WEAVE-CANARY - [0:0]\n");

  if (proxy)
    {
      sb_add (&p.nat_rules,
              "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
              "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
              "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n");
    }
  if (flannel)
    sb_add (&p.nat_rules, "-A POSTROUTING -m comment --comment \"flanneld masq\" -j FLANNEL-POSTRTG\n");
  if (weave)
    sb_add (&p.nat_rules, "-A POSTROUTING -j WEAVE\n");

  if (proxy)
    {
      /* Masquerade only what KUBE-MARK-MASQ marked, and clear the mark first
         so a packet that re-traverses the stack is not masqueraded twice. */
      sb_addf (&p.nat_rules, "-A KUBE-POSTROUTING -m mark ! --mark %s/%s -j RETURN\n", p.mark, p.mark);
      sb_addf (&p.nat_rules, "-A KUBE-POSTROUTING -j MARK --xor-mark %s\n", p.mark);
      sb_add (&p.nat_rules,
              "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n");
      sb_addf (&p.nat_rules, "-A KUBE-MARK-MASQ -j MARK --or-mark %s\n", p.mark);

      /* The service ports' rules, in order; their REJECT rules go where
         the filter table's rules stand now, their chains after the fixed
         ones. */
      if (ks)
        append_services (&p, ks, node);

      nodeports_tail (&p, nd);

      /* Packets conntrack cannot place (e.g. out-of-window TCP) would
         otherwise be forwarded un-DNATed and reset connections. */
      sb_addf (&p.filter_rules, "-A KUBE-FORWARD -m conntrack --ctstate INVALID%s -j DROP\n",
               p.nfacct ? " -m nfacct --nfacct-name " NFACCT_CT_INVALID : "");
      sb_addf (&p.filter_rules,
               "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark %s/%s -j ACCEPT\n",
               p.mark, p.mark);
      sb_add (&p.filter_rules,
              "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
    }

  if (flannel)
    {
      const char *cc = p.cluster_cidr;
      sb_addf (&p.filter_rules, "-A FLANNEL-FWD -s %s -m comment --comment \"flanneld forward\" -j ACCEPT\n", cc);
      sb_addf (&p.filter_rules, "-A FLANNEL-FWD -d %s -m comment --comment \"flanneld forward\" -j ACCEPT\n", cc);

      /* Pod-to-pod traffic keeps its source; pods reaching outside the
         cluster network are masqueraded to the node's address. */
      sb_add (&p.nat_rules, "-A FLANNEL-POSTRTG -m mark --mark " FLANNEL_KUBE_PROXY_MARK
                            " -m comment --comment \"flanneld masq\" -j RETURN\n");
      sb_addf (&p.nat_rules, "-A FLANNEL-POSTRTG -s %s -d %s -m comment --comment \"flanneld masq\" -j RETURN\n",
               pod_cidr, cc);
      sb_addf (&p.nat_rules, "-A FLANNEL-POSTRTG -s %s -d %s -m comment --comment \"flanneld masq\" -j RETURN\n",
               cc, pod_cidr);
      sb_addf (&p.nat_rules, "-A FLANNEL-POSTRTG ! -s %s -d %s -m comment --comment \"flanneld masq\" -j RETURN\n",
               cc, pod_cidr);
      sb_addf (&p.nat_rules,
               "-A FLANNEL-POSTRTG -s %s ! -d 224.0.0.0/4 -m comment --comment \"flanneld masq\" -j MASQUERADE --random-fully\n",
               cc);
      sb_addf (&p.nat_rules,
               "-A FLANNEL-POSTRTG ! -s %s -d %s -m comment --comment \"flanneld masq\" -j MASQUERADE --random-fully\n",
               cc, cc);
    }

  if (weave)
    weave_rules (&p);

  sb_add (&out, "*filter\n");
  sb_append (&out, &p.filter_chains);
  sb_append (&out, &p.filter_rules);
  sb_add (&out, "COMMIT\n*nat\n");
  sb_append (&out, &p.nat_chains);
  sb_append (&out, &p.nat_rules);
  sb_add (&out, "COMMIT\n");

  sb_free (&p.filter_chains);
  sb_free (&p.filter_rules);
  sb_free (&p.nat_chains);
  sb_free (&p.nat_rules);
  return sb_steal (&out);
}

char *
iptables_natrouter_payload (const struct model *m, int node, int nic)
{
  if (m == NULL || node < 0 || (size_t) node >= m->n_nodes)
    return NULL;
  const struct model_node *nd = &m->nodes[node];
  if (nic < 0 || (size_t) nic >= nd->n_nics)
    return NULL;
  const struct network_def *net = nd->nics[nic].net;
  if (net == NULL || net->kind != NET_NAT)
    return NULL;

  /* VirtualBox's NAT engine rewrites every connection the VM opens to the
     host's own address; the router namespace does the same for whatever
     leaves the NAT network. Traffic to the router itself (10.0.2.2) and
     inside the network is left alone. */
  char c[CIDR_STRLEN];
  struct cidr net_cidr = { .addr = cidr_network (net->cidr), .len = net->cidr.len };
  cidr_fmt (net_cidr, c);
  return xasprintf ("*nat\n-A POSTROUTING -s %s ! -d %s -j MASQUERADE\nCOMMIT\n", c, c);
}

void
kube_proxy_plan_node (struct plan *p, const struct model *m, const struct model_node *n,
                      const struct kube_proxy_services *ks)
{
  const char *ns = plan_ns (m, n->netns);
  /* kube-proxy ensures its counters before its first restore uses them. */
  if (m->sc->cluster.nfacct && m->sc->cluster.proxy_mode == PROXY_IPTABLES)
    {
      plan_push (p, OP_NFACCT, ns)->u.nfacct.name = xstrdup (NFACCT_CT_INVALID);
      if (cluster_localhost_nodeports (&m->sc->cluster))
        plan_push (p, OP_NFACCT, ns)->u.nfacct.name = xstrdup (NFACCT_LOCALHOST_NODEPORTS);
    }
  plan_push (p, OP_IPTABLES, ns)->u.ipt.payload = iptables_node_payload_with (m, n->index, ks);
}
