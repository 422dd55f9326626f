/* The flavors' defaults, in scenario/ rather than k8s/: an omitted key's
 * default is part of what the scenario format means (docs/scenario.md
 * documents it next to the key), the validator needs it before anything
 * of k8s/ runs (dns_ip is checked against the service CIDR, node ports
 * against nodeport_range), and the layering lets scenario/ include only
 * base/. k8s/ and plan/ read the values from struct scenario, so this
 * table is the only source; the shipped templates name the flavor and
 * restate none of them.
 *
 * Sources: k3s server --help and pkg/daemons/config (--cluster-cidr
 * 10.42.0.0/16, --service-cidr 10.43.0.0/16, --cluster-dns = 10th address,
 * the server is schedulable); kubeadm's DefaultServicesSubnet 10.96.0.0/12
 * and DefaultClusterDNSIP (10th address) with kube-flannel.yml's Network
 * 10.244.0.0/16, control plane tainted NoSchedule. Both: node-cidr-mask-size
 * /24, flannel vxlan VNI 1 on UDP 8472, kube-apiserver on 6443, NodePort
 * range 30000-32767, kube-proxy iptables with masqueradeBit 14. */
#include "scenario/flavor.h"

#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/util.h"

static const struct flavor_defaults flavors[] = {
  [FLAVOR_K3S] = {
    .flavor = FLAVOR_K3S,
    .name = "k3s",
    /* The seeds' k3s (kubectl get nodes -o wide, /version). */
    .kube_version = "v1.34.3+k3s1", .container_runtime = "containerd://2.1.5-k3s1",
    .pod_cidr = { IP4 (10, 42, 0, 0), 16 },
    .service_cidr = { IP4 (10, 43, 0, 0), 16 },
    .cp_schedulable = true,
    .node_mask = 24, .cni = CNI_FLANNEL, .proxy_mode = PROXY_IPTABLES, .dns_domain = "cluster.local",
    .vxlan_vni = 1, .vxlan_port = 8472, .underlay_mtu = 1500, .nodeport_min = 30000,
    .nodeport_max = 32767, .apiserver_port = 6443, .masquerade_bit = 14, .dns_replicas = 1,
  },
  [FLAVOR_KUBEADM] = {
    .flavor = FLAVOR_KUBEADM,
    .name = "kubeadm",
    /* The same Kubernetes release with Debian/Ubuntu's containerd. */
    .kube_version = "v1.34.3", .container_runtime = "containerd://1.7.24",
    .pod_cidr = { IP4 (10, 244, 0, 0), 16 },
    .service_cidr = { IP4 (10, 96, 0, 0), 12 },
    .cp_schedulable = false,
    .node_mask = 24, .cni = CNI_FLANNEL, .proxy_mode = PROXY_IPTABLES, .dns_domain = "cluster.local",
    .vxlan_vni = 1, .vxlan_port = 8472, .underlay_mtu = 1500, .nodeport_min = 30000,
    .nodeport_max = 32767, .apiserver_port = 6443, .masquerade_bit = 14, .dns_replicas = 2,
  },
};

const struct flavor_defaults *
flavor_defaults (enum flavor f)
{
  return &flavors[f == FLAVOR_KUBEADM ? FLAVOR_KUBEADM : FLAVOR_K3S];
}

const char *
flavor_name (enum flavor f)
{
  return flavor_defaults (f)->name;
}

bool
flavor_parse (const char *name, enum flavor *out)
{
  for (size_t i = 0; i < ARRAY_SIZE (flavors); i++)
    if (strcmp (name, flavors[i].name) == 0)
      {
        *out = flavors[i].flavor;
        return true;
      }
  return false;
}

uint32_t
service_cidr_kubernetes_ip (struct cidr service_cidr)
{
  return cidr_network (service_cidr) + 1;
}

uint32_t
service_cidr_dns_ip (struct cidr service_cidr)
{
  return cidr_network (service_cidr) + 10;
}

void
cluster_set_defaults (struct cluster_def *cl, enum flavor f)
{
  const struct flavor_defaults *d = flavor_defaults (f);
  cl->flavor = d->flavor;
  cl->pod_cidr = d->pod_cidr;
  cl->service_cidr = d->service_cidr;
  cl->node_mask = d->node_mask;
  cl->cni = d->cni;
  cl->proxy_mode = d->proxy_mode;
  free (cl->dns_domain);
  cl->dns_domain = xstrdup (d->dns_domain);
  cl->dns_ip = service_cidr_dns_ip (d->service_cidr);
  cl->vxlan_vni = d->vxlan_vni;
  cl->vxlan_port = d->vxlan_port;
  cl->underlay_mtu = d->underlay_mtu;
  cl->nodeport_min = d->nodeport_min;
  cl->nodeport_max = d->nodeport_max;
  cl->apiserver_port = d->apiserver_port;
  cl->masquerade_bit = d->masquerade_bit;
  cl->cp_schedulable = d->cp_schedulable;
  cl->dns = true;
  cl->dns_replicas = d->dns_replicas;
  cl->localhost_nodeports = true;
}

/* ---- implicit services ----------------------------------------------- */

struct implicit_port {
  const char *name;
  uint16_t port;
  enum l4proto proto;
  uint16_t target; /* 0: the cluster's apiserver_port */
};

static const struct implicit_service {
  const char *ns, *name;
  const char *selector_key, *selector_value; /* NULL: no selector (endpoints are managed) */
  bool dns;                                  /* ClusterIP dns_ip, else the service CIDR's first */
  struct implicit_port ports[3];
  size_t n_ports;
} implicit_services[] = {
  { "default", "kubernetes", NULL, NULL, false, { { "https", 443, PROTO_TCP, 0 } }, 1 },
  { "kube-system", "kube-dns", "k8s-app", "kube-dns", true,
    { { "dns", 53, PROTO_UDP, 53 }, { "dns-tcp", 53, PROTO_TCP, 53 }, { "metrics", 9153, PROTO_TCP, 9153 } },
    3 },
};

static bool
have_service (const struct scenario *sc, const char *ns, const char *name)
{
  for (size_t i = 0; i < sc->n_services; i++)
    if (strcmp (sc->services[i].ns, ns) == 0 && strcmp (sc->services[i].name, name) == 0)
      return true;
  return false;
}

void
add_implicit_services (struct scenario *sc)
{
  const struct cluster_def *cl = &sc->cluster;
  for (size_t i = 0; i < ARRAY_SIZE (implicit_services); i++)
    {
      const struct implicit_service *is = &implicit_services[i];
      if (have_service (sc, is->ns, is->name) || (is->dns && !cl->dns))
        continue;
      struct service_def *sv = VEC_PUSH (sc->services, sc->n_services);
      sv->ns = xstrdup (is->ns);
      sv->name = xstrdup (is->name);
      sv->type = SVC_CLUSTER_IP;
      sv->affinity_timeout = SVC_AFFINITY_TIMEOUT_DEFAULT;
      sv->implicit = true;
      sv->origin.file = sc->files[0];
      sv->origin.section = xasprintf ("service %s/%s", is->ns, is->name);
      sv->cluster_ip = is->dns ? cl->dns_ip : service_cidr_kubernetes_ip (cl->service_cidr);
      if (is->selector_key)
        {
          sv->selector = xcalloc (1, sizeof *sv->selector);
          sv->selector[0].key = xstrdup (is->selector_key);
          sv->selector[0].value = xstrdup (is->selector_value);
          sv->n_selector = 1;
        }
      for (size_t j = 0; j < is->n_ports; j++)
        {
          const struct implicit_port *ip = &is->ports[j];
          struct port_def *p = VEC_PUSH (sv->ports, sv->n_ports);
          p->name = xstrdup (ip->name);
          p->port = ip->port;
          p->protocol = ip->proto;
          p->target_port = ip->target ? ip->target : cl->apiserver_port;
        }
    }
}

/* ---- implicit workloads ---------------------------------------------- */

#define COREDNS_NS "kube-system"
#define COREDNS_NAME "coredns"
#define SERVICELB_NS "kube-system"

static void add_implicit_dns (struct scenario *sc);

/* k3s servicelb (pkg/cloudprovider/servicelb.go newDaemonSet): per
 * LoadBalancer, DaemonSet kube-system/svclb-NAME-UID8 (the name cut to 48
 * characters, not at a '-'), its pods labelled app=<that name> and with the
 * service's name and namespace, on every node (it tolerates the
 * control-plane taints), running klipper-lb. */
static void
add_servicelb_daemonsets (struct scenario *sc)
{
  for (size_t s = 0; s < sc->n_services; s++)
    {
      const struct service_def *d = &sc->services[s];
      if (d->type != SVC_LOAD_BALANCER)
        continue;
      char uid[37];
      cleanup_free char *key = service_uid_key (sc->lab, d->ns, d->name);
      uid_from_key (key, uid);
      size_t len = strlen (d->name);
      if (len > 48)
        for (len = 48; len > 0 && d->name[len - 1] == '-'; len--)
          ;
      char *name = xasprintf ("svclb-%.*s-%.8s", (int) len, d->name, uid);
      struct workload_def *w = VEC_PUSH (sc->workloads, sc->n_workloads);
      w->kind = WL_DAEMONSET;
      w->ns = xstrdup (SERVICELB_NS);
      w->name = name;
      w->labels = xcalloc (3, sizeof *w->labels);
      w->labels[0] = (struct label) { xstrdup ("app"), xstrdup (name) };
      w->labels[1] = (struct label) { xstrdup ("svccontroller.k3s.cattle.io/svcname"), xstrdup (d->name) };
      w->labels[2] = (struct label) { xstrdup ("svccontroller.k3s.cattle.io/svcnamespace"), xstrdup (d->ns) };
      w->n_labels = 3;
      w->replicas = (int) sc->n_nodes;
      for (size_t i = 0; i < sc->n_nodes; i++)
        *VEC_PUSH (w->nodes, w->n_nodes) = xstrdup (sc->nodes[i].name);
      w->app.kind = APP_SVCLB;
      /* Not privileged: containerd's default set plus NET_ADMIN for the
       * entry script's iptables (securityContext.capabilities.add). */
      unsigned net_admin = 0;
      capability_parse ("NET_ADMIN", &net_admin);
      w->cap_add = 1ULL << net_admin;
      w->restart_policy = RESTART_ALWAYS;
      w->lb_svc_ns = xstrdup (d->ns);
      w->lb_svc_name = xstrdup (d->name);
      w->origin.file = d->origin.file;
      w->origin.section = xasprintf ("service %s/%s", d->ns, d->name);
    }
}

char *
service_uid_key (const char *lab, const char *ns, const char *name)
{
  return xasprintf ("nslab-uid/%s/Service/%s/%s", lab, ns, name);
}

void
add_implicit_workloads (struct scenario *sc)
{
  add_implicit_dns (sc);
  /* After coredns: the user's pods and coredns keep their addresses. */
  if (sc->cluster.flavor == FLAVOR_K3S)
    add_servicelb_daemonsets (sc);
}

static void
add_implicit_dns (struct scenario *sc)
{
  const struct cluster_def *cl = &sc->cluster;
  if (!cl->dns)
    return;
  for (size_t i = 0; i < sc->n_workloads; i++)
    if (strcmp (sc->workloads[i].ns, COREDNS_NS) == 0 && strcmp (sc->workloads[i].name, COREDNS_NAME) == 0)
      return;
  struct workload_def *w = VEC_PUSH (sc->workloads, sc->n_workloads);
  w->kind = WL_DEPLOYMENT;
  w->ns = xstrdup (COREDNS_NS);
  w->name = xstrdup (COREDNS_NAME);
  w->labels = xcalloc (1, sizeof *w->labels);
  w->labels[0].key = xstrdup ("k8s-app");
  w->labels[0].value = xstrdup ("kube-dns");
  w->n_labels = 1;
  w->replicas = cl->dns_replicas;
  /* Both flavors' manifests tolerate the control-plane taint, and CoreDNS
   * is scheduled before any worker has joined: on the control-plane
   * nodes, tainted or not. */
  for (size_t i = 0; i < sc->n_nodes; i++)
    if (sc->nodes[i].role == ROLE_CONTROL_PLANE)
      *VEC_PUSH (w->nodes, w->n_nodes) = xstrdup (sc->nodes[i].name);
  w->app.kind = APP_DNS;
  w->app.port = 53;
  /* CoreDNS's readinessProbe is its ready plugin; the listening port is
   * what decides here that the endpoint may take queries. */
  w->readiness = (struct probe_def){ PROBE_TCP, 53, NULL };
  w->restart_policy = RESTART_ALWAYS;
  w->origin.file = sc->files[0];
  w->origin.section = xasprintf ("deployment %s/%s", COREDNS_NS, COREDNS_NAME);
}
