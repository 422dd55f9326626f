/* The CNI network configuration file each node has, byte for byte as the
 * cluster's network component writes it, and where:
 *   - kubeadm + flannel (vxlan or host-gw): kube-flannel.yml's install-cni
 *     init container copies the ConfigMap kube-flannel-cfg's cni-conf.json
 *     to /etc/cni/net.d/10-flannel.conflist (flannel-io/flannel
 *     Documentation/kube-flannel.yml; YAML's "|" keeps one final newline);
 *   - k3s: the agent writes its cniConf constant (k3s pkg/agent/flannel
 *     setup_linux.go, createCNIConf) to
 *     /var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist;
 *   - Weave Net: weave-kube's launch.sh runs `weave --local setup-cni`,
 *     whose create_cni_config heredoc (weaveworks/weave `weave`, HAIRPIN_MODE
 *     defaulting to true) is /etc/cni/net.d/10-weave.conflist, 318 bytes.
 * The node's pause process gets it in its own mount namespace (runtime/
 * sandbox.c); cni_runtime = plugins derives the bridge delegate from this
 * same text (cni_plugins.c), as the flannel meta-plugin does. */
#include "plan/builder.h"

static const char kube_flannel_conflist[] = "{\n"
                                            "  \"name\": \"cbr0\",\n"
                                            "  \"cniVersion\": \"0.3.1\",\n"
                                            "  \"plugins\": [\n"
                                            "    {\n"
                                            "      \"type\": \"flannel\",\n"
                                            "      \"delegate\": {\n"
                                            "        \"hairpinMode\": true,\n"
                                            "        \"isDefaultGateway\": true\n"
                                            "      }\n"
                                            "    },\n"
                                            "    {\n"
                                            "      \"type\": \"portmap\",\n"
                                            "      \"capabilities\": {\n"
                                            "        \"portMappings\": true\n"
                                            "      }\n"
                                            "    }\n"
                                            "  ]\n"
                                            "}\n";

static const char k3s_flannel_conflist[] = "{\n"
                                           "  \"name\":\"cbr0\",\n"
                                           "  \"cniVersion\":\"1.0.0\",\n"
                                           "  \"plugins\":[\n"
                                           "    {\n"
                                           "      \"type\":\"flannel\",\n"
                                           "      \"delegate\":{\n"
                                           "        \"hairpinMode\":true,\n"
                                           "        \"forceAddress\":true,\n"
                                           "        \"isDefaultGateway\":true\n"
                                           "      }\n"
                                           "    },\n"
                                           "    {\n"
                                           "      \"type\":\"portmap\",\n"
                                           "      \"capabilities\":{\n"
                                           "        \"portMappings\":true\n"
                                           "      }\n"
                                           "    },\n"
                                           "    {\n"
                                           "      \"type\":\"bandwidth\",\n"
                                           "      \"capabilities\":{\n"
                                           "        \"bandwidth\":true\n"
                                           "      }\n"
                                           "    }\n"
                                           "  ]\n"
                                           "}\n";

static const char weave_conflist[] = "{\n"
                                     "    \"cniVersion\": \"0.3.0\",\n"
                                     "    \"name\": \"weave\",\n"
                                     "    \"plugins\": [\n"
                                     "        {\n"
                                     "            \"name\": \"weave\",\n"
                                     "            \"type\": \"weave-net\",\n"
                                     "            \"hairpinMode\": true\n"
                                     "        },\n"
                                     "        {\n"
                                     "            \"type\": \"portmap\",\n"
                                     "            \"capabilities\": {\"portMappings\": true},\n"
                                     "            \"snat\": true\n"
                                     "        }\n"
                                     "    ]\n"
                                     "}\n";

const char *
cni_conf_path (const struct model *m)
{
  if (m->sc->cluster.cni == CNI_WEAVE)
    return "/etc/cni/net.d/10-weave.conflist";
  if (m->sc->cluster.flavor == FLAVOR_K3S)
    return "/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist";
  return "/etc/cni/net.d/10-flannel.conflist";
}

const char *
cni_conflist (const struct model *m)
{
  if (m->sc->cluster.cni == CNI_WEAVE)
    return weave_conflist;
  return m->sc->cluster.flavor == FLAVOR_K3S ? k3s_flannel_conflist : kube_flannel_conflist;
}
