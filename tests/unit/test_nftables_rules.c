/* kube-proxy's nftables mode: the table nslab writes against the expected
 * dump of kube-proxy's own TestOverallNFTablesRules (pkg/proxy/nftables/
 * proxier_test.go, baseRules + its services), compared the way that test
 * compares (sortNFTablesTransaction); the resync transaction; and, as root,
 * both through the real kernel (libnftables in a private namespace). */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/ipaddr.h"
#include "k8s/model.h"
#include "kernel/nftables.h"
#include "plan/kube_proxy_nftables.h"

/* ---- model fixture: kube-proxy's NewFakeProxier conventions ------------
 * Pod IPs 10.0.0.0/8, ClusterIPs 172.30.0.0/16, node IP 192.168.0.2
 * (nodePortAddresses = that /32, as "primary" gives on a node). */

static struct scenario sc;
static struct model mdl;

static uint32_t
ip (const char *s)
{
  uint32_t a = 0;
  ck_assert_msg (ip_parse (s, &a), "bad ip %s", s);
  return a;
}

static void
fx_reset (void)
{
  for (size_t i = 0; i < mdl.n_nodes; i++)
    {
      free (mdl.nodes[i].name);
      free (mdl.nodes[i].nics);
    }
  free (mdl.nodes);
  for (size_t s = 0; s < mdl.n_services; s++)
    {
      struct model_service *v = &mdl.services[s];
      for (size_t p = 0; p < v->n_ports; p++)
        {
          free (v->ports[p].name);
          free (v->ports[p].endpoints);
        }
      free (v->ports);
      free (v->lb_ips);
      free (v->ns);
      free (v->name);
    }
  free (mdl.services);
  memset (&sc, 0, sizeof sc);
  memset (&mdl, 0, sizeof mdl);
}

static void
fx_fake_proxier (void)
{
  fx_reset ();
  sc.cluster.proxy_mode = PROXY_NFTABLES;
  sc.cluster.masquerade_bit = 14;
  ck_assert (cidr_parse ("10.0.0.0/8", &sc.cluster.pod_cidr, true));
  ck_assert (cidr_parse ("172.30.0.0/16", &sc.cluster.service_cidr, true));
  mdl.sc = &sc;
  mdl.nodes = xcalloc (1, sizeof *mdl.nodes);
  mdl.n_nodes = 1;
  mdl.nodes[0].name = xstrdup ("test-node");
  mdl.nodes[0].internal_ip = ip ("192.168.0.2");
}

static size_t
fx_service (const char *ns, const char *name, enum svc_type type, const char *cluster_ip, const char *port_name,
            uint16_t port, uint16_t node_port)
{
  struct model_service *s = VEC_PUSH (mdl.services, mdl.n_services);
  s->ns = xstrdup (ns);
  s->name = xstrdup (name);
  s->type = type;
  s->cluster_ip = ip (cluster_ip);
  struct model_svc_port *p = VEC_PUSH (s->ports, s->n_ports);
  p->name = port_name ? xstrdup (port_name) : NULL;
  p->port = port;
  p->target_port = port;
  p->protocol = PROTO_TCP;
  p->node_port = node_port;
  return mdl.n_services - 1;
}

static void
fx_endpoint (size_t svc, const char *addr, uint16_t port)
{
  struct model_svc_port *p = &mdl.services[svc].ports[0];
  struct model_endpoint *e = VEC_PUSH (p->endpoints, p->n_endpoints);
  e->ip = ip (addr);
  e->port = port;
  e->pod = -1;
  /* No NodeName, as in kube-proxy's test slices: not on the test node. */
  e->node = -1;
}

/* An endpoint with NodeName = testNodeName (node 0). */
static void
fx_local_endpoint (size_t svc, const char *addr, uint16_t port)
{
  fx_endpoint (svc, addr, port);
  struct model_svc_port *p = &mdl.services[svc].ports[0];
  p->endpoints[p->n_endpoints - 1].node = 0;
}

/* TestOverallNFTablesRules' services: svc1 (ClusterIP), svc2
 * (LoadBalancer, externalTrafficPolicy Local, an externalIP, its one
 * endpoint on another node), svc3 (NodePort), svc4 (NodePort without a
 * node port, an externalIP, one endpoint here and one elsewhere), svc5
 * (LoadBalancer with source ranges and ClientIP affinity), svc6 (no
 * endpoints). svc2 and svc5 have health-check node ports, which nftables
 * mode leaves to kube-proxy's health server (no rule). svc2 and svc4 come
 * last so the resync tests' indexes stay those of the others. */
static const uint32_t *
fx_addrs (const char *a)
{
  static uint32_t store[4];
  static size_t used;
  uint32_t *p = &store[used++ % 4];
  *p = ip (a);
  return p;
}

static void
fx_overall (void)
{
  fx_fake_proxier ();
  size_t s = fx_service ("ns1", "svc1", SVC_CLUSTER_IP, "172.30.0.41", "p80", 80, 0);
  fx_endpoint (s, "10.180.0.1", 80);
  s = fx_service ("ns3", "svc3", SVC_NODE_PORT, "172.30.0.43", "p80", 80, 3003);
  fx_endpoint (s, "10.180.0.3", 80);
  s = fx_service ("ns5", "svc5", SVC_LOAD_BALANCER, "172.30.0.45", "p80", 80, 3002);
  fx_endpoint (s, "10.180.0.3", 80);
  mdl.services[s].affinity_client_ip = true;
  mdl.services[s].affinity_timeout = 10800;
  uint32_t *lb = VEC_PUSH (mdl.services[s].lb_ips, mdl.services[s].n_lb_ips);
  *lb = ip ("5.6.7.8");
  static struct cidr ranges[1];
  ck_assert (cidr_parse ("203.0.113.0/25", &ranges[0], true));
  mdl.services[s].source_ranges = ranges;
  mdl.services[s].n_source_ranges = 1;
  mdl.services[s].hc_node_port = 30000;
  fx_service ("ns6", "svc6", SVC_CLUSTER_IP, "172.30.0.46", "p80", 80, 0);

  s = fx_service ("ns2", "svc2", SVC_LOAD_BALANCER, "172.30.0.42", "p80", 80, 3001);
  fx_endpoint (s, "10.180.0.2", 80);
  mdl.services[s].etp_local = true;
  lb = VEC_PUSH (mdl.services[s].lb_ips, mdl.services[s].n_lb_ips);
  *lb = ip ("1.2.3.4");
  mdl.services[s].external_ips = fx_addrs ("192.168.99.22");
  mdl.services[s].n_external_ips = 1;
  mdl.services[s].hc_node_port = 30000;
  s = fx_service ("ns4", "svc4", SVC_NODE_PORT, "172.30.0.44", "p80", 80, 0);
  fx_endpoint (s, "10.180.0.4", 80);
  fx_local_endpoint (s, "10.180.0.5", 80);
  mdl.services[s].external_ips = fx_addrs ("192.168.99.33");
  mdl.services[s].n_external_ips = 1;
}

/* kube-proxy's expected text, copied from proxier_test.go (baseRules and
 * TestOverallNFTablesRules at kubernetes/kubernetes master, late 2025),
 * whole. */
static const char kube_proxy_expected[] =
  "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }\n"
  "\n"
  "add set ip kube-proxy cluster-ips { type ipv4_addr ; comment \"Active ClusterIPs\" ; }\n"
  "add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }\n"
  "\n"
  "add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }\n"
  "add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to service nodeports with no endpoints\" ; }\n"
  "add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to services with no endpoints\" ; }\n"
  "add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }\n"
  "add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment \"NodePort traffic\" ; }\n"
  "\n"
  "add chain ip kube-proxy cluster-ips-check\n"
  "add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }\n"
  "add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }\n"
  "add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }\n"
  "add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }\n"
  "add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }\n"
  "add chain ip kube-proxy firewall-check\n"
  "add chain ip kube-proxy mark-for-masquerade\n"
  "add chain ip kube-proxy masquerading\n"
  "add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }\n"
  "add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }\n"
  "add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }\n"
  "add chain ip kube-proxy nodeport-endpoints-check\n"
  "add chain ip kube-proxy reject-chain { comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ; }\n"
  "add chain ip kube-proxy services\n"
  "add chain ip kube-proxy service-endpoints-check\n"
  "\n"
  "add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"\n"
  "add rule ip kube-proxy cluster-ips-check ip daddr { 172.30.0.0/16 } drop comment \"Drop traffic to unallocated ClusterIPs\"\n"
  "add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check\n"
  "add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check\n"
  "add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check\n"
  "add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check\n"
  "add rule ip kube-proxy filter-input ct state new jump service-endpoints-check\n"
  "add rule ip kube-proxy filter-output ct state new jump service-endpoints-check\n"
  "add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check\n"
  "add rule ip kube-proxy filter-output ct state new jump cluster-ips-check\n"
  "add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips\n"
  "add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000\n"
  "add rule ip kube-proxy masquerading mark and 0x4000 == 0 return\n"
  "add rule ip kube-proxy masquerading mark set mark xor 0x4000\n"
  "add rule ip kube-proxy masquerading masquerade fully-random\n"
  "add rule ip kube-proxy nat-output jump services\n"
  "add rule ip kube-proxy nat-postrouting jump masquerading\n"
  "add rule ip kube-proxy nat-prerouting jump services\n"
  "add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports\n"
  "add rule ip kube-proxy reject-chain reject\n"
  "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips\n"
  "add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports\n"
  "\n"
  "add element ip kube-proxy nodeport-ips { 192.168.0.2 }\n"
  "add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services\n"
  "# svc1\n"
  "add chain ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80\n"
  "add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade\n"
  "add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 }\n"
  "\n"
  "add chain ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80\n"
  "add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 ip saddr 10.180.0.1 jump mark-for-masquerade\n"
  "add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 meta l4proto tcp dnat to 10.180.0.1:80\n"
  "\n"
  "add element ip kube-proxy cluster-ips { 172.30.0.41 }\n"
  "add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }\n"
  "\n"
  "# svc2\n"
  "add chain ip kube-proxy service-42NFTM6N-ns2/svc2/tcp/p80\n"
  "add rule ip kube-proxy service-42NFTM6N-ns2/svc2/tcp/p80 ip daddr 172.30.0.42 ip saddr != 10.0.0.0/8 jump mark-for-masquerade\n"
  "add rule ip kube-proxy service-42NFTM6N-ns2/svc2/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 }\n"
  "add chain ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80\n"
  "add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 ip saddr 10.0.0.0/8 goto service-42NFTM6N-ns2/svc2/tcp/p80 comment \"short-circuit pod traffic\"\n"
  "add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\"\n"
  "add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 fib saddr type local goto service-42NFTM6N-ns2/svc2/tcp/p80 comment \"short-circuit local traffic\"\n"
  "add chain ip kube-proxy endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80\n"
  "add rule ip kube-proxy endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 ip saddr 10.180.0.2 jump mark-for-masquerade\n"
  "add rule ip kube-proxy endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 meta l4proto tcp dnat to 10.180.0.2:80\n"
  "\n"
  "add element ip kube-proxy cluster-ips { 172.30.0.42 }\n"
  "add element ip kube-proxy service-ips { 172.30.0.42 . tcp . 80 : goto service-42NFTM6N-ns2/svc2/tcp/p80 }\n"
  "add element ip kube-proxy service-ips { 192.168.99.22 . tcp . 80 : goto external-42NFTM6N-ns2/svc2/tcp/p80 }\n"
  "add element ip kube-proxy service-ips { 1.2.3.4 . tcp . 80 : goto external-42NFTM6N-ns2/svc2/tcp/p80 }\n"
  "add element ip kube-proxy service-nodeports { tcp . 3001 : goto external-42NFTM6N-ns2/svc2/tcp/p80 }\n"
  "\n"
  "add element ip kube-proxy no-endpoint-nodeports { tcp . 3001 comment \"ns2/svc2:p80\" : drop }\n"
  "add element ip kube-proxy no-endpoint-services { 1.2.3.4 . tcp . 80 comment \"ns2/svc2:p80\" : drop }\n"
  "add element ip kube-proxy no-endpoint-services { 192.168.99.22 . tcp . 80 comment \"ns2/svc2:p80\" : drop }\n"
  "\n"
  "# svc3\n"
  "add chain ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80\n"
  "add rule ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80 ip daddr 172.30.0.43 ip saddr != 10.0.0.0/8 jump mark-for-masquerade\n"
  "add rule ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 }\n"
  "add chain ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80\n"
  "add rule ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80 jump mark-for-masquerade\n"
  "add rule ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80 goto service-4AT6LBPK-ns3/svc3/tcp/p80\n"
  "add chain ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80\n"
  "add rule ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 ip saddr 10.180.0.3 jump mark-for-masquerade\n"
  "add rule ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80 meta l4proto tcp dnat to 10.180.0.3:80\n"
  "\n"
  "add element ip kube-proxy cluster-ips { 172.30.0.43 }\n"
  "add element ip kube-proxy service-ips { 172.30.0.43 . tcp . 80 : goto service-4AT6LBPK-ns3/svc3/tcp/p80 }\n"
  "add element ip kube-proxy service-nodeports { tcp . 3003 : goto external-4AT6LBPK-ns3/svc3/tcp/p80 }\n"
  "\n"
  "# svc4\n"
  "add chain ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80\n"
  "add rule ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80 ip daddr 172.30.0.44 ip saddr != 10.0.0.0/8 jump mark-for-masquerade\n"
  "add rule ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80 numgen random mod 2 vmap { 0 : goto endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80 , 1 : goto endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 }\n"
  "add chain ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80\n"
  "add rule ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80 jump mark-for-masquerade\n"
  "add rule ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80 goto service-LAUZTJTB-ns4/svc4/tcp/p80\n"
  "add chain ip kube-proxy endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80\n"
  "add rule ip kube-proxy endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 ip saddr 10.180.0.5 jump mark-for-masquerade\n"
  "add rule ip kube-proxy endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 meta l4proto tcp dnat to 10.180.0.5:80\n"
  "add chain ip kube-proxy endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80\n"
  "add rule ip kube-proxy endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80 ip saddr 10.180.0.4 jump mark-for-masquerade\n"
  "add rule ip kube-proxy endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80 meta l4proto tcp dnat to 10.180.0.4:80\n"
  "\n"
  "add element ip kube-proxy cluster-ips { 172.30.0.44 }\n"
  "add element ip kube-proxy service-ips { 172.30.0.44 . tcp . 80 : goto service-LAUZTJTB-ns4/svc4/tcp/p80 }\n"
  "add element ip kube-proxy service-ips { 192.168.99.33 . tcp . 80 : goto external-LAUZTJTB-ns4/svc4/tcp/p80 }\n"
  "\n"
  "# svc5\n"
  "add set ip kube-proxy affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }\n"
  "add chain ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80\n"
  "add rule ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80 ip daddr 172.30.0.45 ip saddr != 10.0.0.0/8 jump mark-for-masquerade\n"
  "add rule ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80 ip saddr @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 goto endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80\n"
  "add rule ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 }\n"
  "add chain ip kube-proxy external-HVFWP5L3-ns5/svc5/tcp/p80\n"
  "add rule ip kube-proxy external-HVFWP5L3-ns5/svc5/tcp/p80 jump mark-for-masquerade\n"
  "add rule ip kube-proxy external-HVFWP5L3-ns5/svc5/tcp/p80 goto service-HVFWP5L3-ns5/svc5/tcp/p80\n"
  "\n"
  "add chain ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80\n"
  "add rule ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 ip saddr 10.180.0.3 jump mark-for-masquerade\n"
  "add rule ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 update @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 { ip saddr }\n"
  "add rule ip kube-proxy endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 meta l4proto tcp dnat to 10.180.0.3:80\n"
  "\n"
  "add chain ip kube-proxy firewall-HVFWP5L3-ns5/svc5/tcp/p80\n"
  "add rule ip kube-proxy firewall-HVFWP5L3-ns5/svc5/tcp/p80 ip saddr != { 203.0.113.0/25 } drop\n"
  "\n"
  "add element ip kube-proxy cluster-ips { 172.30.0.45 }\n"
  "add element ip kube-proxy service-ips { 172.30.0.45 . tcp . 80 : goto service-HVFWP5L3-ns5/svc5/tcp/p80 }\n"
  "add element ip kube-proxy service-ips { 5.6.7.8 . tcp . 80 : goto external-HVFWP5L3-ns5/svc5/tcp/p80 }\n"
  "add element ip kube-proxy service-nodeports { tcp . 3002 : goto external-HVFWP5L3-ns5/svc5/tcp/p80 }\n"
  "add element ip kube-proxy firewall-ips { 5.6.7.8 . tcp . 80 : goto firewall-HVFWP5L3-ns5/svc5/tcp/p80 }\n"
  "\n"
  "# svc6\n"
  "add element ip kube-proxy cluster-ips { 172.30.0.46 }\n"
  "add element ip kube-proxy no-endpoint-services { 172.30.0.46 . tcp . 80 comment \"ns6/svc6:p80\" : goto reject-chain }\n";

/* ---- sortNFTablesTransaction (helpers_test.go), in C ------------------- */

struct line {
  char *text;
  char *type;  /* word 1: table, chain, rule, set, map, element */
  char *name;  /* word 4: the object's name */
  size_t words;
  size_t index;
};

static int
object_order (const char *t)
{
  static const char *const order[] = { "table", "chain", "rule", "set", "map", "element" };
  for (size_t i = 0; i < 6; i++)
    if (strcmp (t, order[i]) == 0)
      return 10 - (int) i;
  return 0;
}

static int
cmp_line (const void *a, const void *b)
{
  const struct line *x = a, *y = b;
  if (x->words >= 5 && y->words >= 5)
    {
      if (strcmp (x->type, y->type) != 0)
        return object_order (x->type) > object_order (y->type) ? -1 : 1;
      int c = strcmp (x->name, y->name);
      if (c)
        return c;
      /* Rules keep the order they were added in. */
      if (strcmp (x->type, "rule") != 0 && (c = strcmp (x->text, y->text)) != 0)
        return c;
    }
  return x->index < y->index ? -1 : x->index > y->index;
}

static char *
word (const char *s, size_t n)
{
  for (size_t i = 0; i < n && s; i++)
    s = strchr (s, ' ') ? strchr (s, ' ') + 1 : NULL;
  return s ? xstrndup (s, strcspn (s, " ")) : xstrdup ("");
}

static char *
sort_transaction (const char *tx)
{
  struct line *v = NULL;
  size_t n = 0;
  for (const char *l = tx; *l;)
    {
      size_t len = strcspn (l, "\n");
      if (len > 0 && l[0] != '#')
        {
          struct line *x = VEC_PUSH (v, n);
          x->text = xstrndup (l, len);
          x->type = word (x->text, 1);
          x->name = word (x->text, 4);
          x->words = 1;
          for (const char *c = x->text; *c; c++)
            x->words += *c == ' ';
          x->index = n;
        }
      l += len + (l[len] == '\n');
    }
  qsort (v, n, sizeof *v, cmp_line);
  struct strbuf sb;
  sb_init (&sb);
  for (size_t i = 0; i < n; i++)
    {
      sb_addf (&sb, "%s\n", v[i].text);
      free (v[i].text);
      free (v[i].type);
      free (v[i].name);
    }
  free (v);
  return sb_steal (&sb);
}

/* kube-proxy's NewProxier writes the mark as "%#08x" (0x00004000); the
   unit tests' fake proxier sets "0x4000" directly. */
static char *
fake_proxier_mark (const char *payload)
{
  struct strbuf sb;
  sb_init (&sb);
  for (const char *p = payload; *p;)
    {
      const char *m = strstr (p, "0x00004000");
      if (m == NULL)
        {
          sb_add (&sb, p);
          break;
        }
      sb_addn (&sb, p, (size_t) (m - p));
      sb_add (&sb, "0x4000");
      p = m + 10;
    }
  return sb_steal (&sb);
}

/* ---- tests ------------------------------------------------------------- */

START_TEST (test_chain_names)
{
  char out[256];
  /* Names from proxier_test.go. */
  ck_assert_str_eq (kube_nft_hash_name (out, "service-", "ns1/svc1/tcp/p80"), "service-ULMVA6XW-ns1/svc1/tcp/p80");
  ck_assert_str_eq (kube_nft_hash_name (out, "endpoint-", "ns1/svc1/tcp/p80__10.180.0.1/80"),
                    "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80");
  ck_assert_str_eq (kube_nft_hash_name (out, "external-", "ns2/svc2/tcp/p80"), "external-42NFTM6N-ns2/svc2/tcp/p80");
  ck_assert_str_eq (kube_nft_hash_name (out, "endpoint-", "ns4/svc4/tcp/p80__10.180.0.5/80"),
                    "endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80");
  /* Over 240 characters: truncated with "...", hash of the whole name. */
  char longname[300];
  memset (longname, 'a', 290);
  longname[290] = '\0';
  kube_nft_hash_name (out, "endpoint-", longname);
  ck_assert_uint_eq (strlen (out), 9 + 240);
  ck_assert_str_eq (out + strlen (out) - 3, "...");
}
END_TEST

START_TEST (test_overall_matches_kube_proxy)
{
  fx_overall ();
  cleanup_free char *pl = nftables_node_payload (&mdl, 0, NULL);
  ck_assert_ptr_nonnull (pl);
  cleanup_free char *faked = fake_proxier_mark (pl);
  cleanup_free char *got = sort_transaction (faked);
  cleanup_free char *want = sort_transaction (kube_proxy_expected);
  ck_assert_str_eq (got, want);
  ck_assert_ptr_null (nftables_node_payload (&mdl, 1, NULL));
}
END_TEST

START_TEST (test_real_mark_and_lines_in_add_order)
{
  fx_overall ();
  cleanup_free char *pl = nftables_node_payload (&mdl, 0, NULL);
  ck_assert_ptr_nonnull (strstr (pl, "add rule ip kube-proxy mark-for-masquerade mark set mark or 0x00004000\n"));
  /* Each element once, however many ports share the ClusterIP. */
  const char *el = strstr (pl, "cluster-ips { 172.30.0.41 }");
  ck_assert (el && strstr (el + 1, "cluster-ips { 172.30.0.41 }") == NULL);
  /* Every chain is added before anything refers to it (nft -f needs it):
     the endpoint chains come before the numgen rule that jumps to them. */
  const char *ep = strstr (pl, "add chain ip kube-proxy endpoint-5OJB2KTY-");
  const char *ng = strstr (pl, "numgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-");
  ck_assert (ep && ng && ep < ng);
}
END_TEST

START_TEST (test_two_ports_one_cluster_ip_element)
{
  fx_fake_proxier ();
  size_t s = fx_service ("ns2", "svc2", SVC_CLUSTER_IP, "172.30.0.42", "http", 80, 0);
  struct model_svc_port *p = VEC_PUSH (mdl.services[s].ports, mdl.services[s].n_ports);
  memset (p, 0, sizeof *p);
  p->name = xstrdup ("dns-udp");
  p->port = 53;
  p->protocol = PROTO_UDP;
  cleanup_free char *pl = nftables_node_payload (&mdl, 0, NULL);
  const char *first = strstr (pl, "add element ip kube-proxy cluster-ips { 172.30.0.42 }");
  ck_assert_ptr_nonnull (first);
  ck_assert_ptr_null (strstr (first + 1, "add element ip kube-proxy cluster-ips { 172.30.0.42 }"));
  ck_assert_ptr_nonnull (strstr (pl, "no-endpoint-services { 172.30.0.42 . udp . 53 comment \"ns2/svc2:dns-udp\" : goto reject-chain }"));
  ck_assert_ptr_nonnull (strstr (pl, "no-endpoint-services { 172.30.0.42 . tcp . 80 comment \"ns2/svc2:http\" : goto reject-chain }"));
}
END_TEST

/* The resync: scale svc1 1 -> 2 endpoints, delete svc3, svc6 gains one. */
static void
fx_changed (void)
{
  fx_overall ();
  fx_endpoint (0, "10.180.0.2", 80);
  /* drop svc3 (index 1): free it and move the rest down */
  struct model_service *v = &mdl.services[1];
  free (v->ports[0].name);
  free (v->ports[0].endpoints);
  free (v->ports);
  free (v->lb_ips);
  free (v->ns);
  free (v->name);
  memmove (&mdl.services[1], &mdl.services[2], (mdl.n_services - 2) * sizeof *mdl.services);
  mdl.n_services--;
  fx_endpoint (2, "10.180.0.6", 80);
}

/* kube_proxy_nft_sync_payload, checked against the control loop's path:
 * from OLD's digest the same transaction, and from NEW's digest (as the
 * sync makes it) to NEW again the same as from NEW's text (nothing, or the
 * same full transaction). */
static int
nft_sync_checked (const char *old, const char *new, bool full, char **tx, nslab_error_t *err)
{
  int rc = kube_proxy_nft_sync_payload (old, new, full, tx, err);
  if (rc < 0)
    return rc;
  nslab_error_t e = NULL;
  struct kube_proxy_nft_digest *od = NULL, *nd = NULL;
  ck_assert_int_eq (kube_proxy_nft_digest_new (old, &od, &e), 0);
  cleanup_free char *via = NULL, *again = NULL, *again_text = NULL;
  ck_assert_int_eq (kube_proxy_nft_sync_digest (od, new, full, &via, &nd, &e), 0);
  ck_assert_pstr_eq (via, *tx);
  ck_assert_ptr_nonnull (nd);
  ck_assert_int_eq (kube_proxy_nft_sync_digest (nd, new, full, &again, NULL, &e), 0);
  ck_assert_int_eq (kube_proxy_nft_sync_payload (new, new, full, &again_text, &e), 0);
  ck_assert_pstr_eq (again, again_text);
  kube_proxy_nft_digest_free (od);
  kube_proxy_nft_digest_free (nd);
  return rc;
}

/* An element whose key stays and whose value changes, a chain whose rules
 * change, a set's definition and a stale set: the digest (which keeps
 * hashes of lines, not the lines) sees each as the text does. */
START_TEST (test_sync_digest_hashes)
{
  const char *old = "add table ip kube-proxy\n"
                    "add chain ip kube-proxy a\nadd chain ip kube-proxy b\n"
                    "add rule ip kube-proxy a counter\nadd rule ip kube-proxy b counter\n"
                    "add map ip kube-proxy m { type ipv4_addr : verdict ; }\n"
                    "add set ip kube-proxy gone { type ipv4_addr ; }\n"
                    "add element ip kube-proxy m { 1.2.3.4 : goto a }\n"
                    "add element ip kube-proxy m { 1.2.3.5 : goto a }\n";
  const char *new = "add table ip kube-proxy\n"
                    "add chain ip kube-proxy a\nadd chain ip kube-proxy b\n"
                    "add rule ip kube-proxy a counter\nadd rule ip kube-proxy b counter drop\n"
                    "add map ip kube-proxy m { type ipv4_addr : verdict ; }\n"
                    "add element ip kube-proxy m { 1.2.3.4 : goto b }\n"
                    "add element ip kube-proxy m { 1.2.3.5 : goto a }\n";
  cleanup_free char *tx = NULL;
  ck_assert_int_eq (nft_sync_checked (old, new, false, &tx, NULL), 0);
  ck_assert_str_eq (tx, "flush chain ip kube-proxy b\n"
                        "add rule ip kube-proxy b counter drop\n"
                        "delete element ip kube-proxy m { 1.2.3.4 }\n"
                        "add element ip kube-proxy m { 1.2.3.4 : goto b }\n"
                        "add set ip kube-proxy gone { type ipv4_addr ; }\n"
                        "delete set ip kube-proxy gone\n");
  /* rules that only move between lines are not the same rules */
  const char *joined = "add table ip kube-proxy\nadd chain ip kube-proxy a\nadd rule ip kube-proxy a counter accept\n";
  const char *split = "add table ip kube-proxy\nadd chain ip kube-proxy a\nadd rule ip kube-proxy a counter\n"
                      "add rule ip kube-proxy a accept\n";
  cleanup_free char *tx2 = NULL;
  ck_assert_int_eq (nft_sync_checked (joined, split, false, &tx2, NULL), 0);
  ck_assert_ptr_nonnull (tx2);
}
END_TEST

START_TEST (test_sync_partial)
{
  fx_overall ();
  cleanup_free char *old = nftables_node_payload (&mdl, 0, NULL);
  fx_changed ();
  cleanup_free char *new = nftables_node_payload (&mdl, 0, NULL);
  cleanup_free char *tx = NULL;
  ck_assert_int_eq (nft_sync_checked (old, new, false, &tx, NULL), 0);
  ck_assert_ptr_nonnull (tx);
  ck_assert_str_eq (tx,
    "add chain ip kube-proxy endpoint-2ZNDXFAB-ns1/svc1/tcp/p80__10.180.0.2/80\n"
    "add chain ip kube-proxy endpoint-BTHVX3FT-ns6/svc6/tcp/p80__10.180.0.6/80\n"
    "add chain ip kube-proxy service-Y3O5BOQO-ns6/svc6/tcp/p80\n"
    "add rule ip kube-proxy endpoint-2ZNDXFAB-ns1/svc1/tcp/p80__10.180.0.2/80 ip saddr 10.180.0.2 jump mark-for-masquerade\n"
    "add rule ip kube-proxy endpoint-2ZNDXFAB-ns1/svc1/tcp/p80__10.180.0.2/80 meta l4proto tcp dnat to 10.180.0.2:80\n"
    "flush chain ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80\n"
    "add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade\n"
    "add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 numgen random mod 2 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 , 1 : goto endpoint-2ZNDXFAB-ns1/svc1/tcp/p80__10.180.0.2/80 }\n"
    "add rule ip kube-proxy endpoint-BTHVX3FT-ns6/svc6/tcp/p80__10.180.0.6/80 ip saddr 10.180.0.6 jump mark-for-masquerade\n"
    "add rule ip kube-proxy endpoint-BTHVX3FT-ns6/svc6/tcp/p80__10.180.0.6/80 meta l4proto tcp dnat to 10.180.0.6:80\n"
    "add rule ip kube-proxy service-Y3O5BOQO-ns6/svc6/tcp/p80 ip daddr 172.30.0.46 ip saddr != 10.0.0.0/8 jump mark-for-masquerade\n"
    "add rule ip kube-proxy service-Y3O5BOQO-ns6/svc6/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-BTHVX3FT-ns6/svc6/tcp/p80__10.180.0.6/80 }\n"
    "delete element ip kube-proxy cluster-ips { 172.30.0.43 }\n"
    "delete element ip kube-proxy service-ips { 172.30.0.43 . tcp . 80 }\n"
    "delete element ip kube-proxy service-nodeports { tcp . 3003 }\n"
    "delete element ip kube-proxy no-endpoint-services { 172.30.0.46 . tcp . 80 }\n"
    "add element ip kube-proxy service-ips { 172.30.0.46 . tcp . 80 : goto service-Y3O5BOQO-ns6/svc6/tcp/p80 }\n"
    "add chain ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80\n"
    "flush chain ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80\n"
    "add chain ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80\n"
    "flush chain ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80\n"
    "add chain ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80\n"
    "flush chain ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80\n"
    "delete chain ip kube-proxy endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80\n"
    "delete chain ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80\n"
    "delete chain ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80\n");
  /* Nothing changed: nothing to do. */
  cleanup_free char *none = NULL;
  ck_assert_int_eq (nft_sync_checked (new, new, false, &none, NULL), 0);
  ck_assert_ptr_null (none);
  /* A full sync writes everything again: every chain flushed and
     rewritten, every map refilled; the affinity sets keep their clients. */
  cleanup_free char *full = NULL;
  ck_assert_int_eq (nft_sync_checked (new, new, true, &full, NULL), 0);
  ck_assert (str_has_prefix (full, "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }\n"));
  ck_assert_ptr_nonnull (strstr (full, "flush chain ip kube-proxy services\n"));
  ck_assert_ptr_nonnull (strstr (full, "flush map ip kube-proxy service-ips\nflush map ip kube-proxy service-nodeports\n"));
  ck_assert_ptr_nonnull (strstr (full, "add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }\n"));
  ck_assert_ptr_null (strstr (full, "flush set ip kube-proxy affinity-"));
}
END_TEST

START_TEST (test_sync_affinity_set_removed)
{
  fx_overall ();
  cleanup_free char *old = nftables_node_payload (&mdl, 0, NULL);
  mdl.services[2].affinity_client_ip = false;
  cleanup_free char *new = nftables_node_payload (&mdl, 0, NULL);
  cleanup_free char *tx = NULL;
  ck_assert_int_eq (nft_sync_checked (old, new, false, &tx, NULL), 0);
  /* The chains that used the set are rewritten before it goes. */
  const char *flush = strstr (tx, "flush chain ip kube-proxy endpoint-GTK6MW7G-");
  const char *del = strstr (tx, "delete set ip kube-proxy affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80\n");
  ck_assert (flush && del && flush < del);
}
END_TEST

START_TEST (test_sync_fixed_change_starts_over)
{
  fx_overall ();
  cleanup_free char *old = nftables_node_payload (&mdl, 0, NULL);
  sc.cluster.masquerade_bit = 15;
  cleanup_free char *new = nftables_node_payload (&mdl, 0, NULL);
  cleanup_free char *tx = NULL;
  ck_assert_int_eq (nft_sync_checked (old, new, false, &tx, NULL), 0);
  /* Only rules changed: partial. */
  ck_assert_ptr_nonnull (strstr (tx, "flush chain ip kube-proxy masquerading\n"));
  /* A set's definition changing cannot be partial: delete and rewrite. */
  fx_overall ();
  mdl.services[2].affinity_timeout = 60;
  cleanup_free char *new2 = nftables_node_payload (&mdl, 0, NULL);
  cleanup_free char *tx2 = NULL;
  ck_assert_int_eq (nft_sync_checked (old, new2, false, &tx2, NULL), 0);
  ck_assert (str_has_prefix (tx2, "add table ip kube-proxy\ndelete table ip kube-proxy\nadd table ip kube-proxy {"));
  nslab_error_t err = NULL;
  cleanup_free char *bad = NULL;
  ck_assert_int_eq (nft_sync_checked (old, "add table ip kube-proxy\nflush ruleset\n", false, &bad, &err), -1);
  ck_assert_str_eq (err->msg, "new payload line 2: cannot read \"flush ruleset\"");
  nslab_error_free (&err);
  /* An element without its closing brace names no key: refused, not read
   * past its line. */
  cleanup_free char *unclosed = NULL;
  ck_assert_int_eq (nft_sync_checked ("add table ip kube-proxy\nadd set ip kube-proxy s { type ipv4_addr ; }\n"
                                      "add element ip kube-proxy s { 10.0.0.1\nadd element ip kube-proxy s { 1 }\n",
                                                 old, false, &unclosed, &err),
                    -1);
  ck_assert_str_eq (err->msg, "old payload line 3: cannot read \"add element ip kube-proxy s { 10.0.0.1\"");
  nslab_error_free (&err);
}
END_TEST

/* A second node (192.168.0.3) for the per-node tests: node 0 is kube-proxy's
   test node, node 1 the other one. */
static void
fx_two_nodes (void)
{
  fx_fake_proxier ();
  mdl.nodes = xrealloc (mdl.nodes, 2 * sizeof *mdl.nodes);
  memset (&mdl.nodes[1], 0, sizeof mdl.nodes[1]);
  mdl.nodes[1].name = xstrdup ("other-node");
  mdl.nodes[1].index = 1;
  mdl.nodes[1].internal_ip = ip ("192.168.0.3");
  mdl.n_nodes = 2;
}

static bool
has_line (const char *payload, const char *line)
{
  cleanup_free char *l = xasprintf ("%s\n", line);
  return strstr (payload, l) != NULL;
}

/* externalTrafficPolicy Local (svc2 of TestOverallNFTablesRules, its
   endpoint on node 0 this time, a second one on a third node): node 0 sends
   external traffic to its local- chain, which holds only its endpoint;
   node 1 has no local- chain and drops external traffic. Both keep the
   short-circuits to the Cluster chain, which holds both endpoints. */
START_TEST (test_etp_local_per_node)
{
  fx_two_nodes ();
  size_t s = fx_service ("ns2", "svc2", SVC_LOAD_BALANCER, "172.30.0.42", "p80", 80, 3001);
  fx_local_endpoint (s, "10.180.0.2", 80);
  fx_endpoint (s, "10.180.0.9", 80); /* on a third node */
  mdl.services[s].etp_local = true;
  uint32_t *lb = VEC_PUSH (mdl.services[s].lb_ips, mdl.services[s].n_lb_ips);
  *lb = ip ("1.2.3.4");
  cleanup_free char *n0 = nftables_node_payload (&mdl, 0, NULL);
  cleanup_free char *n1 = nftables_node_payload (&mdl, 1, NULL);
  const char *local = "local-42NFTM6N-ns2/svc2/tcp/p80";
  cleanup_free char *l0 = xasprintf ("add chain ip kube-proxy %s", local);
  ck_assert (has_line (n0, l0));
  ck_assert (has_line (n0, "add rule ip kube-proxy local-42NFTM6N-ns2/svc2/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80 }"));
  ck_assert (has_line (n0, "add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 goto local-42NFTM6N-ns2/svc2/tcp/p80"));
  ck_assert (has_line (n0, "add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 ip saddr 10.0.0.0/8 goto service-42NFTM6N-ns2/svc2/tcp/p80 comment \"short-circuit pod traffic\""));
  ck_assert_ptr_null (strstr (n0, ": drop }"));
  ck_assert_ptr_null (strstr (n1, local));
  ck_assert (has_line (n1, "add element ip kube-proxy no-endpoint-nodeports { tcp . 3001 comment \"ns2/svc2:p80\" : drop }"));
  ck_assert (has_line (n1, "add element ip kube-proxy no-endpoint-services { 1.2.3.4 . tcp . 80 comment \"ns2/svc2:p80\" : drop }"));
  /* The ClusterIP is Cluster on both, over both endpoints. */
  for (int n = 0; n < 2; n++)
    ck_assert (has_line (n ? n1 : n0, "add element ip kube-proxy service-ips { 172.30.0.42 . tcp . 80 : goto service-42NFTM6N-ns2/svc2/tcp/p80 }"));
  ck_assert_ptr_nonnull (strstr (n1, "service-42NFTM6N-ns2/svc2/tcp/p80 numgen random mod 2 vmap"));
  /* The control loop's resync when node 1 gains an endpoint: its local-
     chain appears and the drops go. */
  mdl.services[s].ports[0].endpoints[1].node = 1;
  cleanup_free char *n1b = nftables_node_payload (&mdl, 1, NULL);
  cleanup_free char *tx = NULL;
  ck_assert_int_eq (nft_sync_checked (n1, n1b, false, &tx, NULL), 0);
  ck_assert (has_line (tx, "add chain ip kube-proxy local-42NFTM6N-ns2/svc2/tcp/p80"));
  ck_assert (has_line (tx, "add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 goto local-42NFTM6N-ns2/svc2/tcp/p80"));
  ck_assert (has_line (tx, "delete element ip kube-proxy no-endpoint-nodeports { tcp . 3001 }"));
  ck_assert (has_line (tx, "delete element ip kube-proxy no-endpoint-services { 1.2.3.4 . tcp . 80 }"));
}
END_TEST

/* internalTrafficPolicy Local on a ClusterIP: the ClusterIP goes to the
   local- chain (masquerade rule there) on the node with the endpoint; the
   other node drops it and has no chain of the service at all. */
START_TEST (test_itp_local_per_node)
{
  fx_two_nodes ();
  size_t s = fx_service ("ns1", "svc1", SVC_CLUSTER_IP, "172.30.0.41", "p80", 80, 0);
  fx_local_endpoint (s, "10.180.0.1", 80);
  mdl.services[s].itp_local = true;
  cleanup_free char *n0 = nftables_node_payload (&mdl, 0, NULL);
  cleanup_free char *n1 = nftables_node_payload (&mdl, 1, NULL);
  ck_assert (has_line (n0, "add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto local-ULMVA6XW-ns1/svc1/tcp/p80 }"));
  ck_assert (has_line (n0, "add rule ip kube-proxy local-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade"));
  ck_assert_ptr_null (strstr (n0, "service-ULMVA6XW-"));
  ck_assert (has_line (n1, "add element ip kube-proxy no-endpoint-services { 172.30.0.41 . tcp . 80 comment \"ns1/svc1:p80\" : drop }"));
  ck_assert (has_line (n1, "add element ip kube-proxy cluster-ips { 172.30.0.41 }"));
  ck_assert_ptr_null (strstr (n1, "add chain ip kube-proxy endpoint-"));
  ck_assert_ptr_null (strstr (n1, "add chain ip kube-proxy local-"));
}
END_TEST

/* Source ranges holding the node's own address also let the VIPs through
   (a node reaching a VIP its routing made local); other nodes' do not. */
START_TEST (test_firewall_allows_node_vips)
{
  fx_two_nodes ();
  size_t s = fx_service ("ns5", "svc5", SVC_LOAD_BALANCER, "172.30.0.45", "p80", 80, 3002);
  fx_endpoint (s, "10.180.0.3", 80);
  uint32_t *lb = VEC_PUSH (mdl.services[s].lb_ips, mdl.services[s].n_lb_ips);
  *lb = ip ("5.6.7.8");
  static struct cidr ranges[2];
  ck_assert (cidr_parse ("203.0.113.0/25", &ranges[0], true));
  ck_assert (cidr_parse ("192.168.0.2/32", &ranges[1], true));
  mdl.services[s].source_ranges = ranges;
  mdl.services[s].n_source_ranges = 2;
  cleanup_free char *n0 = nftables_node_payload (&mdl, 0, NULL);
  cleanup_free char *n1 = nftables_node_payload (&mdl, 1, NULL);
  ck_assert (has_line (n0, "add rule ip kube-proxy firewall-HVFWP5L3-ns5/svc5/tcp/p80 ip saddr != { 203.0.113.0/25 , 192.168.0.2/32 , 5.6.7.8 } drop"));
  ck_assert (has_line (n1, "add rule ip kube-proxy firewall-HVFWP5L3-ns5/svc5/tcp/p80 ip saddr != { 203.0.113.0/25 , 192.168.0.2/32 } drop"));
  /* Without endpoints the firewall stays (it runs before the reject). */
  mdl.services[s].ports[0].n_endpoints = 0;
  cleanup_free char *none = nftables_node_payload (&mdl, 1, NULL);
  ck_assert (has_line (none, "add element ip kube-proxy firewall-ips { 5.6.7.8 . tcp . 80 : goto firewall-HVFWP5L3-ns5/svc5/tcp/p80 }"));
  ck_assert (has_line (none, "add element ip kube-proxy no-endpoint-services { 5.6.7.8 . tcp . 80 comment \"ns5/svc5:p80\" : goto reject-chain }"));
  mdl.services[s].ports[0].n_endpoints = 1;
}
END_TEST

/* nodePortAddresses: CIDRs pick the node's addresses (never loopback);
   0.0.0.0/0 is every local address but 127/8, with no nodeport-ips set. */
START_TEST (test_node_port_addresses)
{
  fx_fake_proxier ();
  mdl.nodes[0].nics = xcalloc (2, sizeof *mdl.nodes[0].nics);
  mdl.nodes[0].nics[0].addr = ip ("10.0.2.15");
  mdl.nodes[0].nics[1].addr = ip ("192.168.0.2");
  mdl.nodes[0].n_nics = 2;
  static struct cidr npa[3];
  ck_assert (cidr_parse ("192.168.0.0/16", &npa[0], true));
  ck_assert (cidr_parse ("10.0.0.0/8", &npa[1], true));
  ck_assert (cidr_parse ("127.0.0.0/8", &npa[2], true));
  sc.cluster.node_port_addresses = npa;
  sc.cluster.n_node_port_addresses = 3;
  cleanup_free char *some = nftables_node_payload (&mdl, 0, NULL);
  ck_assert (has_line (some, "add element ip kube-proxy nodeport-ips { 10.0.2.15 }"));
  ck_assert (has_line (some, "add element ip kube-proxy nodeport-ips { 192.168.0.2 }"));
  ck_assert_ptr_null (strstr (some, "nodeport-ips { 127."));
  ck_assert (has_line (some, "add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports"));
  ck_assert (cidr_parse ("0.0.0.0/0", &npa[0], true));
  sc.cluster.n_node_port_addresses = 1;
  cleanup_free char *all = nftables_node_payload (&mdl, 0, NULL);
  ck_assert_ptr_null (strstr (all, "nodeport-ips"));
  ck_assert (has_line (all, "add rule ip kube-proxy services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports"));
  ck_assert (has_line (all, "add rule ip kube-proxy nodeport-endpoints-check ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports"));
  sc.cluster.node_port_addresses = NULL;
  sc.cluster.n_node_port_addresses = 0;
  /* The kernel takes both forms. */
  if (getuid () == 0)
    {
      pid_t pid = fork ();
      ck_assert_int_ge (pid, 0);
      if (pid == 0)
        {
          nslab_error_t err = NULL;
          _exit (unshare (CLONE_NEWNET) == 0 && nftables_run (NULL, all, &err) == 0
                         && unshare (CLONE_NEWNET) == 0 && nftables_run (NULL, some, &err) == 0
                     ? 0 : 1);
        }
      int st = 0;
      ck_assert_int_eq (waitpid (pid, &st, 0), pid);
      ck_assert (WIFEXITED (st) && WEXITSTATUS (st) == 0);
    }
}
END_TEST

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The kernel's own listing, made comparable: every line and every element
   of a multi-line "elements = { ... }" as one token, sorted. */
static char *
listing_tokens (const char *listing)
{
  char **tok = NULL;
  size_t n = 0;
  cleanup_free char *copy = xstrdup (listing);
  char *save = NULL;
  for (char *t = strtok_r (copy, ",\n", &save); t; t = strtok_r (NULL, ",\n", &save))
    {
      while (*t == ' ' || *t == '\t')
        t++;
      if (str_has_prefix (t, "elements = { "))
        t += 13;
      size_t len = strlen (t);
      while (len && (t[len - 1] == ' ' || t[len - 1] == '}'))
        len--;
      if (len)
        *VEC_PUSH (tok, n) = xstrndup (t, len);
    }
  qsort (tok, n, sizeof *tok, cmp_str);
  struct strbuf sb;
  sb_init (&sb);
  for (size_t i = 0; i < n; i++)
    {
      sb_addf (&sb, "%s\n", tok[i]);
      free (tok[i]);
    }
  free (tok);
  return sb_steal (&sb);
}

static char *
list_here (void)
{
  char *out = NULL;
  nslab_error_t err = NULL;
  ck_assert_msg (nftables_list (NULL, "list table ip kube-proxy", &out, &err) == 0, "%s", err ? err->msg : "");
  return out;
}

/* As the control loop runs a transaction: `nft -f -` in a child. */
static int
run_as_loop (const char *payload, nslab_error_t *err)
{
  struct child_job job;
  if (nftables_start (NULL, payload, &job, err) < 0)
    return -1;
  return nftables_finish (&job, err);
}

START_TEST (test_kernel_apply_and_resync)
{
  UNIT_REQUIRE_ROOT ();
  /* Check forked this test, so the namespaces die with it. */
  ck_assert_msg (unshare (CLONE_NEWNET) == 0, "unshare: %s", strerror (errno));
  int node = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge (node, 0);
  fx_overall ();
  cleanup_free char *old = nftables_node_payload (&mdl, 0, NULL);
  nslab_error_t err = NULL;
  ck_assert_msg (nftables_run (NULL, old, &err) == 0, "%s", err ? err->msg : "");
  cleanup_free char *l1 = list_here ();
  /* nft's own rendering of kube-proxy's rules. */
  ck_assert_ptr_nonnull (strstr (l1, "ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade"));
  ck_assert_ptr_nonnull (strstr (l1, "meta mark set meta mark | 0x00004000"));
  ck_assert_ptr_nonnull (strstr (l1, "numgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 }"));
  ck_assert_ptr_nonnull (strstr (l1, "update @affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 { ip saddr }"));
  ck_assert_ptr_nonnull (strstr (l1, "172.30.0.46 . tcp . 80 comment \"ns6/svc6:p80\" : goto reject-chain"));
  ck_assert_ptr_nonnull (strstr (l1, "type filter hook prerouting priority dstnat - 10; policy accept;"));

  /* The resync transaction applied on top of OLD ... */
  fx_changed ();
  cleanup_free char *new = nftables_node_payload (&mdl, 0, NULL);
  cleanup_free char *tx = NULL;
  ck_assert_int_eq (nft_sync_checked (old, new, false, &tx, NULL), 0);
  ck_assert_msg (run_as_loop (tx, &err) == 0, "%s", err ? err->msg : "");
  cleanup_free char *synced = list_here ();
  /* ... gives what NEW gives on a fresh node. */
  ck_assert_msg (unshare (CLONE_NEWNET) == 0, "unshare: %s", strerror (errno));
  ck_assert_msg (nftables_run (NULL, new, &err) == 0, "%s", err ? err->msg : "");
  cleanup_free char *fresh = list_here ();
  cleanup_free char *a = listing_tokens (synced), *b = listing_tokens (fresh);
  ck_assert_str_eq (a, b);
  ck_assert_ptr_null (strstr (synced, "svc3"));
  ck_assert_int_eq (setns (node, CLONE_NEWNET), 0);
  close (node);
  /* A full sync repairs what was changed by hand: a rule, an element and a
     whole chain gone. */
  ck_assert_msg (nftables_run (NULL, "flush chain ip kube-proxy masquerading\n"
                                     "delete element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 }\n"
                                     "delete element ip kube-proxy service-ips { 172.30.0.46 . tcp . 80 }\n"
                                     "delete chain ip kube-proxy service-Y3O5BOQO-ns6/svc6/tcp/p80\n", &err) == 0,
                 "%s", err ? err->msg : "");
  cleanup_free char *repair = NULL;
  ck_assert_int_eq (nft_sync_checked (new, new, true, &repair, NULL), 0);
  ck_assert_msg (nftables_run (NULL, repair, &err) == 0, "%s", err ? err->msg : "");
  cleanup_free char *repaired = list_here ();
  cleanup_free char *c = listing_tokens (repaired);
  ck_assert_str_eq (c, a);
  /* A payload the kernel refuses leaves the table as it was. */
  ck_assert_int_eq (nftables_run (NULL, "add rule ip kube-proxy services ip daddr 1.2.3.4 drop\nadd rule ip kube-proxy nosuchchain drop\n", &err), -1);
  ck_assert_ptr_nonnull (strstr (err->msg, "nft: "));
  nslab_error_free (&err);
  cleanup_free char *after = list_here ();
  ck_assert_str_eq (after, synced);
  /* The same through nft in a child: its first line names the input line. */
  ck_assert_int_eq (run_as_loop ("add rule ip kube-proxy services ip daddr 1.2.3.4 drop\nadd rule ip kube-proxy nosuchchain drop\n", &err), -1);
  ck_assert_msg (strstr (err->msg, "this namespace: nft: /dev/stdin:2:") == err->msg
                 && strstr (err->msg, "Error: ") && !strchr (err->msg, '\n'), "%s", err->msg);
  nslab_error_free (&err);
  cleanup_free char *after2 = list_here ();
  ck_assert_str_eq (after2, synced);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("nftables_rules");
  TCase *tc = tcase_create ("payload");
  tcase_add_test (tc, test_chain_names);
  tcase_add_test (tc, test_overall_matches_kube_proxy);
  tcase_add_test (tc, test_real_mark_and_lines_in_add_order);
  tcase_add_test (tc, test_two_ports_one_cluster_ip_element);
  tcase_add_test (tc, test_etp_local_per_node);
  tcase_add_test (tc, test_itp_local_per_node);
  tcase_add_test (tc, test_firewall_allows_node_vips);
  tcase_add_test (tc, test_node_port_addresses);
  tcase_add_test (tc, test_sync_partial);
  tcase_add_test (tc, test_sync_digest_hashes);
  tcase_add_test (tc, test_sync_affinity_set_removed);
  tcase_add_test (tc, test_sync_fixed_change_starts_over);
  suite_add_tcase (s, tc);
  TCase *root = tcase_create ("kernel");
  tcase_set_timeout (root, 30);
  tcase_add_test (root, test_kernel_apply_and_resync);
  suite_add_tcase (s, root);
  return s;
}

UNIT_MAIN (make_suite)
