/* What scale, delete and apply share: the arguments naming an object of a
 * running lab (LAB [-n NS] TYPE/NAME, --timeout), and waiting for the lab's
 * control loop to have put the change in place. */
#ifndef NSLAB_LAB_CHANGE_H
#define NSLAB_LAB_CHANGE_H

#include <stdint.h>

#include "base/error.h"

/* How long a command waits for the change by default. */
#define LAB_CHANGE_TIMEOUT_MS 30000

struct lab_change_args {
  const char *verb;        /* scale, delete: what the error says */
  const char *lab;
  const char *target;      /* TYPE/NAME as given */
  const char *ns;          /* -n, default "default" */
  const char *kind;        /* "Deployment", "ReplicaSet", "Pod", "Service" */
  const char *type_word;   /* as kubectl prints it: deployment.apps, replicaset.apps, pod, service */
  const char *name;
  int timeout_ms;
  long replicas;           /* scale --replicas, -1 unset */
};

/* Parse VERB's arguments; ALLOW_REPLICAS for scale. CLI_GO_ON or an exit
 * status (help printed, usage error). */
int lab_change_parse (const char *verb, int argc, char **argv, bool allow_replicas, struct lab_change_args *a,
                      nslab_error_t *err);
/* "30s", "500ms", "2m" or plain seconds. */
int lab_change_timeout (const char *s, int *ms);
/* Find the object A names in its lab's store ("not found" otherwise), let
 * CHANGE write it (put or delete), then wait for the loop to have the new
 * resourceVersion in place. */
struct store;
#include <jansson.h>
typedef int (*lab_change_fn) (struct store *s, json_t *obj, const struct lab_change_args *a, nslab_error_t *err);
int lab_change_commit (const struct lab_change_args *a, lab_change_fn change, nslab_error_t *err);
/* Wait for LAB's loop to converge to store resourceVersion RV. */
int lab_change_wait (const char *lab, uint64_t rv, int timeout_ms, nslab_error_t *err);

#endif
