/* The flavors' defaults and the services every cluster of a flavor has:
 * the one place these numbers live (see flavor.c for why in scenario/). */
#ifndef NSLAB_SCENARIO_FLAVOR_H
#define NSLAB_SCENARIO_FLAVOR_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ipaddr.h"
#include "scenario/scenario.h"

/* What a [cluster] key means when nobody wrote it. */
struct flavor_defaults {
  enum flavor flavor;
  const char *name;           /* as written in flavor = */
  const char *kube_version;   /* kubelet's and the API server's gitVersion */
  const char *container_runtime; /* nodeInfo.containerRuntimeVersion */
  struct cidr pod_cidr, service_cidr;
  uint8_t node_mask;
  enum cni_kind cni;
  enum proxy_mode proxy_mode;
  const char *dns_domain;
  uint32_t vxlan_vni;
  uint16_t vxlan_port;
  uint32_t underlay_mtu;
  uint16_t nodeport_min, nodeport_max;
  uint16_t apiserver_port;
  int masquerade_bit;
  bool cp_schedulable;
  int dns_replicas;           /* coredns: k3s's manifest 1, kubeadm's 2 */
};

/* Kubernetes' sessionAffinityConfig.clientIP.timeoutSeconds default (3 h). */
#define SVC_AFFINITY_TIMEOUT_DEFAULT 10800

const struct flavor_defaults *flavor_defaults (enum flavor f);
/* FLAVOR from its name ("k3s", "kubeadm"); false if there is none. */
bool flavor_parse (const char *name, enum flavor *out);
/* Every field of CL from F's defaults, dns_ip from the service CIDR. */
void cluster_set_defaults (struct cluster_def *cl, enum flavor f);

/* The ClusterIPs both flavors give their implicit services, derived from
 * the service CIDR the way kubeadm and k3s do: default/kubernetes the
 * first address, kube-system/kube-dns the tenth. */
uint32_t service_cidr_kubernetes_ip (struct cidr service_cidr);
uint32_t service_cidr_dns_ip (struct cidr service_cidr);

/* Add default/kubernetes and kube-system/kube-dns unless the scenario
 * defines them itself (implicit = true). */
void add_implicit_services (struct scenario *sc);
/* The cluster DNS server k3s and kubeadm both deploy: Deployment
 * kube-system/coredns (label k8s-app=kube-dns, the kube-dns selector) on
 * the control-plane nodes, unless [cluster] dns = no or the scenario
 * defines it itself. Added after the user's workloads, so their pods keep
 * the addresses they had without it. */
void add_implicit_workloads (struct scenario *sc);
/* The key of a Service's metadata.uid (base/hash.h uid_from_key): the
 * store gives the Service that uid, servicelb's DaemonSet name shows it. */
char *service_uid_key (const char *lab, const char *ns, const char *name);

#endif
