/* cni_runtime = plugins: every pod wired by the real CNI plugins, called as
 * containerd calls them on the node (go-cni: the loopback network on lo,
 * then the cluster's network on eth0). The cluster's network is flannel's
 * 10-flannel.conflist; the flannel plugin only reads /run/flannel/subnet.env
 * and hands the bridge plugin a delegate config, and that delegate call is
 * what each op makes: bridge with host-local IPAM for the node's subnet, the
 * same JSON (Go marshals the map with sorted keys) and environment.
 * Nothing of cni0 or the veths is planned: the bridge plugin creates them. */
#include <nettle/sha2.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "plan/builder.h"

/* The pod sandbox's id: 64 hex digits like containerd's, stable per pod. */
char *
plan_sandbox_id (const struct model *m, const struct model_pod *pod)
{
  cleanup_free char *key = xasprintf ("nslab-sandbox/%s/%s/%s", m->lab, pod->ns, pod->name);
  uint8_t d[SHA256_DIGEST_SIZE];
  struct sha256_ctx ctx;
  sha256_init (&ctx);
  sha256_update (&ctx, strlen (key), (const uint8_t *) key);
  sha256_digest (&ctx, sizeof d, d);
  char *hex = xmalloc (2 * sizeof d + 1);
  for (size_t i = 0; i < sizeof d; i++)
    snprintf (hex + 2 * i, 3, "%02x", d[i]);
  return hex;
}

/* The flannel plugin's entry of the node's conflist (cni_conf.c), the one
 * text both the node shows and this runtime reads. libcni hands each
 * plugin of a list the list's name and cniVersion. */
static json_t *
flannel_netconf (const struct model *m)
{
  json_error_t jerr;
  json_t *list = json_loads (cni_conflist (m), 0, &jerr);
  json_t *plugins = json_object_get (list, "plugins");
  size_t i;
  json_t *pl;
  json_array_foreach (plugins, i, pl)
    if (json_is_string (json_object_get (pl, "type"))
        && strcmp (json_string_value (json_object_get (pl, "type")), "flannel") == 0)
      {
        json_t *delegate = json_deep_copy (json_object_get (pl, "delegate"));
        json_object_set_new (delegate, "name", json_copy (json_object_get (list, "name")));
        json_object_set_new (delegate, "cniVersion", json_copy (json_object_get (list, "cniVersion")));
        json_decref (list);
        if (!json_is_object (delegate))
          abort ();
        return delegate;
      }
  /* cni_conf.c's texts are constants with a flannel entry. */
  abort ();
}

/* flannel's delegate (cni-plugin flannel_linux.go doCmdAdd): the conflist's
 * "delegate" (hairpinMode, isDefaultGateway; k3s adds forceAddress) with
 * the list's name and cniVersion, then what the delegate does not set:
 * type bridge, ipMasq = !FLANNEL_IPMASQ (flannel masquerades itself), mtu
 * = FLANNEL_MTU, isGateway; and host-local with the node's FLANNEL_SUBNET
 * as its range and FLANNEL_NETWORK as its route. */
static char *
flannel_delegate_config (const struct model *m, const struct model_node *n)
{
  char subnet[CIDR_STRLEN], network[CIDR_STRLEN];
  cidr_fmt (n->pod_cidr, subnet);
  cidr_fmt (m->sc->cluster.pod_cidr, network);
  json_t *c = flannel_netconf (m);
  if (!json_object_get (c, "type"))
    json_object_set_new (c, "type", json_string ("bridge"));
  if (!json_object_get (c, "ipMasq"))
    json_object_set_new (c, "ipMasq", json_false ());
  if (!json_object_get (c, "mtu"))
    json_object_set_new (c, "mtu", json_integer ((json_int_t) flannel_pod_mtu (m)));
  if (!json_object_get (c, "isGateway"))
    json_object_set_new (c, "isGateway", json_true ());
  json_object_set_new (c, "ipam", json_pack ("{s:s, s:[[{s:s}]], s:[{s:s}]}", "type", "host-local", "ranges",
                                             "subnet", subnet, "routes", "dst", network));
  return json_compact (c);
}

void
plan_add_cni (struct plan *p, const struct model *m, const struct model_pod *pod, const char *id, const char *ifname,
          const char *type, const char *network, char *config, uint32_t expect_ip)
{
  const struct model_node *n = &m->nodes[pod->node];
  struct plan_cni *c = &plan_push (p, OP_CNI, plan_ns (m, n->netns))->u.cni;
  c->pod_ns = xstrdup (plan_ns (m, pod->netns));
  c->node_netns = plan_pod_node_netns (m, pod);
  c->container_id = xstrdup (id);
  c->ifname = xstrdup (ifname);
  /* A pinned address goes to host-local as CNI_ARGS IP=, as runtimes that
   * support static IPs pass it. */
  char ip[IP_STRLEN];
  bool pinned = pod->wl && pod->wl->n_ips > 0;
  c->args = xasprintf ("IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=%s%s%s",
                       pod->ns, pod->name, id, pinned ? ";IP=" : "", pinned ? ip_fmt (pod->ip, ip) : "");
  c->type = xstrdup (type);
  c->network = xstrdup (network);
  c->config = config;
  c->expect_ip = expect_ip;
}

void
cni_plugins_plan_pod (struct plan *p, const struct model *m, const struct model_pod *pod)
{
  cleanup_free char *id = plan_sandbox_id (m, pod);
  plan_add_cni (p, m, pod, id, "lo", "loopback", "cni-loopback",
            json_compact (json_pack ("{s:s, s:s, s:s}", "cniVersion", "0.3.1", "name", "cni-loopback", "type",
                                     "loopback")),
            0);
  plan_add_cni (p, m, pod, id, "eth0", "bridge", "cbr0", flannel_delegate_config (m, &m->nodes[pod->node]), pod->ip);
}
