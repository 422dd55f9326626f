/* A pod made from its ReplicaSet's template, as the ReplicaSet controller
 * makes it (controller_utils.go GetPodFromTemplate copies
 * spec.template.spec verbatim) and as the API server then defaults it
 * (pkg/apis/core/v1/defaults.go), with the container statuses kubelet
 * reports for it (one per container, the image as containerd resolved it).
 * Pure JSON: no store, no runtime. */
#ifndef NSLAB_K8S_POD_TEMPLATE_H
#define NSLAB_K8S_POD_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct scenario;
struct app_def;

/* Containers C (a JSON array) with the API server's defaults filled in
 * where unset: imagePullPolicy (Always for an untagged or :latest image,
 * else IfNotPresent), terminationMessagePath /dev/termination-log,
 * terminationMessagePolicy File, resources {}, ports' protocol TCP, env
 * fieldRefs' apiVersion v1, probes' timeouts, periods, thresholds and
 * httpGet scheme. A new array; C is not changed. */
json_t *pod_template_default_containers (const json_t *c);

/* A pod template's SPEC as the API server stores it, for comparing two
 * (the Deployment controller's EqualIgnoreHash): null, "" and empty list
 * and map fields dropped as decoding drops them, containers and init
 * containers defaulted (pod_template_default_containers) and
 * SetDefaults_PodSpec's defaults (restartPolicy, dnsPolicy,
 * terminationGracePeriodSeconds, schedulerName, securityContext,
 * enableServiceLinks). A new object; SPEC (NULL: none) is not changed. */
json_t *pod_template_spec_defaulted (const json_t *spec);

/* IMAGE as containerd reports it in a container status: the Docker Hub
 * domain and library/ added where the name has none, :latest where it has
 * neither tag nor digest ("nginx" -> "docker.io/library/nginx:latest",
 * "ghcr.io/a/b:1" unchanged). Caller frees. */
char *pod_template_image_ref (const char *image);

/* One status per container of CONTAINERS: its name, its image as
 * pod_template_image_ref resolves it, an imageID, and LIKE's ready, started,
 * restartCount and state (the pod's one app stands for all its containers;
 * LIKE NULL: running, not ready, no restarts). */
json_t *pod_template_statuses (const json_t *containers, const json_t *like);

/* The ID containerd gives the container CONTAINER of the pod POD_UID of
 * lab LAB when kubelet starts it for the RESTART'th time (0: the first
 * start): "containerd://" and 64 hex digits, a new one per start. nslab
 * starts no containerd: a SHA-256 of what identifies that start, so the
 * same start has the same ID in every process that reports it. Caller
 * frees. */
char *pod_template_container_id (const char *lab, const char *pod_uid, const char *container, long long restart);

/* POD's containerStatuses get kubelet's containerIDs (state.terminated's
 * too): the current container's from its restartCount, lastState's from
 * the container before it. Statuses without a name, or a POD without a
 * uid, are left as they are. */
void pod_template_set_container_ids (json_t *pod, const char *lab);

/* What the API server and its admission plugins add to a pod POD of lab
 * LAB where unset: SetDefaults_PodSpec's restartPolicy Always, dnsPolicy
 * ClusterFirst, terminationGracePeriodSeconds 30, schedulerName
 * default-scheduler, securityContext {}, enableServiceLinks true; Priority
 * admission's priority (2000000000 for priorityClassName
 * system-cluster-critical, 2000001000 for system-node-critical, else 0) and
 * preemptionPolicy PreemptLowerPriority; serviceaccount admission's
 * serviceAccountName and serviceAccount (default unless the pod names one)
 * with its kube-api-access-XXXXX projected volume (XXXXX derived from LAB
 * and the pod's name) mounted read-only on
 * /var/run/secrets/kubernetes.io/serviceaccount in every container, unless
 * automountServiceAccountToken is false; DefaultTolerationSeconds' not-ready
 * and unreachable NoExecute tolerations of 300 s unless the pod tolerates
 * those taints; and status.qosClass (pod_template_qos_class). Idempotent. */
void pod_template_pod_defaults (json_t *pod, const char *lab);

/* The QoS class of a pod of spec SPEC, as qos.ComputePodQOS
 * (pkg/apis/core/helper/qos) computes it from its containers' and init
 * containers' cpu and memory requests and limits: "BestEffort" without
 * any, "Guaranteed" when every container limits both and the requests
 * (summed per resource) equal the limits, else "Burstable". */
const char *pod_template_qos_class (const json_t *spec);

/* POD (as the lab's plan made it) takes TEMPLATE's containers
 * (spec.template.spec.containers of its ReplicaSet), defaulted (and, as
 * for any Pod, resources.requests defaulted to the limits), its
 * status.qosClass for them, and a status per container after its first
 * planned one. Its kube-api-access volume, if
 * it has one, is mounted in every new container. */
void pod_template_apply (json_t *pod, const json_t *template_containers);

/* The one app nslab runs for a pod of CONTAINERS, in the lab whose
 * scenario is SC (its [images]; NULL: the built-ins), in *OUT (APP_HTTP and
 * its port, or APP_NONE): that of the first container whose image maps to
 * an app (a sidecar before it, busybox say, runs nothing), an http one
 * listening on the container's first containerPort when it gives one, and
 * an unmapped image with a containerPort an http app on it. Returns the
 * index of that container (0 when none runs an app). */
size_t pod_template_app (const struct scenario *sc, const json_t *containers, struct app_def *out);

#endif
