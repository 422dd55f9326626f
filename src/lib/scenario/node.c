/* [node NAME]: a VM, its NICs and their addresses. */
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/util.h"
#include "scenario/decode.h"

#define MAX_NICS 8

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
  cleanup_free char *prefix = xasprintf ("%s: ", ifname);
  cleanup_free char *edge = xasprintf ("[%s]", net->origin.section);
  cleanup_free char *outside = xasprintf ("[%s] cidr %s", net->origin.section, cidr_fmt (net->cidr, b1));
  if (check_addr_in (c->err, k, prefix, ib, addr, net->cidr, outside, edge) < 0)
    return -1;
  if (addr == net->gateway)
    return kerr (c, k, "%s: %s is the gateway of [%s]", ifname, ib, net->origin.section);
  if (net->dns && addr == net->dns)
    return kerr (c, k, "%s: %s is the DNS address of [%s]", ifname, ib, net->origin.section);
  if (net->kind == NET_HOSTONLY)
    {
      size_t owner = strmap_claim (&c->hostonly_addrs, ib, node_idx);
      if (owner != node_idx)
        return kerr (c, k, "%s: %s is already used by [%s]", ifname, ib,
                     c->sc->nodes[owner].origin.section);
    }
  return 0;
}

static int
network_ref (struct ctx *c, const struct merged_key *k, const char *ifname, const char *netname,
             size_t *idx)
{
  struct scenario *sc = c->sc;
  if (strmap_owner (&c->networks, netname, idx))
    return 0;
  cleanup_free const char **names = xcalloc (sc->n_networks + 1, sizeof *names);
  for (size_t j = 0; j < sc->n_networks; j++)
    names[j] = sc->networks[j].name;
  const char *near = text_closest (netname, names, sc->n_networks);
  if (near)
    return kerr (c, k, "%s: no [network %s] (did you mean %s?)", ifname, netname, near);
  return kerr (c, k, "%s: no [network %s]", ifname, netname);
}

/* One IFNAME=NETWORK:ADDRESS item. */
static int
decode_nic (struct ctx *c, const struct merged_key *k, char *item, struct node_def *nd,
            size_t node_idx)
{
  char *eq = strchr (item, '=');
  char *colon = eq ? strchr (eq + 1, ':') : NULL;
  if (colon == NULL)
    return kerr (c, k, "\"%s\" is not IFNAME=NETWORK:ADDRESS", item);
  *eq = *colon = '\0';
  char *ifname = str_trim (item), *netname = str_trim (eq + 1), *addr = str_trim (colon + 1);
  if (!ifname_valid (ifname))
    return kerr (c, k, "\"%s\" is not a valid interface name (1-15 characters, no '/', ':' or "
                       "whitespace)", ifname);
  if (ifname_reserved (ifname))
    return kerr (c, k, "%s is an interface nslab creates (cni0, flannel.1, lo, veth*): use "
                       "another name", ifname);
  for (size_t j = 0; j < nd->n_nics; j++)
    if (strcmp (nd->nics[j].ifname, ifname) == 0)
      return kerr (c, k, "%s is listed twice", ifname);
  size_t ni;
  if (network_ref (c, k, ifname, netname, &ni) < 0)
    return -1;
  for (size_t j = 0; j < nd->n_nics; j++)
    if (nd->nics[j].network == (int) ni)
      return kerr (c, k, "%s: the node already has a NIC on [network %s]", ifname, netname);
  uint32_t ip;
  if (key_ip (c->err, k, addr, &ip) < 0)
    return -1;
  struct nic_def *nic = VEC_PUSH (nd->nics, nd->n_nics);
  nic->ifname = xstrdup (ifname);
  nic->network = (int) ni;
  nic->addr = ip;
  return nic_addr_check (c, k, ifname, &c->sc->networks[ni], ip, node_idx);
}

static int
decode_internal_nic (struct ctx *c, const struct merged_section *s, struct node_def *nd)
{
  const struct merged_key *k = find_key (s, "internal_nic");
  if (k)
    {
      for (size_t i = 0; i < nd->n_nics; i++)
        if (strcmp (nd->nics[i].ifname, k->value) == 0)
          nd->internal_nic = (int) i;
      if (nd->internal_nic < 0)
        return kerr (c, k, "%s is not one of the node's nics", k->value);
      return 0;
    }
  for (size_t i = 0; i < nd->n_nics && nd->internal_nic < 0; i++)
    if (c->sc->networks[nd->nics[i].network].kind == NET_HOSTONLY)
      nd->internal_nic = (int) i;
  if (nd->internal_nic < 0)
    return serr (c, s, "no NIC on a hostonly network: set internal_nic");
  return 0;
}

int
decode_node (struct ctx *c, const struct merged_section *s)
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
  strmap_claim (&c->nodes, s->arg, idx);

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
  cleanup_key_list struct key_list nics;
  if (key_list (c->err, k, "no NIC (write IFNAME=NETWORK:ADDRESS, ...)", MAX_NICS, "NICs", &nics) < 0)
    return -1;
  for (size_t i = 0; i < nics.n; i++)
    if (decode_nic (c, k, nics.items[i], nd, idx) < 0)
      return -1;
  if (decode_internal_nic (c, s, nd) < 0)
    return -1;
  nd->schedulable = nd->role == ROLE_WORKER ? true : cl->cp_schedulable;
  if ((k = find_key (s, "schedulable")) && key_bool (c->err, k, &nd->schedulable) < 0)
    return -1;
  return 0;
}
