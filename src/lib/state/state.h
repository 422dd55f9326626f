/* The state record of a lab: /run/nslab/<lab>/ (NSLAB_STATE_DIR overrides
 * /run/nslab), mode 0700. An append-only journal names every object before
 * it is created, so `down` can remove exactly what was (or may have been)
 * created, after a crash or kill -9, without the scenario file.
 *
 * Root's `down` acts on what it reads here, so nothing here is trusted
 * unless only root could have written it: the state root must be a real
 * directory owned by root and not writable by group or others, a lab dir a
 * real directory owned by root with no group/other access, and every file
 * is opened relative to the lab dir's fd without following a link. A
 * directory whose journal does not start with the header "nslab-state 1"
 * and name the directory in a "lab NAME" record is not a lab: it is listed
 * nowhere and left as it is. */
#ifndef NSLAB_STATE_H
#define NSLAB_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "base/error.h"
#include "base/ipaddr.h"

/* node: a node's pause process; pod: a pod's; control: the lab's control
 * loop (nslab-controller LAB), started after the lab is up. */
enum state_proc_kind { STATE_PROC_NODE, STATE_PROC_POD, STATE_PROC_CONTROL };

struct state_process {
  enum state_proc_kind kind;
  char *name;        /* node: "cp1"; pod: "demo/web-79ffc79c64-7lczb" */
  char *owner;       /* pod: "deployment/web", "replicaset/x", "pod/x"; node: NULL */
  char *netns;       /* k3s-cp1 */
  char *node;        /* node the pod runs on (pods), the node itself (nodes) */
  pid_t pid;
  uint64_t starttime; /* /proc/PID/stat field 22: guards against a recycled pid */
};

/* A CNI plugin call recorded before its ADD: what teardown calls DEL with
 * (while the pod's and the node's namespaces are still there). */
struct state_cni {
  char *node_ns;     /* where the plugin ran */
  char *pod_ns;      /* CNI_NETNS = /run/netns/<pod_ns> */
  char *container_id;
  char *ifname;
  char *type;        /* bridge, loopback */
  char *config;      /* the network config it was given (one line of JSON) */
};

/* A pod's network namespace as its node names it in its own mount
 * namespace (runtime/node_netns.h): /run/netns/NAME there. */
struct state_node_netns {
  char *node;        /* cp1 */
  char *pod_ns;      /* k3s-demo-web-... */
  char *name;        /* cni-1f2e... */
};

struct state_cidr {
  char *kind;        /* "hostonly", "nat", "pod", "service" */
  char *name;        /* network name ("vboxnet0"), or the kind again */
  struct cidr cidr;
};

/* Identity of a namespace as the kernel knows it: st_dev/st_ino of its
 * nsfs inode (what stat of /run/netns/NAME gives while it is mounted). */
struct state_ns_ident {
  bool known;        /* false: the journal holds the intent only (crash window) */
  uint64_t dev, ino;
};

struct state {
  char *lab;
  char *dir;         /* /run/nslab/k3s */
  char *scenario;    /* path of the scenario it was built from (informational) */
  time_t created;
  bool complete;     /* up finished; false = up in progress, crashed or rolled back */
  char **netns;      /* every namespace recorded, in creation order */
  struct state_ns_ident *netns_ident; /* same index as netns */
  size_t n_netns;
  struct state_process *procs;
  size_t n_procs;
  struct state_cni *cnis;  /* in call order; those of a gone pod's namespace are dropped */
  size_t n_cnis;
  struct state_node_netns *node_netns; /* those of a gone pod's namespace are dropped */
  size_t n_node_netns;
  int n_nodes, n_pods, n_services;
  char *labhost_netns; /* k3s-host */
  /* Networks the lab occupies, to refuse a clashing lab (added by apply). */
  struct state_cidr *cidrs;
  size_t n_cidrs;
  /* Complete records the reader could not make sense of ("line 7: proc
   * x"): never acted on; teardown refuses to remove a record holding any. */
  char **bad;
  size_t n_bad;
};

/* Root of all state dirs: $NSLAB_STATE_DIR or /run/nslab. */
const char *state_root (void);
/* Read a lab's record (no lock taken; readers tolerate a journal being
 * appended). Refuses with one line a dir that is a symlink, not root's, open
 * to others, or has no valid header, and an unknown state version. */
int state_load (const char *lab, struct state **out, nslab_error_t *err);
/* The same from an open journal (the unit tests feed it text): DIRNAME is
 * the name the "lab" record must carry, DIR_PATH names it in errors. */
int state_parse (FILE *journal, const char *dirname, const char *dir_path, struct state **out, nslab_error_t *err);
void state_free (struct state *st);
/* A read-only fd of LAB's file NAME, opened only through a trusted state root
 * and lab dir, never through a link, and only if it is root's regular file;
 * -2 (no error) when the file does not exist. */
int state_open_lab_file (const char *lab, const char *name, nslab_error_t *err);
/* The lab dir itself, checked the same way (O_DIRECTORY fd, for openat). */
int state_open_lab_dirfd (const char *lab, nslab_error_t *err);
/* Names of labs (dirs with a valid record), sorted. Anything else under
 * the root is skipped; with skipped != NULL, one line for each ("X is not
 * an nslab lab ...: left as it is") goes there. */
int state_list (char ***labs, size_t *n, nslab_error_t *err);
int state_scan (char ***labs, size_t *n, char ***skipped, size_t *n_skipped, nslab_error_t *err);
/* Is NAME a namespace name lab LAB may own: "<lab>-..." and a plain
 * directory entry (no '/', not "." or ".."). */
bool state_netns_name_ok (const char *lab, const char *name);

#endif
