/* Inside the plan layer: the op constructors every component uses, and the
 * components themselves. Each component file plans the objects that one piece
 * of a real node creates (hypervisor.c: what VirtualBox/VMware and the DHCP
 * client set up; flannel.c; cni_bridge.c; weave.c; kubelet.c; kube_proxy_iptables.c),
 * and plan.c calls them in apply order. Ops get copies of every name. */
#ifndef NSLAB_PLAN_BUILDER_H
#define NSLAB_PLAN_BUILDER_H

#include "k8s/model.h"
#include "plan/plan.h"

/* The namespace's name as ops carry it. */
const char *plan_ns (const struct model *m, int netns);

struct plan_op *plan_push (struct plan *p, enum plan_op_kind kind, const char *ns);
void plan_add_sysctl (struct plan *p, const char *ns, const char *key, const char *value);
struct plan_link *plan_add_veth (struct plan *p, const char *ns, const char *name, const uint8_t *mac,
                                 const char *peer_ns, const char *peer, const uint8_t *peer_mac, uint32_t mtu);
void plan_add_bridge (struct plan *p, const char *ns, const char *name, const uint8_t *mac, uint32_t mtu);
void plan_add_link_set (struct plan *p, const char *ns, const char *name, const char *master, bool hairpin);
void plan_add_addr (struct plan *p, const char *ns, const char *dev, uint32_t addr, uint8_t len, uint32_t metric);
struct plan_route *plan_add_route (struct plan *p, const char *ns, uint32_t dst, uint8_t len, uint32_t gw,
                                   const char *dev);
/* Each pod of node N: a veth pair (the host end a port of BRIDGE with
 * hairpin on, as the CNI bridge plugin and weave's both set it; eth0 in the
 * pod), at MTU. BRIDGE_PLUGIN: as the bridge plugin's ip.SetupVeth makes
 * it (the real plugin, cni_runtime = plugins, shows it): txqueuelen 0 on
 * both ends and no router advertisements on the host end. */
void plan_add_pod_veths (struct plan *p, const struct model *m, const struct model_node *n, const char *bridge,
                         uint32_t mtu, bool bridge_plugin);
/* A hashed MAC for an object Linux would give a random one, so the lab is the
 * same (and its IPv6 link-locals too) run after run. key is formatted. */
void plan_local_mac (uint8_t mac[6], const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* flannel.1 MTU = underlay MTU - 50 (VXLAN overhead), and so cni0 and pods. */
#define VXLAN_OVERHEAD 50
/* The metric a DHCP client gives the routes and address of its lease. */
#define DHCP_METRIC 100

/* hypervisor.c */
void hypervisor_plan_labhost (struct plan *p, const struct model *m);
void hypervisor_plan_node_nics (struct plan *p, const struct model *m, const struct model_node *n);
void hypervisor_plan_nic_addrs (struct plan *p, const struct model *m, const struct model_node *n);
void hypervisor_plan_dhcp_routes (struct plan *p, const struct model *m, const struct model_node *n);
void hypervisor_plan_natrouters (struct plan *p, const struct model *m, const struct model_node *n);
void hypervisor_plan_bridges_up (struct plan *p, const struct model *m);
void hypervisor_plan_lb_pool_route (struct plan *p, const struct model *m);

/* flannel.c */
void flannel_plan_vtep (struct plan *p, const struct model *m, const struct model_node *n);
void flannel_plan_vtep_addr (struct plan *p, const struct model *m, const struct model_node *n);
void flannel_plan_peers (struct plan *p, const struct model *m, const struct model_node *n);
uint32_t flannel_pod_mtu (const struct model *m);
void flannel_plan_hostgw_routes (struct plan *p, const struct model *m, const struct model_node *n);

/* cni_bridge.c */
void cni_bridge_plan_node (struct plan *p, const struct model *m, const struct model_node *n);
void cni_bridge_plan_node_addr (struct plan *p, const struct model *m, const struct model_node *n);
void cni_bridge_plan_pod (struct plan *p, const struct model *m, const struct model_pod *pod);
void cni_bridge_plan_bridges_up (struct plan *p, const struct model *m);

/* cni_conf.c: the node's CNI network configuration file (path, content). */
const char *cni_conf_path (const struct model *m);
const char *cni_conflist (const struct model *m);

/* cni_plugins.c */
void cni_plugins_plan_pod (struct plan *p, const struct model *m, const struct model_pod *pod);
/* The pod sandbox's id (64 hex digits like containerd's, stable per pod)
 * and one CNI call for the pod on its node, CONFIG taken. */
char *plan_sandbox_id (const struct model *m, const struct model_pod *pod);
/* The pod's network namespace's name in its node's /run/netns (cni-...). */
char *plan_pod_node_netns (const struct model *m, const struct model_pod *pod);
void plan_add_cni (struct plan *p, const struct model *m, const struct model_pod *pod, const char *id,
                   const char *ifname, const char *type, const char *network, char *config, uint32_t expect_ip);

/* servicelb.c: k3s servicelb's pods (NULL / nothing for other pods). */
const struct model_service *servicelb_service (const struct model *m, const struct model_pod *pod);
char *servicelb_entry_script (const struct model *m, const struct model_pod *pod);
void servicelb_plan_pod (struct plan *p, const struct model *m, const struct model_pod *pod);

/* weave.c */
void weave_plan_node (struct plan *p, const struct model *m, const struct model_node *n);
void weave_plan_node_addr (struct plan *p, const struct model *m, const struct model_node *n);
void weave_plan_pod (struct plan *p, const struct model *m, const struct model_pod *pod);
void weave_plan_bridges_up (struct plan *p, const struct model *m);

/* kubelet.c */
void kubelet_plan_sysctls (struct plan *p, const struct model *m, const struct model_node *n);
void kubelet_plan_processes (struct plan *p, const struct model *m);

/* kube_proxy_nftables.c */
struct kube_proxy_nft;
void kube_proxy_nft_plan_node (struct plan *p, const struct model *m, const struct model_node *n,
                               const struct kube_proxy_nft *ks);

/* metallb.c: the kubeadm load_balancer_pool's L2 announcement. */
void metallb_plan_node (struct plan *p, const struct model *m, const struct model_node *n);

/* kube_proxy_iptables.c */
struct kube_proxy_services;
void kube_proxy_plan_node (struct plan *p, const struct model *m, const struct model_node *n,
                           const struct kube_proxy_services *ks);

#endif
