/* scenario_load on valid input: template lookup and key-by-key merge,
 * section order, defaults, implicit services, warnings, quoting, and the
 * shell-like command splitting. */
#include "unit.h"

#include "scenario/scenario.h"
#include "scenario/ini.h"
#include "base/hash.h"
#include "base/shellsplit.h"
#include "scenario/validate.h"
#include "base/text.h"
#include "scenario/flavor.h"

#define NODES                                                                  \
  "[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n" \
  "[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n"

static struct scenario *
load_ok (const char *name, const char *text)
{
  char *path = unit_write_file (name, text);
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  int r = scenario_load (path, &sc, &err);
  ck_assert_msg (r == 0, "load failed: %s", err ? err->msg : "?");
  ck_assert_str_eq (sc->files[0], path);
  free (path);
  return sc;
}

static const struct service_def *
svc (const struct scenario *sc, const char *ns, const char *name)
{
  for (size_t i = 0; i < sc->n_services; i++)
    if (!strcmp (sc->services[i].ns, ns) && !strcmp (sc->services[i].name, name))
      return &sc->services[i];
  return NULL;
}

START_TEST (test_k3s_lab)
{
  /* The shipped lab, loaded from the repository. */
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (scenario_load (NSLAB_SRCDIR "/labs/k3s-virtualbox.ini", &sc, &err), 0);
  ck_assert_str_eq (sc->lab, "k3s");
  ck_assert_uint_eq (sc->n_files, 2);
  ck_assert_str_eq (sc->files[1], NSLAB_SRCDIR "/labs/../templates/k3s.ini");
  ck_assert_int_eq (sc->cluster.flavor, FLAVOR_K3S);
  ck_assert_uint_eq (sc->cluster.pod_cidr.addr, IP4 (10, 42, 0, 0));
  ck_assert_uint_eq (sc->cluster.dns_ip, IP4 (10, 43, 0, 10));
  ck_assert_uint_eq (sc->n_nodes, 3);
  ck_assert_str_eq (sc->nodes[2].name, "w2");
  ck_assert_int_eq (sc->nodes[0].internal_nic, 1);
  ck_assert_uint_eq (sc->nodes[0].nics[0].addr, IP4 (10, 0, 2, 15));
  /* The lab's two and the flavor's coredns Deployment, last. */
  ck_assert_uint_eq (sc->n_workloads, 3);
  ck_assert_str_eq (sc->workloads[2].name, "coredns");
  ck_assert_int_eq (sc->workloads[2].app.kind, APP_DNS);
  ck_assert_int_eq (sc->workloads[2].replicas, 1);
  ck_assert_int_eq (sc->workloads[1].replicas, 6);
  ck_assert_uint_eq (sc->workloads[1].app.port, 8080);
  const struct service_def *s = svc (sc, "default", "my-helloworld-rs-service");
  ck_assert_ptr_nonnull (s);
  ck_assert_int_eq (s->type, SVC_NODE_PORT);
  ck_assert_uint_eq (s->ports[0].node_port, 31885);
  ck_assert_uint_eq (s->ports[0].target_port, 8080);
  ck_assert_uint_eq (s->cluster_ip, IP4 (10, 43, 45, 254));
  ck_assert_uint_eq (sc->n_warnings, 0);
  scenario_free (sc);
}
END_TEST

START_TEST (test_template_merge_and_defaults)
{
  struct scenario *sc
      = load_ok ("m.ini", "[lab]\nname = m\ntemplate = k3s\n"
                          "[cluster]\nnode_mask = 25\n"
                          "[network hostonly]\ncidr = 192.168.57.0/24\ngateway = 192.168.57.254\n"
                          "[node cp1]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.57.10\n");
  const struct cluster_def *cl = &sc->cluster;
  /* From the template... */
  ck_assert_int_eq (cl->flavor, FLAVOR_K3S);
  ck_assert_uint_eq (cl->service_cidr.addr, IP4 (10, 43, 0, 0));
  ck_assert_uint_eq (cl->service_cidr.len, 16);
  /* ...overridden key by key... */
  ck_assert_uint_eq (cl->node_mask, 25);
  /* ...and built-in defaults. */
  ck_assert_uint_eq (cl->vxlan_vni, 1);
  ck_assert_uint_eq (cl->vxlan_port, 8472);
  ck_assert_uint_eq (cl->underlay_mtu, 1500);
  ck_assert_uint_eq (cl->nodeport_min, 30000);
  ck_assert_uint_eq (cl->nodeport_max, 32767);
  ck_assert_uint_eq (cl->apiserver_port, 6443);
  ck_assert_int_eq (cl->masquerade_bit, 14);
  ck_assert (cl->cp_schedulable);
  ck_assert_str_eq (cl->dns_domain, "cluster.local");
  ck_assert_int_eq (cl->cni, CNI_FLANNEL);
  ck_assert_int_eq (cl->proxy_mode, PROXY_IPTABLES);
  /* hostonly: cidr and gateway from the scenario, bridge from the template */
  ck_assert_uint_eq (sc->networks[1].cidr.addr, IP4 (192, 168, 57, 0));
  ck_assert_uint_eq (sc->networks[1].gateway, IP4 (192, 168, 57, 254));
  ck_assert_str_eq (sc->networks[1].bridge, "vboxnet0");
  scenario_free (sc);
}
END_TEST

START_TEST (test_merge_key_by_key)
{
  struct scenario *sc
      = load_ok ("kk.ini", "[lab]\nname = kk\ntemplate = k3s\n"
                           "[network hostonly]\nbridge = vboxnet7\n" NODES);
  ck_assert_uint_eq (sc->n_networks, 2);
  /* nat is only in the template: it comes first; hostonly is in the scenario. */
  ck_assert_str_eq (sc->networks[0].name, "nat");
  ck_assert_str_eq (sc->networks[0].origin.file, sc->files[1]);
  ck_assert_str_eq (sc->networks[1].name, "hostonly");
  ck_assert_str_eq (sc->networks[1].origin.file, sc->files[0]);
  ck_assert_str_eq (sc->networks[1].bridge, "vboxnet7");
  ck_assert_uint_eq (sc->networks[1].gateway, IP4 (192, 168, 56, 1));
  ck_assert_uint_eq (sc->networks[1].cidr.addr, IP4 (192, 168, 56, 0));
  ck_assert_uint_eq (sc->networks[0].gateway, IP4 (10, 0, 2, 2));
  ck_assert_uint_eq (sc->networks[0].dns, IP4 (10, 0, 2, 3));
  scenario_free (sc);
}
END_TEST

START_TEST (test_own_template_and_order)
{
  char *tpl = unit_write_file ("mytpl.ini", "[cluster]\nflavor = kubeadm\n"
                                            "[network lan]\ntype = hostonly\ncidr = 172.30.0.0/24\n"
                                            "[node b]\nnics = eth0=lan:172.30.0.5\n");
  struct scenario *sc = load_ok ("o.ini", "[lab]\nname = o\ntemplate = mytpl\n"
                                          "[node c]\nrole = control-plane\nnics = eth0=lan:172.30.0.7\n"
                                          "[node a]\nnics = eth0=lan:172.30.0.6\n"
                                          "[node b]\nschedulable = false\n");
  ck_assert_str_eq (sc->files[1], tpl);
  /* kubeadm defaults */
  ck_assert_uint_eq (sc->cluster.pod_cidr.addr, IP4 (10, 244, 0, 0));
  ck_assert_uint_eq (sc->cluster.service_cidr.addr, IP4 (10, 96, 0, 0));
  ck_assert_uint_eq (sc->cluster.service_cidr.len, 12);
  ck_assert_uint_eq (sc->cluster.dns_ip, IP4 (10, 96, 0, 10));
  ck_assert (!sc->cluster.cp_schedulable);
  /* node order: scenario order; b is in both, so at its scenario place */
  ck_assert_uint_eq (sc->n_nodes, 3);
  ck_assert_str_eq (sc->nodes[0].name, "c");
  ck_assert_str_eq (sc->nodes[1].name, "a");
  ck_assert_str_eq (sc->nodes[2].name, "b");
  ck_assert (!sc->nodes[0].schedulable); /* kubeadm control plane */
  ck_assert (sc->nodes[1].schedulable);
  ck_assert (!sc->nodes[2].schedulable);
  ck_assert_uint_eq (sc->nodes[2].nics[0].addr, IP4 (172, 30, 0, 5));
  ck_assert_str_eq (sc->networks[0].bridge, "vboxnet0");
  free (tpl);
  scenario_free (sc);
}
END_TEST

/* [images]: the template's entries apply, the lab's override them key by
 * key; lookup by whole repository first, then its last path element, then
 * the built-ins (nginx, httpd). */
START_TEST (test_images)
{
  char *tpl = unit_write_file ("imgtpl.ini", "[cluster]\nflavor = k3s\n"
                                             "[network nat]\ntype = nat\ncidr = 10.0.2.0/24\n"
                                             "[network hostonly]\ntype = hostonly\ncidr = 192.168.56.0/24\n"
                                             "[images]\nagnhost = http:8080\nmyapp = http:1\n");
  struct scenario *sc = load_ok ("img.ini", "[lab]\nname = img\ntemplate = imgtpl\n" NODES
                                            "[images]\nmyapp = http:9000\nnginx = none\n"
                                            "registry.k8s.io/e2e-test-images/agnhost = http:9376\n"
                                            "[pod default/a]\nimage = example.com/team/myapp:1.2\n"
                                            "[pod default/b]\nimage = busybox@sha256:"
                                            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
                                            "[pod default/c]\nimage = localhost:5000/nginx\nport = 81\n"
                                            "[pod default/d]\nimage = registry.k8s.io/e2e-test-images/agnhost:2.52\n"
                                            "container = server\n");
  ck_assert_uint_eq (sc->n_images, 4);
  /* a workload's image picks its app through [images] when no app key is given */
  ck_assert_uint_eq (sc->n_workloads, 4 + 1); /* + coredns */
  ck_assert_str_eq (sc->workloads[0].container, "myapp");
  ck_assert_int_eq (sc->workloads[0].app.kind, APP_HTTP);
  ck_assert_uint_eq (sc->workloads[0].app.port, 9000);
  ck_assert_str_eq (sc->workloads[1].container, "busybox");
  ck_assert_int_eq (sc->workloads[1].app.kind, APP_NONE);
  ck_assert_int_eq (sc->workloads[1].readiness.kind, PROBE_NONE);
  /* the lab's nginx = none is overridden by the section's own port */
  ck_assert_str_eq (sc->workloads[2].container, "nginx");
  ck_assert_uint_eq (sc->workloads[2].app.port, 81);
  ck_assert_str_eq (sc->workloads[3].container, "server");
  ck_assert_uint_eq (sc->workloads[3].app.port, 9376);
  ck_assert_int_eq (sc->workloads[3].readiness.kind, PROBE_TCP);
  struct app_def app;
  ck_assert (scenario_image_app (sc, "example.com/team/myapp:1.2", &app));
  ck_assert_int_eq (app.kind, APP_HTTP);
  ck_assert_uint_eq (app.port, 9000);
  ck_assert (scenario_image_app (sc, "myapp@sha256:0123", &app));
  ck_assert_uint_eq (app.port, 9000);
  /* a registry's port is not a tag */
  ck_assert (scenario_image_app (sc, "localhost:5000/myapp", &app));
  ck_assert_uint_eq (app.port, 9000);
  ck_assert (scenario_image_app (sc, "registry.k8s.io/e2e-test-images/agnhost:2.52", &app));
  ck_assert_uint_eq (app.port, 9376);
  ck_assert (scenario_image_app (sc, "k8s.gcr.io/agnhost:2.40", &app));
  ck_assert_uint_eq (app.port, 8080);
  ck_assert (scenario_image_app (sc, "docker.io/library/nginx:1.27", &app));
  ck_assert_int_eq (app.kind, APP_NONE);
  ck_assert (scenario_image_app (sc, "httpd:2.4", &app));
  ck_assert_int_eq (app.kind, APP_HTTP);
  ck_assert_uint_eq (app.port, 80);
  ck_assert (!scenario_image_app (sc, "busybox", &app));
  ck_assert_int_eq (app.kind, APP_NONE);
  ck_assert (!scenario_image_app (sc, "myapps", &app));
  ck_assert (!scenario_image_app (sc, "team/myapp/extra", &app));
  /* no scenario: the built-ins only */
  ck_assert (scenario_image_app (NULL, "nginx:1.27", &app));
  ck_assert_uint_eq (app.port, 80);
  ck_assert (!scenario_image_app (NULL, "myapp", &app));
  scenario_free (sc);
  free (tpl);
}
END_TEST

START_TEST (test_template_dir_env)
{
  char *dir = xstrdup ("/tmp/nslab-tpl-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (dir));
  char *p = xasprintf ("%s/envtpl.ini", dir);
  FILE *f = fopen (p, "w");
  fputs ("[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.9.0/24\n", f);
  fclose (f);
  setenv ("NSLAB_TEMPLATE_DIR", dir, 1);
  struct scenario *sc = load_ok ("e.ini", "[lab]\nname = e\ntemplate = envtpl\n"
                                          "[node cp]\nrole = control-plane\nnics = e0=h:192.168.9.9\n");
  ck_assert_str_eq (sc->files[1], p);
  ck_assert_uint_eq (sc->networks[0].gateway, IP4 (192, 168, 9, 1));
  scenario_free (sc);
  unlink (p);
  rmdir (dir);
  free (p);
  free (dir);
}
END_TEST

START_TEST (test_template_path)
{
  char *tpl = unit_write_file ("sub.ini", "[cluster]\nflavor = k3s\n"
                                          "[network h]\ntype = hostonly\ncidr = 192.168.9.0/24\n");
  struct scenario *sc = load_ok ("p.ini", "[lab]\nname = p\ntemplate = ./sub.ini\n"
                                          "[node cp]\nrole = control-plane\nnics = e0=h:192.168.9.9\n");
  char *want = xstrdup (tpl);
  *strrchr (want, '/') = '\0';
  char *full = xasprintf ("%s/./sub.ini", want);
  ck_assert_str_eq (sc->files[1], full);
  free (full);
  free (want);
  free (tpl);
  scenario_free (sc);
}
END_TEST

START_TEST (test_implicit_services)
{
  struct scenario *sc = load_ok ("i.ini", "[lab]\nname = i\ntemplate = kubeadm-flannel\n" NODES);
  const struct service_def *k = svc (sc, "default", "kubernetes");
  ck_assert_ptr_nonnull (k);
  ck_assert (k->implicit);
  ck_assert_uint_eq (k->cluster_ip, IP4 (10, 96, 0, 1));
  ck_assert_uint_eq (k->n_ports, 1);
  ck_assert_str_eq (k->ports[0].name, "https");
  ck_assert_uint_eq (k->ports[0].port, 443);
  ck_assert_uint_eq (k->ports[0].target_port, 6443);
  ck_assert_int_eq (k->ports[0].protocol, PROTO_TCP);
  ck_assert_uint_eq (k->n_selector, 0);
  const struct service_def *d = svc (sc, "kube-system", "kube-dns");
  ck_assert_ptr_nonnull (d);
  ck_assert (d->implicit);
  ck_assert_uint_eq (d->cluster_ip, IP4 (10, 96, 0, 10));
  ck_assert_uint_eq (d->n_selector, 1);
  ck_assert_str_eq (d->selector[0].key, "k8s-app");
  ck_assert_str_eq (d->selector[0].value, "kube-dns");
  ck_assert_uint_eq (d->n_ports, 3);
  ck_assert_str_eq (d->ports[0].name, "dns");
  ck_assert_int_eq (d->ports[0].protocol, PROTO_UDP);
  ck_assert_str_eq (d->ports[1].name, "dns-tcp");
  ck_assert_int_eq (d->ports[1].protocol, PROTO_TCP);
  ck_assert_str_eq (d->ports[2].name, "metrics");
  ck_assert_uint_eq (d->ports[2].port, 9153);
  /* No "matches nothing" warning for kube-dns although no pod has k8s-app. */
  ck_assert_uint_eq (sc->n_warnings, 0);
  scenario_free (sc);
}
END_TEST

START_TEST (test_user_overrides_implicit)
{
  struct scenario *sc = load_ok ("u.ini", "[lab]\nname = u\ntemplate = k3s\n[cluster]\napiserver_port = 8443\n" NODES
                                          "[service kube-system/kube-dns]\nports = 53/udp\n");
  const struct service_def *d = svc (sc, "kube-system", "kube-dns");
  ck_assert (!d->implicit);
  ck_assert_uint_eq (d->n_ports, 1);
  ck_assert_uint_eq (d->cluster_ip, 0);
  ck_assert_uint_eq (svc (sc, "default", "kubernetes")->ports[0].target_port, 8443);
  ck_assert_uint_eq (sc->n_services, 2);
  scenario_free (sc);
}
END_TEST

START_TEST (test_workloads)
{
  struct scenario *sc = load_ok (
      "w.ini", "[lab]\nname = w\ntemplate = k3s\n" NODES
               "[pod demo/one]\nlabels = app=one, example.com/tier=\nnode = w1\nip = 10.42.1.7\n"
               "command = \"sh -c 'echo a;b'\" ; run it\n"
               "[deployment demo/web]\nlabels = app=web\nreplicas = 2\nnodes = w1, cp1\n"
               "ips = 10.42.0.20, 10.42.1.20\nport = 8080\n"
               "[replicaset demo/rs]\nlabels = app=rs\n"
               "[service demo/svc]\ntype = LoadBalancer\nselector = app=web\n"
               "ports = http:80->8080@30001, dns:53/UDP, s:7/sctp\n"
               "session_affinity = ClientIP\naffinity_timeout = 30\n");
  /* + kube-system/coredns and servicelb's DaemonSet for the LoadBalancer */
  ck_assert_uint_eq (sc->n_workloads, 5);
  ck_assert_int_eq (sc->workloads[4].kind, WL_DAEMONSET);
  ck_assert_str_eq (sc->workloads[4].ns, "kube-system");
  ck_assert (strncmp (sc->workloads[4].name, "svclb-svc-", 10) == 0);
  ck_assert_str_eq (sc->workloads[4].lb_svc_name, "svc");
  const struct workload_def *p = &sc->workloads[0];
  ck_assert_int_eq (p->kind, WL_POD);
  ck_assert_str_eq (p->ns, "demo");
  ck_assert_str_eq (p->name, "one");
  ck_assert_int_eq (p->replicas, 1);
  ck_assert_uint_eq (p->n_labels, 2);
  ck_assert_str_eq (p->labels[1].key, "example.com/tier");
  ck_assert_str_eq (p->labels[1].value, "");
  ck_assert_str_eq (p->nodes[0], "w1");
  ck_assert_uint_eq (p->ips[0], IP4 (10, 42, 1, 7));
  ck_assert_int_eq (p->app.kind, APP_COMMAND);
  ck_assert_str_eq (p->app.command, "sh -c 'echo a;b'");
  ck_assert_str_eq (p->app.argv[0], "sh");
  ck_assert_str_eq (p->app.argv[1], "-c");
  ck_assert_str_eq (p->app.argv[2], "echo a;b");
  ck_assert_ptr_null (p->app.argv[3]);
  const struct workload_def *d = &sc->workloads[1];
  ck_assert_int_eq (d->kind, WL_DEPLOYMENT);
  ck_assert_uint_eq (d->n_nodes, 2);
  ck_assert_str_eq (d->nodes[1], "cp1");
  ck_assert_uint_eq (d->n_ips, 2);
  ck_assert_uint_eq (d->ips[1], IP4 (10, 42, 1, 20));
  ck_assert_int_eq (d->app.kind, APP_HTTP);
  ck_assert_uint_eq (d->app.port, 8080);
  const struct workload_def *r = &sc->workloads[2];
  ck_assert_int_eq (r->kind, WL_REPLICASET);
  ck_assert_int_eq (r->replicas, 1);
  ck_assert_int_eq (r->app.kind, APP_NONE);
  ck_assert_uint_eq (r->n_nodes, 0);
  const struct service_def *s = svc (sc, "demo", "svc");
  ck_assert_int_eq (s->type, SVC_LOAD_BALANCER);
  ck_assert_uint_eq (s->n_ports, 3);
  ck_assert_str_eq (s->ports[0].name, "http");
  ck_assert_uint_eq (s->ports[0].node_port, 30001);
  ck_assert_int_eq (s->ports[1].protocol, PROTO_UDP);
  ck_assert_uint_eq (s->ports[1].target_port, 53);
  ck_assert_int_eq (s->ports[2].protocol, PROTO_SCTP);
  ck_assert (s->affinity_client_ip);
  ck_assert_uint_eq (s->affinity_timeout, 30);
  ck_assert_uint_eq (s->cluster_ip, 0);
  ck_assert_uint_eq (sc->n_warnings, 0);
  scenario_free (sc);
}
END_TEST

START_TEST (test_selector_warning)
{
  char *path = unit_write_file ("sw.ini", "[lab]\nname = sw\ntemplate = k3s\n" NODES
                                          "[deployment demo/web]\nlabels = app=web\nreplicas = 0\n"
                                          "[service demo/x]\nselector = app=web,tier=a\nports = 80\n"
                                          "[service demo/y]\nselector =\nports = 80\n"
                                          "[service other/z]\nselector = app=web\nports = 80\n");
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (scenario_load (path, &sc, &err), 0);
  ck_assert_uint_eq (sc->n_warnings, 2);
  char *w0 = xasprintf ("%s: [service demo/x] selector: app=web,tier=a matches no pod", path);
  char *w1 = xasprintf ("%s: [service other/z] selector: app=web matches no pod", path);
  ck_assert_str_eq (sc->warnings[0], w0);
  ck_assert_str_eq (sc->warnings[1], w1);
  free (w0);
  free (w1);
  free (path);
  scenario_free (sc);
}
END_TEST

START_TEST (test_quoting)
{
  struct scenario *sc = load_ok ("q.ini", "# comment\n; comment\n[lab]\nname = q ; trailing comment\n"
                                          "template = \"k3s\"\n"
                                          "description = 'a; b # c'\n" NODES);
  ck_assert_str_eq (sc->lab, "q");
  ck_assert_str_eq (sc->description, "a; b # c");
  scenario_free (sc);
}
END_TEST

START_TEST (test_names)
{
  ck_assert_str_eq (flavor_name (FLAVOR_K3S), "k3s");
  ck_assert_str_eq (flavor_name (FLAVOR_KUBEADM), "kubeadm");
  ck_assert_str_eq (proto_name (PROTO_TCP), "TCP");
  ck_assert_str_eq (proto_name (PROTO_UDP), "UDP");
  ck_assert_str_eq (proto_name (PROTO_SCTP), "SCTP");
  ck_assert_str_eq (proto_lower (PROTO_SCTP), "sctp");
  ck_assert_str_eq (proto_lower (PROTO_UDP), "udp");
  ck_assert_str_eq (svc_type_name (SVC_CLUSTER_IP), "ClusterIP");
  ck_assert_str_eq (svc_type_name (SVC_NODE_PORT), "NodePort");
  ck_assert_str_eq (svc_type_name (SVC_LOAD_BALANCER), "LoadBalancer");
  ck_assert_str_eq (workload_kind_name (WL_POD), "pod");
  ck_assert_str_eq (workload_kind_name (WL_DEPLOYMENT), "deployment");
  ck_assert_str_eq (workload_kind_name (WL_REPLICASET), "replicaset");
  struct label l[] = { { "app", "web" }, { "tier", "fe" } };
  struct label s1[] = { { "app", "web" } };
  struct label s2[] = { { "app", "db" } };
  ck_assert (labels_match (l, 2, s1, 1));
  ck_assert (!labels_match (l, 2, s2, 1));
  ck_assert (labels_match (l, 2, NULL, 0));
  ck_assert (!labels_match (NULL, 0, s1, 1));
}
END_TEST

START_TEST (test_shellsplit)
{
  char **argv;
  size_t argc;
  const char *why = NULL;
  ck_assert_int_eq (shell_split ("  a 'b c' \"d \\\"e\\\\ $f\" g\\ h '' x\"y\"z ", &argv, &argc, &why), 0);
  ck_assert_uint_eq (argc, 6);
  ck_assert_str_eq (argv[0], "a");
  ck_assert_str_eq (argv[1], "b c");
  ck_assert_str_eq (argv[2], "d \"e\\ $f");
  ck_assert_str_eq (argv[3], "g h");
  ck_assert_str_eq (argv[4], "");
  ck_assert_str_eq (argv[5], "xyz");
  ck_assert_ptr_null (argv[6]);
  shell_argv_free (argv);
  ck_assert_int_eq (shell_split ("\"a\\n\"", &argv, &argc, &why), 0);
  ck_assert_str_eq (argv[0], "a\\n");
  shell_argv_free (argv);
  ck_assert_int_eq (shell_split ("   ", &argv, &argc, &why), 0);
  ck_assert_uint_eq (argc, 0);
  ck_assert_ptr_null (argv[0]);
  shell_argv_free (argv);
  ck_assert_int_eq (shell_split ("a 'b", &argv, &argc, &why), -1);
  ck_assert_str_eq (why, "unterminated single quote");
  ck_assert_int_eq (shell_split ("a \"b", &argv, &argc, &why), -1);
  ck_assert_str_eq (why, "unterminated double quote");
  ck_assert_int_eq (shell_split ("a b\\", &argv, &argc, &why), -1);
  ck_assert_str_eq (why, "ends with a backslash");
}
END_TEST

START_TEST (test_helpers)
{
  ck_assert_uint_eq (edit_distance ("pod_cdr", "pod_cidr", 2), 1);
  ck_assert_uint_eq (edit_distance ("kitten", "sitting", 5), 3);
  ck_assert_uint_eq (edit_distance ("abcdef", "uvwxyz", 2), 3);
  ck_assert (dns_label_valid ("a-1", 63));
  ck_assert (!dns_label_valid ("-a", 63));
  ck_assert (!dns_label_valid ("a-", 63));
  ck_assert (!dns_label_valid ("A", 63));
  ck_assert (!dns_label_valid ("", 63));
  ck_assert (ifname_valid ("enp0s3"));
  ck_assert (!ifname_valid ("a/b"));
  ck_assert (!ifname_valid ("0123456789abcdef"));
  ck_assert (!ifname_valid (".."));
  struct strmap m;
  strmap_init (&m);
  char keys[200][8];
  for (int i = 0; i < 200; i++)
    {
      snprintf (keys[i], sizeof keys[i], "k%d", i);
      ck_assert_ptr_eq (strmap_put (&m, keys[i], keys[i]), keys[i]);
    }
  for (int i = 0; i < 200; i++)
    ck_assert_ptr_eq (strmap_get (&m, keys[i]), keys[i]);
  ck_assert_ptr_eq (strmap_put (&m, "k5", keys[7]), keys[5]);
  ck_assert_ptr_null (strmap_get (&m, "nope"));
  ck_assert_uint_eq (m.n, 200);
  strmap_free (&m);
  /* hash64_mem: every bit of every length counts, the length too (a
   * chain's rules are hashed one line after another from its seed) */
  unsigned char buf[41] = { 0 };
  for (size_t n = 0; n <= 40; n++)
    {
      uint64_t h = hash64_mem (buf, n, 0);
      ck_assert_uint_ne (h, hash64_mem (buf, n + 1, 0));
      ck_assert_uint_ne (h, hash64_mem (buf, n, 1));
      for (size_t bit = 0; bit < n * 8; bit++)
        {
          buf[bit / 8] ^= (unsigned char) (1u << (bit % 8));
          ck_assert_uint_ne (hash64_mem (buf, n, 0), h);
          buf[bit / 8] ^= (unsigned char) (1u << (bit % 8));
        }
    }
  ck_assert_uint_ne (hash64_mem ("ab", 2, hash64_mem ("c", 1, 0)), hash64_mem ("a", 1, hash64_mem ("cb", 2, 0)));
}
END_TEST

START_TEST (test_ini_buffer)
{
  struct ini_file *f = NULL;
  nslab_error_t err = NULL;
  const char *text = "[ node  a ]\n k = \" v \" \n[b]\nx=\ny = ''\n";
  ck_assert_int_eq (ini_parse_buffer ("t.ini", text, strlen (text), &f, &err), 0);
  ck_assert_uint_eq (f->n_sections, 2);
  ck_assert_str_eq (f->sections[0].name, "node  a");
  ck_assert_str_eq (f->sections[0].canon, "node a");
  ck_assert_str_eq (f->sections[0].type, "node");
  ck_assert_str_eq (f->sections[0].arg, "a");
  ck_assert_int_eq (f->sections[0].line, 1);
  ck_assert_str_eq (f->sections[0].keys[0].value, " v ");
  ck_assert_int_eq (f->sections[0].keys[0].line, 2);
  ck_assert_str_eq (f->sections[1].arg, "");
  ck_assert_str_eq (ini_section_find (&f->sections[1], "x")->value, "");
  ck_assert_str_eq (ini_section_find (&f->sections[1], "y")->value, "");
  ck_assert_ptr_null (ini_section_find (&f->sections[1], "z"));
  ini_file_free (f);
}
END_TEST

START_TEST (test_big_scenario)
{
  /* The most workloads a lab may have load (how fast is for make bench). */
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "[lab]\nname = big\ntemplate = k3s\n" NODES);
  for (int i = 0; i < 10000; i++)
    sb_addf (&sb, "[deployment demo/w%d]\nlabels = app=w%d\n", i, i);
  struct scenario *sc = load_ok ("big.ini", sb.buf);
  ck_assert_uint_eq (sc->n_workloads, 10001); /* + kube-system/coredns */
  ck_assert_str_eq (sc->workloads[9999].name, "w9999");
  scenario_free (sc);
  sb_free (&sb);
}
END_TEST

START_TEST (test_flavor_defaults_one_source)
{
  /* The shipped templates name the flavor and restate none of its defaults
   * (nor the addresses derived from a network's cidr): flavor.c is the one
   * source, so nothing can disagree with it. */
  static const char *const templates[] = { "k3s", "kubeadm-flannel" };
  for (size_t t = 0; t < ARRAY_SIZE (templates); t++)
    {
      char *path = xasprintf ("%s/templates/%s.ini", NSLAB_SRCDIR, templates[t]);
      struct ini_file *f = NULL;
      nslab_error_t err = NULL;
      ck_assert_msg (ini_load (path, &f, &err) == 0, "%s", err ? err->msg : "?");
      for (size_t i = 0; i < f->n_sections; i++)
        {
          const struct ini_section *s = &f->sections[i];
          if (strcmp (s->type, "cluster") == 0)
            {
              ck_assert_uint_eq (s->n_keys, 1);
              ck_assert_str_eq (s->keys[0].name, "flavor");
            }
          ck_assert_ptr_null (ini_section_find (s, "gateway"));
          ck_assert_ptr_null (ini_section_find (s, "dns"));
        }
      ini_file_free (f);
      free (path);
    }
  /* And loading a lab applies the table. */
  struct scenario *sc = load_ok ("fd.ini", "[lab]\nname = fd\ntemplate = kubeadm-flannel\n" NODES);
  const struct flavor_defaults *d = flavor_defaults (FLAVOR_KUBEADM);
  const struct cluster_def *cl = &sc->cluster;
  ck_assert_int_eq (cl->flavor, FLAVOR_KUBEADM);
  ck_assert_uint_eq (cl->pod_cidr.addr, d->pod_cidr.addr);
  ck_assert_uint_eq (cl->pod_cidr.len, d->pod_cidr.len);
  ck_assert_uint_eq (cl->service_cidr.addr, IP4 (10, 96, 0, 0));
  ck_assert_uint_eq (cl->service_cidr.len, 12);
  ck_assert_uint_eq (cl->dns_ip, IP4 (10, 96, 0, 10));
  ck_assert_uint_eq (cl->node_mask, d->node_mask);
  ck_assert_uint_eq (cl->vxlan_port, d->vxlan_port);
  ck_assert_uint_eq (cl->apiserver_port, d->apiserver_port);
  ck_assert (!cl->cp_schedulable);
  ck_assert_str_eq (flavor_name (cl->flavor), "kubeadm");
  scenario_free (sc);
}
END_TEST

START_TEST (test_derived_defaults_follow_the_user)
{
  /* Only service_cidr changed: kube-dns and kubernetes move with it, as
   * kubeadm and k3s derive them (.10 and .1). */
  struct scenario *sc = load_ok ("dd.ini", "[lab]\nname = dd\ntemplate = k3s\n"
                                           "[cluster]\nservice_cidr = 10.50.0.0/16\n" NODES);
  ck_assert_uint_eq (sc->cluster.dns_ip, IP4 (10, 50, 0, 10));
  ck_assert_uint_eq (svc (sc, "kube-system", "kube-dns")->cluster_ip, IP4 (10, 50, 0, 10));
  ck_assert_uint_eq (svc (sc, "default", "kubernetes")->cluster_ip, IP4 (10, 50, 0, 1));
  scenario_free (sc);

  /* A template that writes the derived values: they stand while the user
   * keeps the CIDR they come from... */
  char *tpl = unit_write_file ("dtpl.ini", "[cluster]\nflavor = k3s\nservice_cidr = 10.43.0.0/16\n"
                                           "dns_ip = 10.43.0.53\n"
                                           "[network nat]\ntype = nat\ncidr = 10.0.2.0/24\n"
                                           "gateway = 10.0.2.1\ndns = 10.0.2.53\n"
                                           "[network hostonly]\ntype = hostonly\n"
                                           "cidr = 192.168.56.0/24\n");
  sc = load_ok ("dk.ini", "[lab]\nname = dk\ntemplate = dtpl.ini\n" NODES);
  ck_assert_uint_eq (sc->cluster.dns_ip, IP4 (10, 43, 0, 53));
  ck_assert_uint_eq (sc->networks[0].gateway, IP4 (10, 0, 2, 1));
  ck_assert_uint_eq (sc->networks[0].dns, IP4 (10, 0, 2, 53));
  scenario_free (sc);
  /* ...and are derived again when the user changes it, instead of the
   * template being blamed for being outside the user's CIDR. */
  sc = load_ok ("dc.ini", "[lab]\nname = dc\ntemplate = dtpl.ini\n"
                          "[cluster]\nservice_cidr = 10.50.0.0/16\n"
                          "[network nat]\ncidr = 10.0.3.0/24\n"
                          "[node cp1]\nrole = control-plane\n"
                          "nics = enp0s3=nat:10.0.3.15, enp0s8=hostonly:192.168.56.10\n");
  ck_assert_uint_eq (sc->cluster.dns_ip, IP4 (10, 50, 0, 10));
  /* [network nat] is the scenario's now, so it comes after hostonly. */
  ck_assert_str_eq (sc->networks[1].name, "nat");
  ck_assert_uint_eq (sc->networks[1].gateway, IP4 (10, 0, 3, 2));
  ck_assert_uint_eq (sc->networks[1].dns, IP4 (10, 0, 3, 3));
  scenario_free (sc);
  free (tpl);
}
END_TEST

START_TEST (test_utf8_bom)
{
  /* Editors on Windows save UTF-8 with a byte order mark: skipped, both by
   * the pre-scan and by iniparser (whose values are cross-checked). */
  struct scenario *sc = load_ok ("bom.ini", "\xEF\xBB\xBF[lab]\nname = bom\ntemplate = k3s\n"
                                            "description = \"a; b\"\n" NODES);
  ck_assert_str_eq (sc->lab, "bom");
  ck_assert_str_eq (sc->description, "a; b");
  ck_assert_uint_eq (sc->n_nodes, 2);
  scenario_free (sc);

  struct ini_file *f = NULL;
  nslab_error_t err = NULL;
  const char *text = "\xEF\xBB\xBF[lab]\nname = x\n";
  ck_assert_int_eq (ini_parse_buffer ("b.ini", text, strlen (text), &f, &err), 0);
  ck_assert_str_eq (f->sections[0].name, "lab");
  ck_assert_int_eq (f->sections[0].line, 1);
  ini_file_free (f);
  /* Only at the start: elsewhere it is text like any other. */
  text = "[lab]\n\xEF\xBB\xBF[x]\n";
  ck_assert_int_eq (ini_parse_buffer ("b.ini", text, strlen (text), &f, &err), -1);
  nslab_error_free (&err);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("scenario");
  TCase *tc = tcase_create ("load");
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_k3s_lab);
  tcase_add_test (tc, test_template_merge_and_defaults);
  tcase_add_test (tc, test_merge_key_by_key);
  tcase_add_test (tc, test_own_template_and_order);
  tcase_add_test (tc, test_template_dir_env);
  tcase_add_test (tc, test_template_path);
  tcase_add_test (tc, test_implicit_services);
  tcase_add_test (tc, test_user_overrides_implicit);
  tcase_add_test (tc, test_workloads);
  tcase_add_test (tc, test_selector_warning);
  tcase_add_test (tc, test_quoting);
  tcase_add_test (tc, test_names);
  tcase_add_test (tc, test_shellsplit);
  tcase_add_test (tc, test_helpers);
  tcase_add_test (tc, test_ini_buffer);
  tcase_add_test (tc, test_big_scenario);
  tcase_add_test (tc, test_flavor_defaults_one_source);
  tcase_add_test (tc, test_derived_defaults_follow_the_user);
  tcase_add_test (tc, test_utf8_bom);
  tcase_add_test (tc, test_images);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
