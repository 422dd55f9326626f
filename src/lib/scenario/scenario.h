/* The scenario: what a user wrote in labs/X.ini (merged over its template),
 * parsed and validated. Nothing here is derived: allocation of addresses,
 * names and placement happens in model.c. Every string is owned by the
 * scenario and freed by scenario_free(). */
#ifndef NSLAB_SCENARIO_H
#define NSLAB_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/ipaddr.h"

#define LAB_NAME_MAX 12
#define NSLAB_MAX_NODES 256

enum flavor { FLAVOR_K3S, FLAVOR_KUBEADM };
enum cni_kind { CNI_FLANNEL, CNI_WEAVE, CNI_HOST_GW };
/* Who wires a pod: nslab's netlink code, or the real CNI plugins (bridge,
 * host-local, loopback) called as containerd calls them. */
enum cni_runtime { CNI_RUNTIME_BUILTIN, CNI_RUNTIME_PLUGINS };
enum proxy_mode { PROXY_IPTABLES, PROXY_NFTABLES };
enum net_kind { NET_NAT, NET_HOSTONLY };
/* Whose VMs sit on a network: decides the NICs' MAC vendor prefix. */
enum hypervisor { HV_VIRTUALBOX, HV_VMWARE };
enum node_role { ROLE_CONTROL_PLANE, ROLE_WORKER };
/* WL_DAEMONSET: only k3s servicelb's, one per LoadBalancer (add_implicit_workloads). */
enum workload_kind { WL_POD, WL_DEPLOYMENT, WL_REPLICASET, WL_DAEMONSET };
/* APP_DNS: the cluster DNS server (the coredns pods the flavor adds, scenario/flavor.c). */
/* APP_KUBE_PROXY: a node's kube-proxy health servers (plan/kubelet.c, cmd_kube_proxy.c).
 * APP_SVCLB: klipper-lb's entry script for the workload's lb_svc (plan/servicelb.c). */
enum app_kind { APP_NONE, APP_HTTP, APP_COMMAND, APP_DNS, APP_KUBE_PROXY, APP_SVCLB };
enum probe_kind { PROBE_NONE, PROBE_TCP, PROBE_HTTP };
/* A pod's spec.restartPolicy: when kubelet restarts its app. */
enum restart_policy { RESTART_ALWAYS, RESTART_ON_FAILURE, RESTART_NEVER };
enum svc_type { SVC_CLUSTER_IP, SVC_NODE_PORT, SVC_LOAD_BALANCER };
enum l4proto { PROTO_TCP, PROTO_UDP, PROTO_SCTP };

/* Where a value came from, for error messages: file, section and key. */
struct origin {
  const char *file;    /* points into scenario->files */
  const char *section; /* as written, e.g. "service demo/web-svc" */
};

struct check_def;

struct label {
  char *key, *value;
};

struct cluster_def {
  enum flavor flavor;
  struct cidr pod_cidr;     /* cluster CIDR, e.g. 10.42.0.0/16 */
  struct cidr service_cidr; /* e.g. 10.43.0.0/16 */
  uint8_t node_mask;        /* per-node pod subnet length, e.g. 24 */
  enum cni_kind cni;
  enum cni_runtime cni_runtime; /* builtin (default) or plugins */
  enum proxy_mode proxy_mode;
  char *dns_domain;         /* cluster.local */
  uint32_t dns_ip;          /* kube-dns ClusterIP, e.g. 10.43.0.10 */
  uint32_t vxlan_vni;       /* flannel VNI, 1 */
  uint16_t vxlan_port;      /* 8472 */
  uint32_t underlay_mtu;    /* MTU of node NICs, 1500; flannel.1 gets -50 */
  uint16_t nodeport_min, nodeport_max; /* 30000-32767 */
  uint16_t apiserver_port;  /* 6443: endpoint of default/kubernetes */
  int masquerade_bit;       /* kube-proxy masqueradeBit, 14 */
  bool cp_schedulable;      /* k3s: true; kubeadm: false (NoSchedule taint) */
  bool dns;                 /* the coredns Deployment and kube-dns service (dns = no: neither) */
  int dns_replicas;         /* coredns replicas: k3s 1, kubeadm 2 */
  /* kubeadm: the address pool of an L2 load-balancer announcer (MetalLB's
   * IPAddressPool + L2Advertisement); len 0: none, LoadBalancers stay
   * <pending>. */
  struct cidr lb_pool;
  /* kube-proxy --nodeport-addresses: NodePorts only on the node addresses
   * inside these CIDRs (none: every local address). */
  struct cidr *node_port_addresses;
  size_t n_node_port_addresses;
  bool localhost_nodeports; /* --iptables-localhost-nodeports, default true */
  /* The node's kernel has nfnetlink_acct and xt_nfacct: kube-proxy (1.29+)
   * creates its two counters and counts in them. Default false, as the
   * seeds' nodes show. */
  bool nfacct;
};

struct network_def {
  char *name;           /* section [network NAME] */
  enum net_kind kind;
  struct cidr cidr;     /* 10.0.2.0/24, 192.168.56.0/24 */
  uint32_t gateway;     /* NAT: the router's address (10.0.2.2); host-only: the lab host's (.1) */
  uint32_t dns;         /* NAT only: the router's DNS address (10.0.2.3), 0 if none */
  char *bridge;         /* host-only: bridge name in the lab host (vboxnet0) */
  struct origin origin;
  enum hypervisor hypervisor; /* virtualbox (08:00:27) or vmware (00:0c:29) */
};

struct nic_def {
  char *ifname;   /* enp0s3 */
  int network;    /* index into scenario->networks */
  uint32_t addr;  /* 10.0.2.15 */
};

struct node_def {
  char *name;
  enum node_role role;
  struct nic_def *nics;
  size_t n_nics;
  int internal_nic;   /* index into nics: INTERNAL-IP and VXLAN underlay */
  bool schedulable;
  struct origin origin;
};

struct app_def {
  enum app_kind kind;
  uint16_t port;   /* APP_HTTP, APP_DNS: listening port */
  char **argv;     /* APP_COMMAND: NULL-terminated, split like a shell would (quotes) */
  char *command;   /* APP_COMMAND: as written */
};

/* A readiness probe: tcpSocket on port, or httpGet of path on port. */
struct probe_def {
  enum probe_kind kind;
  uint16_t port;
  char *path;      /* PROBE_HTTP: starts with '/' */
};

struct workload_def {
  enum workload_kind kind;
  char *ns, *name;        /* [deployment demo/web] -> "demo", "web" */
  struct label *labels;
  size_t n_labels;
  int replicas;           /* 1 for WL_POD */
  char **nodes;           /* allowed nodes (pod: exactly one if set); NULL/0 = any schedulable */
  size_t n_nodes;
  uint32_t *ips;          /* pinned pod IPs, one per replica or none */
  size_t n_ips;
  struct app_def app;
  /* image = REF, container = NAME: the pods' one container as the API
   * shows it (NULL: nslab's own, "app" running "nslab/http-echo" etc.).
   * container defaults to the image's last path element, as kubectl
   * create deployment --image names it. */
  char *image, *container;
  /* readiness = tcp:PORT | http:PORT/PATH | none; default tcp on the app's
   * port for an http app, none otherwise. */
  struct probe_def readiness;
  bool readiness_set;     /* written in the scenario (else the default) */
  bool privileged;        /* securityContext.privileged: the app keeps every capability */
  uint64_t cap_add;       /* securityContext.capabilities.add: bit N = Linux capability N, added to
                           * containerd's default set */
  enum restart_policy restart_policy; /* Always (the default; the only one for deployments, replicasets) */
  char *lb_svc_ns, *lb_svc_name; /* WL_DAEMONSET: the LoadBalancer whose servicelb pods these are */
  struct origin origin;
};

struct port_def {
  char *name;             /* may be NULL (unnamed single port) */
  uint16_t port;
  uint16_t target_port;   /* defaults to port */
  enum l4proto protocol;
  uint16_t node_port;     /* 0 = allocate (NodePort/LoadBalancer), ignored for ClusterIP */
};

struct service_def {
  char *ns, *name;
  enum svc_type type;
  struct label *selector;
  size_t n_selector;
  struct port_def *ports;
  size_t n_ports;
  uint32_t cluster_ip;    /* 0 = allocate (or none when headless) */
  bool headless;          /* cluster_ip = None: no ClusterIP, no proxy rules; DNS answers the endpoints */
  bool affinity_client_ip;
  uint32_t affinity_timeout; /* seconds, default 10800 */
  bool implicit;          /* added by the flavor (kubernetes, kube-dns), not the user */
  bool etp_local;         /* externalTrafficPolicy: Local (default Cluster) */
  bool itp_local;         /* internalTrafficPolicy: Local (default Cluster) */
  uint32_t *external_ips; /* spec.externalIPs, as written */
  size_t n_external_ips;
  uint32_t lb_ip;         /* spec.loadBalancerIP (kubeadm pool), 0 = allocate */
  struct cidr *source_ranges; /* spec.loadBalancerSourceRanges */
  size_t n_source_ranges;
  uint16_t hc_node_port;  /* spec.healthCheckNodePort, 0 = allocate (LoadBalancer + ETP Local) */
  struct origin origin;
};

/* [images] NAME = APP: the app a container of image NAME runs in a pod made
 * through the lab's API (kubectl create, run, apply -f). NAME is a
 * repository without tag or digest, either whole
 * (registry.k8s.io/e2e-test-images/agnhost) or its last path element
 * (agnhost); APP is http:PORT or none. */
struct image_def {
  char *image;
  struct app_def app;     /* APP_HTTP or APP_NONE */
  struct origin origin;
};

struct scenario {
  char **files;           /* scenario file first, then its template */
  size_t n_files;
  char *lab;              /* [lab] name */
  char *description;
  struct cluster_def cluster;
  struct network_def *networks;
  size_t n_networks;
  struct node_def *nodes;
  size_t n_nodes;
  struct workload_def *workloads;
  size_t n_workloads;
  struct service_def *services;
  size_t n_services;
  struct image_def *images; /* [images] entries, in file order (the template's after the lab's) */
  size_t n_images;
  struct check_def *checks; /* [check NAME] sections (scenario/check.h) */
  size_t n_checks;
  char **warnings;        /* non-fatal findings, each a full "file: [section] key: msg" line */
  size_t n_warnings;
};

/* Load FILE (and its template), validate everything, and add the services
 * the flavor always has. On invalid input returns -1 with an error whose
 * exit_code is NSLAB_EXIT_INVALID and whose message names file, section and
 * key. */
int scenario_load (const char *file, struct scenario **out, nslab_error_t *err);
void scenario_free (struct scenario *s);

/* May `nslab apply` turn running lab OLD into NEW without rebuilding nodes
 * or networks? 0 for changes to workloads and services (added, removed,
 * replicas, labels, selectors, ports, apps); -1 (exit code 2) with one line
 * naming NEW's file, section and key for anything else: another lab name or
 * template, [cluster] keys, networks or nodes added, removed, changed or
 * reordered. */
int scenario_running_change (const struct scenario *old, const struct scenario *new, nslab_error_t *err);

/* The app of a container of IMAGE (a reference as a pod spec has it,
 * "example.com/team/app:1.2") made through the lab's API: SC's [images]
 * entry for its repository, else for the repository's last path element,
 * else the built-in one (nginx and httpd: http:80). False when nothing maps
 * it (SC may be NULL: built-ins only). */
bool scenario_image_app (const struct scenario *sc, const char *image, struct app_def *out);

/* Is REF an image reference a pod spec may name ([domain[:port]/]path
 * [:tag][@sha256:hex])? */
bool image_ref_valid (const char *ref);
/* The container name kubectl create deployment --image gives REF's
 * container: its last path element without tag or digest. Caller frees. */
char *image_container_name (const char *ref);

/* kube-proxy's localhostNodePorts as it runs: the flag, unless
 * node_port_addresses leaves 127.0.0.1 out (NewProxier then turns it off,
 * rules and route_localnet alike) or the mode is nftables (which has none). */
bool cluster_localhost_nodeports (const struct cluster_def *cl);

const char *flavor_name (enum flavor f);
const char *proto_name (enum l4proto p);       /* "TCP" */
const char *proto_lower (enum l4proto p);      /* "tcp" */
const char *svc_type_name (enum svc_type t);   /* "ClusterIP" */
const char *workload_kind_name (enum workload_kind k); /* "deployment" */

/* Does the label set match the selector (every selector pair present)? */
bool labels_match (const struct label *labels, size_t n_labels, const struct label *sel, size_t n_sel);
/* Free N labels and the array. */
void labels_free (struct label *l, size_t n);

/* Linux capability N's name as Kubernetes writes it ("NET_ADMIN"), or NULL
 * past the last one the kernel headers know. */
const char *capability_name (unsigned n);
/* N for NAME ("NET_ADMIN", or containerd's "CAP_NET_ADMIN"); false if none. */
bool capability_parse (const char *name, unsigned *n);

#endif
