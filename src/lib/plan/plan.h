/* The plan: every kernel object and process a lab needs, as an ordered list
 * of self-contained operations. An op carries the names, addresses and copies
 * of strings its executor needs and nothing else: no index into a model, no
 * pointer into a scenario. So a plan can be printed without root, written to
 * JSON and read back (the running lab's snapshot), and applied by a plain loop
 * over the op table (plan/op.h, apply/apply.c). Building a plan touches
 * nothing. */
#ifndef NSLAB_PLAN_H
#define NSLAB_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/ipaddr.h"
#include "k8s/objects.h"

struct model;

enum plan_op_kind {
  OP_NETNS,     /* create a named network namespace (ip netns add) */
  OP_SYSCTL,    /* write /proc/sys/... inside a namespace */
  OP_LINK,      /* create a link: bridge, veth pair (both ends), vxlan */
  OP_LINK_SET,  /* enslave to a bridge, hairpin, bring up */
  OP_ADDR,      /* add an IPv4 address */
  OP_ROUTE,     /* add an IPv4 route */
  OP_NEIGH,     /* permanent ARP entry */
  OP_FDB,       /* permanent bridge FDB entry on a vxlan device (self) */
  OP_IPTABLES,  /* iptables-restore --noflush payload */
  OP_NFTABLES,  /* nft -f payload: one table, applied in one transaction */
  OP_PROCESS,   /* start a pause process (and its app) holding a pod or node */
  OP_CNI,       /* call a CNI plugin (CNI_COMMAND=ADD) as containerd does */
  OP_NFACCT,    /* create a named nfacct counter (nfacct add) */
  OP__COUNT
};

/* What a namespace stands for, as `nslab plan` groups ops by it. */
enum plan_netns_kind { PLAN_NETNS_LABHOST, PLAN_NETNS_NODE, PLAN_NETNS_NATROUTER, PLAN_NETNS_POD };

struct plan_netns {
  enum plan_netns_kind kind;
  struct obj_ref owner;  /* the node (NODE, NATROUTER) or pod (POD); OBJ_NONE for the lab host */
  char *node;            /* pods: the node it runs on; NULL otherwise */
};

enum link_kind { LINK_BRIDGE, LINK_VETH, LINK_VXLAN };

struct plan_link {
  enum link_kind kind;
  char *name;
  uint32_t mtu;
  uint8_t mac[6];
  bool has_mac;
  /* veth: the peer is created at the same time, in peer_ns */
  char *peer_name;
  char *peer_ns;
  uint8_t peer_mac[6];
  bool peer_has_mac;
  bool no_queue;        /* txqueuelen 0 on both ends, as the CNI plugins' veths */
  /* vxlan */
  uint32_t vni;
  uint16_t dstport;
  uint32_t local;
  char *dev;            /* underlay device */
  bool learning;
};

struct plan_link_set {
  char *name;
  char *master;         /* bridge to enslave to, or NULL */
  bool hairpin;         /* bridge port hairpin_mode */
  bool up;
};

struct plan_addr {
  char *dev;
  struct cidr addr;     /* address with prefix length, e.g. 10.42.0.1/24 */
  uint32_t metric;      /* IFA_RT_PRIORITY (DHCP clients set 100), 0 = none */
};

struct plan_route {
  struct cidr dst;      /* 0.0.0.0/0 for default */
  uint32_t gw;          /* 0 = none (scope link) */
  char *dev;
  uint32_t src;         /* preferred source, 0 = none */
  uint32_t metric;
  uint8_t protocol;     /* RTPROT_BOOT (what ip route add uses), RTPROT_DHCP ... */
  bool onlink;
  bool scope_link;      /* direct route with no gateway */
};

struct plan_neigh {
  char *dev;
  uint32_t ip;
  uint8_t lladdr[6];
};

struct plan_fdb {
  char *dev;
  uint8_t lladdr[6];
  uint32_t dst;
};

struct plan_sysctl {
  /* Dotted as sysctl(8) writes it (net.ipv4.ip_forward), or already a path
   * below /proc/sys when an interface name has a dot
   * (net/ipv6/conf/flannel.1/accept_ra). */
  char *key;
  char *value;
};

struct plan_iptables {
  char *payload;        /* complete iptables-restore input */
};

struct plan_nftables {
  char *payload;        /* complete `nft -f` input (kube-proxy's table) */
};

/* The app a pod's pause process starts, copied out of the scenario. */
struct plan_app {
  enum app_kind kind;   /* APP_NONE: pause only */
  uint16_t port;        /* APP_HTTP, APP_DNS */
  char *dns_domain;     /* APP_DNS: the zone it answers for, its Corefile's `kubernetes cluster.local`;
                         * NULL (older plans): the server reads it from the lab's snapshot */
  char *command;        /* APP_COMMAND, as written */
  char **argv;          /* APP_COMMAND, split as a shell would, NULL-terminated */
  bool ready_fd;        /* APP_COMMAND: its first start gets fd PLAN_APP_READY_FD, which it closes
                         * once set up (klipper-lb's entry script, after its rules); the pod counts
                         * as started only then */
};

/* The fd a command app with plan_app.ready_fd closes once it is set up
 * (the runtime's PAUSE_APP_READY_FD). */
#define PLAN_APP_READY_FD 3

struct plan_process {
  struct obj_ref owner; /* OBJ_NODE or OBJ_POD, with namespace and name */
  char *node;           /* the node it runs on (for a node: itself) */
  char *title;          /* as ps shows it: "nslab-pause k3s demo/web-79ffc79c64-7lczb" */
  char *hostname;
  struct plan_app app;
  char **env;           /* extra environment for the app (POD_NAME, ...), NULL-terminated; may be NULL */
  char *etc_hosts;      /* pods: /etc/hosts as kubelet writes it; nodes: the lines the applier adds
                         * to the host's (the lab's node names); NULL = leave the host's */
  char *resolv_conf;    /* pods: /etc/resolv.conf (cluster DNS, search path); NULL = leave */
  char **files;         /* nodes: files its own components wrote (the CNI conflist), seen only in its
                         * mount namespace: absolute path, content, path, content, ..., NULL; may be NULL */
  bool privileged;      /* pods: the app keeps every capability (else containerd's default set) */
  uint64_t cap_add;     /* pods: capabilities added to containerd's default set (bit N = capability N) */
  enum restart_policy restart_policy; /* pods: when the pause process restarts the app (nodes: Always, no app) */
  char *node_netns;     /* pods: the name containerd gives the pod's network namespace in its node's
                         * /run/netns ("cni-1f2e..."), seen only in the node's mount namespace; NULL = none */
};

/* Where containerd names pod network namespaces on a node (its netnsMountDir):
 * CNI_NETNS is NODE_NETNS_DIR/cni-... */
#define PLAN_NODE_NETNS_DIR "/var/run/netns"

/* Where Debian's containernetworking-plugins installs the plugins: CNI_PATH. */
#define PLAN_CNI_PATH "/usr/lib/cni"

/* One CNI plugin call for a pod, as containerd makes it on the node (op->ns):
 * the environment of the CNI spec and the network config on stdin. */
struct plan_cni {
  char *pod_ns;         /* the pod's network namespace: /run/netns/<pod_ns> here */
  char *node_netns;     /* its name on the node (plan_process.node_netns): CNI_NETNS = /var/run/netns/<node_netns>,
                         * as containerd passes it; NULL (older plans): CNI_NETNS = /run/netns/<pod_ns> */
  char *container_id;   /* CNI_CONTAINERID: the pod sandbox's id (64 hex) */
  char *ifname;         /* CNI_IFNAME: eth0, or lo for the loopback plugin */
  char *args;           /* CNI_ARGS, as containerd sets them */
  char *type;           /* the plugin: bridge, loopback */
  char *network;        /* the config's name (cbr0, cni-loopback): the result cache's key */
  char *config;         /* stdin: the network config, compact JSON with sorted keys */
  uint32_t expect_ip;   /* the address the plan gives the pod (host-local must hand out the same); 0 = none */
};

struct plan_nfacct {
  char *name;           /* ct_state_invalid_dropped_pkts */
};

struct plan_op {
  enum plan_op_kind kind;
  char *ns;             /* the network namespace the op acts in */
  union {
    struct plan_netns netns;
    struct plan_link link;
    struct plan_link_set set;
    struct plan_addr addr;
    struct plan_route route;
    struct plan_neigh neigh;
    struct plan_fdb fdb;
    struct plan_sysctl sysctl;
    struct plan_iptables ipt;
    struct plan_nftables nft;
    struct plan_process proc;
    struct plan_cni cni;
    struct plan_nfacct nfacct;
  } u;
};

struct plan {
  struct lab_objects *objects; /* owned: what the lab is, as kubectl would show it */
  struct plan_op *ops;
  size_t n_ops;
};

/* Resolve the scenario (k8s/model) and plan it. The model is not kept. */
int plan_build (const struct scenario *sc, struct plan **out, nslab_error_t *err);
/* What up applies: the same lab before kubelet's first probes, so a pod
 * with a readiness probe is a not-ready endpoint (k8s/model.h,
 * model_build_starting) until the control loop has seen it pass. */
int plan_build_starting (const struct scenario *sc, struct plan **out, nslab_error_t *err);
/* Plan an already-built model (tests that look at both). */
struct plan *plan_from_model (const struct model *m);
void plan_free (struct plan *p);

/* JSON: the objects' members (k8s/objects.h) plus "namespaces" and "ops".
 * from_json reads back what to_json wrote (the snapshot of a running lab). */
json_t *plan_to_json (const struct plan *p);
int plan_from_json (const json_t *j, struct plan **out, nslab_error_t *err);
/* The text of plan_to_json (compact, members in order) made in parts and
 * handed to WRITE (0, or -1 to stop: then this returns -1): the objects,
 * then one op's values at a time, so that it never holds the whole plan's
 * values at once (a large lab's are tens of MiB, and fresh memory is dear
 * in a guest that traps the first write to each page). */
int plan_dump_json (const struct plan *p, int (*write) (const char *buf, size_t len, void *arg), void *arg);
/* One op as the plan's "ops" hold it ({op, netns, ...}) and back; a
 * half-read op is still freed by op_free. */
json_t *plan_op_to_json (const struct plan_op *op);
int plan_op_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err);

#endif
