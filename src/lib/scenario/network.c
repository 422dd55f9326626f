/* [network NAME]: a VirtualBox/VMware NAT or host-only network. */
#include <string.h>

#include "base/text.h"
#include "base/util.h"
#include "scenario/decode.h"

#define MAX_NETWORKS 64

/* gateway or dns: inside CIDR, not its network or broadcast address. */
static int
check_net_addr (struct ctx *c, const struct merged_key *k, const struct network_def *n, uint32_t ip)
{
  char b1[CIDR_STRLEN];
  cidr_fmt (n->cidr, b1);
  cleanup_free char *in = xasprintf ("cidr %s", b1);
  return check_addr_in (c->err, k, "", k->value, ip, n->cidr, in, b1);
}

static int
decode_cidr (struct ctx *c, const struct merged_key *kc, struct network_def *n)
{
  struct scenario *sc = c->sc;
  char b1[CIDR_STRLEN];
  if (key_cidr (c->err, kc, &n->cidr) < 0)
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
                   cidr_fmt (sc->networks[i].cidr, b1));
  return 0;
}

static int
decode_nat_dns (struct ctx *c, const struct merged_section *s, const struct merged_key *kc,
                struct network_def *n)
{
  const struct merged_key *k = derived_key (c, s, "dns", kc);
  n->dns = cidr_network (n->cidr) + 3;
  if (k && strcmp (k->value, "none") == 0)
    n->dns = 0;
  else if (k)
    {
      if (key_ip (c->err, k, k->value, &n->dns) < 0 || check_net_addr (c, k, n, n->dns) < 0)
        return -1;
    }
  else if (n->dns >= cidr_broadcast (n->cidr))
    return kerr (c, kc, "%s has no room for the default DNS address (set dns = none)", kc->value);
  if (n->dns != 0 && n->dns == n->gateway)
    {
      char ib[IP_STRLEN];
      const struct merged_key *blame = k ? k : derived_key (c, s, "gateway", kc);
      return kerr (c, blame, "%s is both the gateway and the DNS address", ip_fmt (n->dns, ib));
    }
  return 0;
}

static int
decode_bridge (struct ctx *c, const struct merged_section *s, struct network_def *n,
               int hostonly_index)
{
  struct scenario *sc = c->sc;
  const struct merged_key *k = find_key (s, "bridge");
  if (n->kind == NET_NAT && k)
    return kerr (c, k, "only a hostonly network has a bridge");
  if (n->kind != NET_HOSTONLY)
    return 0;
  if (k && !ifname_valid (k->value))
    return kerr (c, k, "\"%s\" is not a valid interface name (1-15 characters, no '/', ':' or "
                       "whitespace)", k->value);
  n->bridge = k ? xstrdup (k->value) : xasprintf ("vboxnet%d", hostonly_index);
  size_t owner = strmap_claim (&c->bridges, n->bridge, sc->n_networks - 1);
  if (owner == sc->n_networks - 1)
    return 0;
  if (k)
    return kerr (c, k, "%s is already the bridge of [%s]", n->bridge,
                 sc->networks[owner].origin.section);
  return serr (c, s, "the default bridge %s is already the bridge of [%s]: set bridge", n->bridge,
               sc->networks[owner].origin.section);
}

int
decode_network (struct ctx *c, const struct merged_section *s, int hostonly_index)
{
  struct scenario *sc = c->sc;
  if (sc->n_networks >= MAX_NETWORKS)
    return serr (c, s, "too many networks (at most %d)", MAX_NETWORKS);
  struct network_def *n = VEC_PUSH (sc->networks, sc->n_networks);
  n->name = xstrdup (s->arg);
  n->origin.file = s->file;
  n->origin.section = xstrdup (s->name);
  strmap_claim (&c->networks, s->arg, sc->n_networks - 1);

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
  if (decode_cidr (c, kc, n) < 0)
    return -1;

  n->gateway = cidr_network (n->cidr) + (n->kind == NET_NAT ? 2 : 1);
  if ((k = derived_key (c, s, "gateway", kc))
      && (key_ip (c->err, k, k->value, &n->gateway) < 0 || check_net_addr (c, k, n, n->gateway) < 0))
    return -1;

  n->dns = 0;
  k = find_key (s, "dns");
  if (n->kind == NET_HOSTONLY && k)
    return kerr (c, k, "only a nat network has a DNS address");
  if (n->kind == NET_NAT && decode_nat_dns (c, s, kc, n) < 0)
    return -1;

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
  return decode_bridge (c, s, n, hostonly_index);
}
