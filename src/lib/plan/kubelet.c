/* What kubelet (and k3s/kubeadm's node setup) contributes: the node's
 * sysctls, and the processes: one pause process per node (what `ps` on the
 * node shows for the node itself) and one per pod, with the pod's /etc/hosts
 * and /etc/resolv.conf as kubelet writes them, the downward-API variables,
 * and the app the pod runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "k8s/names.h"
#include "plan/builder.h"

/* br_netfilter must see bridged pod traffic or conntrack cannot undo DNAT on
 * same-node replies; route_localnet for NodePorts on 127.0.0.1. */
void
kubelet_plan_sysctls (struct plan *p, const struct model *m, const struct model_node *n)
{
  const char *ns = plan_ns (m, n->netns);
  plan_add_sysctl (p, ns, "net.ipv4.ip_forward", "1");
  plan_add_sysctl (p, ns, "net.bridge.bridge-nf-call-iptables", "1");
  plan_add_sysctl (p, ns, "net.bridge.bridge-nf-call-ip6tables", "1");
  /* kube-proxy's, and only with localhostNodePorts. */
  if (cluster_localhost_nodeports (&m->sc->cluster))
    plan_add_sysctl (p, ns, "net.ipv4.conf.all.route_localnet", "1");
}

/* default/kubernetes with its ClusterIP and port, or NULL (no control plane). */
static const struct model_service *
master_service (const struct model *m)
{
  for (size_t i = 0; i < m->n_services; i++)
    {
      const struct model_service *s = &m->services[i];
      if (strcmp (s->ns, "default") == 0 && strcmp (s->name, "kubernetes") == 0 && s->cluster_ip && s->n_ports)
        return s;
    }
  return NULL;
}

/* /etc/hosts as kubelet writes it for a pod (pkg/kubelet/kubelet_pods.go). */
static char *
pod_etc_hosts (const struct model_pod *pod)
{
  char ip[IP_STRLEN];
  return xasprintf ("# Kubernetes-managed hosts file.\n"
                    "127.0.0.1\tlocalhost\n"
                    "::1\tlocalhost ip6-localhost ip6-loopback\n"
                    "fe00::0\tip6-localnet\n"
                    "fe00::0\tip6-mcastprefix\n"
                    "fe00::1\tip6-allnodes\n"
                    "fe00::2\tip6-allrouters\n"
                    "%s\t%s\n",
                    ip_fmt (pod->ip, ip), pod->name);
}

/* /etc/resolv.conf for dnsPolicy ClusterFirst. Without a cluster DNS
 * (dns = no) kubelet has no clusterDNS and gives ClusterFirst pods the
 * node's resolv.conf, as dnsPolicy Default: NULL keeps the host's. */
static char *
pod_resolv_conf (const struct model *m, const struct model_pod *pod)
{
  char ip[IP_STRLEN];
  const char *dom = m->sc->cluster.dns_domain;
  if (!m->sc->cluster.dns)
    return NULL;
  return xasprintf ("search %s.svc.%s svc.%s %s\nnameserver %s\noptions ndots:5\n", pod->ns, dom, dom, dom,
                    ip_fmt (m->sc->cluster.dns_ip, ip));
}

/* What a node's /etc/hosts adds to the host's: every node of the lab by
 * name, as one sets up VMs that reach each other by name (Vagrant's
 * hostmanager, /etc/hosts by hand before kubeadm join). */
static char *
node_etc_hosts (const struct model *m)
{
  struct strbuf sb;
  sb_init (&sb);
  sb_addf (&sb, "# nslab lab %s: its nodes\n", m->lab);
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      char ip[IP_STRLEN];
      sb_addf (&sb, "%s\t%s\n", ip_fmt (m->nodes[i].internal_ip, ip), m->nodes[i].name);
    }
  return sb_steal (&sb);
}

static char **
copy_argv (char *const *argv)
{
  size_t n = 0;
  while (argv && argv[n])
    n++;
  char **v = xcalloc (n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = xstrdup (argv[i]);
  return v;
}

static struct plan_process *
plan_process (struct plan *p, const char *ns, char *title, const char *hostname, const char *node)
{
  struct plan_process *pr = &plan_push (p, OP_PROCESS, ns)->u.proc;
  pr->title = title;
  pr->hostname = xstrdup (hostname);
  pr->node = xstrdup (node);
  return pr;
}

/* The node's kube-proxy, as far as it serves HTTP: its health servers,
 * with the flags each flavor starts kube-proxy with (k3s binds healthz to
 * 127.0.0.1; kubeadm's KubeProxyConfiguration keeps 0.0.0.0:10256). */
static void
kube_proxy_app (struct plan_app *app, const struct model *m, const struct model_node *n)
{
  const struct cluster_def *cl = &m->sc->cluster;
  char **argv = xcalloc (10, sizeof *argv);
  size_t k = 0;
  argv[k++] = xstrdup ("nslab-kube-proxy");
  if (cl->flavor == FLAVOR_K3S)
    {
      argv[k++] = xstrdup ("--healthz-bind-address");
      argv[k++] = xstrdup ("127.0.0.1");
    }
  if (cl->n_node_port_addresses)
    {
      struct strbuf sb;
      sb_init (&sb);
      for (size_t i = 0; i < cl->n_node_port_addresses; i++)
        {
          char c[CIDR_STRLEN];
          sb_addf (&sb, "%s%s", i ? "," : "", cidr_fmt (cl->node_port_addresses[i], c));
        }
      argv[k++] = xstrdup ("--nodeport-addresses");
      argv[k++] = sb_steal (&sb);
    }
  argv[k++] = xstrdup ("--hostname-override");
  argv[k++] = xstrdup (n->name);
  argv[k++] = xstrdup (m->lab);
  struct strbuf cmd;
  sb_init (&cmd);
  for (size_t i = 0; i < k; i++)
    sb_addf (&cmd, "%s%s", i ? " " : "", argv[i]);
  app->kind = APP_KUBE_PROXY;
  app->argv = argv;
  app->command = sb_steal (&cmd);
}

/* The name containerd gives the pod's network namespace in its node's
 * /run/netns: cni- and a random UUID there, derived from the pod here so
 * plans stay reproducible. */
char *
plan_pod_node_netns (const struct model *m, const struct model_pod *pod)
{
  char key[512], name[CONTAINERD_NETNS_LEN];
  snprintf (key, sizeof key, "netns/%s/%s/%s", m->lab, pod->ns, pod->name);
  uint64_t a = fnv1a64_str (key);
  snprintf (key, sizeof key, "netns/%s/%s/%s/b", m->lab, pod->ns, pod->name);
  containerd_netns_name (a, fnv1a64_str (key), name);
  return xstrdup (name);
}

void
kubelet_plan_processes (struct plan *p, const struct model *m)
{
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const struct model_node *n = &m->nodes[i];
      struct plan_process *pr = plan_process (p, plan_ns (m, n->netns),
                                              xasprintf ("nslab-pause %s node/%s", m->lab, n->name), n->name, n->name);
      pr->owner.kind = OBJ_NODE;
      pr->owner.name = xstrdup (n->name);
      pr->etc_hosts = node_etc_hosts (m);
      pr->files = xcalloc (3, sizeof (char *));
      pr->files[0] = xstrdup (cni_conf_path (m));
      pr->files[1] = xstrdup (cni_conflist (m));
      kube_proxy_app (&pr->app, m, n);
    }
  /* Looked up once: every pod's environment has it (below). */
  const struct model_service *kube = master_service (m);
  for (size_t i = 0; i < m->n_pods; i++)
    {
      const struct model_pod *pod = &m->pods[i];
      /* a pod of an old ReplicaSet runs the app it was started with */
      const struct app_def *app = pod->old_app ? pod->old_app : &pod->wl->app;
      const char *node = m->nodes[pod->node].name;
      char ip[IP_STRLEN];
      struct plan_process *pr = plan_process (p, plan_ns (m, pod->netns),
                                              xasprintf ("nslab-pause %s %s/%s", m->lab, pod->ns, pod->name),
                                              pod->name, node);
      pr->owner.kind = OBJ_POD;
      pr->owner.ns = xstrdup (pod->ns);
      pr->owner.name = xstrdup (pod->name);
      pr->app.kind = app->kind;
      pr->app.port = app->port;
      if (app->kind == APP_DNS)
        pr->app.dns_domain = xstrdup (m->sc->cluster.dns_domain);
      if (app->kind == APP_COMMAND)
        {
          pr->app.command = xstrdup (app->command);
          pr->app.argv = copy_argv (app->argv);
        }
      else if (app->kind == APP_SVCLB)
        {
          /* klipper-lb's entry script, run by sh as the image runs it */
          pr->app.kind = APP_COMMAND;
          pr->app.argv = xcalloc (4, sizeof (char *));
          pr->app.argv[0] = xstrdup ("sh");
          pr->app.argv[1] = xstrdup ("-c");
          pr->app.argv[2] = servicelb_entry_script (m, pod);
          pr->app.command = xasprintf ("sh -c '%s'", pr->app.argv[2]);
          pr->app.ready_fd = true;
        }
      /* The downward-API variables a pod spec would typically expose, then
       * the kubernetes service's, which kubelet gives every pod
       * (getServiceEnvVarMap: the master service whatever the pod's
       * namespace) and in-cluster clients (client-go's InClusterConfig)
       * need to find the API server. */
      pr->env = xcalloc (kube ? 14 : 6, sizeof (char *));
      pr->env[0] = xasprintf ("POD_NAME=%s", pod->name);
      pr->env[1] = xasprintf ("POD_NAMESPACE=%s", pod->ns);
      pr->env[2] = xasprintf ("POD_IP=%s", ip_fmt (pod->ip, ip));
      pr->env[3] = xasprintf ("NODE_NAME=%s", node);
      pr->env[4] = xasprintf ("HOSTNAME=%s", pod->name);
      if (kube)
        {
          char kip[IP_STRLEN];
          ip_fmt (kube->cluster_ip, kip);
          unsigned port = kube->ports[0].port;
          pr->env[5] = xasprintf ("KUBERNETES_SERVICE_HOST=%s", kip);
          pr->env[6] = xasprintf ("KUBERNETES_SERVICE_PORT=%u", port);
          pr->env[7] = xasprintf ("KUBERNETES_SERVICE_PORT_HTTPS=%u", port);
          pr->env[8] = xasprintf ("KUBERNETES_PORT=tcp://%s:%u", kip, port);
          pr->env[9] = xasprintf ("KUBERNETES_PORT_%u_TCP=tcp://%s:%u", port, kip, port);
          pr->env[10] = xasprintf ("KUBERNETES_PORT_%u_TCP_PROTO=tcp", port);
          pr->env[11] = xasprintf ("KUBERNETES_PORT_%u_TCP_PORT=%u", port, port);
          pr->env[12] = xasprintf ("KUBERNETES_PORT_%u_TCP_ADDR=%s", port, kip);
        }
      pr->privileged = pod->wl->privileged;
      pr->cap_add = pod->wl->cap_add;
      pr->restart_policy = pod->wl->restart_policy;
      pr->node_netns = plan_pod_node_netns (m, pod);
      pr->etc_hosts = pod_etc_hosts (pod);
      pr->resolv_conf = pod_resolv_conf (m, pod);
    }
}
