/* The per-node iptables-restore payload: exact kube-proxy / kubelet / flannel
 * lines for models built by hand, and (as root) a real iptables-restore into
 * a private network namespace checked through iptables-save. */
#include "unit.h"

#include <errno.h>
#include <sched.h>
#include <sys/wait.h>

#include "plan/kube_proxy_iptables.h"
#include "base/ipaddr.h"
#include "k8s/model.h"
#include "k8s/kube_proxy_chains.h"

/* ---- model fixture ---------------------------------------------------- */

static struct scenario sc;
static struct model mdl;

static uint32_t
ip (const char *s)
{
  uint32_t a = 0;
  ck_assert_msg (ip_parse (s, &a), "bad ip %s", s);
  return a;
}

/* Free what the fixture allocated (nics are the tests' own, on the stack). */
static void
fx_reset (void)
{
  for (size_t i = 0; i < mdl.n_nodes; i++)
    free (mdl.nodes[i].name);
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
}

static void
fx_cluster (enum flavor f, const char *pod_cidr, size_t n_nodes)
{
  fx_reset ();
  memset (&sc, 0, sizeof sc);
  memset (&mdl, 0, sizeof mdl);
  sc.cluster.flavor = f;
  ck_assert (cidr_parse (pod_cidr, &sc.cluster.pod_cidr, true));
  sc.cluster.node_mask = 24;
  sc.cluster.cni = CNI_FLANNEL;
  sc.cluster.proxy_mode = PROXY_IPTABLES;
  sc.cluster.masquerade_bit = 14;
  sc.cluster.localhost_nodeports = true;
  mdl.sc = &sc;
  mdl.nodes = xcalloc (n_nodes, sizeof *mdl.nodes);
  mdl.n_nodes = n_nodes;
  for (size_t i = 0; i < n_nodes; i++)
    {
      mdl.nodes[i].index = (int) i;
      mdl.nodes[i].name = xasprintf ("node%zu", i);
      mdl.nodes[i].pod_cidr = cidr_subnet (sc.cluster.pod_cidr, 24, (uint32_t) i);
    }
}

/* Returns the index of the new service (the array may move). */
static size_t
fx_service (const char *ns, const char *name, enum svc_type type, const char *cluster_ip)
{
  struct model_service *s = VEC_PUSH (mdl.services, mdl.n_services);
  s->ns = xstrdup (ns);
  s->name = xstrdup (name);
  s->type = type;
  s->cluster_ip = ip (cluster_ip);
  return mdl.n_services - 1;
}

static size_t
fx_port (size_t svc, const char *name, uint16_t port, enum l4proto proto, uint16_t node_port)
{
  struct model_service *s = &mdl.services[svc];
  struct model_svc_port *p = VEC_PUSH (s->ports, s->n_ports);
  p->name = name ? xstrdup (name) : NULL;
  p->port = port;
  p->target_port = port;
  p->protocol = proto;
  p->node_port = node_port;
  return s->n_ports - 1;
}

/* Endpoints must be added in "ip:port" string order, as the model keeps them. */
static void
fx_endpoint (size_t svc, size_t port, const char *addr, uint16_t ep_port)
{
  struct model_svc_port *p = &mdl.services[svc].ports[port];
  struct model_endpoint *e = VEC_PUSH (p->endpoints, p->n_endpoints);
  e->ip = ip (addr);
  e->port = ep_port;
  e->pod = -1;
  e->node = 0;
}

static void
fx_endpoint_on (size_t svc, size_t port, const char *addr, uint16_t ep_port, int node)
{
  fx_endpoint (svc, port, addr, ep_port);
  struct model_svc_port *p = &mdl.services[svc].ports[port];
  p->endpoints[p->n_endpoints - 1].node = node;
}

static void
fx_lb_ip (size_t svc, const char *addr)
{
  struct model_service *s = &mdl.services[svc];
  uint32_t *slot = VEC_PUSH (s->lb_ips, s->n_lb_ips);
  *slot = ip (addr);
}

/* ---- text helpers ----------------------------------------------------- */

/* The lines of text that contain needle, each with its newline. */
static char *
lines_with (const char *text, const char *needle)
{
  struct strbuf sb;
  sb_init (&sb);
  for (const char *l = text; *l;)
    {
      const char *nl = strchr (l, '\n');
      size_t len = nl ? (size_t) (nl - l) + 1 : strlen (l);
      char *line = xstrndup (l, len);
      if (strstr (line, needle))
        sb_add (&sb, line);
      free (line);
      l += len;
    }
  return sb_steal (&sb);
}

/* The body of table `name` ("*nat") up to and excluding its COMMIT. */
static char *
table (const char *payload, const char *name)
{
  cleanup_free char *hdr = xasprintf ("%s\n", name);
  const char *start = strstr (payload, hdr);
  ck_assert_msg (start != NULL, "no table %s", name);
  start += strlen (hdr);
  const char *end = strstr (start, "COMMIT\n");
  ck_assert (end != NULL);
  return xstrndup (start, (size_t) (end - start));
}

static char *
lines_starting (const char *text, const char *prefix)
{
  struct strbuf sb;
  sb_init (&sb);
  for (const char *l = text; *l;)
    {
      const char *nl = strchr (l, '\n');
      size_t len = nl ? (size_t) (nl - l) + 1 : strlen (l);
      if (strncmp (l, prefix, strlen (prefix)) == 0)
        sb_addn (&sb, l, len);
      l += len;
    }
  return sb_steal (&sb);
}

/* The reference's kind example: default/my-nginx with two endpoints. */
static void
fx_my_nginx (void)
{
  fx_cluster (FLAVOR_KUBEADM, "10.244.0.0/16", 1);
  size_t s = fx_service ("default", "my-nginx", SVC_CLUSTER_IP, "10.96.86.215");
  size_t p = fx_port (s, NULL, 80, PROTO_TCP, 0);
  fx_endpoint (s, p, "10.244.2.3", 80);
  fx_endpoint (s, p, "10.244.3.3", 80);
}

/* ---- tests ------------------------------------------------------------ */

START_TEST (test_mark_and_probability_strings)
{
  char b[16];
  ck_assert_str_eq (kube_proxy_mark (14, b), "0x00004000");
  ck_assert_str_eq (kube_proxy_mark (15, b), "0x00008000");
  ck_assert_str_eq (kube_proxy_probability (2, b), "0.5000000000");
  ck_assert_str_eq (kube_proxy_probability (3, b), "0.3333333333");
  ck_assert_str_eq (kube_proxy_probability (6, b), "0.1666666667");
  ck_assert_str_eq (kube_proxy_probability (7, b), "0.1428571429");
}
END_TEST

START_TEST (test_my_nginx_two_endpoints)
{
  fx_my_nginx ();
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  ck_assert_ptr_nonnull (pl);
  cleanup_free char *nat = table (pl, "*nat");
  cleanup_free char *svc = lines_with (nat, "-A KUBE-SVC-L65ENXXZWWSAPRCR ");
  ck_assert_str_eq (svc,
    "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx cluster IP\" -m tcp -p tcp -d 10.96.86.215 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ\n"
    "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx -> 10.244.2.3:80\" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-TIQJFJVSHRJZTTZW\n"
    "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx -> 10.244.3.3:80\" -j KUBE-SEP-MEZP33SDGZXSPSO5\n");
  cleanup_free char *sep1 = lines_with (nat, "-A KUBE-SEP-TIQJFJVSHRJZTTZW ");
  ck_assert_str_eq (sep1,
    "-A KUBE-SEP-TIQJFJVSHRJZTTZW -m comment --comment default/my-nginx -s 10.244.2.3 -j KUBE-MARK-MASQ\n"
    "-A KUBE-SEP-TIQJFJVSHRJZTTZW -m comment --comment default/my-nginx -m tcp -p tcp -j DNAT --to-destination 10.244.2.3:80\n");
  cleanup_free char *sep2 = lines_with (nat, "-A KUBE-SEP-MEZP33SDGZXSPSO5 ");
  ck_assert_str_eq (sep2,
    "-A KUBE-SEP-MEZP33SDGZXSPSO5 -m comment --comment default/my-nginx -s 10.244.3.3 -j KUBE-MARK-MASQ\n"
    "-A KUBE-SEP-MEZP33SDGZXSPSO5 -m comment --comment default/my-nginx -m tcp -p tcp -j DNAT --to-destination 10.244.3.3:80\n");
  cleanup_free char *svcs = lines_with (nat, "-A KUBE-SERVICES ");
  ck_assert_str_eq (svcs,
    "-A KUBE-SERVICES -m comment --comment \"default/my-nginx cluster IP\" -m tcp -p tcp -d 10.96.86.215 --dport 80 -j KUBE-SVC-L65ENXXZWWSAPRCR\n"
    "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n");
  /* Chains declared before any rule, per service SVC then SEPs. */
  cleanup_free char *decl = lines_starting (nat, ":KUBE-S");
  ck_assert_str_eq (decl,
    ":KUBE-SERVICES - [0:0]\n"
    ":KUBE-SVC-L65ENXXZWWSAPRCR - [0:0]\n"
    ":KUBE-SEP-TIQJFJVSHRJZTTZW - [0:0]\n"
    ":KUBE-SEP-MEZP33SDGZXSPSO5 - [0:0]\n");
  /* A ClusterIP service has no EXT chain and no filter rules. */
  ck_assert_ptr_null (strstr (pl, "KUBE-EXT-"));
  cleanup_free char *filter = table (pl, "*filter");
  cleanup_free char *fsvc = lines_with (filter, "-A KUBE-SERVICES");
  ck_assert_str_eq (fsvc, "");
}
END_TEST

START_TEST (test_three_endpoint_probabilities)
{
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 1);
  size_t s = fx_service ("demo", "web-svc", SVC_CLUSTER_IP, "10.43.31.179");
  size_t p = fx_port (s, NULL, 80, PROTO_TCP, 0);
  fx_endpoint (s, p, "10.42.1.2", 80);
  fx_endpoint (s, p, "10.42.1.3", 80);
  fx_endpoint (s, p, "10.42.2.2", 80);
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *svc = lines_with (pl, "-A KUBE-SVC-DX6MYXUNVCCZY4TT -m comment --comment \"demo/web-svc ->");
  ck_assert_str_eq (svc,
    "-A KUBE-SVC-DX6MYXUNVCCZY4TT -m comment --comment \"demo/web-svc -> 10.42.1.2:80\" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-MMJCZRWEWPFXVI6G\n"
    "-A KUBE-SVC-DX6MYXUNVCCZY4TT -m comment --comment \"demo/web-svc -> 10.42.1.3:80\" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-6CJIGKNCF4JJAKY7\n"
    "-A KUBE-SVC-DX6MYXUNVCCZY4TT -m comment --comment \"demo/web-svc -> 10.42.2.2:80\" -j KUBE-SEP-RGPKAD5FCYEMX6PX\n");
  ck_assert_ptr_nonnull (strstr (pl, "! -s 10.42.0.0/16 -j KUBE-MARK-MASQ\n"));
}
END_TEST

START_TEST (test_nodeport_rules)
{
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 2);
  size_t s = fx_service ("default", "np", SVC_NODE_PORT, "10.43.45.254");
  size_t p = fx_port (s, "http", 80, PROTO_TCP, 31885);
  fx_endpoint (s, p, "10.42.1.5", 8080);
  cleanup_free char *pl = iptables_node_payload (&mdl, 1);
  cleanup_free char *nat = table (pl, "*nat");
  cleanup_free char *np = lines_with (nat, "-A KUBE-NODEPORTS");
  ck_assert_str_eq (np, "-A KUBE-NODEPORTS -m comment --comment default/np:http -m tcp -p tcp --dport 31885 -j KUBE-EXT-QUMPV5Z3SF2IMFUJ\n");
  cleanup_free char *ext = lines_with (nat, "KUBE-EXT-QUMPV5Z3SF2IMFUJ");
  ck_assert_str_eq (ext,
    ":KUBE-EXT-QUMPV5Z3SF2IMFUJ - [0:0]\n"
    "-A KUBE-NODEPORTS -m comment --comment default/np:http -m tcp -p tcp --dport 31885 -j KUBE-EXT-QUMPV5Z3SF2IMFUJ\n"
    "-A KUBE-EXT-QUMPV5Z3SF2IMFUJ -m comment --comment \"masquerade traffic for default/np:http external destinations\" -j KUBE-MARK-MASQ\n"
    "-A KUBE-EXT-QUMPV5Z3SF2IMFUJ -j KUBE-SVC-QUMPV5Z3SF2IMFUJ\n");
  /* Emission order of one service port: capture, nodeport, SVC masq, EXT, SVC->SEP, SEP. */
  cleanup_free char *rules = lines_with (nat, "QUMPV5Z3SF2IMFUJ");
  cleanup_free char *rules_a = lines_starting (rules, "-A ");
  ck_assert_str_eq (rules_a,
    "-A KUBE-SERVICES -m comment --comment \"default/np:http cluster IP\" -m tcp -p tcp -d 10.43.45.254 --dport 80 -j KUBE-SVC-QUMPV5Z3SF2IMFUJ\n"
    "-A KUBE-NODEPORTS -m comment --comment default/np:http -m tcp -p tcp --dport 31885 -j KUBE-EXT-QUMPV5Z3SF2IMFUJ\n"
    "-A KUBE-SVC-QUMPV5Z3SF2IMFUJ -m comment --comment \"default/np:http cluster IP\" -m tcp -p tcp -d 10.43.45.254 --dport 80 ! -s 10.42.0.0/16 -j KUBE-MARK-MASQ\n"
    "-A KUBE-EXT-QUMPV5Z3SF2IMFUJ -m comment --comment \"masquerade traffic for default/np:http external destinations\" -j KUBE-MARK-MASQ\n"
    "-A KUBE-EXT-QUMPV5Z3SF2IMFUJ -j KUBE-SVC-QUMPV5Z3SF2IMFUJ\n"
    "-A KUBE-SVC-QUMPV5Z3SF2IMFUJ -m comment --comment \"default/np:http -> 10.42.1.5:8080\" -j KUBE-SEP-N4XXVZYGCA6Z4RWL\n");
  cleanup_free char *sep = lines_with (nat, "-A KUBE-SEP-N4XXVZYGCA6Z4RWL");
  ck_assert_str_eq (sep,
    "-A KUBE-SEP-N4XXVZYGCA6Z4RWL -m comment --comment default/np:http -s 10.42.1.5 -j KUBE-MARK-MASQ\n"
    "-A KUBE-SEP-N4XXVZYGCA6Z4RWL -m comment --comment default/np:http -m tcp -p tcp -j DNAT --to-destination 10.42.1.5:8080\n");
}
END_TEST

START_TEST (test_loadbalancer_ips)
{
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 1);
  size_t s = fx_service ("kube-system", "traefik", SVC_LOAD_BALANCER, "10.43.121.230");
  size_t p = fx_port (s, "web", 80, PROTO_TCP, 31300);
  fx_endpoint (s, p, "10.42.0.8", 8000);
  fx_lb_ip (s, "192.168.56.10");
  fx_lb_ip (s, "192.168.56.11");
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *svcs = lines_with (pl, "-A KUBE-SERVICES -m comment --comment \"kube-system/traefik:web");
  ck_assert_str_eq (svcs,
    "-A KUBE-SERVICES -m comment --comment \"kube-system/traefik:web cluster IP\" -m tcp -p tcp -d 10.43.121.230 --dport 80 -j KUBE-SVC-UQMCRMJZLI3FTLDP\n"
    "-A KUBE-SERVICES -m comment --comment \"kube-system/traefik:web loadbalancer IP\" -m tcp -p tcp -d 192.168.56.10 --dport 80 -j KUBE-EXT-UQMCRMJZLI3FTLDP\n"
    "-A KUBE-SERVICES -m comment --comment \"kube-system/traefik:web loadbalancer IP\" -m tcp -p tcp -d 192.168.56.11 --dport 80 -j KUBE-EXT-UQMCRMJZLI3FTLDP\n");
  ck_assert_ptr_nonnull (strstr (pl, "-A KUBE-NODEPORTS -m comment --comment kube-system/traefik:web -m tcp -p tcp --dport 31300 -j KUBE-EXT-UQMCRMJZLI3FTLDP\n"));
  /* Only one EXT chain declaration however many ways lead to it. */
  cleanup_free char *decl = lines_with (pl, ":KUBE-EXT-");
  ck_assert_str_eq (decl, ":KUBE-EXT-UQMCRMJZLI3FTLDP - [0:0]\n");
}
END_TEST

START_TEST (test_session_affinity)
{
  fx_my_nginx ();
  mdl.services[0].affinity_client_ip = true;
  mdl.services[0].affinity_timeout = 10800;
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *svc = lines_with (pl, "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx ->");
  ck_assert_str_eq (svc,
    "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx -> 10.244.2.3:80\" -m recent --name KUBE-SEP-TIQJFJVSHRJZTTZW --rcheck --seconds 10800 --reap -j KUBE-SEP-TIQJFJVSHRJZTTZW\n"
    "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx -> 10.244.3.3:80\" -m recent --name KUBE-SEP-MEZP33SDGZXSPSO5 --rcheck --seconds 10800 --reap -j KUBE-SEP-MEZP33SDGZXSPSO5\n"
    "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx -> 10.244.2.3:80\" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-TIQJFJVSHRJZTTZW\n"
    "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx -> 10.244.3.3:80\" -j KUBE-SEP-MEZP33SDGZXSPSO5\n");
  cleanup_free char *sep = lines_with (pl, "-A KUBE-SEP-MEZP33SDGZXSPSO5");
  ck_assert_str_eq (sep,
    "-A KUBE-SEP-MEZP33SDGZXSPSO5 -m comment --comment default/my-nginx -s 10.244.3.3 -j KUBE-MARK-MASQ\n"
    "-A KUBE-SEP-MEZP33SDGZXSPSO5 -m comment --comment default/my-nginx -m recent --name KUBE-SEP-MEZP33SDGZXSPSO5 --set -m tcp -p tcp -j DNAT --to-destination 10.244.3.3:80\n");
}
END_TEST

START_TEST (test_affinity_custom_timeout)
{
  fx_my_nginx ();
  mdl.services[0].affinity_client_ip = true;
  mdl.services[0].affinity_timeout = 60;
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *r = lines_with (pl, "--rcheck");
  ck_assert_str_eq (r,
    "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx -> 10.244.2.3:80\" -m recent --name KUBE-SEP-TIQJFJVSHRJZTTZW --rcheck --seconds 60 --reap -j KUBE-SEP-TIQJFJVSHRJZTTZW\n"
    "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx -> 10.244.3.3:80\" -m recent --name KUBE-SEP-MEZP33SDGZXSPSO5 --rcheck --seconds 60 --reap -j KUBE-SEP-MEZP33SDGZXSPSO5\n");
}
END_TEST

START_TEST (test_no_endpoints_reject)
{
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 1);
  size_t s = fx_service ("default", "np", SVC_NODE_PORT, "10.43.45.254");
  fx_port (s, "http", 80, PROTO_TCP, 31885);
  size_t u = fx_service ("default", "dns", SVC_LOAD_BALANCER, "10.43.9.9");
  fx_port (u, NULL, 53, PROTO_UDP, 30053);
  fx_lb_ip (u, "192.168.56.10");
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *filter = table (pl, "*filter");
  cleanup_free char *rej = lines_with (filter, "REJECT");
  ck_assert_str_eq (rej,
    "-A KUBE-SERVICES -m comment --comment \"default/dns has no endpoints\" -m udp -p udp -d 10.43.9.9 --dport 53 -j REJECT\n"
    "-A KUBE-EXTERNAL-SERVICES -m comment --comment \"default/dns has no endpoints\" -m udp -p udp -d 192.168.56.10 --dport 53 -j REJECT\n"
    "-A KUBE-EXTERNAL-SERVICES -m comment --comment \"default/dns has no endpoints\" -m addrtype --dst-type LOCAL -m udp -p udp --dport 30053 -j REJECT\n"
    "-A KUBE-SERVICES -m comment --comment \"default/np:http has no endpoints\" -m tcp -p tcp -d 10.43.45.254 --dport 80 -j REJECT\n"
    "-A KUBE-EXTERNAL-SERVICES -m comment --comment \"default/np:http has no endpoints\" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 31885 -j REJECT\n");
  /* Nothing for them in nat: no SVC, EXT or SEP chains, no captures. */
  cleanup_free char *nat = table (pl, "*nat");
  ck_assert_ptr_null (strstr (nat, "KUBE-SVC-"));
  ck_assert_ptr_null (strstr (nat, "KUBE-EXT-"));
  ck_assert_ptr_null (strstr (nat, "KUBE-SEP-"));
  ck_assert_ptr_null (strstr (nat, "-A KUBE-NODEPORTS"));
}
END_TEST

START_TEST (test_services_sorted_by_port_name)
{
  fx_cluster (FLAVOR_KUBEADM, "10.244.0.0/16", 1);
  size_t b = fx_service ("kube-system", "kube-dns", SVC_CLUSTER_IP, "10.96.0.10");
  size_t p;
  p = fx_port (b, "dns", 53, PROTO_UDP, 0);
  fx_endpoint (b, p, "10.244.0.2", 53);
  p = fx_port (b, "dns-tcp", 53, PROTO_TCP, 0);
  fx_endpoint (b, p, "10.244.0.2", 53);
  p = fx_port (b, "metrics", 9153, PROTO_TCP, 0);
  fx_endpoint (b, p, "10.244.0.2", 9153);
  size_t a = fx_service ("default", "kubernetes", SVC_CLUSTER_IP, "10.96.0.1");
  p = fx_port (a, "https", 443, PROTO_TCP, 0);
  fx_endpoint (a, p, "192.168.56.10", 6443);
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *svcs = lines_with (pl, "-A KUBE-SERVICES");
  ck_assert_str_eq (svcs,
    "-A KUBE-SERVICES -m comment --comment \"default/kubernetes:https cluster IP\" -m tcp -p tcp -d 10.96.0.1 --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y\n"
    "-A KUBE-SERVICES -m comment --comment \"kube-system/kube-dns:dns cluster IP\" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU\n"
    "-A KUBE-SERVICES -m comment --comment \"kube-system/kube-dns:dns-tcp cluster IP\" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4\n"
    "-A KUBE-SERVICES -m comment --comment \"kube-system/kube-dns:metrics cluster IP\" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP\n"
    "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n");
  /* SEP name from python: base32(sha256("kube-system/kube-dns:dnsudp10.244.0.2:53"))[:16] */
  ck_assert_ptr_nonnull (strstr (pl, "-A KUBE-SEP-YIL6JZP7A3QYXJU2 -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.0.2:53\n"));
}
END_TEST

START_TEST (test_flannel_k3s_node0)
{
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 3);
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *fl = lines_with (pl, "flanneld");
  ck_assert_str_eq (fl,
    "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD\n"
    "-A FLANNEL-FWD -s 10.42.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT\n"
    "-A FLANNEL-FWD -d 10.42.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT\n"
    "-A POSTROUTING -m comment --comment \"flanneld masq\" -j FLANNEL-POSTRTG\n"
    "-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment \"flanneld masq\" -j RETURN\n"
    "-A FLANNEL-POSTRTG -s 10.42.0.0/24 -d 10.42.0.0/16 -m comment --comment \"flanneld masq\" -j RETURN\n"
    "-A FLANNEL-POSTRTG -s 10.42.0.0/16 -d 10.42.0.0/24 -m comment --comment \"flanneld masq\" -j RETURN\n"
    "-A FLANNEL-POSTRTG ! -s 10.42.0.0/16 -d 10.42.0.0/24 -m comment --comment \"flanneld masq\" -j RETURN\n"
    "-A FLANNEL-POSTRTG -s 10.42.0.0/16 ! -d 224.0.0.0/4 -m comment --comment \"flanneld masq\" -j MASQUERADE --random-fully\n"
    "-A FLANNEL-POSTRTG ! -s 10.42.0.0/16 -d 10.42.0.0/16 -m comment --comment \"flanneld masq\" -j MASQUERADE --random-fully\n");
  /* Node 2 differs only in its own /24. */
  cleanup_free char *pl2 = iptables_node_payload (&mdl, 2);
  cleanup_free char *own = lines_with (pl2, "10.42.2.0/24");
  ck_assert_str_eq (own,
    "-A FLANNEL-POSTRTG -s 10.42.2.0/24 -d 10.42.0.0/16 -m comment --comment \"flanneld masq\" -j RETURN\n"
    "-A FLANNEL-POSTRTG -s 10.42.0.0/16 -d 10.42.2.0/24 -m comment --comment \"flanneld masq\" -j RETURN\n"
    "-A FLANNEL-POSTRTG ! -s 10.42.0.0/16 -d 10.42.2.0/24 -m comment --comment \"flanneld masq\" -j RETURN\n");
  /* Weave has its own chains, not flannel's. */
  sc.cluster.cni = CNI_WEAVE;
  cleanup_free char *pw = iptables_node_payload (&mdl, 0);
  ck_assert_ptr_null (strstr (pw, "FLANNEL"));
  /* What `weave expose` adds (net/bridge.go): masquerade into and out of
   * IPALLOC_RANGE, multicast left alone; and weave-npc's egress drop. */
  ck_assert_ptr_nonnull (strstr (pw, "-A POSTROUTING -j WEAVE\n"));
  ck_assert_ptr_nonnull (strstr (pw, "-A WEAVE -s 10.42.0.0/16 -d 224.0.0.0/4 -j RETURN\n"
                                     "-A WEAVE ! -s 10.42.0.0/16 -d 10.42.0.0/16 -j MASQUERADE\n"
                                     "-A WEAVE -s 10.42.0.0/16 ! -d 10.42.0.0/16 -j MASQUERADE\n"));
  ck_assert_ptr_nonnull (strstr (pw, "-A WEAVE-NPC-EGRESS -m mark ! --mark 0x40000/0x40000 -j DROP\n"));
}
END_TEST

static const char k3s_jumps[] =
  "-A INPUT -j KUBE-FIREWALL\n"
  "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
  "-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS\n"
  "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n"
  "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
  "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n"
  "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
  "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n"
  "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD\n"
  "-A OUTPUT -j KUBE-FIREWALL\n"
  "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
  "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n";

static const char kubeadm_jumps[] =
  "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
  "-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS\n"
  "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n"
  "-A INPUT -j KUBE-FIREWALL\n"
  "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
  "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n"
  "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
  "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n"
  "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD\n"
  "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
  "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
  "-A OUTPUT -j KUBE-FIREWALL\n";

static char *
builtin_jumps (const char *payload)
{
  cleanup_free char *filter = table (payload, "*filter");
  cleanup_free char *in = lines_starting (filter, "-A INPUT ");
  cleanup_free char *fw = lines_starting (filter, "-A FORWARD ");
  cleanup_free char *out = lines_starting (filter, "-A OUTPUT ");
  return xasprintf ("%s%s%s", in, fw, out);
}

START_TEST (test_jump_order_k3s_vs_kubeadm)
{
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 1);
  cleanup_free char *k3s = iptables_node_payload (&mdl, 0);
  cleanup_free char *kj = builtin_jumps (k3s);
  ck_assert_str_eq (kj, k3s_jumps);

  fx_cluster (FLAVOR_KUBEADM, "10.244.0.0/16", 1);
  cleanup_free char *kadm = iptables_node_payload (&mdl, 0);
  cleanup_free char *aj = builtin_jumps (kadm);
  ck_assert_str_eq (aj, kubeadm_jumps);

  cleanup_free char *nat = table (kadm, "*nat");
  cleanup_free char *pre = lines_starting (nat, "-A PREROUTING ");
  cleanup_free char *out = lines_starting (nat, "-A OUTPUT ");
  cleanup_free char *post = lines_starting (nat, "-A POSTROUTING ");
  ck_assert_str_eq (pre, "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
  ck_assert_str_eq (out, "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
  ck_assert_str_eq (post,
    "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n"
    "-A POSTROUTING -m comment --comment \"flanneld masq\" -j FLANNEL-POSTRTG\n");
}
END_TEST

START_TEST (test_nftables_proxy_mode_leaves_kubelet_and_flannel)
{
  fx_cluster (FLAVOR_KUBEADM, "10.244.0.0/16", 1);
  sc.cluster.proxy_mode = PROXY_NFTABLES;
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *j = builtin_jumps (pl);
  ck_assert_str_eq (j,
    "-A INPUT -j KUBE-FIREWALL\n"
    "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD\n"
    "-A OUTPUT -j KUBE-FIREWALL\n");
  ck_assert_ptr_null (strstr (pl, "KUBE-PROXY-CANARY"));
  ck_assert_ptr_null (strstr (pl, "KUBE-SERVICES"));
  ck_assert_ptr_nonnull (strstr (pl, ":KUBE-IPTABLES-HINT - [0:0]\n"));
}
END_TEST

START_TEST (test_large_cluster_drops_endpoint_comments)
{
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 1);
  size_t s = fx_service ("demo", "big", SVC_CLUSTER_IP, "10.43.1.1");
  size_t p = fx_port (s, NULL, 80, PROTO_TCP, 0);
  /* 1001 endpoints, in "ip:port" string order. */
  char **names = xcalloc (1001, sizeof *names);
  for (int i = 0; i < 1001; i++)
    names[i] = xasprintf ("10.42.%d.%d", 1 + i / 250, 1 + i % 250);
  qsort (names, 1001, sizeof *names, (int (*) (const void *, const void *)) strcmp);
  for (int i = 0; i < 1001; i++)
    {
      fx_endpoint (s, p, names[i], 80);
      free (names[i]);
    }
  free (names);
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *c = lines_with (pl, "-> ");
  ck_assert_str_eq (c, "");
  cleanup_free char *sep_comments = lines_with (pl, "-A KUBE-SEP-");
  ck_assert_ptr_null (strstr (sep_comments, "--comment"));
  /* The service-level rules keep theirs. */
  ck_assert_ptr_nonnull (strstr (pl, "--comment \"demo/big cluster IP\""));
}
END_TEST

START_TEST (test_fixed_chains_exact)
{
  /* A k3s node with no services: the whole payload, line for line. */
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 2);
  cleanup_free char *pl = iptables_node_payload (&mdl, 1);
  ck_assert_str_eq (pl,
    "*mangle\n"
    ":KUBE-IPTABLES-HINT - [0:0]\n"
    ":KUBE-KUBELET-CANARY - [0:0]\n"
    ":KUBE-PROXY-CANARY - [0:0]\n"
    "COMMIT\n"
    "*filter\n"
    ":KUBE-FIREWALL - [0:0]\n"
    ":KUBE-KUBELET-CANARY - [0:0]\n"
    ":KUBE-PROXY-CANARY - [0:0]\n"
    ":KUBE-SERVICES - [0:0]\n"
    ":KUBE-EXTERNAL-SERVICES - [0:0]\n"
    ":KUBE-FORWARD - [0:0]\n"
    ":KUBE-NODEPORTS - [0:0]\n"
    ":KUBE-PROXY-FIREWALL - [0:0]\n"
    ":FLANNEL-FWD - [0:0]\n"
    "-A INPUT -j KUBE-FIREWALL\n"
    "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
    "-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS\n"
    "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n"
    "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
    "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n"
    "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
    "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n"
    "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD\n"
    "-A OUTPUT -j KUBE-FIREWALL\n"
    "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
    "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
    "-A KUBE-FIREWALL -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n"
    "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n"
    "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x00004000/0x00004000 -j ACCEPT\n"
    "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    "-A FLANNEL-FWD -s 10.42.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT\n"
    "-A FLANNEL-FWD -d 10.42.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT\n"
    "COMMIT\n"
    "*nat\n"
    ":KUBE-KUBELET-CANARY - [0:0]\n"
    ":KUBE-PROXY-CANARY - [0:0]\n"
    ":KUBE-SERVICES - [0:0]\n"
    ":KUBE-NODEPORTS - [0:0]\n"
    ":KUBE-POSTROUTING - [0:0]\n"
    ":KUBE-MARK-MASQ - [0:0]\n"
    ":FLANNEL-POSTRTG - [0:0]\n"
    "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
    "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
    "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n"
    "-A POSTROUTING -m comment --comment \"flanneld masq\" -j FLANNEL-POSTRTG\n"
    "-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN\n"
    "-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000\n"
    "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n"
    "-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000\n"
    "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n"
    "-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment \"flanneld masq\" -j RETURN\n"
    "-A FLANNEL-POSTRTG -s 10.42.1.0/24 -d 10.42.0.0/16 -m comment --comment \"flanneld masq\" -j RETURN\n"
    "-A FLANNEL-POSTRTG -s 10.42.0.0/16 -d 10.42.1.0/24 -m comment --comment \"flanneld masq\" -j RETURN\n"
    "-A FLANNEL-POSTRTG ! -s 10.42.0.0/16 -d 10.42.1.0/24 -m comment --comment \"flanneld masq\" -j RETURN\n"
    "-A FLANNEL-POSTRTG -s 10.42.0.0/16 ! -d 224.0.0.0/4 -m comment --comment \"flanneld masq\" -j MASQUERADE --random-fully\n"
    "-A FLANNEL-POSTRTG ! -s 10.42.0.0/16 -d 10.42.0.0/16 -m comment --comment \"flanneld masq\" -j MASQUERADE --random-fully\n"
    "COMMIT\n");
  ck_assert_ptr_null (iptables_node_payload (&mdl, 2));
  ck_assert_ptr_null (iptables_node_payload (&mdl, -1));
}
END_TEST


/* ---- kube-proxy's own expected output ---------------------------------- */

static bool
kube_proxy_owned (const char *chain)
{
  return strncmp (chain, "KUBE-", 5) == 0 && strcmp (chain, "KUBE-KUBELET-CANARY") != 0
         && strcmp (chain, "KUBE-PROXY-CANARY") != 0;
}

struct kp_line {
  char *chain, *text;
  size_t order;
};

static int
cmp_kp_line (const void *a, const void *b)
{
  const struct kp_line *x = a, *y = b;
  int c = strcmp (x->chain, y->chain);
  return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* Table NAME of an iptables-restore text reduced to what kube-proxy's
   syncProxyRules owns (its KUBE-* chains, not the canaries or the jumps
   from built-in chains), chain lines sorted, rules grouped by chain in
   their order: the text two writers of the same rules agree on whatever
   order they walk the services in. */
static char *
kube_proxy_view (const char *text, const char *name)
{
  cleanup_free char *body = table (text, name);
  struct kp_line *chains = NULL, *rules = NULL;
  size_t n_chains = 0, n_rules = 0;
  for (char *save = NULL, *l = strtok_r (body, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      bool decl = l[0] == ':';
      if (!decl && strncmp (l, "-A ", 3) != 0)
        continue;
      const char *c = decl ? l + 1 : l + 3;
      char *chain = xstrndup (c, strcspn (c, " "));
      if (!kube_proxy_owned (chain))
        {
          free (chain);
          continue;
        }
      struct kp_line *k = decl ? VEC_PUSH (chains, n_chains) : VEC_PUSH (rules, n_rules);
      k->chain = chain;
      k->text = xstrdup (l);
      k->order = decl ? n_chains : n_rules;
    }
  qsort (chains, n_chains, sizeof *chains, cmp_kp_line);
  qsort (rules, n_rules, sizeof *rules, cmp_kp_line);
  struct strbuf sb;
  sb_init (&sb);
  for (size_t i = 0; i < n_chains; i++)
    {
      sb_addf (&sb, "%s\n", chains[i].text);
      free (chains[i].chain);
      free (chains[i].text);
    }
  for (size_t i = 0; i < n_rules; i++)
    {
      sb_addf (&sb, "%s\n", rules[i].text);
      free (rules[i].chain);
      free (rules[i].text);
    }
  free (chains);
  free (rules);
  return sb_steal (&sb);
}

static char *
str_replace_all (const char *s, const char *from, const char *to)
{
  struct strbuf sb;
  sb_init (&sb);
  for (const char *hit; (hit = strstr (s, from)) != NULL; s = hit + strlen (from))
    {
      sb_addn (&sb, s, (size_t) (hit - s));
      sb_add (&sb, to);
    }
  sb_add (&sb, s);
  return sb_steal (&sb);
}

/* tests/unit/kube-proxy/NAME.txt as the node nslab models would have it:
   the test's fake proxier has xt_nfacct (kube-proxy adds the counters and
   the localhost NodePort rules that use them only where the kernel has the
   module; NFACCT false models a node without it), no --random-fully, and its
   mark is the literal "0x4000" where a real kube-proxy formats 1<<14 as
   "0x00004000". Nothing else is changed. */
static char *
kube_proxy_expected (const char *name, bool nfacct)
{
  cleanup_free char *path = xasprintf ("%s/tests/unit/kube-proxy/%s.txt", NSLAB_SRCDIR, name);
  FILE *f = fopen (path, "re");
  ck_assert_msg (f != NULL, "%s", path);
  struct strbuf sb;
  sb_init (&sb);
  char line[1024];
  while (fgets (line, sizeof line, f))
    {
      if (line[0] == '#' || (!nfacct && strstr (line, "--nfacct-name localhost_nps_accepted_pkts") != NULL))
        continue;
      cleanup_free char *a
          = str_replace_all (line, nfacct ? "\n" : " -m nfacct --nfacct-name ct_state_invalid_dropped_pkts",
                             nfacct ? "\n" : "");
      cleanup_free char *b = str_replace_all (a, "-j MASQUERADE\n", "-j MASQUERADE --random-fully\n");
      cleanup_free char *c = str_replace_all (b, "0x4000", "0x00004000");
      sb_add (&sb, c);
    }
  fclose (f);
  return sb_steal (&sb);
}

/* Equal texts, or a failure naming the first line that differs (check
   cannot carry the whole texts in one message). */
static void
assert_same_lines (const char *got, const char *exp)
{
  size_t line = 1;
  while (*got && *exp)
    {
      size_t lg = strcspn (got, "\n"), le = strcspn (exp, "\n");
      ck_assert_msg (lg == le && strncmp (got, exp, lg) == 0, "line %zu:\n got: %.*s\nwant: %.*s", line, (int) lg,
                     got, (int) le, exp);
      got += lg + (got[lg] != '\0');
      exp += le + (exp[le] != '\0');
      line++;
    }
  ck_assert_msg (*got == '\0' && *exp == '\0', "line %zu:\n got: %.80s\nwant: %.80s", line, got, exp);
}

/* Node 0's payload, reduced to kube-proxy's chains, equals the expected
   text of kube-proxy's unit test NAME (kube_proxy_expected). */
static void
assert_kube_proxy_test (const char *name, bool nfacct)
{
  sc.cluster.nfacct = nfacct;
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *want = kube_proxy_expected (name, nfacct);
  for (int t = 0; t < 2; t++)
    {
      const char *table_name = t ? "*nat" : "*filter";
      cleanup_free char *got = kube_proxy_view (pl, table_name);
      cleanup_free char *exp = kube_proxy_view (want, table_name);
      assert_same_lines (got, exp);
    }
}

static const uint32_t *
fx_ips (size_t svc, const char *a)
{
  static uint32_t store[8][2];
  store[svc][0] = ip (a);
  return store[svc];
}

/* The services and endpoints of kube-proxy's TestOverallIPTablesRules, on
   node 0 ("test-node", 192.168.0.2); endpoints without a node name there
   are on node 1 here. */
START_TEST (test_kube_proxy_overall_rules)
{
  fx_cluster (FLAVOR_KUBEADM, "10.0.0.0/8", 2);
  mdl.nodes[0].internal_ip = ip ("192.168.0.2");
  mdl.nodes[1].internal_ip = ip ("192.168.0.3");
  static struct cidr range;
  ck_assert (cidr_parse ("203.0.113.0/25", &range, true));

  size_t s1 = fx_service ("ns1", "svc1", SVC_CLUSTER_IP, "172.30.0.41");
  fx_endpoint_on (s1, fx_port (s1, "p80", 80, PROTO_TCP, 0), "10.180.0.1", 80, 1);

  size_t s2 = fx_service ("ns2", "svc2", SVC_LOAD_BALANCER, "172.30.0.42");
  fx_endpoint_on (s2, fx_port (s2, "p80", 80, PROTO_TCP, 3001), "10.180.0.2", 80, 1);
  fx_lb_ip (s2, "1.2.3.4");
  mdl.services[s2].etp_local = true;
  mdl.services[s2].hc_node_port = 30000;
  mdl.services[s2].external_ips = fx_ips (s2, "192.168.99.22");
  mdl.services[s2].n_external_ips = 1;

  size_t s3 = fx_service ("ns3", "svc3", SVC_NODE_PORT, "172.30.0.43");
  fx_endpoint_on (s3, fx_port (s3, "p80", 80, PROTO_TCP, 3003), "10.180.0.3", 80, 1);

  size_t s4 = fx_service ("ns4", "svc4", SVC_NODE_PORT, "172.30.0.44");
  size_t p4 = fx_port (s4, "p80", 80, PROTO_TCP, 0);
  fx_endpoint_on (s4, p4, "10.180.0.4", 80, 1);
  fx_endpoint_on (s4, p4, "10.180.0.5", 80, 0);
  mdl.services[s4].external_ips = fx_ips (s4, "192.168.99.33");
  mdl.services[s4].n_external_ips = 1;

  /* Its healthCheckNodePort is ignored with the Cluster policy, so the
     model (as the apiserver) has none. */
  size_t s5 = fx_service ("ns5", "svc5", SVC_LOAD_BALANCER, "172.30.0.45");
  fx_endpoint_on (s5, fx_port (s5, "p80", 80, PROTO_TCP, 3002), "10.180.0.3", 80, 1);
  fx_lb_ip (s5, "5.6.7.8");
  mdl.services[s5].source_ranges = &range;
  mdl.services[s5].n_source_ranges = 1;
  mdl.services[s5].affinity_client_ip = true;
  mdl.services[s5].affinity_timeout = 10800;

  size_t s6 = fx_service ("ns6", "svc6", SVC_CLUSTER_IP, "172.30.0.46");
  fx_port (s6, "p80", 80, PROTO_TCP, 0);

  /* Without nfacct (nslab's default) and with it (the fake's kernel). */
  assert_kube_proxy_test ("TestOverallIPTablesRules", false);
  assert_kube_proxy_test ("TestOverallIPTablesRules", true);
}
END_TEST

/* The fixture for kube-proxy's tests of one service ns1/svc1:p80 at
   172.30.0.41 with endpoints 10.180.0.1 (another node) and 10.180.2.1
   (node 0, the test's own). */
static size_t
fx_kube_proxy_svc1 (enum svc_type type, uint16_t node_port, const char *external_ip)
{
  fx_cluster (FLAVOR_KUBEADM, "10.0.0.0/8", 2);
  mdl.nodes[0].internal_ip = ip ("192.168.0.2");
  mdl.nodes[1].internal_ip = ip ("192.168.0.3");
  size_t s = fx_service ("ns1", "svc1", type, "172.30.0.41");
  size_t p = fx_port (s, "p80", 80, PROTO_TCP, node_port);
  fx_endpoint_on (s, p, "10.180.0.1", 80, 1);
  fx_endpoint_on (s, p, "10.180.2.1", 80, 0);
  mdl.services[s].external_ips = fx_ips (s, external_ip);
  mdl.services[s].n_external_ips = 1;
  return s;
}

START_TEST (test_kube_proxy_etp_local)
{
  size_t s = fx_kube_proxy_svc1 (SVC_LOAD_BALANCER, 3001, "192.168.99.11");
  fx_lb_ip (s, "1.2.3.4");
  mdl.services[s].etp_local = true;
  mdl.services[s].hc_node_port = 30000;
  assert_kube_proxy_test ("TestExternalTrafficPolicyLocal", false);
}
END_TEST

START_TEST (test_kube_proxy_non_local_external_ips)
{
  fx_kube_proxy_svc1 (SVC_CLUSTER_IP, 0, "192.168.99.11");
  assert_kube_proxy_test ("TestNonLocalExternalIPs", false);
}
END_TEST

/* nodePortAddresses: one tail rule per node address inside the CIDRs
   (sorted; loopback only with localhostNodePorts); without it, addrtype
   LOCAL, minus 127/8 when localhost NodePorts are off. */
START_TEST (test_nodeport_addresses_and_localhost)
{
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 1);
  struct model_nic nics[2] = { { .addr = ip ("10.0.2.15") }, { .addr = ip ("192.168.56.10") } };
  mdl.nodes[0].nics = nics;
  mdl.nodes[0].n_nics = 2;
  struct cidr npa[2];
  ck_assert (cidr_parse ("192.168.56.0/24", &npa[0], true));
  ck_assert (cidr_parse ("127.0.0.0/8", &npa[1], true));
  static const char tail[] = "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\"";

  sc.cluster.node_port_addresses = npa;
  sc.cluster.n_node_port_addresses = 2;
  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *got = lines_with (pl, "kubernetes service nodeports");
  cleanup_free char *want = xasprintf ("%s -d 127.0.0.1 -j KUBE-NODEPORTS\n%s -d 192.168.56.10 -j KUBE-NODEPORTS\n", tail, tail);
  ck_assert_str_eq (got, want);

  sc.cluster.localhost_nodeports = false;
  cleanup_free char *pl2 = iptables_node_payload (&mdl, 0);
  cleanup_free char *got2 = lines_with (pl2, "kubernetes service nodeports");
  cleanup_free char *want2 = xasprintf ("%s -d 192.168.56.10 -j KUBE-NODEPORTS\n", tail);
  ck_assert_str_eq (got2, want2);

  sc.cluster.n_node_port_addresses = 0;
  sc.cluster.node_port_addresses = NULL;
  cleanup_free char *pl3 = iptables_node_payload (&mdl, 0);
  cleanup_free char *got3 = lines_with (pl3, "kubernetes service nodeports");
  cleanup_free char *want3 = xasprintf ("%s -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS\n", tail);
  ck_assert_str_eq (got3, want3);
  mdl.nodes[0].nics = NULL;
  mdl.nodes[0].n_nics = 0;
}
END_TEST

/* internalTrafficPolicy Local: the ClusterIP goes to KUBE-SVL- with only
   the node's own endpoints (no KUBE-SVC- at all: nothing external uses the
   cluster-wide set), and a node without one drops it in the filter table. */
START_TEST (test_itp_local_per_node)
{
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 3);
  size_t s = fx_service ("ns1", "svc1", SVC_CLUSTER_IP, "10.43.0.41");
  size_t p = fx_port (s, "p80", 80, PROTO_TCP, 0);
  fx_endpoint_on (s, p, "10.42.0.5", 80, 0);
  fx_endpoint_on (s, p, "10.42.1.5", 80, 1);
  mdl.services[s].itp_local = true;
  char svl[KUBE_CHAIN_MAX], svc[KUBE_CHAIN_MAX];
  kube_svc_chain (svl, KUBE_SVL_PREFIX, "ns1/svc1:p80", "tcp");
  kube_svc_chain (svc, KUBE_SVC_PREFIX, "ns1/svc1:p80", "tcp");

  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *nat = table (pl, "*nat");
  cleanup_free char *got = lines_with (nat, svl);
  cleanup_free char *want = xasprintf (
      ":%s - [0:0]\n"
      "-A KUBE-SERVICES -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 10.43.0.41 --dport 80 -j %s\n"
      "-A %s -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 10.43.0.41 --dport 80 ! -s 10.42.0.0/16 -j KUBE-MARK-MASQ\n"
      "-A %s -m comment --comment \"ns1/svc1:p80 -> 10.42.0.5:80\" -j KUBE-SEP-",
      svl, svl, svl, svl);
  ck_assert_msg (strncmp (got, want, strlen (want)) == 0, "%s", got);
  ck_assert_ptr_null (strstr (nat, svc));
  ck_assert_ptr_null (strstr (nat, "10.42.1.5"));

  cleanup_free char *pl2 = iptables_node_payload (&mdl, 2);
  ck_assert_ptr_null (strstr (pl2, svl));
  cleanup_free char *drop = lines_with (pl2, "has no local endpoints");
  ck_assert_str_eq (drop, "-A KUBE-SERVICES -m comment --comment \"ns1/svc1:p80 has no local endpoints\" -m tcp -p tcp -d 10.43.0.41 --dport 80 -j DROP\n");
}
END_TEST

START_TEST (test_natrouter_payload)
{
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 1);
  struct network_def nets[2] = { 0 };
  nets[0].kind = NET_NAT;
  ck_assert (cidr_parse ("10.0.2.0/24", &nets[0].cidr, true));
  nets[1].kind = NET_HOSTONLY;
  ck_assert (cidr_parse ("192.168.56.0/24", &nets[1].cidr, true));
  struct model_nic nics[2] = { 0 };
  nics[0].net = &nets[0];
  nics[1].net = &nets[1];
  mdl.nodes[0].nics = nics;
  mdl.nodes[0].n_nics = 2;
  cleanup_free char *pl = iptables_natrouter_payload (&mdl, 0, 0);
  ck_assert_str_eq (pl, "*nat\n-A POSTROUTING -s 10.0.2.0/24 ! -d 10.0.2.0/24 -j MASQUERADE\nCOMMIT\n");
  ck_assert_ptr_null (iptables_natrouter_payload (&mdl, 0, 1));
  ck_assert_ptr_null (iptables_natrouter_payload (&mdl, 0, 2));
  ck_assert_ptr_null (iptables_natrouter_payload (&mdl, 1, 0));
}
END_TEST

/* ---- the real thing: iptables-restore into a private netns ------------- */

/* Run a shell command, return its stdout (caller frees) and exit status. */
static char *
run_capture (const char *cmd, int *status)
{
  FILE *f = popen (cmd, "r");
  ck_assert_msg (f != NULL, "popen %s", cmd);
  struct strbuf sb;
  sb_init (&sb);
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    sb_addn (&sb, buf, n);
  int st = pclose (f);
  *status = WIFEXITED (st) ? WEXITSTATUS (st) : -1;
  return sb_steal (&sb);
}

static char *
restore_and_save (const char *payload)
{
  char path[] = "/tmp/nslab-ipt-XXXXXX";
  int fd = mkstemp (path);
  ck_assert (fd >= 0);
  FILE *f = fdopen (fd, "w");
  fputs (payload, f);
  fclose (f);
  int st;
  cleanup_free char *cmd = xasprintf ("iptables-restore --noflush < %s 2>&1", path);
  cleanup_free char *err = run_capture (cmd, &st);
  unlink (path);
  ck_assert_msg (st == 0, "iptables-restore failed (%d): %s\npayload:\n%s", st, err, payload);
  char *save = run_capture ("iptables-save 2>&1", &st);
  ck_assert_msg (st == 0, "iptables-save failed: %s", save);
  return save;
}

static void
assert_has (const char *save, const char *line)
{
  ck_assert_msg (strstr (save, line) != NULL, "iptables-save lacks:\n%s\n--- got:\n%s", line, save);
}

START_TEST (test_restore_in_private_netns)
{
  UNIT_REQUIRE_ROOT ();
  /* Check forked this test, so the new namespace dies with it. */
  ck_assert_msg (unshare (CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror (errno));

  fx_my_nginx ();
  mdl.n_nodes = 1;
  size_t s = fx_service ("default", "np", SVC_LOAD_BALANCER, "10.96.45.254");
  size_t p = fx_port (s, "http", 80, PROTO_TCP, 31885);
  fx_endpoint (s, p, "10.244.1.5", 8080);
  fx_endpoint (s, p, "10.244.2.5", 8080);
  fx_endpoint (s, p, "10.244.3.5", 8080);
  fx_lb_ip (s, "192.168.56.10");
  mdl.services[s].affinity_client_ip = true;
  mdl.services[s].affinity_timeout = 10800;
  size_t d = fx_service ("kube-system", "kube-dns", SVC_NODE_PORT, "10.96.0.10");
  p = fx_port (d, "dns", 53, PROTO_UDP, 30053);
  (void) p;

  cleanup_free char *pl = iptables_node_payload (&mdl, 0);
  cleanup_free char *save = restore_and_save (pl);

  /* Reference 1.9: the normalised forms iptables-save prints. */
  assert_has (save, "-A KUBE-SERVICES -d 10.96.86.215/32 -p tcp -m comment --comment \"default/my-nginx cluster IP\" -m tcp --dport 80 -j KUBE-SVC-L65ENXXZWWSAPRCR\n");
  assert_has (save, "-A KUBE-SVC-L65ENXXZWWSAPRCR ! -s 10.244.0.0/16 -d 10.96.86.215/32 -p tcp -m comment --comment \"default/my-nginx cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ\n");
  assert_has (save, "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx -> 10.244.2.3:80\" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-TIQJFJVSHRJZTTZW\n");
  assert_has (save, "-A KUBE-SVC-L65ENXXZWWSAPRCR -m comment --comment \"default/my-nginx -> 10.244.3.3:80\" -j KUBE-SEP-MEZP33SDGZXSPSO5\n");
  assert_has (save, "-A KUBE-SEP-MEZP33SDGZXSPSO5 -s 10.244.3.3/32 -m comment --comment \"default/my-nginx\" -j KUBE-MARK-MASQ\n");
  assert_has (save, "-A KUBE-SEP-MEZP33SDGZXSPSO5 -p tcp -m comment --comment \"default/my-nginx\" -m tcp -j DNAT --to-destination 10.244.3.3:80\n");
  assert_has (save, "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n");
  assert_has (save, "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n");
  assert_has (save, "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n");
  assert_has (save, "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n");
  assert_has (save, "-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n");
  assert_has (save, "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT\n");
  assert_has (save, "--probability 0.33333333349 -j KUBE-SEP-");
  assert_has (save, "-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-");
  assert_has (save, "-m recent --set --name KUBE-SEP-");
  assert_has (save, " --mask 255.255.255.255 --rsource");
  assert_has (save, "-A KUBE-SERVICES -d 192.168.56.10/32 -p tcp -m comment --comment \"default/np:http loadbalancer IP\" -m tcp --dport 80 -j KUBE-EXT-");
  assert_has (save, "-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/np:http\" -m tcp --dport 31885 -j KUBE-EXT-");
  assert_has (save, "-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment \"kube-system/kube-dns:dns has no endpoints\" -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable\n");
  assert_has (save, "-A KUBE-EXTERNAL-SERVICES -p udp -m comment --comment \"kube-system/kube-dns:dns has no endpoints\" -m addrtype --dst-type LOCAL -m udp --dport 30053 -j REJECT --reject-with icmp-port-unreachable\n");
  assert_has (save, "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n");
  assert_has (save, "-A FLANNEL-POSTRTG -s 10.244.0.0/24 -d 10.244.0.0/16 -m comment --comment \"flanneld masq\" -j RETURN\n");
  assert_has (save, "-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment \"flanneld masq\" -j MASQUERADE --random-fully\n");
  assert_has (save, ":KUBE-IPTABLES-HINT - [0:0]\n");
  /* The built-in jumps in iptables-save equal what was written (kubeadm). */
  assert_has (save, kubeadm_jumps);

  /* k3s order survives the kernel round trip too; the NAT router payload
     is accepted as well. */
  fx_cluster (FLAVOR_K3S, "10.42.0.0/16", 1);
  cleanup_free char *k3s = iptables_node_payload (&mdl, 0);
  int st;
  cleanup_free char *flush = run_capture ("iptables -F; iptables -X; iptables -t nat -F; iptables -t nat -X; iptables -t mangle -X 2>&1", &st);
  ck_assert_msg (st == 0, "flush: %s", flush);
  cleanup_free char *save2 = restore_and_save (k3s);
  assert_has (save2, k3s_jumps);

  struct network_def net = { .kind = NET_NAT };
  ck_assert (cidr_parse ("10.0.2.0/24", &net.cidr, true));
  struct model_nic nic = { .net = &net };
  mdl.nodes[0].nics = &nic;
  mdl.nodes[0].n_nics = 1;
  cleanup_free char *nr = iptables_natrouter_payload (&mdl, 0, 0);
  cleanup_free char *save3 = restore_and_save (nr);
  assert_has (save3, "-A POSTROUTING -s 10.0.2.0/24 ! -d 10.0.2.0/24 -j MASQUERADE\n");
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("iptables_rules");
  TCase *tc = tcase_create ("payload");
  tcase_add_test (tc, test_mark_and_probability_strings);
  tcase_add_test (tc, test_my_nginx_two_endpoints);
  tcase_add_test (tc, test_three_endpoint_probabilities);
  tcase_add_test (tc, test_nodeport_rules);
  tcase_add_test (tc, test_loadbalancer_ips);
  tcase_add_test (tc, test_session_affinity);
  tcase_add_test (tc, test_affinity_custom_timeout);
  tcase_add_test (tc, test_no_endpoints_reject);
  tcase_add_test (tc, test_services_sorted_by_port_name);
  tcase_add_test (tc, test_flannel_k3s_node0);
  tcase_add_test (tc, test_jump_order_k3s_vs_kubeadm);
  tcase_add_test (tc, test_nftables_proxy_mode_leaves_kubelet_and_flannel);
  tcase_add_test (tc, test_large_cluster_drops_endpoint_comments);
  tcase_add_test (tc, test_fixed_chains_exact);
  tcase_add_test (tc, test_natrouter_payload);
  tcase_add_test (tc, test_kube_proxy_overall_rules);
  tcase_add_test (tc, test_kube_proxy_etp_local);
  tcase_add_test (tc, test_kube_proxy_non_local_external_ips);
  tcase_add_test (tc, test_nodeport_addresses_and_localhost);
  tcase_add_test (tc, test_itp_local_per_node);
  suite_add_tcase (s, tc);

  TCase *root = tcase_create ("kernel");
  tcase_set_timeout (root, 30);
  tcase_add_test (root, test_restore_in_private_netns);
  suite_add_tcase (s, root);
  return s;
}

UNIT_MAIN (make_suite)
