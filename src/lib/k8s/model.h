/* The model: the scenario resolved the way a real cluster would resolve it.
 * Node pod CIDRs (kube-controller-manager), pod placement (scheduler), pod
 * names (deployment/replicaset controllers), pod IPs (host-local IPAM),
 * ClusterIPs and NodePorts (apiserver allocators), endpoints (endpointslice
 * controller), MACs and veth names. Pure and deterministic: the same
 * scenario always gives the same model. */
#ifndef NSLAB_MODEL_H
#define NSLAB_MODEL_H

#include "k8s/rollout.h"
#include "scenario/scenario.h"

struct model_nic {
  const struct nic_def *def;
  char *ifname;          /* enp0s3 */
  uint32_t addr;
  const struct network_def *net;
  uint8_t mac[6];        /* VirtualBox OUI 08:00:27 */
  char *peer_ifname;     /* the other end: "eth0" in the NAT router, "<node>-<if>" in the lab host */
  int peer_ns;           /* index into model->netns */
};

struct model_node {
  const struct node_def *def;
  char *name;
  int index;             /* node order = pod CIDR order */
  enum node_role role;
  bool schedulable;
  struct model_nic *nics;
  size_t n_nics;
  int internal_nic;
  uint32_t internal_ip;  /* INTERNAL-IP, VXLAN local address */
  struct cidr pod_cidr;  /* 10.42.0.0/24 */
  uint8_t vtep_mac[6];   /* flannel.1 MAC: locally administered unicast */
  /* cni = weave: the CIDR-aligned block of IPALLOC_RANGE this peer got from
   * Weave's IPAM ring (10.32.0.0/14, 10.44.0.0/14, 10.36.0.0/14 for three
   * peers) and the address `weave expose` gave the bridge, the first one
   * the peer allocated. Pods are allocated upward from there. */
  struct cidr weave_range;
  uint32_t weave_bridge_ip;
  int netns;             /* index into model->netns */
  size_t n_pods;
  /* host-local's last_reserved_ip.0 on this node after the model's pods got
   * their addresses (0: none handed out). model_build_live continues after
   * it; the control loop stores it. */
  uint32_t last_reserved_ip;
};

struct model_pod {
  const struct workload_def *wl;
  char *ns, *name;       /* demo, web-79ffc79c64-7lczb */
  char *replicaset;      /* web-79ffc79c64 (a deployment's), the replicaset's own name, NULL for a bare pod */
  int replica;           /* the workload's serial the name derives from (0, 1, ... for a new lab) */
  bool ready;            /* false: kept in the lab, a not-ready endpoint only (model_build: always true) */
  int node;              /* index into model->nodes */
  uint32_t ip;
  char *host_veth;       /* veth3a5f9c21 in the node namespace */
  uint8_t mac[6];        /* eth0 MAC */
  int netns;
  /* A deployment's live pod whose app is not the workload's (one of an
   * old ReplicaSet being scaled down) keeps the app it was started with;
   * NULL: the workload's. */
  struct app_def *old_app;
  /* A live pod of a Deployment keeps the readiness probe it was made with
   * (the probe is part of the immutable pod spec), whichever ReplicaSet it
   * is of; NULL: the workload's (a new pod, or no live probe known). */
  struct probe_def *old_readiness;
};

/* A Deployment's ReplicaSets in a rolling update (the control loop's
 * deployment controller decides them): the new one's hash and replicas,
 * the old ones' as they are scaled down. */
struct model_rs {
  char hash[11];
  int replicas;
  int revision;          /* deployment.kubernetes.io/revision; 0: 1 */
};

struct model_endpoint {
  uint32_t ip;
  uint16_t port;
  int pod;               /* index into model->pods, -1 for the apiserver on a node */
  int node;              /* node the endpoint lives on */
};

struct model_svc_port {
  const struct port_def *def;
  char *name;            /* may be NULL */
  uint16_t port, target_port, node_port;
  enum l4proto protocol;
  /* Sorted by the string "ip:port", as kube-proxy sorts them. */
  struct model_endpoint *endpoints;
  size_t n_endpoints;
  /* The selected pods that are not ready: the EndpointSlice controller
   * keeps them in the slice with conditions.ready false; kube-proxy and
   * DNS use only the ready ones above. Sorted the same way. */
  struct model_endpoint *not_ready;
  size_t n_not_ready;
};

struct model_service {
  const struct service_def *def;
  char *ns, *name;
  enum svc_type type;
  uint32_t cluster_ip;           /* 0: headless (clusterIP None) */
  struct model_svc_port *ports;
  size_t n_ports;
  bool affinity_client_ip;
  uint32_t affinity_timeout;
  /* status.loadBalancer.ingress: k3s servicelb: the node INTERNAL-IPs,
   * sorted; kubeadm with a load_balancer_pool: the one address the L2
   * announcer assigned. The traffic policies, externalIPs, source ranges
   * and health-check node port are the spec's (service_def). Both proxy
   * modes read them from here. */
  uint32_t *lb_ips;
  size_t n_lb_ips;
  bool etp_local, itp_local;
  const uint32_t *external_ips; /* borrowed from def */
  size_t n_external_ips;
  const struct cidr *source_ranges; /* borrowed from def */
  size_t n_source_ranges;
  uint16_t hc_node_port; /* allocated like the apiserver: LoadBalancer + ETP Local */
  /* kubeadm pool: the node whose L2 announcer answers ARP for lb_ips[0]
   * (MetalLB's leader for the service), -1 none. */
  int lb_node;
};

enum netns_kind { NETNS_LABHOST, NETNS_NODE, NETNS_NATROUTER, NETNS_POD };

struct model_netns {
  char *name;            /* k3s-host, k3s-cp1, k3s-cp1-nat, k3s-demo-web-79ffc79c64-7lczb */
  enum netns_kind kind;
  int owner;             /* node index (NODE, NATROUTER), pod index (POD), -1 (LABHOST) */
  char *hostname;        /* UTS hostname: node or pod name */
};

struct model {
  const struct scenario *sc;
  char *lab;
  struct model_netns *netns;
  size_t n_netns;
  struct model_node *nodes;
  size_t n_nodes;
  struct model_pod *pods;
  size_t n_pods;
  struct model_service *services;
  size_t n_services;
  /* Per scenario workload (same index): the serial the next new pod's name
   * derives from. The control loop stores it so no new pod ever gets a name
   * an earlier pod of the lab had. */
  uint32_t *next_serial;
  /* Per scenario workload (same index): the LoadBalancer a servicelb
   * DaemonSet serves, NULL for the others (looked up once). */
  const struct service_def **lb_def;
  /* Per scenario workload (same index), a deployment's: its new
   * ReplicaSet (hash, replicas) and the old ones it keeps. */
  struct model_rs *new_rs;
  struct model_rs **old_rs;
  size_t *n_old_rs;
  /* and what of its spec its status shows */
  struct rollout_spec *rollout_spec;
  size_t n_rs_sets;      /* the length of those four */
};

/* ---- A running lab: what model_build_live keeps --------------------------
 * Every pointer is borrowed for the call; the model copies what it keeps. */

/* A pod of the running lab as the store holds it. */
struct model_live_pod {
  const char *ns, *name;
  /* The scenario workload that made it: WL_DEPLOYMENT, WL_REPLICASET, or
   * WL_POD for a bare pod (owner_name = its own name). */
  enum workload_kind owner_kind;
  const char *owner_name;
  const char *replicaset;   /* NAME-HASH for a deployment's pod, the replicaset's name, NULL for a bare pod */
  const char *node;         /* spec.nodeName; NULL or "" unassigned */
  uint32_t ip;
  const char *host_veth;    /* NULL: derived from the name, as model_build does */
  /* The app it runs (a replicaset's or bare pod's template check). */
  enum app_kind app_kind;
  uint16_t app_port;
  const char *app_command;
  bool ready;               /* Ready condition True */
  /* The readiness probe it runs with (kind, port, path: borrowed); not
   * known: its workload's. */
  bool readiness_known;
  enum probe_kind readiness_kind;
  uint16_t readiness_port;
  const char *readiness_path;
  /* Nanoseconds since the epoch (creationTimestamp, the Ready condition's
   * lastTransitionTime); 0 unknown. uid: metadata.uid, the tie-break of the
   * ReplicaSet controller's logarithmic ranks; may be NULL. */
  int64_t created_ns, ready_ns;
  const char *uid;
};

struct model_live_node {
  const char *name;
  uint32_t last_reserved_ip; /* host-local's last_reserved_ip.0, 0 none */
};

struct model_live_workload {
  enum workload_kind kind;
  const char *ns, *name;
  uint32_t next_serial;      /* model->next_serial of the build that made the lab's pods so far */
  /* A deployment's ReplicaSets as its controller has them this round
   * (rolling false: one, the template's, with every replica): the new one
   * (hash NULL: the template's, template_desc) and the old ones, whose live
   * pods are kept up to their replicas and never added to. */
  bool rolling;
  const char *new_hash;
  int new_replicas, new_revision;
  const struct model_rs *old_rs;
  size_t n_old_rs;
  /* a deployment's spec as its controller read it (spec_read false: the
   * API server's defaults) */
  bool spec_read;
  struct rollout_spec spec;
};

struct model_live {
  const struct model_live_pod *pods; /* in creation order */
  size_t n_pods;
  const struct model_live_node *nodes;
  size_t n_nodes;
  const struct model_live_workload *workloads;
  size_t n_workloads;
  /* ActivePodsWithRanks.Now for the logarithmic comparison of ready and
   * creation times (LogarithmicScaleDown, on by default since 1.22);
   * 0 compares them plainly (newer first). */
  int64_t now_ns;
};

/* Weave Net's IPAM for n peers joining one after the other (the first
 * claims the whole range alone, as `kubeadm init` + the weave DaemonSet run
 * before any `kubeadm join`; each later peer asks the peer with the most free
 * space, which donates per ipam/space.Donate). out[i] is the CIDR-aligned
 * block peer i allocates from, bridge[i] its first (expose) address.
 * Returns false if the range is too small for n peers. */
bool weave_ipam_ranges (struct cidr range, size_t n, struct cidr *out, uint32_t *bridge);

/* Resolve the scenario. Fails (exit code 2) only for what validation cannot
 * see without allocating: a full node subnet, an exhausted service range. */
int model_build (const struct scenario *sc, struct model **out, nslab_error_t *err);
/* The lab as up makes it, before kubelet has probed anything: a pod with
 * a readiness probe starts not ready (Ready=False, no service's ready
 * endpoint until its first probe passes), unless that probe's result is
 * known (model_probe_decided); a pod without one is ready once it runs.
 * model_build is the lab once every probe has passed. */
int model_build_starting (const struct scenario *sc, struct model **out, nslab_error_t *err);
/* Whether a pod of W passes its first readiness probe as it starts, so that
 * up makes it ready at once (model_build_starting): a TCP probe on the port
 * of nslab's own app - the built-in HTTP app, whose socket the pause process
 * binds and listens on before the pod counts as started, or the cluster DNS
 * server, which says it serves (runtime: the app's ready fd) before it
 * does. A connect to a listening socket is answered by the pod's kernel
 * whatever the app does next, and the path from the node to the pod is
 * what up has just made: no network round trip is needed to know it.
 * Other probes (http, another port, a command app's) stay the loop's. */
bool model_probe_decided (const struct workload_def *w);

/* Resolve the scenario against a running lab, as its controllers would.
 * For each workload, live pods of its current template (a deployment's:
 * replicaset NAME-<pod-template-hash>; a replicaset's: same owner and app;
 * a bare pod: same name and app, and its pinned node and IP if any) are kept
 * with name, node, IP and veth unchanged, in live->pods order. Beyond
 * `replicas`, the ones the ReplicaSet controller deletes first
 * (getPodsToDelete: unassigned, not ready, more of the workload's pods on
 * the node, newer ready time, newer creation) are dropped. Short of
 * `replicas`, new pods get new names (serial from live->workloads), are
 * scheduled counting every kept pod, and get addresses the way host-local
 * does: round-robin after the node's last reserved IP, wrapping, skipping
 * every live pod's address (a pod being removed still holds its address
 * until it is torn down). Weave: the lowest free address of the peer's block.
 * Live pods not kept are not in the model. Not-ready pods are in the model
 * but no service's endpoints. live NULL is model_build. */
int model_build_live (const struct scenario *sc, const struct model_live *live, struct model **out,
                      nslab_error_t *err);
void model_free (struct model *m);

/* The FNV-32a a deployment's pod-template-hash encodes, of its template as
 * the scenario describes it (labels, app, image, probe). */
uint32_t model_template_hash32 (const struct workload_def *w);


#endif
