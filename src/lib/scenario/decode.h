/* Inside the validator: the state the section decoders share, and the
 * decoders, one file per section kind (lab.c, cluster.c, network.c, node.c,
 * workload.c, service.c). validate.c classifies the sections and calls them
 * in dependency order. */
#ifndef NSLAB_SCENARIO_DECODE_H
#define NSLAB_SCENARIO_DECODE_H

#include "base/strmap.h"
#include "scenario/keys.h"
#include "scenario/scenario.h"

enum sec_kind {
  SEC_LAB,
  SEC_CLUSTER,
  SEC_NETWORK,
  SEC_NODE,
  SEC_POD,
  SEC_DEPLOYMENT,
  SEC_REPLICASET,
  SEC_SERVICE,
  SEC_CHECK,
  SEC_IMAGES,
  SEC_N
};

#define WORKLOAD_NAME_MAX 47

/* Index maps (base/strmap.h strmap_claim): who already has a name, an
 * address or a port. */
struct ctx {
  struct scenario *sc;
  nslab_error_t *err;
  const struct merged_section *secs;
  size_t n_secs;
  enum sec_kind *kinds;
  const char *main_file;
  struct strmap networks;       /* name -> network */
  struct strmap nodes;          /* name -> node */
  struct strmap workloads;      /* ns/name -> section */
  struct strmap pod_ips;        /* ip -> workload */
  struct strmap cluster_ips;    /* ip -> service */
  struct strmap node_ports;     /* port -> service */
  struct strmap bridges;        /* name -> network */
  struct strmap hostonly_addrs; /* ip -> node */
};

#define kerr(c, k, ...) key_err ((c)->err, (k), __VA_ARGS__)
#define serr(c, s, ...) section_err ((c)->err, (s), __VA_ARGS__)
#define missing(c, s, key, why) key_missing ((c)->err, (c)->main_file, (s), (key), (why))

/* A key whose default is derived from another key FROM (dns_ip from
 * service_cidr, a network's gateway and dns from its cidr). When the
 * template wrote it but the user rewrote FROM, the template's value was
 * derived from a value that no longer applies: returns NULL so the caller
 * derives it again instead of blaming the template for the user's change. */
const struct merged_key *derived_key (const struct ctx *c, const struct merged_section *s,
                                      const char *name, const struct merged_key *from);

/* "no [node NAME]" with a "did you mean" among the nodes so far. */
int node_ref (struct ctx *c, const struct merged_key *k, const char *name);

/* An app key's value (http:PORT, none or command) into APP's kind and port;
 * the caller checks what goes with command. */
int app_value (struct ctx *c, const struct merged_key *k, struct app_def *app);

int decode_lab (struct ctx *c, const struct merged_section *s);
int decode_cluster (struct ctx *c, const struct merged_section *s);
int decode_network (struct ctx *c, const struct merged_section *s, int hostonly_index);
int decode_node (struct ctx *c, const struct merged_section *s);
int decode_workload (struct ctx *c, const struct merged_section *s, enum sec_kind kind);
int decode_service (struct ctx *c, const struct merged_section *s);
int decode_images (struct ctx *c, const struct merged_section *s);
/* [check NAME] into C; with SC, targets must name its nodes and workloads
 * (NULL: a checks-only file, resolved when the checks run). */
struct check_def;
int decode_check_section (nslab_error_t *err, const struct merged_section *s, const struct scenario *sc,
                          struct check_def *c);
/* Warn about selectors that match no pod of their namespace. */
void selector_warnings (struct scenario *sc);

#endif
