/* What `nslab apply` may change in a running lab: workloads and services
 * (the controllers and kube-proxy follow them), not what the nodes and
 * networks were built from. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scenario/scenario.h"

static bool
str_eq (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp (a, b) == 0;
}

static bool
cidr_eq (struct cidr a, struct cidr b)
{
  return a.addr == b.addr && a.len == b.len;
}

static const char *
base_name (const char *path)
{
  const char *s = path ? strrchr (path, '/') : NULL;
  return s ? s + 1 : path;
}

/* The first [cluster] key whose value differs, or NULL. */
static const char *
cluster_change (const struct cluster_def *a, const struct cluster_def *b)
{
  if (a->flavor != b->flavor)
    return "flavor";
  if (!cidr_eq (a->pod_cidr, b->pod_cidr))
    return "pod_cidr";
  if (!cidr_eq (a->service_cidr, b->service_cidr))
    return "service_cidr";
  if (a->node_mask != b->node_mask)
    return "node_mask";
  if (a->cni != b->cni)
    return "cni";
  if (a->cni_runtime != b->cni_runtime)
    return "cni_runtime";
  if (a->proxy_mode != b->proxy_mode)
    return "proxy_mode";
  if (!str_eq (a->dns_domain, b->dns_domain))
    return "dns_domain";
  if (a->dns_ip != b->dns_ip)
    return "dns_ip";
  if (a->vxlan_vni != b->vxlan_vni)
    return "vxlan_vni";
  if (a->vxlan_port != b->vxlan_port)
    return "vxlan_port";
  if (a->underlay_mtu != b->underlay_mtu)
    return "mtu";
  if (a->nodeport_min != b->nodeport_min || a->nodeport_max != b->nodeport_max)
    return "nodeport_range";
  if (a->apiserver_port != b->apiserver_port)
    return "apiserver_port";
  if (a->masquerade_bit != b->masquerade_bit)
    return "masquerade_bit";
  if (a->cp_schedulable != b->cp_schedulable)
    return "control_plane_schedulable";
  /* Every running pod's resolv.conf says whether there is a cluster DNS. */
  if (a->dns != b->dns)
    return "dns";
  return NULL;
}

static const struct network_def *
find_network (const struct scenario *sc, const char *name)
{
  for (size_t i = 0; i < sc->n_networks; i++)
    if (strcmp (sc->networks[i].name, name) == 0)
      return &sc->networks[i];
  return NULL;
}

static const struct node_def *
find_node (const struct scenario *sc, const char *name)
{
  for (size_t i = 0; i < sc->n_nodes; i++)
    if (strcmp (sc->nodes[i].name, name) == 0)
      return &sc->nodes[i];
  return NULL;
}

static bool
network_same (const struct network_def *a, const struct network_def *b)
{
  return a->kind == b->kind && cidr_eq (a->cidr, b->cidr) && a->gateway == b->gateway && a->dns == b->dns
         && str_eq (a->bridge, b->bridge) && a->hypervisor == b->hypervisor;
}

/* The first key of [node NAME] whose value differs, or NULL. NICs compare
 * by interface, network name and address. */
static const char *
node_change (const struct scenario *so, const struct node_def *a, const struct scenario *sn, const struct node_def *b)
{
  if (a->role != b->role)
    return "role";
  if (a->schedulable != b->schedulable)
    return "schedulable";
  if (a->n_nics != b->n_nics || a->internal_nic != b->internal_nic)
    return "nics";
  for (size_t i = 0; i < a->n_nics; i++)
    if (!str_eq (a->nics[i].ifname, b->nics[i].ifname) || a->nics[i].addr != b->nics[i].addr
        || !str_eq (so->networks[a->nics[i].network].name, sn->networks[b->nics[i].network].name))
      return "nics";
  return NULL;
}

int
scenario_running_change (const struct scenario *old, const struct scenario *new, nslab_error_t *err)
{
  const char *file = new->files[0];
  if (!str_eq (old->lab, new->lab))
    return nslab_error_invalid (err, "%s: [lab] name: this is lab %s, not the running lab %s", file, new->lab,
                                old->lab);
  const char *ot = old->n_files > 1 ? base_name (old->files[1]) : NULL;
  const char *nt = new->n_files > 1 ? base_name (new->files[1]) : NULL;
  if (!str_eq (ot, nt))
    return nslab_error_invalid (err, "%s: [lab] template: changing the template of a running lab is not supported yet",
                                file);
  const char *key = cluster_change (&old->cluster, &new->cluster);
  if (key)
    return nslab_error_invalid (err, "%s: [cluster] %s: changing the cluster of a running lab is not supported yet",
                                file, key);
  for (size_t i = 0; i < new->n_networks; i++)
    {
      const struct network_def *n = &new->networks[i], *o = find_network (old, n->name);
      if (o == NULL)
        return nslab_error_invalid (err, "%s: [%s]: adding networks to a running lab is not supported yet",
                                    n->origin.file, n->origin.section);
      if (!network_same (o, n))
        return nslab_error_invalid (err, "%s: [%s]: changing the networks of a running lab is not supported yet",
                                    n->origin.file, n->origin.section);
    }
  for (size_t i = 0; i < old->n_networks; i++)
    if (find_network (new, old->networks[i].name) == NULL)
      return nslab_error_invalid (err, "%s: [%s]: removing networks from a running lab is not supported yet", file,
                                  old->networks[i].origin.section);
  for (size_t i = 0; i < new->n_nodes; i++)
    {
      const struct node_def *n = &new->nodes[i], *o = find_node (old, n->name);
      if (o == NULL)
        return nslab_error_invalid (err, "%s: [%s]: adding nodes to a running lab is not supported yet",
                                    n->origin.file, n->origin.section);
      if ((key = node_change (old, o, new, n)))
        return nslab_error_invalid (err, "%s: [%s] %s: changing the nodes of a running lab is not supported yet",
                                    n->origin.file, n->origin.section, key);
    }
  for (size_t i = 0; i < old->n_nodes; i++)
    if (find_node (new, old->nodes[i].name) == NULL)
      return nslab_error_invalid (err, "%s: [%s]: removing nodes from a running lab is not supported yet", file,
                                  old->nodes[i].origin.section);
  /* Node order is pod CIDR order (nodeipam): a reordering would move them. */
  for (size_t i = 0; i < new->n_nodes; i++)
    if (strcmp (new->nodes[i].name, old->nodes[i].name) != 0)
      return nslab_error_invalid (err, "%s: [%s]: reordering the nodes of a running lab is not supported yet "
                                  "(their order is their pod CIDRs' order)",
                                  new->nodes[i].origin.file, new->nodes[i].origin.section);
  return 0;
}
