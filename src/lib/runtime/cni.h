/* Calling a CNI plugin the way containerd (go-cni, libcni) does: the
 * CNI_* environment of the CNI spec, the network config on stdin, the result
 * (or the error object) on stdout. The plugin runs in the node's network
 * namespace, as containerd runs on the node, and in a private mount
 * namespace where /var/lib/cni is DATA_DIR: host-local keeps its leases
 * there (networks/<name>/<ip>), never in the machine's /var/lib/cni; and
 * where /var/run/netns holds the pod's namespace under the name the node
 * gives it (node_netns.h), the CNI_NETNS containerd passes. */
#ifndef NSLAB_CNI_H
#define NSLAB_CNI_H

#include <stdint.h>

#include "base/error.h"
#include "base/ipaddr.h"

struct cni_call {
  const char *command;       /* ADD, DEL */
  const char *plugin_dir;    /* CNI_PATH: where TYPE (and the IPAM plugin it calls) live */
  const char *type;          /* the plugin binary, e.g. bridge */
  const char *container_id;  /* CNI_CONTAINERID */
  const char *netns_path;    /* the pod's network namespace here ("" for a DEL of a gone one): CNI_NETNS */
  const char *node_netns;    /* NULL, or its name on the node (cni-...): CNI_NETNS is then /var/run/netns/NAME,
                              * as containerd passes it, bound there in the plugin's mount namespace */
  const char *ifname;        /* CNI_IFNAME */
  const char *args;          /* CNI_ARGS, may be NULL */
  const char *config;        /* stdin */
  const char *node_ns;       /* the named network namespace the plugin runs in */
  const char *data_dir;      /* bind-mounted on /var/lib/cni for the plugin (must exist) */
};

/* Run the plugin; *result gets its stdout (caller frees) when it succeeds.
 * A failing plugin's error object becomes the error's message. */
int cni_exec (const struct cni_call *c, char **result, nslab_error_t *err);

/* What nslab reads of an ADD result (spec 0.3.x/1.0): the first IPv4
 * address and the interfaces on either side. Names are copies. */
struct cni_result {
  struct cidr ip;
  uint32_t gateway;     /* 0 = none */
  char *bridge;         /* the first host-side interface without a peer in the sandbox (cni0), or NULL */
  char *host_veth;      /* the host-side interface after it, or NULL */
};
int cni_result_parse (const char *json, struct cni_result *out, nslab_error_t *err);
void cni_result_free (struct cni_result *r);
/* A plugin's error object ({"code", "msg", "details"}) as one line; NULL if
 * JSON is not one (caller frees). */
char *cni_error_message (const char *json);

#endif
