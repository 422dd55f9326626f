/* The lab's cluster objects as plain values: nodes, pods, services with their
 * endpoints, and the networks the lab claims. This is what `nslab up` saves
 * beside the journal (state/snapshot) and what exec, status and ls read back;
 * later get/describe, the API server and DNS read the same. Nothing here
 * points into a scenario or a model: every string is a copy, owners are typed
 * references, so the objects survive a JSON round trip unchanged. */
#ifndef NSLAB_K8S_OBJECTS_H
#define NSLAB_K8S_OBJECTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/ipaddr.h"
#include "k8s/rollout.h"
#include "scenario/scenario.h"

/* The kinds an owner reference or a kubectl-style TARGET can name. */
struct model;

enum obj_kind { OBJ_NONE, OBJ_NODE, OBJ_POD, OBJ_DEPLOYMENT, OBJ_REPLICASET, OBJ_SERVICE, OBJ_DAEMONSET };

struct obj_ref {
  enum obj_kind kind;
  char *ns;   /* NULL for nodes and OBJ_NONE */
  char *name; /* NULL for OBJ_NONE */
};

struct lab_network {
  char *name;
  enum net_kind kind;
  struct cidr cidr;
};

struct lab_app {
  enum app_kind kind;
  uint16_t port;   /* APP_HTTP */
  char *command;   /* APP_COMMAND, as written */
};

/* A readiness probe (PROBE_NONE: none; the pod is ready once it runs). */
struct lab_probe {
  enum probe_kind kind;
  uint16_t port;
  char *path;      /* PROBE_HTTP */
};
/* How the lab's kubelet (the control loop) runs a readiness probe, which is
 * what each Pod's readinessProbe says: kubelet's defaults but the period,
 * 10 s there, since a lab wants to see a change within a couple of seconds. */
#define LAB_PROBE_PERIOD_S 2
#define LAB_PROBE_TIMEOUT_S 1
#define LAB_PROBE_FAILURE_THRESHOLD 3

struct lab_node {
  char *name;
  enum node_role role;
  bool schedulable;
  uint32_t internal_ip;
  struct cidr pod_cidr;
  uint8_t vtep_mac[6];
  char *netns;
};

struct lab_pod {
  char *ns, *name;
  /* The workload the scenario wrote: a deployment, a replicaset, or
   * OBJ_NONE for a bare pod. A deployment's pods belong to its replicaset
   * (`replicaset`), as on a real cluster. */
  struct obj_ref owner;
  char *replicaset;      /* NULL for a bare pod */
  uint32_t ip;
  char *node;
  char *host_veth;
  char *netns;
  struct lab_app app;
  char *image, *container; /* the scenario's image and container keys; NULL: nslab's own container */
  struct lab_probe readiness; /* what kubelet probes before the pod is an endpoint */
  bool ready;            /* the Ready condition this plan was made with */
  bool privileged;       /* its app (and nslab exec into it) keeps every capability */
  uint64_t cap_add;      /* capabilities its app (and nslab exec into it) adds to containerd's default set */
  enum restart_policy restart_policy; /* spec.restartPolicy (Always unless a bare pod says otherwise) */
  struct label *labels;  /* the template's labels (+ pod-template-hash for a deployment's pods) */
  size_t n_labels;
};

/* A deployment's old ReplicaSet during and after a rolling update. */
struct lab_old_rs {
  char *hash;            /* its pod-template-hash: the ReplicaSet is NAME-HASH */
  int replicas;
  int revision;          /* deployment.kubernetes.io/revision */
};

/* A deployment or replicaset as the scenario wrote it. */
struct lab_workload {
  enum obj_kind kind;    /* OBJ_DEPLOYMENT or OBJ_REPLICASET */
  char *ns, *name;
  struct label *labels;  /* the pod template's labels, also the selector */
  size_t n_labels;
  int replicas;
  char *pod_template_hash; /* a deployment's (its replicaset is NAME-HASH); NULL for a replicaset */
  /* A deployment's new replicaset: its replicas (the deployment's but
   * while a rolling update scales it up) and revision (0: 1); its old ones
   * (not in the snapshot's JSON: the store holds them). */
  int new_replicas, revision;
  struct lab_old_rs *old_rs;
  size_t n_old_rs;
  struct rollout_spec rollout; /* a deployment's: what of its spec its status shows */
  struct lab_app app;
  char *image, *container; /* the template's container (NULL: nslab's own) */
  bool privileged;       /* the template's container: securityContext.privileged */
  uint64_t cap_add;      /* and securityContext.capabilities.add */
};

struct lab_endpoint {
  uint32_t ip;
  uint16_t port;
  char *pod;             /* pod name in the service's namespace; NULL for the apiserver */
  char *node;
};

struct lab_svc_port {
  char *name;            /* NULL when unnamed */
  enum l4proto protocol;
  uint16_t port, target_port, node_port;
  struct lab_endpoint *endpoints;
  size_t n_endpoints;
  /* Selected pods not ready: in the EndpointSlice with ready false, in no
   * rule and no DNS answer. */
  struct lab_endpoint *not_ready;
  size_t n_not_ready;
};

struct lab_service {
  char *ns, *name;
  enum svc_type type;
  uint32_t cluster_ip;   /* 0: headless (clusterIP None) */
  bool implicit;         /* added by the flavor (kubernetes, kube-dns) */
  struct label *selector;
  size_t n_selector;
  struct lab_svc_port *ports;
  size_t n_ports;
  uint32_t *lb_ips;
  size_t n_lb_ips;
  /* The rest of the spec the API shows (absent from older state files:
   * the defaults). */
  bool affinity_client_ip;
  uint32_t affinity_timeout;
  bool etp_local, itp_local;
  uint32_t *external_ips;
  size_t n_external_ips;
  struct cidr *source_ranges;
  size_t n_source_ranges;
  uint16_t hc_node_port;
  uint32_t lb_ip;        /* spec.loadBalancerIP as written, 0 none */
};

struct lab_objects {
  char *lab;
  char *scenario;        /* the file it was planned from, as given */
  enum flavor flavor;
  struct cidr pod_cidr, service_cidr;
  uint32_t dns_ip;
  char *dns_domain;
  struct lab_network *networks;
  size_t n_networks;
  struct lab_node *nodes;
  size_t n_nodes;
  struct lab_workload *workloads;
  size_t n_workloads;
  struct lab_pod *pods;
  size_t n_pods;
  struct lab_service *services;
  size_t n_services;
};

/* Copy what a running lab is out of the model. */
struct lab_objects *objects_from_model (const struct model *m);
void objects_free (struct lab_objects *o);

/* JSON, in the schema docs/state.md describes (the non-"ops" part of
 * `nslab plan -o json`). to_json adds the members to out (a tree or text); from_json reads
 * them back and fails with one line naming the member that is wrong. */
struct json_out;
void objects_to_json (const struct lab_objects *o, struct json_out *out);
/* CAPS as capabilities_to_json lists them, the member "capabilities" of O. */
void capabilities_member (struct json_out *o, uint64_t caps);
/* A capability set (bit N = Linux capability N) as the names a container's
 * securityContext.capabilities.add lists, in number order; and back (a
 * name the scenario would refuse is an error). */
json_t *capabilities_to_json (uint64_t caps);
int capabilities_from_json (const json_t *a, uint64_t *out, nslab_error_t *err);
int objects_from_json (const json_t *obj, struct lab_objects **out, nslab_error_t *err);

const char *obj_kind_name (enum obj_kind k);   /* "deployment", as kubectl's TYPE/NAME */

/* kubectl-style lookups. A deployment or replicaset resolves to its first pod
 * by name (what `kubectl exec deploy/web` picks is one of them). */
const struct lab_node *objects_find_node (const struct lab_objects *o, const char *name);
const struct lab_pod *objects_find_pod (const struct lab_objects *o, enum obj_kind kind, const char *ns,
                                        const char *name);

/* "valid targets: host, node/cp1, ...\n  -n demo: deploy/web pod/web-..." for an
 * unknown exec target: every node, then per namespace its deployments,
 * replicasets and the first max_pods pods. Caller frees. */
char *objects_targets_hint (const struct lab_objects *o, size_t max_pods);

#endif
