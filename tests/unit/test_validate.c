/* Every validation error of the scenario format: each case loads a small
 * scenario and asserts the exact one-line message and exit code 2. */
#include "unit.h"

#include "scenario/scenario.h"
#include "scenario/ini.h"

struct vcase {
  const char *text;
  char where; /* S: the scenario, T: templates/k3s.ini, O: labs/tt.ini */
  const char *suffix; /* message after the file name; @D = the scenario's dir */
};

static const struct vcase cases[] = {
  { "[lab] ; c\n", 'S', ":1: syntax error: a section header is \"[name]\" alone on its line" },
  { "[a]b]\n", 'S', ":1: syntax error: '[' or ']' inside a section name" },
  { "[ ]\n", 'S', ":1: empty section name" },
  { "[Lab]\n", 'S', ":1: [Lab] has upper-case letters (section and key names are lower case)" },
  { "[a:b]\n", 'S', ":1: [a:b]: ':' is not allowed in a section name" },
  { "[lab]\nname = t\n\n[lab]\n", 'S', ":4: duplicate section [lab] (first on line 1)" },
  { "[node a]\n[node  a]\n", 'S', ":2: duplicate section [node  a] (first on line 1)" },
  { "[lab]\nname = \"t\n", 'S', ":2: unterminated quote in the value of \"name\"" },
  { "[lab]\nname = \"t\" x\n", 'S', ":2: text after the closing quote in the value of \"name\" (quote the whole value)" },
  { "[lab]\ndescription = a;b\n", 'S', ":2: ';' in the unquoted value of \"description\" would start a comment (iniparser cuts the value there): quote the value" },
  { "[lab]\ndescription = issue#4\n", 'S', ":2: '#' in the unquoted value of \"description\" would start a comment (iniparser cuts the value there): quote the value" },
  { "[lab]\ndescription = it\'s ;x\n", 'S', ":2: ';' in the unquoted value of \"description\" would start a comment (iniparser cuts the value there): quote the value" },
  { "[lab]\nname\n", 'S', ":2: syntax error: expected [section], key = value, or a comment" },
  { "[lab]\n = x\n", 'S', ":2: syntax error: missing key name before '='" },
  { "[lab]\nName = x\n", 'S', ":2: key \"Name\" has upper-case letters (section and key names are lower case)" },
  { "name = x\n[lab]\n", 'S', ":1: key \"name\" outside of any section" },
  { "[deployment demo/web]\nreplicas = 1\nlabels = a=b\n\nreplicas = 2\n", 'S', ":5: duplicate key \"replicas\" in [deployment demo/web] (first set on line 2)" },
  { "[lab]\nname = a\\\n", 'S', ":2: line ends with '\\' (line continuation is not supported)" },
  { "; comment \\\n[lab]\n", 'S', ":1: line ends with '\\' (line continuation is not supported)" },
  { "[lab]\nname = t\ntemplate =\n", 'S', ": [lab] template: empty value" },
  { "[lab]\nname = t\ntemplate = Foo\n", 'S', ": [lab] template: \"Foo\" is not a template name (a-z, 0-9, '-', '_', '.'; or a path to a .ini file)" },
  { "[lab]\nname = t\ntemplate = nope.ini\n", 'S', ": [lab] template: no template \"nope.ini\" (looked in @D/nope.ini)" },
  { "[lab]\nname = t\ntemplate = nope\n", 'S', ": [lab] template: no template \"nope\" (looked in @D/../templates, @D, /usr/local/share/nslab/templates)" },
  { "[lab]\nname = t\ntemplate = tt\n", 'O', ": [lab] template: a template cannot use another template" },
  { "# only a comment\n", 'S', ": empty lab (no sections)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[nodes cp2]\n", 'S', ": [nodes cp2]: unknown section (did you mean [node NAME]?)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[svc demo/x]\n", 'S', ": [svc demo/x]: unknown section (did you mean [service NS/NAME]?)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deploy demo/x]\n", 'S', ": [deploy demo/x]: unknown section (did you mean [deployment NS/NAME]?)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[labs]\n", 'S', ": [labs]: unknown section (did you mean [lab]?)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[volume x]\n", 'S', ": [volume x]: unknown section (sections are [lab], [cluster], [network NAME], [node NAME], [pod NS/NAME], [deployment NS/NAME], [replicaset NS/NAME], [service NS/NAME], [check NAME], [images])" },
  { "[lab x]\nname = t\n", 'S', ": [lab x]: [lab] takes no name (write [lab])" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[node]\n", 'S', ": [node]: missing name (write [node NAME])" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[node cp_2]\n", 'S', ": [node cp_2]: \"cp_2\" is not a valid name (DNS-1123 label: at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[node host]\n", 'S', ": [node host]: the node name \"host\" is reserved for the lab host" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod web]\n", 'S', ": [pod web]: the name must be NAMESPACE/NAME (write [pod NS/NAME])" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod -x/web]\n", 'S', ": [pod -x/web]: namespace \"-x\" is not a valid name (DNS-1123 label: at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod x/web-]\n", 'S', ": [pod x/web-]: \"web-\" is not a valid name (DNS-1123 label: at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n", 'S', ": [deployment x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is longer than 47 characters (generated pod names must stay within 63)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service x/1web]\n", 'S', ": [service x/1web]: \"1web\": a service name must start with a letter (DNS-1035 label)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/web]\nlabels = a=b\n[pod demo/web]\n", 'S', ": [pod demo/web]: demo/web is already defined by [deployment demo/web]" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[cluster]\npod_cdr = 10.42.0.0/16\n", 'S', ": [cluster] pod_cdr: unknown key (did you mean pod_cidr?)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[node w2]\ncolour = red\n", 'S', ": [node w2] colour: unknown key (known keys: role, nics, internal_nic, schedulable)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nreplicas = 2\n", 'S', ": [pod demo/p] replicas: not valid in a pod (only in [deployment NS/NAME] and [replicaset NS/NAME])" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nnodes = w1\n", 'S', ": [pod demo/p] nodes: unknown key (did you mean node? a pod has one)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/p]\nlabels = a=b\nnode = w1\n", 'S', ": [deployment demo/p] node: unknown key (did you mean nodes?)" },
  { "[lab]\ndescription = x\n", 'S', ": [lab] name: required key is missing" },
  { "[cluster]\nflavor = k3s\n", 'S', ": [lab] name: required key is missing" },
  { "[lab]\nname = 1lab\n", 'S', ": [lab] name: \"1lab\" must be 1-12 characters of a-z, 0-9 and '-', start with a letter and not end with '-'" },
  { "[lab]\nname = abcdefghijklm\n", 'S', ": [lab] name: \"abcdefghijklm\" must be 1-12 characters of a-z, 0-9 and '-', start with a letter and not end with '-'" },
  { "[lab]\nname = t\n", 'S', ": [cluster] flavor: required key is missing (set it, or use [lab] template = k3s)" },
  { "[lab]\nname = t\n[cluster]\nmtu = 1500\n", 'S', ": [cluster] flavor: required key is missing (set it, or use [lab] template = k3s)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k8s\n", 'S', ": [cluster] flavor: \"k8s\" is not k3s or kubeadm" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\npod_cidr = 10.42.0.0\n", 'S', ": [cluster] pod_cidr: \"10.42.0.0\" is not a CIDR (a.b.c.d/len)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\npod_cidr = 10.42.0.1/16\n", 'S', ": [cluster] pod_cidr: 10.42.0.1/16 has host bits set (did you mean 10.42.0.0/16?)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nservice_cidr = 10.43.0.0/29\n", 'S', ": [cluster] service_cidr: 10.43.0.0/29 is too small (at most /28)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\npod_cidr = 10.42.0.0/16\nservice_cidr = 10.42.128.0/17\n", 'S', ": [cluster] pod_cidr: 10.42.0.0/16 overlaps service CIDR 10.42.128.0/17" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nservice_cidr = 10.42.128.0/17\n", 'S', ": [cluster] service_cidr: 10.42.128.0/17 overlaps pod CIDR 10.42.0.0/16" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nnode_mask = x\n", 'S', ": [cluster] node_mask: \"x\" is not an integer" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nnode_mask = 33\n", 'S', ": [cluster] node_mask: 33 is out of range (0-32)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nnode_mask = 16\n", 'S', ": [cluster] node_mask: /16 must be longer than the pod CIDR prefix (/16) and at most 28" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nnode_mask = 29\n", 'S', ": [cluster] node_mask: /29 must be longer than the pod CIDR prefix (/16) and at most 28" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\npod_cidr = 10.42.0.0/24\n", 'S', ": [cluster] pod_cidr: node_mask /24 must be longer than the pod CIDR prefix (/24) and at most 28" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ncni = calico\n", 'S', ": [cluster] cni: \"calico\" is not a supported CNI (flannel, host-gw, weave)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ncni_runtime = containerd\n", 'S', ": [cluster] cni_runtime: \"containerd\" is not a CNI runtime (builtin, plugins)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ncni = weave\ncni_runtime = plugins\n", 'S', ": [cluster] cni_runtime: plugins wires pods with the bridge plugin, as flannel delegates to it: it needs cni flannel or host-gw, not weave" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nproxy_mode = ipvs\n", 'S', ": [cluster] proxy_mode: \"ipvs\" is not a supported proxy mode (iptables, nftables)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ndns_domain = cluster..local\n", 'S', ": [cluster] dns_domain: \"cluster..local\" is not a valid DNS domain" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ndns_ip = 10.43.0\n", 'S', ": [cluster] dns_ip: \"10.43.0\" is not an IPv4 address" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ndns_ip = 10.96.0.10\n", 'S', ": [cluster] dns_ip: 10.96.0.10 is outside service CIDR 10.43.0.0/16" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ndns_ip = 10.43.0.0\n", 'S', ": [cluster] dns_ip: 10.43.0.0 is the network address of service CIDR 10.43.0.0/16" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ndns_ip = 10.43.255.255\n", 'S', ": [cluster] dns_ip: 10.43.255.255 is the broadcast address of service CIDR 10.43.0.0/16" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ndns_ip = 10.43.0.1\n", 'S', ": [cluster] dns_ip: 10.43.0.1 is the ClusterIP of default/kubernetes" },
  /* The user's own dns_ip is checked against the user's service CIDR and named. */
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nservice_cidr = 10.50.0.0/16\ndns_ip = 10.43.0.10\n", 'S', ": [cluster] dns_ip: 10.43.0.10 is outside service CIDR 10.50.0.0/16" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nvxlan_vni = 0\n", 'S', ": [cluster] vxlan_vni: 0 is out of range (1-16777215)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nvxlan_port = 70000\n", 'S', ": [cluster] vxlan_port: \"70000\" is not a port (1-65535)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nmtu = 1000\n", 'S', ": [cluster] mtu: 1000 is out of range (1280-9000)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nmtu = -1\n", 'S', ": [cluster] mtu: \"-1\" is not an integer" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nnodeport_range = 30000\n", 'S', ": [cluster] nodeport_range: \"30000\" is not LOW-HIGH (e.g. 30000-32767)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nnodeport_range = 30000-x\n", 'S', ": [cluster] nodeport_range: \"30000-x\" is not LOW-HIGH with ports 1-65535" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nnodeport_range = 32000-31000\n", 'S', ": [cluster] nodeport_range: 32000 is above 31000" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\napiserver_port = 0\n", 'S', ": [cluster] apiserver_port: \"0\" is not a port (1-65535)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\nmasquerade_bit = 32\n", 'S', ": [cluster] masquerade_bit: 32 is out of range (0-31)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ncontrol_plane_schedulable = maybe\n", 'S', ": [cluster] control_plane_schedulable: \"maybe\" is not a boolean (true/false, yes/no, 1/0)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ndns = maybe\n", 'S', ": [cluster] dns: \"maybe\" is not a boolean (true/false, yes/no, 1/0)" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ndns = no\ndns_replicas = 2\n", 'S', ": [cluster] dns_replicas: needs dns = yes" },
  { "[lab]\nname = t\ntemplate = k3s\n[cluster]\ndns_replicas = 11\n", 'S', ": [cluster] dns_replicas: 11 is out of range (1-10)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ncidr = 10.0.0.0/24\n", 'S', ": [network h] type: required key is missing (nat or hostonly)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = bridged\n", 'S', ": [network h] type: \"bridged\" is not nat or hostonly" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = nat\n", 'S', ": [network h] cidr: required key is missing" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = nat\ncidr = 10.0.0.0/31\n", 'S', ": [network h] cidr: 10.0.0.0/31 is too small (at most /30)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = nat\ncidr = 10.42.5.0/24\n", 'S', ": [network h] cidr: 10.42.5.0/24 overlaps pod CIDR 10.42.0.0/16" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = nat\ncidr = 10.0.0.0/8\n", 'S', ": [network h] cidr: 10.0.0.0/8 overlaps pod CIDR 10.42.0.0/16" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = nat\ncidr = 10.43.1.0/24\n", 'S', ": [network h] cidr: 10.43.1.0/24 overlaps service CIDR 10.43.0.0/16" },
  { "[lab]\nname = t\ntemplate = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.128/25\n", 'S', ": [network h] cidr: 192.168.56.128/25 overlaps [network hostonly] cidr 192.168.56.0/24" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\ngateway = 192.168.57.1\n", 'S', ": [network h] gateway: 192.168.57.1 is outside cidr 192.168.56.0/24" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\ngateway = 192.168.56.0\n", 'S', ": [network h] gateway: 192.168.56.0 is the network address of 192.168.56.0/24" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\ngateway = 192.168.56.255\n", 'S', ": [network h] gateway: 192.168.56.255 is the broadcast address of 192.168.56.0/24" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\ngateway = x\n", 'S', ": [network h] gateway: \"x\" is not an IPv4 address" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\ndns = 192.168.56.3\n", 'S', ": [network h] dns: only a nat network has a DNS address" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network n]\ntype = nat\ncidr = 10.0.2.0/24\ndns = 10.0.3.3\n", 'S', ": [network n] dns: 10.0.3.3 is outside cidr 10.0.2.0/24" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network n]\ntype = nat\ncidr = 10.0.2.0/24\ndns = 10.0.2.255\n", 'S', ": [network n] dns: 10.0.2.255 is the broadcast address of 10.0.2.0/24" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network n]\ntype = nat\ncidr = 10.0.2.0/24\ndns = 10.0.2.0\n", 'S', ": [network n] dns: 10.0.2.0 is the network address of 10.0.2.0/24" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network n]\ntype = nat\ncidr = 10.0.2.0/24\ndns = 10.0.2.2\n", 'S', ": [network n] dns: 10.0.2.2 is both the gateway and the DNS address" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network n]\ntype = nat\ncidr = 10.0.2.0/24\ngateway = 10.0.2.3\n", 'S', ": [network n] gateway: 10.0.2.3 is both the gateway and the DNS address" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network n]\ntype = nat\ncidr = 10.0.2.0/30\n", 'S', ": [network n] cidr: 10.0.2.0/30 has no room for the default DNS address (set dns = none)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network n]\ntype = nat\ncidr = 10.0.2.0/24\nbridge = br0\n", 'S', ": [network n] bridge: only a hostonly network has a bridge" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network n]\ntype = nat\ncidr = 10.0.2.0/24\nhypervisor = kvm\n", 'S', ": [network n] hypervisor: \"kvm\" is not virtualbox or vmware" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\nbridge = a/b\n", 'S', ": [network h] bridge: \"a/b\" is not a valid interface name (1-15 characters, no '/', ':' or whitespace)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\nbridge = br0\n[network g]\ntype = hostonly\ncidr = 192.168.57.0/24\nbridge = br0\n", 'S', ": [network g] bridge: br0 is already the bridge of [network h]" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\nbridge = vboxnet1\n[network g]\ntype = hostonly\ncidr = 192.168.57.0/24\n", 'S', ": [network g]: the default bridge vboxnet1 is already the bridge of [network h]: set bridge" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n", 'S', ": no [node NAME] section (a lab needs at least one node)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=h:192.168.56.10\n", 'S', ": no node has role = control-plane" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nrole = master\n", 'S', ": [node a] role: \"master\" is not control-plane or worker" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nrole = worker\n", 'S', ": [node a] nics: required key is missing (e.g. nics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics =\n", 'S', ": [node a] nics: no NIC (write IFNAME=NETWORK:ADDRESS, ...)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = a=h:1.1.1.1,b=h:1.1.1.1,c=h:1.1.1.1,d=h:1.1.1.1,e=h:1.1.1.1,f=h:1.1.1.1,g=h:1.1.1.1,h=h:1.1.1.1,i=h:1.1.1.1\n", 'S', ": [node a] nics: too many NICs (at most 8)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=h:192.168.56.10,\n", 'S', ": [node a] nics: empty item in the list" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0:h=192.168.56.10\n", 'S', ": [node a] nics: \"e0:h=192.168.56.10\" is not IFNAME=NETWORK:ADDRESS" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = eth0123456789abc=h:192.168.56.10\n", 'S', ": [node a] nics: \"eth0123456789abc\" is not a valid interface name (1-15 characters, no '/', ':' or whitespace)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = cni0=h:192.168.56.10\n", 'S', ": [node a] nics: cni0 is an interface nslab creates (cni0, flannel.1, lo, veth*): use another name" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = veth1=h:192.168.56.10\n", 'S', ": [node a] nics: veth1 is an interface nslab creates (cni0, flannel.1, lo, veth*): use another name" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=h:192.168.56.10, e0=h:192.168.56.11\n", 'S', ": [node a] nics: e0 is listed twice" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=hh:192.168.56.10\n", 'S', ": [node a] nics: e0: no [network hh] (did you mean h?)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=lan:192.168.56.10\n", 'S', ": [node a] nics: e0: no [network lan]" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=h:192.168.56.10, e1=h:192.168.56.11\n", 'S', ": [node a] nics: e1: the node already has a NIC on [network h]" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=h:192.168.56\n", 'S', ": [node a] nics: \"192.168.56\" is not an IPv4 address" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=h:192.168.57.1\n", 'S', ": [node a] nics: e0: 192.168.57.1 is outside [network h] cidr 192.168.56.0/24" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=h:192.168.56.0\n", 'S', ": [node a] nics: e0: 192.168.56.0 is the network address of [network h]" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=h:192.168.56.255\n", 'S', ": [node a] nics: e0: 192.168.56.255 is the broadcast address of [network h]" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node a]\nnics = e0=h:192.168.56.1\n", 'S', ": [node a] nics: e0: 192.168.56.1 is the gateway of [network h]" },
  { "[lab]\nname = t\ntemplate = k3s\n[node a]\nnics = e0=nat:10.0.2.3\n", 'S', ": [node a] nics: e0: 10.0.2.3 is the DNS address of [network nat]" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[node b]\nnics = e0=h:192.168.56.10\n", 'S', ": [node b] nics: e0: 192.168.56.10 is already used by [node cp]" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\ninternal_nic = e1\n", 'S', ": [node cp] internal_nic: e1 is not one of the node's nics" },
  { "[lab]\nname = t\ntemplate = k3s\n[node a]\nnics = e0=nat:10.0.2.15\n", 'S', ": [node a]: no NIC on a hostonly network: set internal_nic" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\nschedulable = si\n", 'S', ": [node cp] schedulable: \"si\" is not a boolean (true/false, yes/no, 1/0)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[pod default/p]\nprivileged = root\n", 'S', ": [pod default/p] privileged: \"root\" is not a boolean (true/false, yes/no, 1/0)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[deployment default/d]\nlabels = app=d\nprivilegd = true\n", 'S', ": [deployment default/d] privilegd: unknown key (did you mean privileged?)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[pod default/p]\nrestart_policy = always\n", 'S', ": [pod default/p] restart_policy: \"always\" is not Always, OnFailure or Never" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[deployment default/d]\nlabels = app=d\ncapabilities = NET_RAW, NET_ADMN\n", 'S', ": [deployment default/d] capabilities: \"NET_ADMN\" is not a Linux capability (did you mean NET_ADMIN?)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[pod default/p]\ncapabilities = ALL\n", 'S', ": [pod default/p] capabilities: \"ALL\" is not supported (privileged = true keeps every capability)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[pod default/p]\ncapabilities = net_admin\n", 'S', ": [pod default/p] capabilities: \"net_admin\" is not a Linux capability" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[pod default/p]\ncapabilities =\n", 'S', ": [pod default/p] capabilities: no capability (write NET_ADMIN, NET_RAW, ...)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[deployment default/d]\nlabels = app=d\nrestart_policy = Never\n", 'S', ": [deployment default/d] restart_policy: a deployment supports only Always (Never is for bare pods)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[replicaset default/r]\nlabels = app=r\nrestart_policy = OnFailure\n", 'S', ": [replicaset default/r] restart_policy: a replicaset supports only Always (OnFailure is for bare pods)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[deployment default/d]\nlabels = app=d\nimage = Nginx:1.27\n", 'S', ": [deployment default/d] image: \"Nginx:1.27\" is not an image reference ([registry/]repository[:tag][@sha256:digest], e.g. nginx:1.27-alpine)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[pod default/p]\nimage = nginx:\n", 'S', ": [pod default/p] image: \"nginx:\" is not an image reference ([registry/]repository[:tag][@sha256:digest], e.g. nginx:1.27-alpine)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[pod default/p]\nimage = nginx@sha256:abc\n", 'S', ": [pod default/p] image: \"nginx@sha256:abc\" is not an image reference ([registry/]repository[:tag][@sha256:digest], e.g. nginx:1.27-alpine)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[pod default/p]\nimage = bad_host:5000/x\n", 'S', ": [pod default/p] image: \"bad_host:5000/x\" is not an image reference ([registry/]repository[:tag][@sha256:digest], e.g. nginx:1.27-alpine)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[pod default/p]\ncontainer = nginx\n", 'S', ": [pod default/p] container: needs image (the container it names runs that image)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[replicaset default/r]\nlabels = app=r\nimage = nginx\ncontainer = Web_1\n", 'S', ": [replicaset default/r] container: \"Web_1\" is not a container name (up to 63 of a-z, 0-9 and '-', starting and ending with a letter or digit)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[pod default/p]\nimage = team/my_app:1\n", 'S', ": [pod default/p] image: \"my_app\" does not make a container name (set container = NAME)" },
  { "[lab]\nname = t\n[cluster]\nflavor = k3s\npod_cidr = 10.42.0.0/23\n[network h]\ntype = hostonly\ncidr = 192.168.56.0/24\n[node cp]\nrole = control-plane\nnics = e0=h:192.168.56.10\n[node b]\nnics = e0=h:192.168.56.11\n[node c]\nnics = e0=h:192.168.56.12\n", 'S', ": [node c]: too many nodes for the pod CIDR 10.42.0.0/23 with node_mask 24 (at most 2)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/web]\nreplicas = 1\n", 'S', ": [deployment demo/web] labels: required key is missing (they are also the selector)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/web]\nlabels =\n", 'S', ": [deployment demo/web] labels: a deployment needs at least one label (they are also its selector)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[replicaset demo/web]\nlabels = \"\"\n", 'S', ": [replicaset demo/web] labels: a replicaset needs at least one label (they are also its selector)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nlabels = app\n", 'S', ": [pod demo/p] labels: \"app\" is not KEY=VALUE" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nlabels = -app=x\n", 'S', ": [pod demo/p] labels: \"-app\" is not a valid label key ([prefix/]name, name: at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nlabels = Bad_Domain/app=x\n", 'S', ": [pod demo/p] labels: \"Bad_Domain/app\" is not a valid label key ([prefix/]name, name: at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nlabels = app=a b\n", 'S', ": [pod demo/p] labels: \"a b\" is not a valid label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nlabels = app=x, app=y\n", 'S', ": [pod demo/p] labels: label app is set twice" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/p]\nlabels = a=b\nreplicas = 1001\n", 'S', ": [deployment demo/p] replicas: 1001 is out of range (0-1000)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/p]\nlabels = a=b\nreplicas = two\n", 'S', ": [deployment demo/p] replicas: \"two\" is not an integer" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nnode = w2\n", 'S', ": [pod demo/p] node: no [node w2] (did you mean w1?)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nnode = worker-seven\n", 'S', ": [pod demo/p] node: no [node worker-seven]" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/p]\nlabels = a=b\nnodes =\n", 'S', ": [deployment demo/p] nodes: empty list (leave the key out to allow every schedulable node)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/p]\nlabels = a=b\nnodes = w1, w1\n", 'S', ": [deployment demo/p] nodes: w1 is listed twice" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/p]\nlabels = a=b\nnodes = w1, w9\n", 'S', ": [deployment demo/p] nodes: no [node w9] (did you mean w1?)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nip = 10.42.1\n", 'S', ": [pod demo/p] ip: \"10.42.1\" is not an IPv4 address" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nip = 10.50.0.5\n", 'S', ": [pod demo/p] ip: 10.50.0.5 is outside pod CIDR 10.42.0.0/16" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nip = 10.42.3.0\n", 'S', ": [pod demo/p] ip: 10.42.3.0 is the network address of node subnet 10.42.3.0/24" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nip = 10.42.3.1\n", 'S', ": [pod demo/p] ip: 10.42.3.1 is the cni0 gateway of node subnet 10.42.3.0/24" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nip = 10.42.3.255\n", 'S', ": [pod demo/p] ip: 10.42.3.255 is the broadcast address of node subnet 10.42.3.0/24" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nip = 10.42.0.9\n[deployment demo/d]\nlabels = a=b\nips = 10.42.0.9\n", 'S', ": [deployment demo/d] ips: 10.42.0.9 is already taken by [pod demo/p]" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/d]\nlabels = a=b\nreplicas = 2\nips = 10.42.0.9, 10.42.0.9\n", 'S', ": [deployment demo/d] ips: 10.42.0.9 is listed twice" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/d]\nlabels = a=b\nreplicas = 2\nips = 10.42.0.9\n", 'S', ": [deployment demo/d] ips: 1 address for 2 replicas (one per replica)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/d]\nlabels = a=b\nips = 10.42.0.9, 10.42.0.10\n", 'S', ": [deployment demo/d] ips: 2 addresses for 1 replica (one per replica)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nport = 80\napp = none\n", 'S', ": [pod demo/p] port: conflicts with app (port = N is short for app = http:N)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nport = 80\ncommand = sleep 1\n", 'S', ": [pod demo/p] port: conflicts with command (port = N is short for app = http:N)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\nport = 0\n", 'S', ": [pod demo/p] port: \"0\" is not a port (1-65535)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\napp = http:x\n", 'S', ": [pod demo/p] app: \"x\" is not a port (1-65535)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\napp = command\n", 'S', ": [pod demo/p] command: required key is missing (app = command)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\napp = nginx\n", 'S', ": [pod demo/p] app: \"nginx\" is not http:PORT, none or command" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\napp = http:80\ncommand = sleep 1\n", 'S', ": [pod demo/p] command: conflicts with app = http:80" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\napp = http:80\nreadiness = exec:cat\n", 'S', ": [pod demo/p] readiness: \"exec:cat\" is not tcp:PORT, http:PORT/PATH or none" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\napp = http:80\nreadiness = tcp:0\n", 'S', ": [pod demo/p] readiness: \"0\" is not a port (1-65535)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/d]\nlabels = a=b\nreadiness = http:x/healthz\n", 'S', ": [deployment demo/d] readiness: \"x\" is not a port (1-65535)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[deployment demo/d]\nlabels = a=b\nreadiness = http:8080\n", 'S', ": [deployment demo/d] readiness: \"http:8080\" has no path (http:PORT/PATH, e.g. http:8080/healthz)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[replicaset demo/r]\nlabels = a=b\nreadiness = \"http:8080/a b\"\n", 'S', ": [replicaset demo/r] readiness: path \"/a b\" has a blank or control character" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\ncommand = echo 'a\n", 'S', ": [pod demo/p] command: unterminated single quote" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\ncommand = 'echo \"a'\n", 'S', ": [pod demo/p] command: unterminated double quote" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\ncommand = 'echo a\\'\n", 'S', ": [pod demo/p] command: ends with a backslash" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\ncommand =\n", 'S', ": [pod demo/p] command: empty command" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[pod demo/p]\ncommand = \"''\"\n", 'S', ": [pod demo/p] command: empty command" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = nodeport\nports = 80\n", 'S', ": [service demo/s] type: \"nodeport\" is not ClusterIP, NodePort or LoadBalancer (did you mean NodePort?)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = External\nports = 80\n", 'S', ": [service demo/s] type: \"External\" is not ClusterIP, NodePort or LoadBalancer" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nselector = app\nports = 80\n", 'S', ": [service demo/s] selector: \"app\" is not KEY=VALUE" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = NodePort\n", 'S', ": [service demo/s] ports: required key is missing (e.g. ports = 80->8080)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports =\n", 'S', ": [service demo/s] ports: no port (e.g. ports = 80->8080)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = p0:1,p1:2,p2:3,p3:4,p4:5,p5:6,p6:7,p7:8,p8:9,p9:10,p10:11,p11:12,p12:13,p13:14,p14:15,p15:16,p16:17,p17:18,p18:19,p19:20,p20:21,p21:22,p22:23,p23:24,p24:25,p25:26,p26:27,p27:28,p28:29,p29:30,p30:31,p31:32,p32:33,p33:34,p34:35,p35:36,p36:37,p37:38,p38:39,p39:40,p40:41,p41:42,p42:43,p43:44,p44:45,p45:46,p46:47,p47:48,p48:49,p49:50,p50:51,p51:52,p52:53,p53:54,p54:55,p55:56,p56:57,p57:58,p58:59,p59:60,p60:61,p61:62,p62:63,p63:64,p64:65,p65:66,p66:67,p67:68,p68:69,p69:70,p70:71,p71:72,p72:73,p73:74,p74:75,p75:76,p76:77,p77:78,p78:79,p79:80,p80:81,p81:82,p82:83,p83:84,p84:85,p85:86,p86:87,p87:88,p88:89,p89:90,p90:91,p91:92,p92:93,p93:94,p94:95,p95:96,p96:97,p97:98,p98:99,p99:100,p100:101\n", 'S', ": [service demo/s] ports: too many ports (at most 100)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = Web:80\n", 'S', ": [service demo/s] ports: \"Web\" is not a valid port name (at most 15 of a-z, 0-9 and '-', with a letter)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80@x\n", 'S', ": [service demo/s] ports: node port \"x\" is not a port (1-65535)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80->0\n", 'S', ": [service demo/s] ports: target port \"0\" is not a port (1-65535)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80/icmp\n", 'S', ": [service demo/s] ports: protocol \"icmp\" is not tcp, udp or sctp" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = http\n", 'S', ": [service demo/s] ports: \"http\" is not [NAME:]PORT[/PROTO][->TARGET][@NODEPORT]" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = a:/udp\n", 'S', ": [service demo/s] ports: \"a:/udp\" is not [NAME:]PORT[/PROTO][->TARGET][@NODEPORT]" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 65536\n", 'S', ": [service demo/s] ports: \"65536\" is not a port (1-65535)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = a:80, 81\n", 'S', ": [service demo/s] ports: 81: with several ports each needs a name (NAME:PORT)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = a:80, a:81\n", 'S', ": [service demo/s] ports: port name a is used twice" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = a:53/udp, b:53/UDP\n", 'S', ": [service demo/s] ports: 53/UDP is listed twice" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = NodePort\nports = a:80@30000, b:81@30000\n", 'S', ": [service demo/s] ports: node port 30000/TCP is listed twice" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80@30000\n", 'S', ": [service demo/s] ports: 80@30000: a node port needs type = NodePort or LoadBalancer" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = NodePort\nports = 80@29999\n", 'S', ": [service demo/s] ports: node port 29999 is outside nodeport_range 30000-32767" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = NodePort\nports = 80@30000\n[service demo/t]\ntype = NodePort\nports = 80@30000\n", 'S', ": [service demo/t] ports: node port 30000 is already used by [service demo/s]" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\ncluster_ip = x\n", 'S', ": [service demo/s] cluster_ip: \"x\" is not an IPv4 address" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = NodePort\nports = 80\ncluster_ip = None\n", 'S', ": [service demo/s] cluster_ip: None (headless) needs type = ClusterIP" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/web-svc]\nports = 80\ncluster_ip = 10.96.0.5\n", 'S', ": [service demo/web-svc] cluster_ip: 10.96.0.5 is outside service CIDR 10.43.0.0/16" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\ncluster_ip = 10.43.0.0\n", 'S', ": [service demo/s] cluster_ip: 10.43.0.0 is the network address of service CIDR 10.43.0.0/16" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\ncluster_ip = 10.43.255.255\n", 'S', ": [service demo/s] cluster_ip: 10.43.255.255 is the broadcast address of service CIDR 10.43.0.0/16" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\ncluster_ip = 10.43.0.1\n", 'S', ": [service demo/s] cluster_ip: 10.43.0.1 is reserved for default/kubernetes" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\ncluster_ip = 10.43.0.10\n", 'S', ": [service demo/s] cluster_ip: 10.43.0.10 is reserved for kube-system/kube-dns (dns_ip)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\ncluster_ip = 10.43.1.1\n[service demo/t]\nports = 80\ncluster_ip = 10.43.1.1\n", 'S', ": [service demo/t] cluster_ip: 10.43.1.1 is already used by [service demo/s]" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\nsession_affinity = clientip\n", 'S', ": [service demo/s] session_affinity: \"clientip\" is not None or ClientIP" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\naffinity_timeout = 5\n", 'S', ": [service demo/s] affinity_timeout: needs session_affinity = ClientIP" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\nsession_affinity = ClientIP\naffinity_timeout = 86401\n", 'S', ": [service demo/s] affinity_timeout: 86401 is out of range (1-86400)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\nexternal_traffic_policy = local\n", 'S', ": [service demo/s] external_traffic_policy: \"local\" is not Cluster or Local" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\nexternal_traffic_policy = Local\n", 'S', ": [service demo/s] external_traffic_policy: needs type = NodePort or LoadBalancer, or external_ips" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\ninternal_traffic_policy = Node\n", 'S', ": [service demo/s] internal_traffic_policy: \"Node\" is not Cluster or Local" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\nexternal_ips = 192.168.56.50, 300.1.1.1\n", 'S', ": [service demo/s] external_ips: \"300.1.1.1\" is not an IPv4 address" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\nexternal_ips = 127.0.0.2\n", 'S', ": [service demo/s] external_ips: 127.0.0.2 is a loopback, link-local, multicast or unspecified address" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\nexternal_ips = 10.43.9.9\n", 'S', ": [service demo/s] external_ips: 10.43.9.9 is inside pod_cidr or service_cidr" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\nports = 80\nexternal_ips = 192.168.56.50, 192.168.56.50\n", 'S', ": [service demo/s] external_ips: 192.168.56.50 is listed twice" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = NodePort\nports = 80\nload_balancer_source_ranges = 10.0.0.0/8\n", 'S', ": [service demo/s] load_balancer_source_ranges: needs type = LoadBalancer" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = LoadBalancer\nports = 80\nload_balancer_source_ranges = 10.0.0.1/8\n", 'S', ": [service demo/s] load_balancer_source_ranges: \"10.0.0.1/8\" is not a CIDR (a.b.c.d/len, no host bits)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = LoadBalancer\nports = 80\nhealth_check_node_port = 30500\n", 'S', ": [service demo/s] health_check_node_port: needs type = LoadBalancer and external_traffic_policy = Local" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = LoadBalancer\nports = 80\nexternal_traffic_policy = Local\nhealth_check_node_port = 80\n", 'S', ": [service demo/s] health_check_node_port: node port 80 is outside nodeport_range 30000-32767" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = NodePort\nports = 80@30500\n[service demo/t]\ntype = LoadBalancer\nports = 80\nexternal_traffic_policy = Local\nhealth_check_node_port = 30500\n", 'S', ": [service demo/t] health_check_node_port: node port 30500 is already used by [service demo/s]" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[service demo/s]\ntype = LoadBalancer\nports = 80\nload_balancer_ip = 192.168.56.240\n", 'S', ": [service demo/s] load_balancer_ip: needs [cluster] load_balancer_pool (flavor = kubeadm)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[cluster]\nload_balancer_pool = 192.168.56.240/28\n", 'S', ": [cluster] load_balancer_pool: needs flavor = kubeadm (k3s servicelb publishes the nodes' addresses)" },
  { "[lab]\nname = t\ntemplate = kubeadm-flannel\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[cluster]\nload_balancer_pool = 10.244.1.0/28\n", 'S', ": [cluster] load_balancer_pool: 10.244.1.0/28 overlaps pod_cidr or service_cidr" },
  { "[lab]\nname = t\ntemplate = kubeadm-flannel\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[cluster]\nload_balancer_pool = 192.168.56.240/28\n[service demo/s]\ntype = LoadBalancer\nports = 80\nload_balancer_ip = 192.168.56.10\n", 'S', ": [service demo/s] load_balancer_ip: 192.168.56.10 is outside load_balancer_pool 192.168.56.240/28" },
  { "[lab]\nname = t\ntemplate = kubeadm-flannel\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[cluster]\nload_balancer_pool = 192.168.56.240/28\n[service demo/s]\nports = 80\nload_balancer_ip = 192.168.56.241\n", 'S', ": [service demo/s] load_balancer_ip: needs type = LoadBalancer" },
  { "[lab]\nname = t\ntemplate = kubeadm-flannel\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[cluster]\nload_balancer_pool = 192.168.56.240/28\n[service demo/s]\ntype = LoadBalancer\nports = 80\nload_balancer_ip = 192.168.56.241\n[service demo/t]\ntype = LoadBalancer\nports = 80\nload_balancer_ip = 192.168.56.241\n", 'S', ": [service demo/t] load_balancer_ip: 192.168.56.241 is already used by [service demo/s]" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[cluster]\nnode_port_addresses = 192.168.56.0/24, 127.0.0.1/8\n", 'S', ": [cluster] node_port_addresses: \"127.0.0.1/8\" is not a CIDR (a.b.c.d/len, no host bits)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[images]\nmyapp = nginx\n", 'S', ": [images] myapp: \"nginx\" is not http:PORT, none or command" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[images]\nmyapp = http:0\n", 'S', ": [images] myapp: \"0\" is not a port (1-65535)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[images]\nmyapp = command\n", 'S', ": [images] myapp: an image maps to http:PORT or none (a command needs a workload's command key)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[images]\nteam//myapp = none\n", 'S', ": [images] team//myapp: \"team//myapp\" is not an image name (a repository without tag or digest: nginx, registry.k8s.io/e2e-test-images/agnhost)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[images]\nmyapp- = none\n", 'S', ": [images] myapp-: \"myapp-\" is not an image name (a repository without tag or digest: nginx, registry.k8s.io/e2e-test-images/agnhost)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[images]\n/myapp = none\n", 'S', ": [images] /myapp: \"/myapp\" is not an image name (a repository without tag or digest: nginx, registry.k8s.io/e2e-test-images/agnhost)" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[images x]\n", 'S', ": [images x]: [images] takes no name (write [images])" },
  { "[lab]\nname = t\ntemplate = k3s\n[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n[node w1]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n[image]\n", 'S', ": [image]: unknown section (did you mean [images]?)" },
};

static char *
replace_dir (const char *s, const char *dir)
{
  struct strbuf sb;
  sb_init (&sb);
  for (const char *p = s; *p; p++)
    if (p[0] == '@' && p[1] == 'D')
      {
        sb_add (&sb, dir);
        p++;
      }
    else
      sb_addn (&sb, p, 1);
  return sb_steal (&sb);
}

static void
expect_error_at (const char *path, const char *want)
{
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  int r = scenario_load (path, &sc, &err);
  ck_assert_msg (r == -1, "loaded although invalid, want: %s", want);
  ck_assert_ptr_null (sc);
  ck_assert_ptr_nonnull (err);
  ck_assert_str_eq (err->msg, want);
  ck_assert_int_eq (err->exit_code, NSLAB_EXIT_INVALID);
  nslab_error_free (&err);
}

START_TEST (test_case)
{
  const struct vcase *c = &cases[_i];
  char *tt = unit_write_file ("tt.ini", "[lab]\ntemplate = k3s\n");
  char *path = unit_write_file ("v.ini", c->text);
  char *dir = xstrdup (path);
  *strrchr (dir, '/') = '\0';
  const char *prefix = path;
  char *tpl = xasprintf ("%s/../templates/k3s.ini", dir);
  if (c->where == 'T')
    prefix = tpl;
  else if (c->where == 'O')
    prefix = tt;
  char *suffix = replace_dir (c->suffix, dir);
  char *want = xasprintf ("%s%s", prefix, suffix);
  expect_error_at (path, want);
  free (want);
  free (suffix);
  free (tpl);
  free (dir);
  free (path);
  free (tt);
}
END_TEST

#define HN                                                                     \
  "[lab]\nname = t\ntemplate = k3s\n"                                          \
  "[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n"

static void
expect_error (const char *text, const char *suffix)
{
  char *path = unit_write_file ("big.ini", text);
  char *want = xasprintf ("%s%s", path, suffix);
  expect_error_at (path, want);
  free (want);
  free (path);
}

START_TEST (test_missing_file)
{
  expect_error_at ("/nonexistent/labs/x.ini", "/nonexistent/labs/x.ini: No such file or directory");
  char *path = unit_write_file ("d.ini", "");
  *strrchr (path, '/') = '\0';
  char *want = xasprintf ("%s: not a regular file", path);
  expect_error_at (path, want);
  free (want);
  free (path);
}
END_TEST

START_TEST (test_file_too_large)
{
  char *path = unit_write_file ("huge.ini", "");
  ck_assert_int_eq (truncate (path, INI_MAX_FILE_SIZE + 1), 0);
  char *want = xasprintf ("%s: file too large (more than 4194304 bytes)", path);
  expect_error_at (path, want);
  free (want);
  free (path);
}
END_TEST

START_TEST (test_nul_byte)
{
  char *path = unit_write_file ("nul.ini", "[lab]\nname = x\n");
  FILE *f = fopen (path, "a");
  fputs ("description = a", f);
  fputc ('\0', f);
  fputs ("b\n", f);
  fclose (f);
  char *want = xasprintf ("%s:3: NUL byte in the file", path);
  expect_error_at (path, want);
  free (want);
  free (path);
}
END_TEST

START_TEST (test_line_too_long)
{
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "[lab]\ndescription = ");
  for (int i = 0; i < 986; i++)
    sb_add (&sb, "x");
  sb_add (&sb, "\n");
  /* 1000 characters are fine... */
  char *path = unit_write_file ("long.ini", sb.buf);
  char *want = xasprintf ("%s: [lab] name: required key is missing", path);
  expect_error_at (path, want);
  free (want);
  free (path);
  sb_free (&sb);
  /* ...1001 are not. */
  sb_add (&sb, "[lab]\ndescription = ");
  for (int i = 0; i < 987; i++)
    sb_add (&sb, "x");
  sb_add (&sb, "\n");
  expect_error (sb.buf, ":2: line too long (more than 1000 characters)");
  sb_free (&sb);
}
END_TEST

START_TEST (test_too_many_entries)
{
  struct strbuf sb;
  sb_init (&sb);
  for (int i = 0; i < INI_MAX_ENTRIES + 1; i++)
    sb_addf (&sb, "[x%d]\n", i);
  expect_error (sb.buf, ":50001: too many sections and keys (at most 50000)");
  sb_free (&sb);
}
END_TEST

START_TEST (test_too_many_nodes)
{
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "[lab]\nname = t\n[cluster]\nflavor = k3s\npod_cidr = 10.40.0.0/15\nnode_mask = 28\n"
               "[network h]\ntype = hostonly\ncidr = 192.168.0.0/16\n");
  for (int i = 0; i < 257; i++)
    sb_addf (&sb, "[node n%d]\nrole = control-plane\nnics = e0=h:192.168.%d.%d\n", i, 1 + i / 200,
             10 + i % 200);
  expect_error (sb.buf, ": [node n256]: too many nodes (at most 256)");
  sb_free (&sb);
}
END_TEST

START_TEST (test_too_many_networks)
{
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "[lab]\nname = t\n[cluster]\nflavor = k3s\n");
  for (int i = 0; i < 65; i++)
    sb_addf (&sb, "[network n%d]\ntype = nat\ncidr = 172.16.%d.0/24\n", i, i);
  expect_error (sb.buf, ": [network n64]: too many networks (at most 64)");
  sb_free (&sb);
}
END_TEST

START_TEST (test_too_many_workloads)
{
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, HN);
  for (int i = 0; i < 10001; i++)
    sb_addf (&sb, "[pod demo/p%d]\n", i);
  expect_error (sb.buf, ": [pod demo/p10000]: too many workloads (at most 10000)");
  sb_free (&sb);
}
END_TEST

START_TEST (test_too_many_services)
{
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, HN);
  for (int i = 0; i < 10001; i++)
    sb_addf (&sb, "[service demo/s%d]\nports = 80\n", i);
  expect_error (sb.buf, ": [service demo/s10000]: too many services (at most 10000)");
  sb_free (&sb);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("validate");
  TCase *tc = tcase_create ("errors");
  tcase_set_timeout (tc, 60);
  tcase_add_loop_test (tc, test_case, 0, (int) ARRAY_SIZE (cases));
  tcase_add_test (tc, test_missing_file);
  tcase_add_test (tc, test_file_too_large);
  tcase_add_test (tc, test_nul_byte);
  tcase_add_test (tc, test_line_too_long);
  tcase_add_test (tc, test_too_many_entries);
  tcase_add_test (tc, test_too_many_nodes);
  tcase_add_test (tc, test_too_many_networks);
  tcase_add_test (tc, test_too_many_workloads);
  tcase_add_test (tc, test_too_many_services);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
