/* [cluster]: the flavor, whose defaults (flavor.c) fill every key nobody
 * wrote, then the keys written. The CIDRs come first: every address check
 * of the later sections needs them. */
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/util.h"
#include "scenario/decode.h"
#include "scenario/flavor.h"

static int
decode_cidrs (struct ctx *c, const struct merged_section *s, const struct merged_key **kpod_out,
              const struct merged_key **ksvc_out)
{
  struct cluster_def *cl = &c->sc->cluster;
  char b1[CIDR_STRLEN], b2[CIDR_STRLEN];
  const struct merged_key *kpod = *kpod_out = find_key (s, "pod_cidr");
  const struct merged_key *ksvc = *ksvc_out = find_key (s, "service_cidr");
  if (kpod && key_cidr (c->err, kpod, &cl->pod_cidr) < 0)
    return -1;
  if (ksvc && key_cidr (c->err, ksvc, &cl->service_cidr) < 0)
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
  return 0;
}

static int
decode_node_mask (struct ctx *c, const struct merged_section *s, const struct merged_key *kpod)
{
  struct cluster_def *cl = &c->sc->cluster;
  const struct merged_key *k = find_key (s, "node_mask");
  uint64_t v;
  if (k)
    {
      if (key_uint (c->err, k, 0, 32, &v) < 0)
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
  return 0;
}

static int
decode_dns_ip (struct ctx *c, const struct merged_section *s, const struct merged_key *ksvc)
{
  struct cluster_def *cl = &c->sc->cluster;
  char b1[CIDR_STRLEN], ib[IP_STRLEN];
  cl->dns_ip = service_cidr_dns_ip (cl->service_cidr);
  const struct merged_key *k = derived_key (c, s, "dns_ip", ksvc);
  if (k == NULL)
    return 0;
  cidr_fmt (cl->service_cidr, b1);
  cleanup_free char *in = xasprintf ("service CIDR %s", b1);
  if (key_ip (c->err, k, k->value, &cl->dns_ip) < 0
      || check_addr_in (c->err, k, "", k->value, cl->dns_ip, cl->service_cidr, in, in) < 0)
    return -1;
  if (cl->dns_ip == service_cidr_kubernetes_ip (cl->service_cidr))
    return kerr (c, k, "%s is the ClusterIP of default/kubernetes", ip_fmt (cl->dns_ip, ib));
  return 0;
}

static int
decode_nodeport_range (struct ctx *c, const struct merged_key *k)
{
  struct cluster_def *cl = &c->sc->cluster;
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
  return 0;
}

int
decode_cluster (struct ctx *c, const struct merged_section *s)
{
  struct cluster_def *cl = &c->sc->cluster;
  const struct merged_key *k, *kpod, *ksvc;
  uint64_t v;
  enum flavor flavor;

  if ((k = find_key (s, "flavor")) == NULL)
    return missing (c, s, "flavor", " (set it, or use [lab] template = k3s)");
  if (!flavor_parse (k->value, &flavor))
    return kerr (c, k, "\"%s\" is not k3s or kubeadm", k->value);
  cluster_set_defaults (cl, flavor);

  if (decode_cidrs (c, s, &kpod, &ksvc) < 0 || decode_node_mask (c, s, kpod) < 0)
    return -1;
  if ((k = find_key (s, "cni")))
    {
      if (strcmp (k->value, "flannel") == 0)
        cl->cni = CNI_FLANNEL;
      else if (strcmp (k->value, "weave") == 0)
        cl->cni = CNI_WEAVE;
      else if (strcmp (k->value, "host-gw") == 0)
        cl->cni = CNI_HOST_GW;
      else
        return kerr (c, k, "\"%s\" is not a supported CNI (flannel, host-gw, weave)", k->value);
    }
  if ((k = find_key (s, "cni_runtime")))
    {
      if (strcmp (k->value, "builtin") == 0)
        cl->cni_runtime = CNI_RUNTIME_BUILTIN;
      else if (strcmp (k->value, "plugins") == 0)
        cl->cni_runtime = CNI_RUNTIME_PLUGINS;
      else
        return kerr (c, k, "\"%s\" is not a CNI runtime (builtin, plugins)", k->value);
      /* Weave's own CNI plugin is not in Debian's containernetworking-plugins. */
      if (cl->cni_runtime == CNI_RUNTIME_PLUGINS && cl->cni == CNI_WEAVE)
        return kerr (c, k, "plugins wires pods with the bridge plugin, as flannel delegates to it: "
                           "it needs cni flannel or host-gw, not weave");
    }
  if ((k = find_key (s, "proxy_mode")))
    {
      if (strcmp (k->value, "nftables") == 0)
        cl->proxy_mode = PROXY_NFTABLES;
      else if (strcmp (k->value, "iptables") == 0)
        cl->proxy_mode = PROXY_IPTABLES;
      else
        return kerr (c, k, "\"%s\" is not a supported proxy mode (iptables, nftables)", k->value);
    }
  if ((k = find_key (s, "dns_domain")))
    {
      if (!dns_subdomain_valid (k->value))
        return kerr (c, k, "\"%s\" is not a valid DNS domain", k->value);
      free (cl->dns_domain);
      cl->dns_domain = xstrdup (k->value);
    }
  if (decode_dns_ip (c, s, ksvc) < 0)
    return -1;
  if ((k = find_key (s, "vxlan_vni")))
    {
      if (key_uint (c->err, k, 1, 16777215, &v) < 0)
        return -1;
      cl->vxlan_vni = (uint32_t) v;
    }
  if ((k = find_key (s, "vxlan_port")) && key_port (c->err, k, &cl->vxlan_port) < 0)
    return -1;
  if ((k = find_key (s, "mtu")))
    {
      if (key_uint (c->err, k, 1280, 9000, &v) < 0)
        return -1;
      cl->underlay_mtu = (uint32_t) v;
    }
  if ((k = find_key (s, "nodeport_range")) && decode_nodeport_range (c, k) < 0)
    return -1;
  if ((k = find_key (s, "apiserver_port")) && key_port (c->err, k, &cl->apiserver_port) < 0)
    return -1;
  if ((k = find_key (s, "masquerade_bit")))
    {
      if (key_uint (c->err, k, 0, 31, &v) < 0)
        return -1;
      cl->masquerade_bit = (int) v;
    }
  if ((k = find_key (s, "control_plane_schedulable")) && key_bool (c->err, k, &cl->cp_schedulable) < 0)
    return -1;
  if ((k = find_key (s, "dns")) && key_bool (c->err, k, &cl->dns) < 0)
    return -1;
  if ((k = find_key (s, "dns_replicas")))
    {
      if (!cl->dns)
        return kerr (c, k, "needs dns = yes");
      if (key_uint (c->err, k, 1, 10, &v) < 0)
        return -1;
      cl->dns_replicas = (int) v;
    }
  if ((k = find_key (s, "localhost_nodeports")) && key_bool (c->err, k, &cl->localhost_nodeports) < 0)
    return -1;
  if ((k = find_key (s, "nfacct")) && key_bool (c->err, k, &cl->nfacct) < 0)
    return -1;
  if ((k = find_key (s, "node_port_addresses")))
    {
      free (cl->node_port_addresses);
      cl->node_port_addresses = NULL;
      cl->n_node_port_addresses = 0;
      if (key_cidr_list (c->err, k, 64, "CIDRs", &cl->node_port_addresses, &cl->n_node_port_addresses) < 0)
        return -1;
    }
  if ((k = find_key (s, "load_balancer_pool")))
    {
      /* k3s has its own load balancer (servicelb), which publishes the
         nodes' addresses and has no pool. */
      if (cl->flavor != FLAVOR_KUBEADM)
        return kerr (c, k, "needs flavor = kubeadm (k3s servicelb publishes the nodes' addresses)");
      if (key_cidr (c->err, k, &cl->lb_pool) < 0)
        return -1;
      if (cidr_overlaps (cl->lb_pool, cl->pod_cidr) || cidr_overlaps (cl->lb_pool, cl->service_cidr))
        return kerr (c, k, "%s overlaps pod_cidr or service_cidr", k->value);
    }
  return 0;
}

bool
cluster_localhost_nodeports (const struct cluster_def *cl)
{
  /* nftables mode has no localhost NodePorts (nor route_localnet). */
  if (!cl->localhost_nodeports || cl->proxy_mode == PROXY_NFTABLES)
    return false;
  if (cl->n_node_port_addresses == 0)
    return true;
  for (size_t i = 0; i < cl->n_node_port_addresses; i++)
    if (cidr_contains (cl->node_port_addresses[i], 0x7f000001u))
      return true;
  return false;
}
