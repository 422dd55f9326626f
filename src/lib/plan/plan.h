/* The plan: every kernel object and process a lab needs, as an ordered list
 * of operations. Apply performs them front to back; teardown walks the state
 * record back to front. Building a plan touches nothing: it is printable and
 * testable without root. */
#ifndef NSLAB_PLAN_H
#define NSLAB_PLAN_H

#include <stdio.h>

#include "k8s/model.h"

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
  OP_PROCESS,   /* start a pause process (and its app) holding a pod or node */
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
  int peer_ns;
  uint8_t peer_mac[6];
  bool peer_has_mac;
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
  char *key;            /* dotted, as sysctl(8) writes it: net.ipv4.ip_forward */
  char *value;
};

struct plan_iptables {
  char *payload;        /* complete iptables-restore input */
};

enum process_role { PROC_NODE, PROC_POD };

struct plan_process {
  enum process_role role;
  int owner;            /* node or pod index in the model */
  char *title;          /* as ps shows it: "nslab-pause k3s demo/web-79ffc79c64-7lczb" */
  char *hostname;
  const struct app_def *app; /* NULL or APP_NONE: pause only */
  char **env;           /* extra environment for the app (POD_NAME, ...), NULL-terminated */
  char *etc_hosts;      /* pods: /etc/hosts as kubelet writes it; NULL = leave the host's */
  char *resolv_conf;    /* pods: /etc/resolv.conf (cluster DNS, search path); NULL = leave */
};

struct plan_op {
  enum plan_op_kind kind;
  int ns;               /* index into model->netns */
  union {
    struct plan_link link;
    struct plan_link_set set;
    struct plan_addr addr;
    struct plan_route route;
    struct plan_neigh neigh;
    struct plan_fdb fdb;
    struct plan_sysctl sysctl;
    struct plan_iptables ipt;
    struct plan_process proc;
  } u;
};

struct plan {
  struct model *model;  /* owned */
  struct plan_op *ops;
  size_t n_ops;
};

int plan_build (const struct scenario *sc, struct plan **out, nslab_error_t *err);
void plan_free (struct plan *p);

/* Human-readable, grouped by namespace, in ip(8)/bridge(8)/iptables-save syntax. */
void plan_print_text (const struct plan *p, FILE *out);
void plan_print_json (const struct plan *p, FILE *out);
/* kubectl-like tables of nodes, pods and services (plan and up print it). */
void plan_print_summary (const struct model *m, bool running, FILE *out);

#endif
