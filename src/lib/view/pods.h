/* A pod as `kubectl get pods -o wide` prints it, computed from the Pod
 * object the store holds (the JSON the API returns), as kubectl's printPod
 * (pkg/printers/internalversion/printers.go) does: READY counts the ready
 * running containers, STATUS is the phase unless a container says more (its
 * waiting reason such as CrashLoopBackOff, its terminated reason such as
 * Completed or Error), RESTARTS sums restartCount and, once restarted, adds
 * "(AGE ago)" from the newest lastState.terminated.finishedAt. */
#ifndef NSLAB_VIEW_PODS_H
#define NSLAB_VIEW_PODS_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

struct pod_row {
  char *ns, *name;
  int ready, total;       /* READY ready/total */
  char *status;           /* STATUS */
  int restarts;
  long last_restart_age;  /* seconds since the newest termination, -1: none */
  char *restarts_col;     /* RESTARTS: "2 (5s ago)" */
  long age;               /* seconds since creationTimestamp */
  char *ip, *node;        /* "<none>" when unset */
  bool degraded;          /* not every container ready, or a waiting/failed one (Completed is not) */
};

/* The row of POD at NOW. */
void pod_row_from_json (const json_t *pod, time_t now, struct pod_row *out);
void pod_row_free (struct pod_row *r);
/* kubectl's duration.HumanDuration: 45s, 3m20s, 15m, 2h30m, 5h, 3d4h, 40d. */
char *kubectl_human_duration (long seconds);
/* An RFC 3339 UTC timestamp ("2025-01-01T10:00:00Z") as Unix seconds; 0 when unset or malformed. */
time_t kubectl_parse_time (const char *s);

#endif
