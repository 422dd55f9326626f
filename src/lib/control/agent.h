/* The control loop's runtime: what it needs done with the host's view of the
 * lab, as kubelet asks containerd over its socket. The loop (the brain,
 * nslab-controller LAB) runs inside the control-plane node's PID and mount
 * namespaces, where the other nodes' pause processes are not visible; the
 * runtime agent (nslab-runtime LAB) stays in the lab's root PID namespace and
 * makes and removes pods for it:
 *   - apply: a plan's ops (apply_ops: the new pods' namespaces, links,
 *     addresses, routes, pause processes nested in their node's PID
 *     namespace), each recorded in the journal first;
 *   - teardown: pods' network namespaces with their processes
 *     (teardown_namespaces), then "gone" records.
 * Each request takes the lab's lock for its duration (state_open), so the
 * caller must not hold it. */
#ifndef NSLAB_CONTROL_AGENT_H
#define NSLAB_CONTROL_AGENT_H

#include <stddef.h>

#include "base/error.h"
#include "plan/plan.h"

struct control_runtime {
  int (*apply) (void *arg, const struct plan_op *ops, size_t n, nslab_error_t *err);
  int (*teardown) (void *arg, char *const *netns, size_t n, nslab_error_t *err);
  /* Undo OP_ADDR ops in namespaces that stay (apply/withdraw_ops). */
  int (*withdraw) (void *arg, const struct plan_op *ops, size_t n, nslab_error_t *err);
  void *arg;
};

/* In this process (the agent itself, tests): ARG is the lab's name, which
 * must outlive RT. */
void control_runtime_local (struct control_runtime *rt, const char *lab);
/* Over the agent's socket (SOCK_SEQPACKET): *FD must outlive RT. A reply
 * that is an error comes back as that error's one line; a socket error or
 * EOF (the agent is gone) is an error naming the agent. */
void control_runtime_remote (struct control_runtime *rt, int *fd);

/* The agent: serve requests on FD (one side of a SOCK_SEQPACKET socketpair)
 * until EOF (the loop is gone): 0; a socket error: -1. Each request is
 * answered "ok" or with the error's one line; a failed request does not end
 * the agent. */
int agent_serve (const char *lab, int fd, nslab_error_t *err);
/* The same with RT doing the work (agent_serve: control_runtime_local). */
int agent_serve_rt (const struct control_runtime *rt, int fd, nslab_error_t *err);

/* The wire: a message is one or more packets of at most AGENT_PACKET bytes,
 * each a flag byte ('+': more follows, '.': the last) and data. Requests are
 * JSON: {"request": "apply", "ops": [op, ...]} (ops as the snapshot holds
 * them, plan_op_to_json) or {"request": "teardown", "netns": [name, ...]};
 * replies "ok" or "error: LINE". Exposed for the unit test. */
#define AGENT_PACKET 32768
int agent_send (int fd, const char *data, size_t len, nslab_error_t *err);
/* 1: a message (*out NUL-terminated, caller frees); 0: EOF; -1: error. */
int agent_recv (int fd, char **out, size_t *len, nslab_error_t *err);

#endif
