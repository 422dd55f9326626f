/* The lab's control loop: one process per lab (nslab-controller LAB), started
 * by up in the control-plane node's network, PID and mount namespaces, with
 * its runtime agent (nslab-runtime LAB, control/agent.h) in the lab's root
 * PID namespace to make and remove pods; both recorded in the journal like
 * the pause processes, so down stops them first. It does from the
 * lab's store what kubelet, the Deployment/ReplicaSet and EndpointSlice
 * controllers and kube-proxy do on a real cluster:
 *   - kubelet: reads each pod's app state (the pause process restarts it,
 *     runtime/pause_status.h) and probes readiness;
 *   - controllers: keeps each workload at its replica count (new pods get
 *     new names and the next host-local address), endpoints = ready pods;
 *   - kube-proxy: resyncs every node's rules with only the changed chains,
 *     and a full sync every CONTROL_FULL_SYNC_S.
 * Each round re-plans the lab (its kept scenario, adjusted by the store, and
 * the live pods -> model -> plan) and applies the difference to the applied
 * plan: new pods' ops, gone pods torn down, rules resynced; then the store
 * and the snapshot say what the lab now is. */
#ifndef NSLAB_CONTROL_CONTROLLER_H
#define NSLAB_CONTROL_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "k8s/objects.h" /* LAB_PROBE_*: what the Pods' readinessProbe says */

/* kube-proxy's iptables syncPeriod. */
#define CONTROL_FULL_SYNC_S 30
/* The readiness probe period (kubelet's default is 10 s; a lab wants to see
 * a change within a couple of seconds). */
#define CONTROL_PROBE_PERIOD_MS (LAB_PROBE_PERIOD_S * 1000)
/* kubelet's default failureThreshold (timeoutSeconds 1, successThreshold 1). */
#define CONTROL_PROBE_FAILURE_THRESHOLD LAB_PROBE_FAILURE_THRESHOLD

/* up: keep the scenario FILES in LAB's state dir and start LAB's control
 * loop, as a real node runs k3s server and containerd: the brain
 * (nslab-controller LAB) in its first control-plane node's PID and network
 * namespaces (it joins the node's mount namespace itself,
 * controller_enter_node), so ps on the node shows it; the runtime agent
 * (nslab-runtime LAB, control/agent.h) in the lab's root PID namespace; a
 * SOCK_SEQPACKET socketpair between them, on fd 3 of each (and the node's
 * mount namespace on the brain's fd 4). Both are
 * recorded in the journal (proc control controller / runtime) before they
 * run; each exits when the other's end of the socket closes. APPLIED is
 * the lab's objects as up just applied them (the snapshot's): up passes
 * its own rather than have the snapshot parsed once more. Then waits until
 * the API server has made the lab's PKI (starting it first, unless API says
 * control_start_apiserver did). */
struct lab_objects;
struct state_writer;
/* Where each of them finds up's go byte (proc_await_go) after its exec. */
#define CONTROL_GO_FD 5
/* The API server (nslab-apiserver LAB) as up started it: its pid and the
 * read end of the pipe it closes once the lab's PKI is made. */
struct control_apiserver {
  pid_t pid;
  int ready;
};
#define CONTROL_APISERVER_INIT { .pid = -1, .ready = -1 }
/* Start it, recorded in W (proc control apiserver) before it runs: up does
 * so before its pods start (apply_hook), so that its exec and PKI overlap
 * them. Nothing for a lab without nodes. */
int control_start_apiserver (struct state_writer *w, const struct lab_objects *applied, struct control_apiserver *out,
                             nslab_error_t *err);
int control_start (const char *lab, const struct lab_objects *applied, char *const *files, size_t n_files,
                   struct control_apiserver *api, nslab_error_t *err);
/* The loop (nslab-controller LAB, src/cmd_controller.c) is rounds of: */
struct control_runtime;
struct controller;
/* RT: how pods are made and removed (the agent); copied. */
int controller_open (const char *lab, const struct control_runtime *rt, struct controller **out,
                     nslab_error_t *err);
/* Pin the namespaces the loop enters (netns_pin), then join the
 * control-plane node's mount namespace MNTNS (fd 4 from control_start: its
 * /proc, where the loop is). Once, right after controller_open, while
 * single-threaded. */
int controller_enter_node (struct controller *c, int mntns, nslab_error_t *err);
/* One round: read the pods' app states, probe what is due, and when
 * anything changed (or full_sync), converge. 1: something is still settling
 * (a new pod not yet probed: come back soon), 0: nothing to do, -1: error. */
int controller_round (struct controller *c, bool full_sync, nslab_error_t *err);
/* Where the last round that converged spent its time, in microseconds
 * (what nslab-controller logs with NSLAB_CONTROL_TRACE=1): reading the
 * apps' states and probing, re-planning, applying (rules, pods), writing
 * the store, the events. */
struct control_round_times {
  long long observe, plan, apply, store, events, total;
  /* of apply: the nodes' rule syncs alone (iptables-restore processes or
   * nftables transactions, started to finished: the floor of the round) */
  long long rules;
  /* of store: waiting for the snapshot's writer (a child started by apply)
   * before the sync commits */
  long long snapshot_wait;
  /* why it converged: the store or the scenario changed, an app's state or
   * a pod's readiness changed, a new pod's first probe came in */
  bool store_changed, app_changed, ready_changed, settled;
  /* the store was synced for the round's scope only (round_scope.h) */
  bool scoped;
  /* else why not (a static string) */
  const char *unscoped;
};
void controller_round_times (const struct controller *c, struct control_round_times *out);
/* An inotify descriptor (non-blocking, close-on-exec; the caller closes
 * it) that becomes readable when a file of the lab's state dir is written,
 * as a command's write to the store is (its WAL): the loop wakes at once,
 * as kube-proxy and the controllers wake on a watch event, instead of at
 * its next poll. -1 with *err when inotify is unavailable. */
int controller_watch (const struct controller *c, nslab_error_t *err);
/* Readable when a pod's status file was replaced (its app exited or
 * restarted), -1 if none: the next round reads those, so a wait on it is
 * not drained. */
int controller_status_watch (const struct controller *c);
/* Readable when the prober finished a batch (the next round takes it),
 * -1 before its first. */
int controller_probe_fd (const struct controller *c);
/* The lab's record is gone (down): the loop ends. */
bool controller_lab_gone (const struct controller *c);
void controller_close (struct controller *c);
/* Commands: wait until LAB's loop has converged to everything written up to
 * resourceVersion RV (rules in place on every node), at most timeout_ms. */
int control_wait (const char *lab, uint64_t rv, int timeout_ms, nslab_error_t *err);
/* up: wait until the loop has converged to the store as it is now: each
 * pod probed once (a pod awaiting its first probe holds the observed
 * version back), the ready ones endpoints on every node. */
int control_wait_first (const char *lab, int timeout_ms, nslab_error_t *err);

#endif
