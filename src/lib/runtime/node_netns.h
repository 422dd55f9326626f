/* A node's own /run/netns, as containerd keeps it: one bind mount per pod
 * sandbox's network namespace, named cni-<16 random bytes>, so that on the
 * node `ip netns list` shows its pods and `ip addr` prints each pod veth's
 * peer as "link-netns cni-...". The mounts live only in the node's mount
 * namespace (a tmpfs the node's pause process mounts on /run/netns,
 * SANDBOX_NODE_NETNS_DIR): never on the host, and never in the pods'
 * mount namespaces, which are copies of the template without any. */
#ifndef NSLAB_NODE_NETNS_H
#define NSLAB_NODE_NETNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

/* In the mount namespace of the node's pause process (PID, verified by
 * its start time), bind each network namespace SOURCES[i] (a path in our
 * own mount namespace: /run/netns/k3s-demo-web-...) onto
 * /run/netns/NAMES[i]. A name that is already there is an error (EEXIST). */
int node_netns_add (pid_t node_pid, uint64_t node_start, char *const *sources, char *const *names, size_t n,
                    nslab_error_t *err);
/* Unmount and remove /run/netns/NAMES[i] in that node's mount namespace;
 * one that is not there is no error. A node whose pause process is gone
 * took its mount namespace, and the names, with it: nothing to do. */
int node_netns_remove (pid_t node_pid, uint64_t node_start, char *const *names, size_t n, nslab_error_t *err);

#endif
