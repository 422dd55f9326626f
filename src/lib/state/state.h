/* The state record of a lab: /run/nslab/<lab>/ (NSLAB_STATE_DIR overrides
 * /run/nslab), mode 0700. An append-only journal names every object before
 * it is created, so `down` can remove exactly what was (or may have been)
 * created, after a crash or kill -9, without the scenario file. */
#ifndef NSLAB_STATE_H
#define NSLAB_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/error.h"
#include "base/ipaddr.h"

enum state_proc_kind { STATE_PROC_NODE, STATE_PROC_POD };

struct state_process {
  enum state_proc_kind kind;
  char *name;        /* node: "cp1"; pod: "demo/web-79ffc79c64-7lczb" */
  char *owner;       /* pod: "deployment/web", "replicaset/x", "pod/x"; node: NULL */
  char *netns;       /* k3s-cp1 */
  char *node;        /* node the pod runs on (pods), the node itself (nodes) */
  pid_t pid;
  uint64_t starttime; /* /proc/PID/stat field 22: guards against a recycled pid */
};

struct state_cidr {
  char *kind;        /* "hostonly", "nat", "pod", "service" */
  char *name;        /* network name ("vboxnet0"), or the kind again */
  struct cidr cidr;
};

struct state {
  char *lab;
  char *dir;         /* /run/nslab/k3s */
  char *scenario;    /* path of the scenario it was built from (informational) */
  time_t created;
  bool complete;     /* up finished; false = up in progress, crashed or rolled back */
  char **netns;      /* every namespace recorded, in creation order */
  size_t n_netns;
  struct state_process *procs;
  size_t n_procs;
  int n_nodes, n_pods, n_services;
  char *labhost_netns; /* k3s-host */
  /* Networks the lab occupies, to refuse a clashing lab (added by apply). */
  struct state_cidr *cidrs;
  size_t n_cidrs;
};

/* Root of all state dirs: $NSLAB_STATE_DIR or /run/nslab. */
const char *state_root (void);
/* Read a lab's record (no lock taken; readers tolerate a journal being appended). */
int state_load (const char *lab, struct state **out, nslab_error_t *err);
void state_free (struct state *st);
/* Names of labs with a state dir, sorted. */
int state_list (char ***labs, size_t *n, nslab_error_t *err);

#endif
