/* CIDR math, deterministic names, scheduling, IPAM and service allocation,
 * and the golden plan of the seed lab. */
#include "unit.h"

#include "base/ipaddr.h"
#include <glob.h>

#include "k8s/model.h"
#include "k8s/names.h"
#include "base/json.h"
#include "k8s/objects.h"
#include "k8s/resources.h"
#include "base/hash.h"
#include "plan/builder.h"
#include "plan/kube_proxy_iptables.h"
#include "scenario/flavor.h"
#include "plan/plan.h"
#include "view/plan_text.h"
#include "scenario/scenario.h"

#define SEED_LAB NSLAB_SRCDIR "/labs/k3s-virtualbox.ini"

static char *
fmt_ip (uint32_t ip)
{
  static char buf[8][IP_STRLEN];
  static int i;
  i = (i + 1) % 8;
  return ip_fmt (ip, buf[i]);
}

START_TEST (test_ip_parse)
{
  uint32_t ip;
  ck_assert (ip_parse ("10.42.0.1", &ip));
  ck_assert_uint_eq (ip, IP4 (10, 42, 0, 1));
  ck_assert (ip_parse ("255.255.255.255", &ip));
  ck_assert (!ip_parse ("256.1.1.1", &ip));
  ck_assert (!ip_parse ("10.42.0", &ip));
  ck_assert (!ip_parse ("10.42.0.1.", &ip));
  ck_assert (!ip_parse ("010.1.1.1", &ip));
  ck_assert (!ip_parse ("1.1.1.1 ", &ip));
  ck_assert (!ip_parse ("", &ip));
  ck_assert (!ip_parse ("a.b.c.d", &ip));
}
END_TEST

START_TEST (test_cidr_math)
{
  struct cidr c, d;
  char buf[CIDR_STRLEN];
  ck_assert (cidr_parse ("10.42.0.0/16", &c, true));
  ck_assert (!cidr_parse ("10.42.0.1/16", &d, true));
  ck_assert (cidr_parse ("10.42.0.1/16", &d, false));
  ck_assert (!cidr_parse ("10.42.0.0/33", &d, false));
  ck_assert (!cidr_parse ("10.42.0.0/", &d, false));
  ck_assert (!cidr_parse ("10.42.0.0/08", &d, false));
  ck_assert_str_eq (cidr_fmt (cidr_subnet (c, 24, 0), buf), "10.42.0.0/24");
  ck_assert_str_eq (cidr_fmt (cidr_subnet (c, 24, 2), buf), "10.42.2.0/24");
  ck_assert_str_eq (cidr_fmt (cidr_subnet (c, 24, 255), buf), "10.42.255.0/24");
  ck_assert_uint_eq (cidr_size (c), 65536);
  ck_assert (cidr_contains (c, IP4 (10, 42, 200, 3)));
  ck_assert (!cidr_contains (c, IP4 (10, 43, 0, 1)));
  ck_assert (cidr_parse ("10.96.0.0/12", &d, true));
  ck_assert_str_eq (fmt_ip (cidr_broadcast (d)), "10.111.255.255");
  ck_assert (!cidr_overlaps (c, d));
  ck_assert (cidr_parse ("10.0.0.0/8", &d, true));
  ck_assert (cidr_overlaps (c, d) && cidr_overlaps (d, c));
  ck_assert (cidr_parse ("0.0.0.0/0", &d, true));
  ck_assert_uint_eq (cidr_size (d), 4294967296ull);
}
END_TEST

START_TEST (test_names)
{
  char out[32];
  safe_encode_string ("0123456789", out);
  /* apimachinery's alphabet indexed by byte % 27: '0' is 48 -> 21 -> '4'. */
  ck_assert_str_eq (out, "456789bcdf");
  pod_template_hash ("demo/web", out);
  ck_assert_int_ge (strlen (out), 8);
  ck_assert_int_le (strlen (out), 10);
  ck_assert_msg (strspn (out, "456789bcdf") == strlen (out), "hash %s uses digits' alphabet only", out);
  veth_name (0x3a5f9c21, out);
  ck_assert_str_eq (out, "veth3a5f9c21");
  uint8_t mac[6];
  mac_local (0xffffffffffffffffull, mac);
  ck_assert_str_eq (mac_fmt (mac, out), "fe:ff:ff:ff:ff:ff");
  mac_virtualbox (0x37bfeb, mac);
  ck_assert_str_eq (mac_fmt (mac, out), "08:00:27:37:bf:eb");
  ck_assert_uint_eq (fnv1a32 ("a", 1, FNV32_INIT), 0xe40c292cu);
}
END_TEST

static struct scenario *
load (const char *path)
{
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  if (scenario_load (path, &sc, &err) < 0)
    ck_abort_msg ("scenario_load %s: %s", path, err->msg);
  return sc;
}

static struct model *
build (struct scenario *sc)
{
  struct model *m = NULL;
  nslab_error_t err = NULL;
  if (model_build (sc, &m, &err) < 0)
    ck_abort_msg ("model_build: %s", err->msg);
  return m;
}

static const struct model_service *
find_service (const struct model *m, const char *ns, const char *name)
{
  for (size_t i = 0; i < m->n_services; i++)
    if (strcmp (m->services[i].ns, ns) == 0 && strcmp (m->services[i].name, name) == 0)
      return &m->services[i];
  ck_abort_msg ("no service %s/%s", ns, name);
  return NULL;
}

START_TEST (test_seed_model)
{
  struct scenario *sc = load (SEED_LAB);
  struct model *m = build (sc);
  ck_assert_str_eq (m->lab, "k3s");
  ck_assert_uint_eq (m->n_nodes, 3);
  char c[CIDR_STRLEN];
  ck_assert_str_eq (cidr_fmt (m->nodes[0].pod_cidr, c), "10.42.0.0/24");
  ck_assert_str_eq (cidr_fmt (m->nodes[1].pod_cidr, c), "10.42.1.0/24");
  ck_assert_str_eq (cidr_fmt (m->nodes[2].pod_cidr, c), "10.42.2.0/24");
  ck_assert_str_eq (fmt_ip (m->nodes[0].internal_ip), "192.168.56.10");
  ck_assert_str_eq (fmt_ip (m->nodes[2].internal_ip), "192.168.56.12");
  /* 2 web pods on w1 and w2, 6 my-helloworld pods two per node, then
   * k3s's one coredns pod on the control plane. */
  ck_assert_uint_eq (m->n_pods, 9);
  ck_assert_str_eq (m->pods[8].ns, "kube-system");
  ck_assert_str_eq (m->nodes[m->pods[8].node].name, "cp1");
  ck_assert_str_eq (m->nodes[m->pods[0].node].name, "w1");
  ck_assert_str_eq (m->nodes[m->pods[1].node].name, "w2");
  int per_node[3] = { 0 };
  for (size_t i = 2; i < 8; i++)
    per_node[m->pods[i].node]++;
  ck_assert_int_eq (per_node[0], 2);
  ck_assert_int_eq (per_node[1], 2);
  ck_assert_int_eq (per_node[2], 2);
  /* host-local: the first pod of each node gets .2, the next .3 ... */
  ck_assert_str_eq (fmt_ip (m->pods[0].ip), "10.42.1.2");
  ck_assert_str_eq (fmt_ip (m->pods[1].ip), "10.42.2.2");
  /* Deployment pods: <name>-<pod-template-hash>-<5>; ReplicaSet: <name>-<5>. */
  const char *web = m->pods[0].name;
  ck_assert_msg (strncmp (web, "web-", 4) == 0 && strlen (web) >= 4 + 8 + 1 + 5, "deployment pod name %s", web);
  ck_assert_int_eq (strncmp (m->pods[0].name, m->pods[1].name, strlen (web) - 5), 0);
  ck_assert_str_ne (m->pods[0].name, m->pods[1].name);
  ck_assert_int_eq (strlen (m->pods[2].name), strlen ("my-helloworld-rs-") + 5);
  ck_assert_int_eq (strncmp (m->pods[2].name, "my-helloworld-rs-", 17), 0);
  ck_assert_int_eq (strlen (m->pods[0].host_veth), 12);
  ck_assert_int_eq (strncmp (m->pods[0].host_veth, "veth", 4), 0);

  const struct model_service *k = find_service (m, "default", "kubernetes");
  ck_assert_str_eq (fmt_ip (k->cluster_ip), "10.43.0.1");
  ck_assert_uint_eq (k->ports[0].n_endpoints, 1);
  ck_assert_str_eq (fmt_ip (k->ports[0].endpoints[0].ip), "192.168.56.10");
  ck_assert_uint_eq (k->ports[0].endpoints[0].port, 6443);
  const struct model_service *dns = find_service (m, "kube-system", "kube-dns");
  ck_assert_str_eq (fmt_ip (dns->cluster_ip), "10.43.0.10");
  ck_assert_uint_eq (dns->n_ports, 3);
  const struct model_service *ws = find_service (m, "demo", "web-svc");
  ck_assert_str_eq (fmt_ip (ws->cluster_ip), "10.43.31.179");
  ck_assert_uint_eq (ws->ports[0].n_endpoints, 2);
  ck_assert_str_eq (fmt_ip (ws->ports[0].endpoints[0].ip), "10.42.1.2");
  ck_assert_str_eq (fmt_ip (ws->ports[0].endpoints[1].ip), "10.42.2.2");
  const struct model_service *hw = find_service (m, "default", "my-helloworld-rs-service");
  ck_assert_uint_eq (hw->ports[0].node_port, 31885);
  ck_assert_uint_eq (hw->ports[0].target_port, 8080);
  ck_assert_uint_eq (hw->ports[0].n_endpoints, 6);
  /* kube-proxy order: sorted as strings "ip:port". */
  for (size_t i = 1; i < 6; i++)
    {
      char a[32], b[32];
      snprintf (a, sizeof a, "%s:8080", fmt_ip (hw->ports[0].endpoints[i - 1].ip));
      snprintf (b, sizeof b, "%s:8080", fmt_ip (hw->ports[0].endpoints[i].ip));
      ck_assert_int_lt (strcmp (a, b), 0);
    }
  /* Namespaces: lab host, node + its NAT router, pods. */
  ck_assert_str_eq (m->netns[0].name, "k3s-host");
  ck_assert_str_eq (m->netns[1].name, "k3s-cp1");
  ck_assert_str_eq (m->netns[2].name, "k3s-cp1-nat");
  ck_assert_uint_eq (m->n_netns, 1 + 3 * 2 + 9);
  model_free (m);
  scenario_free (sc);
}
END_TEST

START_TEST (test_model_deterministic)
{
  struct scenario *sc = load (SEED_LAB);
  struct model *a = build (sc), *b = build (sc);
  for (size_t i = 0; i < a->n_pods; i++)
    {
      ck_assert_str_eq (a->pods[i].name, b->pods[i].name);
      ck_assert_str_eq (a->pods[i].host_veth, b->pods[i].host_veth);
      ck_assert_uint_eq (a->pods[i].ip, b->pods[i].ip);
    }
  model_free (a);
  model_free (b);
  scenario_free (sc);
}
END_TEST

static const char alloc_lab[] = "[lab]\nname = alloc\ntemplate = kubeadm-flannel\n"
                                "[node cp]\nrole = control-plane\nnics = eth0=hostonly:192.168.56.10\n"
                                "[node w1]\nnics = eth0=hostonly:192.168.56.11\n"
                                "[node w2]\nnics = eth0=hostonly:192.168.56.12\n"
                                "[pod default/pinned]\nlabels = app=p\nip = 10.244.1.2\n"
                                "[deployment default/api]\nlabels = app=api\nreplicas = 5\napp = http:8080\n"
                                "[service default/api]\ntype = NodePort\nselector = app=api\nports = http:80->8080, metrics:9090\n"
                                "[service default/other]\nselector = app=p\nports = 80\n";


/* The kubeadm pool: a pinned address kept, the others the lowest free in
   service order, none left: <pending>. The announcing node is a worker
   (kubeadm labels the control plane exclude-from-external-load-balancers),
   for the Local policy one with an endpoint; health-check node ports only
   for LoadBalancer + Local, in the NodePort range. */
static const char pool_lab[] = "[lab]\nname = pool\ntemplate = kubeadm-flannel\n"
                               "[cluster]\nload_balancer_pool = 192.168.56.240/30\n"
                               "[node cp]\nrole = control-plane\nnics = eth0=hostonly:192.168.56.10\n"
                               "[node w1]\nnics = eth0=hostonly:192.168.56.11\n"
                               "[node w2]\nnics = eth0=hostonly:192.168.56.12\n"
                               "[pod default/one]\nlabels = app=one\nnode = w2\napp = http:80\n"
                               "[service default/a]\ntype = LoadBalancer\nselector = app=one\nports = 80\n"
                               "[service default/b]\ntype = LoadBalancer\nselector = app=one\nports = 80\n"
                               "load_balancer_ip = 192.168.56.241\nexternal_traffic_policy = Local\n"
                               "[service default/c]\ntype = LoadBalancer\nselector = app=one\nports = 80\n"
                               "[service default/d]\ntype = NodePort\nselector = app=one\nports = 80\n"
                               "external_traffic_policy = Local\n";

START_TEST (test_load_balancer_pool)
{
  cleanup_free char *path = unit_write_file ("pool.ini", pool_lab);
  struct scenario *sc = load (path);
  struct model *m = build (sc);
  const struct model_service *a = find_service (m, "default", "a"), *b = find_service (m, "default", "b"),
                             *c = find_service (m, "default", "c"), *d = find_service (m, "default", "d");
  /* /30: .241 and .242 are its host addresses; b pinned .241. */
  ck_assert_uint_eq (a->n_lb_ips, 1);
  ck_assert_str_eq (fmt_ip (a->lb_ips[0]), "192.168.56.242");
  ck_assert_str_eq (fmt_ip (b->lb_ips[0]), "192.168.56.241");
  ck_assert_uint_eq (c->n_lb_ips, 0);
  ck_assert_int_eq (c->lb_node, -1);
  ck_assert_int_ge (a->lb_node, 1);
  ck_assert_str_eq (m->nodes[b->lb_node].name, "w2");
  ck_assert_uint_eq (a->hc_node_port, 0);
  ck_assert_uint_ge (b->hc_node_port, 30000);
  ck_assert_uint_le (b->hc_node_port, 32767);
  ck_assert_uint_ne (b->hc_node_port, b->ports[0].node_port);
  ck_assert_uint_eq (d->hc_node_port, 0);
  model_free (m);
  scenario_free (sc);
}
END_TEST

START_TEST (test_allocation_kubeadm)
{
  cleanup_free char *path = unit_write_file ("alloc.ini", alloc_lab);
  struct scenario *sc = load (path);
  struct model *m = build (sc);
  /* kubeadm taints the control plane: no pod lands on cp but the two
   * coredns pods, which tolerate the taint. */
  for (size_t i = 0; i < m->n_pods; i++)
    if (strcmp (m->pods[i].ns, "kube-system") == 0)
      ck_assert_str_eq (m->nodes[m->pods[i].node].name, "cp");
    else
      ck_assert_str_ne (m->nodes[m->pods[i].node].name, "cp");
  /* The pinned pod lands on the node owning its IP, and host-local skips it. */
  ck_assert_str_eq (m->nodes[m->pods[0].node].name, "w1");
  ck_assert_str_eq (fmt_ip (m->pods[0].ip), "10.244.1.2");
  for (size_t i = 1; i < m->n_pods; i++)
    ck_assert_uint_ne (m->pods[i].ip, IP4 (10, 244, 1, 2));
  /* Spread: api replicas alternate w2 (fewer pods) first. */
  ck_assert_str_eq (m->nodes[m->pods[1].node].name, "w2");
  ck_assert_str_eq (fmt_ip (m->pods[1].ip), "10.244.2.2");
  ck_assert_str_eq (fmt_ip (m->pods[2].ip), "10.244.1.3");
  const struct model_service *api = find_service (m, "default", "api");
  struct cidr svc = sc->cluster.service_cidr;
  ck_assert (cidr_contains (svc, api->cluster_ip));
  /* Dynamic ClusterIPs come from the upper band: offset min(max(16, size/16), 256). */
  ck_assert_uint_ge (api->cluster_ip - cidr_network (svc) - 1, 256);
  ck_assert_uint_ne (api->cluster_ip, sc->cluster.dns_ip);
  ck_assert_uint_ge (api->ports[0].node_port, 30000 + 86);
  ck_assert_uint_le (api->ports[0].node_port, 32767);
  ck_assert_uint_ne (api->ports[0].node_port, api->ports[1].node_port);
  ck_assert_uint_eq (api->ports[0].n_endpoints, 5);
  const struct model_service *other = find_service (m, "default", "other");
  ck_assert_uint_ne (other->cluster_ip, api->cluster_ip);
  ck_assert_uint_eq (other->ports[0].node_port, 0);
  model_free (m);
  scenario_free (sc);
}
END_TEST

/* Weave's IPAM against what real clusters show. The oracles: seed 000
 * (three peers: 10.32, 10.36 and 10.44, the seed-003 course's "split"), the
 * addresses every two-node Weave cluster gives its second node's pods
 * (10.44.0.x, the bridge on 10.44.0.0), and Weave's own rule that the first
 * peer's bridge gets the range's first host address (10.32.0.1). */
START_TEST (test_weave_ipam_ranges)
{
  struct cidr range = { IP4 (10, 32, 0, 0), 12 }, out[3];
  uint32_t bridge[3];
  char b[CIDR_STRLEN];
  ck_assert (weave_ipam_ranges (range, 1, out, bridge));
  ck_assert_str_eq (cidr_fmt (out[0], b), "10.32.0.0/12");
  ck_assert_str_eq (fmt_ip (bridge[0]), "10.32.0.1");
  ck_assert (weave_ipam_ranges (range, 2, out, bridge));
  ck_assert_str_eq (cidr_fmt (out[1], b), "10.44.0.0/14");
  ck_assert_str_eq (fmt_ip (bridge[1]), "10.44.0.0");
  ck_assert (weave_ipam_ranges (range, 3, out, bridge));
  ck_assert_str_eq (cidr_fmt (out[0], b), "10.32.0.0/14");
  ck_assert_str_eq (cidr_fmt (out[1], b), "10.44.0.0/14");
  ck_assert_str_eq (cidr_fmt (out[2], b), "10.36.0.0/14");
  ck_assert_str_eq (fmt_ip (bridge[2]), "10.36.0.0");
  /* Every block lies in the range and no two overlap, for any peer count
   * a lab can have. */
  for (size_t n = 1; n <= 64; n++)
    {
      cleanup_free struct cidr *o = calloc (n, sizeof *o);
      cleanup_free uint32_t *br = calloc (n, sizeof *br);
      ck_assert (weave_ipam_ranges (range, n, o, br));
      for (size_t i = 0; i < n; i++)
        {
          ck_assert (cidr_contains (range, o[i].addr));
          ck_assert (cidr_contains (o[i], br[i]));
          for (size_t k = 0; k < i; k++)
            ck_assert (!cidr_overlaps (o[i], o[k]));
        }
    }
  /* A /30 has four addresses: not enough for eight peers' blocks. */
  struct cidr tiny = { IP4 (10, 32, 0, 0), 30 };
  struct cidr o8[8];
  uint32_t b8[8];
  ck_assert (!weave_ipam_ranges (tiny, 8, o8, b8));
}
END_TEST

/* The seed-000 lab: pods on worker1 and worker2 only, in the seed's
 * blocks, eth0 with the range's prefix and the bridge address as gateway. */
START_TEST (test_weave_seed_lab)
{
  struct scenario *sc = load (NSLAB_SRCDIR "/labs/kubeadm-weave-vmware.ini");
  struct model *m = build (sc);
  /* The seed's 3 pods and kubeadm's 2 coredns pods. */
  ck_assert_uint_eq (m->n_pods, 5);
  for (size_t i = 0; i < 3; i++)
    {
      const struct model_node *n = &m->nodes[m->pods[i].node];
      ck_assert_str_ne (n->name, "master");
      struct cidr want = { strcmp (n->name, "worker1") == 0 ? IP4 (10, 36, 0, 0) : IP4 (10, 44, 0, 0), 14 };
      ck_assert (cidr_contains (want, m->pods[i].ip));
      /* Weave hands out the lowest free address above the bridge's. */
      ck_assert_uint_gt (m->pods[i].ip, n->weave_bridge_ip);
      ck_assert_uint_le (m->pods[i].ip, n->weave_bridge_ip + 2);
      ck_assert_int_eq (strncmp (m->pods[i].host_veth, "vethwepl", 8), 0);
      ck_assert_uint_eq (strlen (m->pods[i].host_veth), 15);
    }
  ck_assert_str_eq (fmt_ip (m->nodes[0].weave_bridge_ip), "10.32.0.1");
  model_free (m);
  scenario_free (sc);
}
END_TEST

/* host-gw routes to the INTERNAL-IP of the next node, so flanneld refuses
 * nodes it cannot reach directly; nslab refuses them before planning. */
START_TEST (test_hostgw_needs_one_segment)
{
  static const char lab[] = "[lab]\nname = hg\ntemplate = kubeadm-flannel\n[cluster]\ncni = host-gw\n"
                            "[node cp]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15\ninternal_nic = enp0s3\n"
                            "[node w1]\nnics = enp0s3=nat:10.0.2.15\ninternal_nic = enp0s3\n";
  cleanup_free char *path = unit_write_file ("hostgw.ini", lab);
  struct scenario *sc = load (path);
  struct model *m = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (model_build (sc, &m, &err), -1);
  ck_assert_ptr_nonnull (strstr (err->msg, "cni host-gw needs every node's INTERNAL-IP on one hostonly network"));
  nslab_error_free (&err);
  scenario_free (sc);
  /* On the host-only network it plans, with no VXLAN device at all. */
  struct scenario *ok = load (NSLAB_SRCDIR "/labs/kubeadm-hostgw.ini");
  struct plan *p = NULL;
  ck_assert_int_eq (plan_build (ok, &p, &err), 0);
  size_t routes = 0;
  for (size_t i = 0; i < p->n_ops; i++)
    {
      ck_assert (p->ops[i].kind != OP_LINK || p->ops[i].u.link.kind != LINK_VXLAN);
      if (p->ops[i].kind == OP_ROUTE && p->ops[i].u.route.gw >> 8 == IP4 (192, 168, 56, 0) >> 8)
        routes++;
    }
  /* Three nodes, each with a route to the two others' subnets. */
  ck_assert_uint_eq (routes, 6);
  plan_free (p);
  scenario_free (ok);
}
END_TEST

/* A VMware network gives its VMs VMware's OUI, VirtualBox's stays the default. */
START_TEST (test_hypervisor_macs)
{
  struct scenario *sc = load (NSLAB_SRCDIR "/labs/kubeadm-vmware.ini");
  struct model *m = build (sc);
  char mac[18];
  mac_fmt (m->nodes[0].nics[0].mac, mac);
  ck_assert_msg (strncmp (mac, "00:0c:29:", 9) == 0, "vmware NIC MAC %s", mac);
  model_free (m);
  scenario_free (sc);
  sc = load (SEED_LAB);
  m = build (sc);
  mac_fmt (m->nodes[0].nics[1].mac, mac);
  ck_assert_msg (strncmp (mac, "08:00:27:", 9) == 0, "virtualbox NIC MAC %s", mac);
  model_free (m);
  scenario_free (sc);
}
END_TEST

START_TEST (test_subnet_full)
{
  cleanup_free char *path = unit_write_file ("full.ini",
                                             "[lab]\nname = full\ntemplate = k3s\n[cluster]\nnode_mask = 28\n"
                                             "[node n1]\nrole = control-plane\nnics = eth0=hostonly:192.168.56.10\n"
                                             "[deployment default/many]\nlabels = app=x\nreplicas = 14\n");
  struct scenario *sc = load (path);
  struct model *m = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (model_build (sc, &m, &err), -1);
  ck_assert_int_eq (err->exit_code, NSLAB_EXIT_INVALID);
  ck_assert_msg (strstr (err->msg, "[deployment default/many] replicas: node n1 has no free address left in its pod CIDR 10.42.0.0/28"),
                 "got: %s", err->msg);
  nslab_error_free (&err);
  scenario_free (sc);
}
END_TEST

static char *
plan_text_as (const char *path, void (*print) (const struct plan *, FILE *))
{
  struct scenario *sc = load (path);
  struct plan *p = NULL;
  nslab_error_t err = NULL;
  if (plan_build (sc, &p, &err) < 0)
    ck_abort_msg ("plan_build: %s", err->msg);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&text, &len);
  print (p, f);
  fclose (f);
  plan_free (p);
  scenario_free (sc);
  return text;
}

static char *
plan_text (const char *path)
{
  return plan_text_as (path, plan_print_text);
}

/* One golden plan per shipped lab, with the iptables payloads reduced to
 * their size and hash (they are pinned rule by rule in test_iptables_rules.c).
 * The seed lab's was reviewed by hand against seed 001's `ip -br a` and
 * `ip route` of cp1. After a deliberate change, `make golden` rewrites them
 * and shows the whole diff to review. Labs are loaded by their relative path
 * so the output does not depend on the checkout. */
START_TEST (test_golden_plans)
{
  if (chdir (NSLAB_SRCDIR) < 0)
    ck_abort_msg ("chdir");
  glob_t g;
  ck_assert_int_eq (glob ("labs/*.ini", 0, NULL, &g), 0);
  ck_assert_uint_ge (g.gl_pathc, 4);
  bool update = getenv ("NSLAB_GOLDEN_UPDATE") != NULL;
  for (size_t i = 0; i < g.gl_pathc; i++)
    {
      cleanup_free char *got = plan_text_as (g.gl_pathv[i], plan_print_text_digested);
      const char *base = strrchr (g.gl_pathv[i], '/') + 1;
      cleanup_free char *golden = xasprintf ("tests/unit/golden/%.*s.plan", (int) (strlen (base) - 4), base);
      if (update)
        {
          FILE *f = fopen (golden, "w");
          ck_assert_ptr_nonnull (f);
          fputs (got, f);
          fclose (f);
          continue;
        }
      cleanup_free char *want = unit_read_file (golden);
      ck_assert_msg (want != NULL, "missing %s (make golden)", golden);
      if (strcmp (got, want) != 0)
        {
          cleanup_free char *out = xasprintf ("/tmp/nslab-golden-%s", strrchr (golden, '/') + 1);
          FILE *f = fopen (out, "w");
          if (f)
            {
              fputs (got, f);
              fclose (f);
            }
          ck_abort_msg ("plan of %s differs from %s; see diff -u %s %s", g.gl_pathv[i], golden, golden, out);
        }
    }
  globfree (&g);
}
END_TEST

/* The lines of seed 001 (cp1's `ip -br a` and `ip route`) appear verbatim
 * in cp1's part of the plan. */
START_TEST (test_seed_cp1_matches_seed)
{
  if (chdir (NSLAB_SRCDIR) < 0)
    ck_abort_msg ("chdir");
  cleanup_free char *got = plan_text ("labs/k3s-virtualbox.ini");
  char *cp1 = strstr (got, "## netns k3s-cp1 (node cp1)");
  ck_assert_ptr_nonnull (cp1);
  char *end = strstr (cp1 + 1, "\n## netns");
  if (end)
    *end = '\0';
  static const char *const want[] = {
    "ip addr add 10.0.2.15/24 dev enp0s3 metric 100",
    "ip addr add 192.168.56.10/24 dev enp0s8",
    "ip addr add 10.42.0.1/24 dev cni0",
    "ip addr add 10.42.0.0/32 dev flannel.1",
    "#   default via 10.0.2.2 dev enp0s3 proto dhcp src 10.0.2.15 metric 100\n",
    "#   10.0.2.0/24 dev enp0s3 proto kernel scope link src 10.0.2.15 metric 100\n",
    "#   10.0.2.2 dev enp0s3 proto dhcp scope link src 10.0.2.15 metric 100\n",
    "#   10.42.0.0/24 dev cni0 proto kernel scope link src 10.42.0.1\n",
    "#   10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink\n",
    "#   10.42.2.0/24 via 10.42.2.0 dev flannel.1 onlink\n",
    "#   192.168.56.0/24 dev enp0s8 proto kernel scope link src 192.168.56.10\n",
    "type vxlan id 1 local 192.168.56.10 dev enp0s8 dstport 8472 nolearning",
    "ip link add flannel.1 address ",
    " mtu 1450 type vxlan",
    "ip link add cni0 address ",
    " mtu 1450 type bridge",
    "-A KUBE-SERVICES -m comment --comment \"demo/web-svc cluster IP\"",
    "-A KUBE-NODEPORTS -m comment --comment default/my-helloworld-rs-service -m tcp -p tcp --dport 31885",
  };
  for (size_t i = 0; i < ARRAY_SIZE (want); i++)
    ck_assert_msg (strstr (cp1, want[i]) != NULL, "cp1's plan lacks: %s", want[i]);
  /* The expected route table lists exactly these 8 routes, in this order. */
  char *routes = strstr (cp1, "# expected `ip route`:\n");
  ck_assert_ptr_nonnull (routes);
  ck_assert_str_eq (routes, "# expected `ip route`:\n"
                            "#   default via 10.0.2.2 dev enp0s3 proto dhcp src 10.0.2.15 metric 100\n"
                            "#   10.0.2.0/24 dev enp0s3 proto kernel scope link src 10.0.2.15 metric 100\n"
                            "#   10.0.2.2 dev enp0s3 proto dhcp scope link src 10.0.2.15 metric 100\n"
                            "#   10.42.0.0/24 dev cni0 proto kernel scope link src 10.42.0.1\n"
                            "#   10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink\n"
                            "#   10.42.2.0/24 via 10.42.2.0 dev flannel.1 onlink\n"
                            "#   192.168.56.0/24 dev enp0s8 proto kernel scope link src 192.168.56.10\n");
}
END_TEST

START_TEST (test_plan_json_parses)
{
  struct scenario *sc = load (SEED_LAB);
  struct plan *p = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (plan_build (sc, &p, &err), 0);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&text, &len);
  plan_print_json (p, f);
  fclose (f);
  /* jq, an outside parser, reads what we wrote (make deps installs it). */
  FILE *jq = popen ("jq -e '.nodes[0].internal_ip == \"192.168.56.10\" and (.ops | length) > 100"
                    " and (.services[] | select(.name == \"web-svc\") | .cluster_ip) == \"10.43.31.179\""
                    " and (.pods[] | select(.owner.name == \"web\") | .replicaset | startswith(\"web-\"))'"
                    " > /dev/null", "w");
  ck_assert_ptr_nonnull (jq);
  fputs (text, jq);
  ck_assert_int_eq (pclose (jq), 0);
  free (text);
  plan_free (p);
  scenario_free (sc);
}
END_TEST

/* A pod's command is the user's text: the plan shows a terminal escape or a
 * bidi override in it escaped, never raw. */
START_TEST (test_plan_text_escapes)
{
  cleanup_free char *path = unit_write_file ("esc.ini", "[lab]\nname = esc\ntemplate = k3s\n"
                                                        "[node n1]\nrole = control-plane\n"
                                                        "nics = enp0s8=hostonly:192.168.56.10\n"
                                                        "[pod default/x]\napp = command\n"
                                                        "command = sleep \"\x1b[31mred\xe2\x80\xae\"\n");
  cleanup_free char *text = plan_text (path);
  ck_assert_ptr_null (strchr (text, 0x1b));
  ck_assert_ptr_null (strstr (text, "\xe2\x80\xae"));
  ck_assert_ptr_nonnull (strstr (text, "app: sleep \"\\x1b[31mred\\u202e\")"));
}
END_TEST

/* The snapshot of a running lab is a plan read back: writing, reading and
 * writing again must give the same text, for every shipped lab. */
START_TEST (test_plan_json_round_trip)
{
  static const char *const labs[] = { NSLAB_SRCDIR "/labs/k3s-virtualbox.ini", NSLAB_SRCDIR "/labs/kubeadm-flannel.ini",
                                      NSLAB_SRCDIR "/labs/kubeadm-vmware.ini", NSLAB_SRCDIR "/labs/network-model.ini",
                                      NSLAB_SRCDIR "/labs/kubeadm-weave-vmware.ini", NSLAB_SRCDIR "/labs/kubeadm-hostgw.ini" };
  for (size_t i = 0; i < sizeof labs / sizeof labs[0]; i++)
    {
      struct scenario *sc = load (labs[i]);
      struct plan *p = NULL, *q = NULL;
      nslab_error_t err = NULL;
      ck_assert_int_eq (plan_build (sc, &p, &err), 0);
      json_t *j = plan_to_json (p);
      cleanup_free char *first = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
      json_decref (j);
      json_error_t jerr;
      json_t *back = json_loads (first, 0, &jerr);
      ck_assert_ptr_nonnull (back);
      if (plan_from_json (back, &q, &err) < 0)
        ck_abort_msg ("%s: %s", labs[i], err->msg);
      json_decref (back);
      ck_assert_uint_eq (q->n_ops, p->n_ops);
      j = plan_to_json (q);
      cleanup_free char *second = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
      json_decref (j);
      ck_assert_str_eq (first, second);
      /* And the text a person reads is the same too. */
      cleanup_free char *t1 = NULL, *t2 = NULL;
      size_t l1 = 0, l2 = 0;
      FILE *f1 = open_memstream (&t1, &l1), *f2 = open_memstream (&t2, &l2);
      plan_print_text (p, f1);
      plan_print_text (q, f2);
      fclose (f1);
      fclose (f2);
      ck_assert_str_eq (t1, t2);
      plan_free (q);
      plan_free (p);
      scenario_free (sc);
    }
}
END_TEST

/* A damaged snapshot is refused with the path of the first bad member. */
START_TEST (test_plan_json_damaged)
{
  static const struct {
    const char *jq;     /* edit applied to a good plan */
    const char *error;  /* the whole message */
  } cases[] = {
    { ".version = 2", "version: not 1 (written by another nslab?)" },
    { ".pods[1].ip = \"10.42.1.300\"", "pods[1].ip: missing or not an IPv4 address" },
    { "del(.nodes[0].netns)", "nodes[0].netns: missing or not a string" },
    { ".ops[3].op = \"teleport\"", "ops[3]: op: unknown kind \"teleport\"" },
    { "(.ops[] | select(.op == \"route\")) |= (.dst = \"10.0.0.0/33\")",
      "ops[" },
    { ".services[0].ports[0].endpoints = [1]", "services[0].endpoints: an endpoint is not {ip, port, pod, node}" },
    { "(.ops[] | select(.op == \"process\" and .owner.kind == \"node\")) |= (.files[0].path = \"etc/x\")", "ops[" },
  };
  struct scenario *sc = load (SEED_LAB);
  struct plan *p = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (plan_build (sc, &p, &err), 0);
  json_t *j = plan_to_json (p);
  cleanup_free char *good = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char path[] = "/tmp/nslab-plan-XXXXXX";
      int fd = mkstemp (path);
      ck_assert_int_ge (fd, 0);
      ck_assert_int_eq (write (fd, good, strlen (good)), (ssize_t) strlen (good));
      close (fd);
      cleanup_free char *cmd = xasprintf ("jq -c '%s' %s", cases[i].jq, path);
      FILE *jq = popen (cmd, "r");
      json_error_t jerr;
      json_t *bad = json_loadf (jq, 0, &jerr);
      pclose (jq);
      unlink (path);
      ck_assert_ptr_nonnull (bad);
      struct plan *q = NULL;
      ck_assert_int_eq (plan_from_json (bad, &q, &err), -1);
      ck_assert_ptr_null (q);
      json_decref (bad);
      if (strcmp (cases[i].error, "ops[") == 0)
        ck_assert_msg (strncmp (err->msg, "ops[", 4) == 0
                           && (strstr (err->msg, "dst: missing or not")
                               || strstr (err->msg, "files[0].path: not absolute")),
                       "%s", err->msg);
      else
        ck_assert_str_eq (err->msg, cases[i].error);
      nslab_error_free (&err);
    }
  plan_free (p);
  scenario_free (sc);
}
END_TEST

/* A headless service: no ClusterIP allocated, no kube-proxy rule on any
 * node, its endpoints tracked; in the store spec.clusterIP "None"; with
 * dns = no neither coredns nor kube-dns, and pods keep the node's resolv.conf. */
START_TEST (test_headless_and_dns_off)
{
  static const char lab[] = "[lab]\nname = hl\ntemplate = k3s\n[cluster]\ndns = no\n"
                            "[node cp1]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.56.10\n"
                            "[deployment demo/web]\nlabels = app=web\nreplicas = 2\napp = http:80\n"
                            "[service demo/web-headless]\nselector = app=web\nports = http:80\ncluster_ip = None\n";
  cleanup_free char *path = unit_write_file ("hl.ini", lab);
  struct scenario *sc = load (path);
  struct model *m = build (sc);
  ck_assert_uint_eq (m->n_pods, 2);
  const struct model_service *hl = NULL;
  for (size_t i = 0; i < m->n_services; i++)
    {
      ck_assert_str_ne (m->services[i].name, "kube-dns");
      if (strcmp (m->services[i].name, "web-headless") == 0)
        hl = &m->services[i];
    }
  ck_assert_ptr_nonnull (hl);
  ck_assert_uint_eq (hl->cluster_ip, 0);
  ck_assert_uint_eq (hl->ports[0].n_endpoints, 2);
  cleanup_free char *ipt = iptables_node_payload (m, 0);
  ck_assert_ptr_null (strstr (ipt, "web-headless"));
  ck_assert_ptr_nonnull (strstr (ipt, "default/kubernetes:https"));
  struct lab_objects *o = objects_from_model (m);
  json_t *res = resources_from_objects (o, 0);
  size_t i;
  json_t *it;
  int seen = 0;
  json_array_foreach (res, i, it)
    {
      const char *kind = json_string_value (json_object_get (it, "kind"));
      const char *name = json_string_value (json_object_get (json_object_get (it, "metadata"), "name"));
      if (strcmp (kind, "Service") == 0 && strcmp (name, "web-headless") == 0)
        {
          ck_assert_str_eq (json_string_value (json_object_get (json_object_get (it, "spec"), "clusterIP")), "None");
          seen++;
        }
    }
  ck_assert_int_eq (seen, 1);
  json_decref (res);
  objects_free (o);
  struct plan *p = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (plan_build (sc, &p, &err), 0);
  for (size_t k = 0; k < p->n_ops; k++)
    if (p->ops[k].kind == OP_PROCESS)
      ck_assert_ptr_null (p->ops[k].u.proc.resolv_conf);
  plan_free (p);
  model_free (m);
  scenario_free (sc);
}
END_TEST

/* The first item of RES of KIND whose metadata.name starts with NAME. */
static json_t *
find_item (json_t *res, const char *kind, const char *name)
{
  size_t i;
  json_t *it;
  json_array_foreach (res, i, it)
    if (strcmp (json_string_value (json_object_get (it, "kind")), kind) == 0
        && strncmp (json_string_value (json_object_get (json_object_get (it, "metadata"), "name")), name,
                    strlen (name)) == 0)
      return it;
  ck_abort_msg ("no %s %s", kind, name);
  return NULL;
}

/* image = / container = : the pod template's one container as the seed's
 * web.yaml writes it (name and image, no ports), the pods' statuses with
 * containerd's name and an imageID, the app from the image (nginx:
 * http:80), and the image part of the pod-template-hash; without image
 * the template and its hash are what they were. */
START_TEST (test_workload_image)
{
  static const char base[] = "[lab]\nname = im\ntemplate = k3s\n"
                             "[node cp1]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.56.10\n"
                             "[deployment demo/web]\nlabels = app=web\nreplicas = 1\n";
  cleanup_free char *text_img = xasprintf ("%simage = nginx:1.27-alpine\n", base);
  cleanup_free char *text_app = xasprintf ("%sapp = http:80\n", base);
  cleanup_free char *text_named = xasprintf ("%simage = nginx:1.27-alpine\ncontainer = web\n", base);
  cleanup_free char *p_img = unit_write_file ("im1.ini", text_img);
  cleanup_free char *p_app = unit_write_file ("im2.ini", text_app);
  cleanup_free char *p_named = unit_write_file ("im3.ini", text_named);
  struct scenario *sc_img = load (p_img), *sc_app = load (p_app), *sc_named = load (p_named);
  const struct workload_def *w = &sc_img->workloads[0];
  ck_assert_int_eq (w->app.kind, APP_HTTP);
  ck_assert_uint_eq (w->app.port, 80);
  ck_assert_str_eq (w->container, "nginx");
  struct model *m_img = build (sc_img), *m_app = build (sc_app), *m_named = build (sc_named);
  /* same app, different template: different hash */
  ck_assert_str_ne (m_img->pods[0].replicaset, m_app->pods[0].replicaset);
  ck_assert_str_ne (m_img->pods[0].replicaset, m_named->pods[0].replicaset);
  struct lab_objects *o = objects_from_model (m_img);
  json_t *res = resources_from_objects (o, 0);
  json_t *c = json_array_get (json_object_get (json_object_get (json_object_get (json_object_get (
                                  find_item (res, "Deployment", "web"), "spec"), "template"), "spec"),
                                  "containers"),
                              0);
  cleanup_free char *cj = json_dumps (c, JSON_SORT_KEYS | JSON_COMPACT);
  ck_assert_str_eq (cj, "{\"image\":\"nginx:1.27-alpine\",\"imagePullPolicy\":\"IfNotPresent\",\"name\":\"nginx\","
                       "\"resources\":{},\"terminationMessagePath\":\"/dev/termination-log\","
                       "\"terminationMessagePolicy\":\"File\"}");
  json_t *rs = find_item (res, "ReplicaSet", "web-");
  ck_assert (json_equal (c, json_array_get (json_object_get (json_object_get (json_object_get (json_object_get (
                                                rs, "spec"), "template"), "spec"), "containers"), 0)));
  json_t *pod = find_item (res, "Pod", "web-");
  json_t *pc = json_array_get (json_object_get (json_object_get (pod, "spec"), "containers"), 0);
  ck_assert_str_eq (json_string_value (json_object_get (pc, "name")), "nginx");
  ck_assert_str_eq (json_string_value (json_object_get (pc, "image")), "nginx:1.27-alpine");
  ck_assert_ptr_nonnull (json_object_get (pc, "readinessProbe"));
  json_t *st = json_array_get (json_object_get (json_object_get (pod, "status"), "containerStatuses"), 0);
  ck_assert_str_eq (json_string_value (json_object_get (st, "name")), "nginx");
  ck_assert_str_eq (json_string_value (json_object_get (st, "image")), "docker.io/library/nginx:1.27-alpine");
  ck_assert (strncmp (json_string_value (json_object_get (st, "imageID")), "docker.io/library/nginx@sha256:", 31) == 0);
  ck_assert (json_is_true (json_object_get (st, "ready")));
  /* the state's JSON keeps it */
  json_t *j = json_object ();
  objects_to_json (o, &(struct json_out) { .obj = j });
  struct lab_objects *back = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (objects_from_json (j, &back, &err), 0);
  int images = 0;
  for (size_t k = 0; k < back->n_pods; k++)
    if (strcmp (back->pods[k].ns, "demo") == 0)
      {
        ck_assert_str_eq (back->pods[k].image, "nginx:1.27-alpine");
        ck_assert_str_eq (back->pods[k].container, "nginx");
        images++;
      }
    else
      ck_assert_ptr_null (back->pods[k].image);
  ck_assert_int_eq (images, 1);
  for (size_t k = 0; k < back->n_workloads; k++)
    if (strcmp (back->workloads[k].ns, "demo") == 0)
      ck_assert_str_eq (back->workloads[k].container, "nginx");
  json_decref (j);
  objects_free (back);
  json_decref (res);
  objects_free (o);
  /* without image: nslab's own container, as before */
  o = objects_from_model (m_app);
  ck_assert_ptr_null (o->workloads[0].image);
  res = resources_from_objects (o, 0);
  pod = find_item (res, "Pod", "web-");
  st = json_array_get (json_object_get (json_object_get (pod, "status"), "containerStatuses"), 0);
  ck_assert_str_eq (json_string_value (json_object_get (st, "image")), "nslab/http-echo");
  ck_assert_ptr_null (json_object_get (st, "imageID"));
  json_decref (res);
  objects_free (o);
  model_free (m_img);
  model_free (m_app);
  model_free (m_named);
  scenario_free (sc_img);
  scenario_free (sc_app);
  scenario_free (sc_named);
}
END_TEST

static const char *
condition (json_t *pod, const char *type)
{
  size_t i;
  json_t *cd;
  json_array_foreach (json_object_get (json_object_get (pod, "status"), "conditions"), i, cd)
    if (strcmp (json_string_value (json_object_get (cd, "type")), type) == 0)
      return json_string_value (json_object_get (cd, "status"));
  return NULL;
}

/* up's lab: a pod with a readiness probe starts not ready (kubelet's
 * prober starts from Failure), one without is ready; the not-ready one is
 * in the EndpointSlice with conditions.ready false (as the EndpointSlice
 * controller keeps it), under notReadyAddresses in Endpoints, and in no
 * kube-proxy rule; the snapshot keeps both. model_build is the lab once
 * the probes passed. */
START_TEST (test_starting_readiness)
{
  static const char lab[] = "[lab]\nname = rd\ntemplate = k3s\n[cluster]\ndns = no\n"
                            "[node cp1]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.56.10\n"
                            "[pod demo/probed]\nlabels = app=web\napp = http:80\nreadiness = tcp:81\n"
                            "[pod demo/plain]\nlabels = app=web\napp = http:80\nreadiness = none\n"
                            "[service demo/web]\nselector = app=web\nports = http:80\n";
  cleanup_free char *path = unit_write_file ("rd.ini", lab);
  struct scenario *sc = load (path);
  struct model *m = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (model_build_starting (sc, &m, &err), 0);
  const struct model_service *s = find_service (m, "demo", "web");
  ck_assert_uint_eq (s->ports[0].n_endpoints, 1);
  ck_assert_str_eq (m->pods[s->ports[0].endpoints[0].pod].name, "plain");
  ck_assert_uint_eq (s->ports[0].n_not_ready, 1);
  ck_assert_str_eq (m->pods[s->ports[0].not_ready[0].pod].name, "probed");
  char probed_ip[IP_STRLEN], plain_ip[IP_STRLEN];
  ip_fmt (m->pods[s->ports[0].not_ready[0].pod].ip, probed_ip);
  ip_fmt (m->pods[s->ports[0].endpoints[0].pod].ip, plain_ip);
  cleanup_free char *ipt = iptables_node_payload (m, 0);
  cleanup_free char *probed_dnat = xasprintf ("--to-destination %s:80", probed_ip);
  cleanup_free char *plain_dnat = xasprintf ("--to-destination %s:80", plain_ip);
  ck_assert_ptr_null (strstr (ipt, probed_dnat));
  ck_assert_ptr_nonnull (strstr (ipt, plain_dnat));

  struct lab_objects *o = objects_from_model (m);
  json_t *res = resources_from_objects (o, 0);
  json_t *probed = find_item (res, "Pod", "probed"), *plain = find_item (res, "Pod", "plain");
  ck_assert_str_eq (condition (probed, "Ready"), "False");
  ck_assert_str_eq (condition (probed, "ContainersReady"), "False");
  ck_assert_str_eq (condition (plain, "Ready"), "True");
  ck_assert (json_is_false (json_object_get (
      json_array_get (json_object_get (json_object_get (probed, "status"), "containerStatuses"), 0), "ready")));
  json_t *slice = find_item (res, "EndpointSlice", "web-");
  json_t *eps = json_object_get (slice, "endpoints");
  ck_assert_uint_eq (json_array_size (eps), 2);
  size_t i;
  json_t *ep;
  json_array_foreach (eps, i, ep)
    {
      const char *addr = json_string_value (json_array_get (json_object_get (ep, "addresses"), 0));
      json_t *cond = json_object_get (ep, "conditions");
      bool is_probed = strcmp (addr, probed_ip) == 0;
      ck_assert (json_is_true (json_object_get (cond, "ready")) == !is_probed);
      ck_assert (json_is_true (json_object_get (cond, "serving")) == !is_probed);
      ck_assert (json_is_false (json_object_get (cond, "terminating")));
    }
  json_t *subset = json_array_get (json_object_get (find_item (res, "Endpoints", "web"), "subsets"), 0);
  ck_assert_str_eq (json_string_value (json_object_get (json_array_get (json_object_get (subset, "addresses"), 0), "ip")),
                    plain_ip);
  ck_assert_str_eq (
      json_string_value (json_object_get (json_array_get (json_object_get (subset, "notReadyAddresses"), 0), "ip")),
      probed_ip);
  json_decref (res);
  objects_free (o);

  /* The snapshot round trip keeps which pods and endpoints are not ready. */
  struct plan *p = plan_from_model (m), *back = NULL;
  json_t *j = plan_to_json (p);
  ck_assert_int_eq (plan_from_json (j, &back, &err), 0);
  const struct lab_svc_port *bp = NULL;
  for (size_t k = 0; k < back->objects->n_services; k++)
    if (strcmp (back->objects->services[k].name, "web") == 0)
      bp = &back->objects->services[k].ports[0];
  ck_assert_ptr_nonnull (bp);
  ck_assert_uint_eq (bp->n_endpoints, 1);
  ck_assert_uint_eq (bp->n_not_ready, 1);
  ck_assert_str_eq (bp->not_ready[0].pod, "probed");
  for (size_t k = 0; k < back->objects->n_pods; k++)
    ck_assert (back->objects->pods[k].ready == (strcmp (back->objects->pods[k].name, "plain") == 0));
  json_decref (j);
  plan_free (back);
  plan_free (p);
  model_free (m);

  /* Once the probes passed: both endpoints ready. */
  m = build (sc);
  s = find_service (m, "demo", "web");
  ck_assert_uint_eq (s->ports[0].n_endpoints, 2);
  ck_assert_uint_eq (s->ports[0].n_not_ready, 0);
  model_free (m);
  scenario_free (sc);
}
END_TEST

/* up's lab, when up knows the first probe's result: a TCP probe on the
 * port of the built-in http app (its default probe) or of coredns starts
 * ready, in the rules; a probe on another port, an http probe and a
 * command app's probe start not ready. */
START_TEST (test_starting_decided_probes)
{
  static const char lab[] = "[lab]\nname = rd\ntemplate = k3s\n"
                            "[node cp1]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.56.10\n"
                            "[pod demo/own]\nlabels = app=web\napp = http:80\n"
                            "[pod demo/explicit]\nlabels = app=web\napp = http:80\nreadiness = tcp:80\n"
                            "[pod demo/other]\nlabels = app=web\napp = http:80\nreadiness = tcp:81\n"
                            "[pod demo/get]\nlabels = app=web\napp = http:80\nreadiness = http:80/\n"
                            "[pod demo/cmd]\nlabels = app=web\napp = command\ncommand = sleep 1000\nreadiness = tcp:80\n"
                            "[service demo/web]\nselector = app=web\nports = http:80\n";
  cleanup_free char *path = unit_write_file ("rd.ini", lab);
  struct scenario *sc = load (path);
  struct model *m = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (model_build_starting (sc, &m, &err), 0);
  size_t n_dns = 0;
  for (size_t i = 0; i < m->n_pods; i++)
    {
      const char *name = m->pods[i].name;
      bool dns = strncmp (name, "coredns-", 8) == 0;
      n_dns += dns;
      bool decided = dns || strcmp (name, "own") == 0 || strcmp (name, "explicit") == 0;
      ck_assert_msg (m->pods[i].ready == decided, "%s", name);
    }
  ck_assert_uint_eq (n_dns, 1);
  const struct model_service *s = find_service (m, "demo", "web");
  ck_assert_uint_eq (s->ports[0].n_endpoints, 2);
  ck_assert_uint_eq (s->ports[0].n_not_ready, 3);
  cleanup_free char *ipt = iptables_node_payload (m, 0);
  for (size_t i = 0; i < s->ports[0].n_endpoints; i++)
    {
      char ip[IP_STRLEN];
      ip_fmt (m->pods[s->ports[0].endpoints[i].pod].ip, ip);
      cleanup_free char *dnat = xasprintf ("--to-destination %s:80", ip);
      ck_assert_ptr_nonnull (strstr (ipt, dnat));
    }
  model_free (m);
  scenario_free (sc);
}
END_TEST

/* k3s servicelb (pkg/cloudprovider/servicelb.go): a DaemonSet
 * svclb-NAME-UID8 per LoadBalancer with one pod per node, named as the
 * DaemonSet controller's generateName does, after every other pod (their
 * addresses stay), running klipper-lb's entry script with the container's
 * environment filled in (the script's own lines, klipper-lb/entry). */
static const char *long_lb_lab = "[lab]\nname = lb\ntemplate = k3s\n"
                                 "[node cp1]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.56.10\n"
                                 "[pod default/one]\nlabels = app=one\napp = http:80\n"
                                 "[service default/a-service-name-of-exactly-forty-seven-character--x]\n"
                                 "type = LoadBalancer\nselector = app=one\nports = 80\n";

static const char *two_lb_lab = "[lab]\nname = lb2\ntemplate = k3s\n"
                                "[node cp1]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.56.10\n"
                                "[node w1]\nrole = worker\nnics = enp0s8=hostonly:192.168.56.11\n"
                                "[pod default/one]\nlabels = app=one\nnode = w1\napp = http:80\n"
                                "[service default/first]\ntype = LoadBalancer\nselector = app=one\nports = 80\n"
                                "[service default/second]\ntype = LoadBalancer\nselector = app=one\nports = a:8080, b:80->81\n"
                                "[service default/third]\ntype = LoadBalancer\nselector = app=one\nports = 80/udp\n";

START_TEST (test_servicelb)
{
  struct scenario *sc = load (NSLAB_SRCDIR "/labs/k3s-services.ini");
  struct model *m = build (sc);
  char uid[37];
  cleanup_free char *key = service_uid_key ("svc", "kube-system", "traefik");
  uid_from_key (key, uid);
  ck_assert_int_eq (uid[14], '4');
  cleanup_free char *ds = xasprintf ("svclb-traefik-%.8s", uid);
  int seen[2] = { 0, 0 };
  size_t first_svclb = m->n_pods;
  for (size_t i = 0; i < m->n_pods; i++)
    {
      const struct model_pod *p = &m->pods[i];
      if (p->wl->kind != WL_DAEMONSET)
        {
          ck_assert_uint_lt (i, first_svclb); /* the others first */
          continue;
        }
      if (first_svclb == m->n_pods)
        first_svclb = i;
      ck_assert_str_eq (p->ns, "kube-system");
      ck_assert (p->replicaset == NULL);
      if (strcmp (p->wl->name, ds) != 0)
        continue;
      ck_assert_uint_eq (strlen (p->name), strlen (ds) + 6);
      ck_assert (strncmp (p->name, ds, strlen (ds)) == 0 && p->name[strlen (ds)] == '-');
      ck_assert_uint_eq (strspn (p->name + strlen (ds) + 1, "bcdfghjklmnpqrstvwxz2456789"), 5);
      seen[p->node]++;
      cleanup_free char *script = servicelb_entry_script (m, p);
      ck_assert_str_eq (script, "set -e; [ \"$(cat /proc/sys/net/ipv4/ip_forward)\" = 1 ]"
                                "; iptables -t filter -I FORWARD -s 0.0.0.0/0 -p TCP --dport 80 -j ACCEPT"
                                "; iptables -t filter -A FORWARD -d 10.43.121.230/32 -p TCP --dport 80 -j DROP"
                                "; iptables -t nat -I PREROUTING ! -s 10.43.121.230/32 -p TCP --dport 80 -j DNAT --to 10.43.121.230:80"
                                "; iptables -t nat -I POSTROUTING -d 10.43.121.230/32 -p TCP -j MASQUERADE"
                                "; iptables -t filter -I FORWARD -s 0.0.0.0/0 -p TCP --dport 443 -j ACCEPT"
                                "; iptables -t filter -A FORWARD -d 10.43.121.230/32 -p TCP --dport 443 -j DROP"
                                "; iptables -t nat -I PREROUTING ! -s 10.43.121.230/32 -p TCP --dport 443 -j DNAT --to 10.43.121.230:443"
                                "; iptables -t nat -I POSTROUTING -d 10.43.121.230/32 -p TCP -j MASQUERADE"
                                "; exec sleep infinity 3>&-");
    }
  ck_assert_int_eq (seen[0], 1);
  ck_assert_int_eq (seen[1], 1);
  ck_assert_uint_eq (m->n_pods - first_svclb, 4); /* traefik and web-lb on both nodes */
  /* servicelb's EXTERNAL-IP: both nodes run a ready svclb pod of each; with
   * ETP Local only w1, the node of web's one pod, counts (getStatus's
   * readyNodes); traefik's Cluster policy keeps both. */
  const struct model_service *web_lb = find_service (m, "default", "web-lb"), *traefik = find_service (m, "kube-system", "traefik");
  char ipb[IP_STRLEN];
  ck_assert_uint_eq (web_lb->n_lb_ips, 1);
  ck_assert_str_eq (ip_fmt (web_lb->lb_ips[0], ipb), "192.168.56.11");
  ck_assert_uint_eq (traefik->n_lb_ips, 2);
  /* web-lb: ETP Local, so the node's own address and the NodePort, and
   * only the lab host's range. */
  for (size_t i = first_svclb; i < m->n_pods; i++)
    if (strncmp (m->pods[i].name, "svclb-web-lb-", 13) == 0 && m->pods[i].node == 1)
      {
        const struct model_service *lb = find_service (m, "default", "web-lb");
        cleanup_free char *script = servicelb_entry_script (m, &m->pods[i]);
        cleanup_free char *want = xasprintf ("set -e; [ \"$(cat /proc/sys/net/ipv4/ip_forward)\" = 1 ]"
            "; iptables -t filter -I FORWARD -s 192.168.56.1/32 -p TCP --dport 30226 -j ACCEPT"
            "; iptables -t filter -A FORWARD -d 192.168.56.11/32 -p TCP --dport %u -j DROP"
            "; iptables -t nat -I PREROUTING ! -s 192.168.56.11/32 -p TCP --dport 8081 -j DNAT --to 192.168.56.11:%u"
            "; iptables -t nat -I POSTROUTING -d 192.168.56.11/32 -p TCP -j MASQUERADE; exec sleep infinity 3>&-",
            lb->ports[0].node_port, lb->ports[0].node_port);
        ck_assert_str_eq (script, want);
      }
  /* The svclb pods, and only they, start once their script closes the
   * ready fd: its rules are in when up returns. */
  struct plan *pl = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (plan_build (sc, &pl, &err), 0);
  size_t with_fd = 0, commands = 0;
  for (size_t k = 0; k < pl->n_ops; k++)
    if (pl->ops[k].kind == OP_PROCESS && pl->ops[k].u.proc.app.kind == APP_COMMAND)
      {
        const struct plan_process *pr = &pl->ops[k].u.proc;
        commands++;
        ck_assert_int_eq (pr->app.ready_fd, strncmp (pr->owner.name, "svclb-", 6) == 0);
        with_fd += pr->app.ready_fd;
      }
  ck_assert_uint_eq (with_fd, 4);
  ck_assert_uint_gt (commands, with_fd);
  plan_free (pl);
  model_free (m);
  scenario_free (sc);
  /* The name cut to 48 characters, and not at a '-'. */
  cleanup_free char *path = unit_write_file ("longlb.ini", long_lb_lab);
  sc = load (path);
  bool found = false;
  for (size_t i = 0; i < sc->n_workloads; i++)
    if (sc->workloads[i].kind == WL_DAEMONSET)
      {
        found = true;
        ck_assert (strncmp (sc->workloads[i].name, "svclb-a-service-name-of-exactly-forty-seven-character-", 54) == 0);
        ck_assert (sc->workloads[i].name[54] != '-');
        ck_assert_uint_eq (strlen (sc->workloads[i].name), strlen ("svclb-") + 47 + 1 + 8);
      }
  ck_assert (found);
  scenario_free (sc);
  /* Two LoadBalancers on one port: the scheduler's NodePorts filter keeps
   * the second's svclb pods Pending (left out here), and servicelb leaves
   * its EXTERNAL-IP <pending>; the first has every node. */
  cleanup_free char *path2 = unit_write_file ("twolb.ini", two_lb_lab);
  sc = load (path2);
  struct model *m2 = build (sc);
  size_t first = 0, second = 0;
  for (size_t i = 0; i < m2->n_pods; i++)
    {
      first += strncmp (m2->pods[i].name, "svclb-first-", 12) == 0;
      second += strncmp (m2->pods[i].name, "svclb-second-", 13) == 0;
    }
  ck_assert_uint_eq (first, 2);
  ck_assert_uint_eq (second, 0);
  ck_assert_uint_eq (find_service (m2, "default", "first")->n_lb_ips, 2);
  ck_assert_uint_eq (find_service (m2, "default", "second")->n_lb_ips, 0);
  ck_assert_uint_eq (find_service (m2, "default", "third")->n_lb_ips, 2);
  model_free (m2);
  scenario_free (sc);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("model");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_ip_parse);
  tcase_add_test (tc, test_cidr_math);
  tcase_add_test (tc, test_names);
  tcase_add_test (tc, test_seed_model);
  tcase_add_test (tc, test_headless_and_dns_off);
  tcase_add_test (tc, test_starting_readiness);
  tcase_add_test (tc, test_starting_decided_probes);
  tcase_add_test (tc, test_model_deterministic);
  tcase_add_test (tc, test_allocation_kubeadm);
  tcase_add_test (tc, test_load_balancer_pool);
  tcase_add_test (tc, test_servicelb);
  tcase_add_test (tc, test_hypervisor_macs);
  tcase_add_test (tc, test_weave_ipam_ranges);
  tcase_add_test (tc, test_weave_seed_lab);
  tcase_add_test (tc, test_hostgw_needs_one_segment);
  tcase_add_test (tc, test_subnet_full);
  tcase_add_test (tc, test_golden_plans);
  tcase_add_test (tc, test_seed_cp1_matches_seed);
  tcase_add_test (tc, test_plan_json_parses);
  tcase_add_test (tc, test_plan_json_round_trip);
  tcase_add_test (tc, test_plan_text_escapes);
  tcase_add_test (tc, test_plan_json_damaged);
  tcase_add_test (tc, test_workload_image);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
