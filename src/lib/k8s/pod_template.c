/* Pods from their ReplicaSet's template (see pod_template.h). */
#include "k8s/pod_template.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <nettle/sha2.h>

#include "base/util.h"
#include "k8s/names.h"
#include "k8s/quantity.h"
#include "scenario/scenario.h"

/* KEY of O set to V unless O has it already (a default). */
static void
set_default (json_t *o, const char *key, json_t *v)
{
  if (json_object_get (o, key) == NULL)
    json_object_set_new (o, key, v);
  else
    json_decref (v);
}

/* SetDefaults_Probe, SetDefaults_HTTPGetAction. */
static void
default_probe (json_t *p)
{
  if (!json_is_object (p))
    return;
  set_default (p, "timeoutSeconds", json_integer (1));
  set_default (p, "periodSeconds", json_integer (10));
  set_default (p, "successThreshold", json_integer (1));
  set_default (p, "failureThreshold", json_integer (3));
  json_t *get = json_object_get (p, "httpGet");
  if (json_is_object (get))
    {
      set_default (get, "path", json_string ("/"));
      set_default (get, "scheme", json_string ("HTTP"));
    }
}

/* The reference split as dockerref.ParseNormalizedNamed splits it: the
 * path after the domain, and whether a tag or a digest follows. */
struct image_parts {
  const char *domain;   /* "docker.io" when the name has none */
  bool library;         /* a Docker Hub name of one component: library/ */
  const char *tag;      /* after ':' of the last component, or NULL */
  const char *digest;   /* after '@', or NULL */
};

static struct image_parts
image_split (const char *image)
{
  struct image_parts p = { .domain = NULL };
  const char *slash = strchr (image, '/');
  size_t first = slash ? (size_t) (slash - image) : 0;
  bool has_domain = slash && (memchr (image, '.', first) || memchr (image, ':', first)
                              || (first == 9 && strncmp (image, "localhost", 9) == 0));
  if (!has_domain)
    {
      p.domain = "docker.io";
      p.library = slash == NULL;
    }
  p.digest = strchr (image, '@');
  if (p.digest)
    p.digest++;
  const char *last = strrchr (image, '/');
  last = last ? last + 1 : image;
  const char *colon = strchr (last, ':');
  if (colon && (p.digest == NULL || colon < p.digest))
    p.tag = colon + 1;
  return p;
}

/* SetDefaults_Container (pkg/apis/core/v1/defaults.go): the pull policy by
 * the tag parsers.ParseImageName gives ("latest" when neither tag nor
 * digest). */
static const char *
pull_policy (const char *image)
{
  struct image_parts p = image_split (image ? image : "");
  bool latest = p.tag ? strncmp (p.tag, "latest", 6) == 0 && (p.tag[6] == '\0' || p.tag[6] == '@')
                      : p.digest == NULL;
  return latest ? "Always" : "IfNotPresent";
}

/* What the API server's decoding loses: a container's fields are
 * omitempty strings and pointers, so "" and null read as unset (kubectl
 * create deployment --port sends a port's name and protocol as ""), as
 * does a port's hostPort 0. */
static void
drop_unset (json_t *j)
{
  if (json_is_array (j))
    {
      size_t i;
      json_t *v;
      json_array_foreach (j, i, v) drop_unset (v);
      return;
    }
  if (!json_is_object (j))
    return;
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe (j, tmp, k, v)
    {
      if (json_is_null (v) || (json_is_string (v) && *json_string_value (v) == '\0'))
        json_object_del (j, k);
      else
        drop_unset (v);
    }
}

json_t *
pod_template_default_containers (const json_t *c)
{
  json_t *out = json_deep_copy (c);
  size_t i;
  json_t *ct;
  json_array_foreach (out, i, ct)
    {
      if (!json_is_object (ct))
        continue;
      drop_unset (ct);
      set_default (ct, "imagePullPolicy", json_string (pull_policy (json_string_value (json_object_get (ct, "image")))));
      set_default (ct, "terminationMessagePath", json_string ("/dev/termination-log"));
      set_default (ct, "terminationMessagePolicy", json_string ("File"));
      /* a struct, not a pointer, in the Go type: always present */
      set_default (ct, "resources", json_object ());
      size_t k;
      json_t *x;
      json_array_foreach (json_object_get (ct, "ports"), k, x)
        {
          set_default (x, "protocol", json_string ("TCP"));
          const json_t *hp = json_object_get (x, "hostPort");
          if (json_is_integer (hp) && json_integer_value (hp) == 0)
            json_object_del (x, "hostPort");
        }
      json_array_foreach (json_object_get (ct, "env"), k, x)
        {
          json_t *ref = json_object_get (json_object_get (x, "valueFrom"), "fieldRef");
          if (json_is_object (ref))
            set_default (ref, "apiVersion", json_string ("v1"));
        }
      default_probe (json_object_get (ct, "livenessProbe"));
      default_probe (json_object_get (ct, "readinessProbe"));
      default_probe (json_object_get (ct, "startupProbe"));
    }
  return out;
}

char *
pod_template_image_ref (const char *image)
{
  struct image_parts p = image_split (image);
  return xasprintf ("%s%s%s%s%s", p.domain ? p.domain : "", p.domain ? "/" : "", p.library ? "library/" : "",
                    image, p.tag || p.digest ? "" : ":latest");
}

/* The SHA-256 of the N strings PARTS, as 64 lowercase hex digits in HEX;
 * of several, each with its terminating NUL (so "ab","c" and "a","bc"
 * differ). */
static void
sha256_hex (const char *const *parts, size_t n, char hex[2 * SHA256_DIGEST_SIZE + 1])
{
  uint8_t d[SHA256_DIGEST_SIZE];
  struct sha256_ctx ctx;
  sha256_init (&ctx);
  for (size_t i = 0; i < n; i++)
    sha256_update (&ctx, strlen (parts[i]) + (n > 1), (const uint8_t *) parts[i]);
  sha256_digest (&ctx, sizeof d, d);
  for (size_t i = 0; i < sizeof d; i++)
    snprintf (hex + 2 * i, 3, "%02x", d[i]);
}

/* containerd's image ID: the repository and the digest of what it pulled.
 * nslab pulls nothing: a digest the manifest gives, else the SHA-256 of
 * the resolved reference (stable per image, never a real registry's). */
static char *
image_id (const char *ref)
{
  const char *at = strchr (ref, '@');
  if (at)
    return xstrdup (ref);
  const char *last = strrchr (ref, '/');
  const char *colon = strchr (last ? last : ref, ':');
  size_t repo_len = colon ? (size_t) (colon - ref) : strlen (ref);
  char hex[2 * SHA256_DIGEST_SIZE + 1];
  sha256_hex (&ref, 1, hex);
  return xasprintf ("%.*s@sha256:%s", (int) repo_len, ref, hex);
}

char *
pod_template_container_id (const char *lab, const char *pod_uid, const char *container, long long restart)
{
  char n[24], hex[2 * SHA256_DIGEST_SIZE + 1];
  snprintf (n, sizeof n, "%lld", restart);
  const char *parts[] = { lab, pod_uid, container, n };
  sha256_hex (parts, ARRAY_SIZE (parts), hex);
  return xasprintf ("containerd://%s", hex);
}

static void
set_id (json_t *o, const char *lab, const char *uid, const char *name, long long restart)
{
  cleanup_free char *id = pod_template_container_id (lab, uid, name, restart);
  json_object_set_new (o, "containerID", json_string (id));
}

void
pod_template_set_container_ids (json_t *pod, const char *lab)
{
  const char *uid = json_string_value (json_object_get (json_object_get (pod, "metadata"), "uid"));
  json_t *css = json_object_get (json_object_get (pod, "status"), "containerStatuses");
  size_t i;
  json_t *cs;
  json_array_foreach (css, i, cs)
    {
      const char *name = json_string_value (json_object_get (cs, "name"));
      if (uid == NULL || name == NULL)
        continue;
      long long n = json_integer_value (json_object_get (cs, "restartCount"));
      json_t *state = json_object_get (cs, "state");
      set_id (cs, lab, uid, name, n);
      json_t *term = json_object_get (state, "terminated");
      if (json_is_object (term))
        set_id (term, lab, uid, name, n);
      /* kubelet's previous container: the one before a running one, the
       * one that exited for a waiting one (its back-off; the count rises
       * when the next one starts) */
      json_t *last = json_object_get (json_object_get (cs, "lastState"), "terminated");
      if (json_is_object (last))
        set_id (last, lab, uid, name, json_is_object (json_object_get (state, "running")) ? n - 1 : n);
    }
}

json_t *
pod_template_statuses (const json_t *containers, const json_t *like)
{
  json_t *out = json_array ();
  size_t i;
  const json_t *c;
  json_array_foreach (containers, i, c)
    {
      const char *image = json_string_value (json_object_get (c, "image"));
      cleanup_free char *ref = pod_template_image_ref (image ? image : "");
      cleanup_free char *id = image_id (ref);
      json_t *cs = like ? json_deep_copy (like)
                        : json_pack ("{s:b, s:b, s:i, s:{s:{}}}", "ready", 0, "started", 1, "restartCount",
                                     (json_int_t) 0, "state", "running");
      json_object_set (cs, "name", json_object_get (c, "name"));
      json_object_set_new (cs, "image", json_string (ref));
      json_object_set_new (cs, "imageID", json_string (id));
      json_array_append_new (out, cs);
    }
  return out;
}

/* Where kubelet mounts the service account's token (serviceaccount
 * admission's DefaultAPITokenMountPath). */
#define SERVICE_ACCOUNT_MOUNT "/var/run/secrets/kubernetes.io/serviceaccount"

/* What the admission plugins add to every pod alike, made once per process
 * and shared by reference between the pods (a copy per pod was a third of
 * a lab's resources build time, jansson's allocations): the
 * kube-api-access volume's projection, DefaultTolerationSeconds'
 * tolerations (300 s on a not-ready or unreachable node before eviction).
 * Shared, so never changed: nothing writes into a pod's volume sources or
 * tolerations (json_deep_copy before any change). */
static struct {
  pthread_once_t once;
  json_t *projected, *tolerations;
} admitted = { .once = PTHREAD_ONCE_INIT };

static void
admitted_init (void)
{
  admitted.projected
      = json_pack ("{s:i, s:[{s:{s:i, s:s}}, {s:{s:[{s:s, s:s}], s:s}}, {s:{s:[{s:{s:s, s:s}, s:s}]}}]}",
                   "defaultMode", (json_int_t) 0644, "sources", "serviceAccountToken", "expirationSeconds",
                   (json_int_t) 3607, "path", "token", "configMap", "items", "key", "ca.crt", "path", "ca.crt", "name",
                   "kube-root-ca.crt", "downwardAPI", "items", "fieldRef", "apiVersion", "v1", "fieldPath",
                   "metadata.namespace", "path", "namespace");
  admitted.tolerations = json_pack ("[{s:s, s:s, s:s, s:i}, {s:s, s:s, s:s, s:i}]", "effect", "NoExecute", "key",
                                    "node.kubernetes.io/not-ready", "operator", "Exists", "tolerationSeconds",
                                    (json_int_t) 300, "effect", "NoExecute", "key", "node.kubernetes.io/unreachable",
                                    "operator", "Exists", "tolerationSeconds", (json_int_t) 300);
}

/* The pod's kube-api-access-* volume (serviceaccount admission), or NULL. */
static const char *
api_access_volume (const json_t *spec)
{
  size_t i;
  const json_t *v;
  json_array_foreach (json_object_get (spec, "volumes"), i, v)
    {
      const char *name = json_string_value (json_object_get (v, "name"));
      if (name && strncmp (name, "kube-api-access-", 16) == 0)
        return name;
    }
  return NULL;
}

/* Serviceaccount admission's volumeMount in every container that has none
 * on the token's path. */
static void
mount_api_access (json_t *spec)
{
  const char *vol = api_access_volume (spec);
  size_t i, k;
  json_t *c;
  const json_t *m;
  json_array_foreach (json_object_get (spec, "containers"), i, c)
    {
      bool has = false;
      json_array_foreach (json_object_get (c, "volumeMounts"), k, m)
        has |= strcmp (json_string_value (json_object_get (m, "mountPath")) ?: "", SERVICE_ACCOUNT_MOUNT) == 0;
      if (vol == NULL || has || !json_is_object (c))
        continue;
      json_t *mounts = json_object_get (c, "volumeMounts");
      if (!json_is_array (mounts))
        json_object_set_new (c, "volumeMounts", mounts = json_array ());
      json_t *mount = json_object ();
      json_object_set_new_nocheck (mount, "mountPath", json_string_nocheck (SERVICE_ACCOUNT_MOUNT));
      json_object_set_new_nocheck (mount, "name", json_string (vol));
      json_object_set_new_nocheck (mount, "readOnly", json_true ());
      json_array_append_new (mounts, mount);
    }
}

/* Whether TOLS tolerate KEY's NoExecute taint of no value
 * (Toleration.ToleratesTaint). */
static bool
tolerates (const json_t *tols, const char *key)
{
  size_t i;
  const json_t *t;
  json_array_foreach (tols, i, t)
    {
      const char *k = json_string_value (json_object_get (t, "key")) ?: "";
      const char *e = json_string_value (json_object_get (t, "effect")) ?: "";
      const char *op = json_string_value (json_object_get (t, "operator")) ?: "";
      const char *v = json_string_value (json_object_get (t, "value")) ?: "";
      if ((*e && strcmp (e, "NoExecute") != 0) || (*k && strcmp (k, key) != 0))
        continue;
      if (strcmp (op, "Exists") == 0 || ((*op == '\0' || strcmp (op, "Equal") == 0) && *v == '\0'))
        return true;
    }
  return false;
}

/* Adds the cpu and memory quantities of LIST above zero into SUM (per
 * resource: [0] cpu, [1] memory); which of them it has, as bits. */
static unsigned
qos_sum (const json_t *list, __int128 sum[2], bool seen[2])
{
  static const char *const res[] = { "cpu", "memory" };
  unsigned found = 0;
  for (int k = 0; k < 2; k++)
    {
      struct quantity v;
      if (quantity_parse (json_object_get (list, res[k]), &v) && v.nano > 0)
        {
          sum[k] += v.nano;
          seen[k] = true;
          found |= 1u << k;
        }
    }
  return found;
}

const char *
pod_template_qos_class (const json_t *spec)
{
  __int128 req[2] = { 0, 0 }, lim[2] = { 0, 0 };
  bool has_req[2] = { false, false }, has_lim[2] = { false, false };
  bool guaranteed = true;
  static const char *const lists[] = { "containers", "initContainers" };
  for (size_t l = 0; l < ARRAY_SIZE (lists); l++)
    {
      size_t i;
      const json_t *c;
      json_array_foreach (json_object_get (spec, lists[l]), i, c)
        {
          const json_t *res = json_object_get (c, "resources");
          qos_sum (json_object_get (res, "requests"), req, has_req);
          /* every container limits both cpu and memory */
          if (qos_sum (json_object_get (res, "limits"), lim, has_lim) != 3)
            guaranteed = false;
        }
    }
  if (!has_req[0] && !has_req[1] && !has_lim[0] && !has_lim[1])
    return "BestEffort";
  for (int k = 0; k < 2 && guaranteed; k++)
    if (has_req[k] && (!has_lim[k] || lim[k] != req[k]))
      guaranteed = false;
  /* as many resources requested as limited */
  if (guaranteed && has_req[0] + has_req[1] == has_lim[0] + has_lim[1])
    return "Guaranteed";
  return "Burstable";
}

/* status.qosClass, as the API server sets it on create (and a pod's
 * resources never change after). */
static void
set_qos_class (json_t *pod)
{
  json_t *status = json_object_get (pod, "status");
  if (json_is_object (status))
    json_object_set_new (status, "qosClass", json_string (pod_template_qos_class (json_object_get (pod, "spec"))));
}

/* SetDefaults_PodSpec (pkg/apis/core/v1/defaults.go) */
static void
spec_defaults (json_t *spec)
{
  set_default (spec, "restartPolicy", json_string ("Always"));
  set_default (spec, "dnsPolicy", json_string ("ClusterFirst"));
  set_default (spec, "terminationGracePeriodSeconds", json_integer (30));
  set_default (spec, "schedulerName", json_string ("default-scheduler"));
  set_default (spec, "securityContext", json_object ());
  set_default (spec, "enableServiceLinks", json_true ());
}

json_t *
pod_template_spec_defaulted (const json_t *spec)
{
  json_t *out = json_is_object (spec) ? json_deep_copy (spec) : json_object ();
  /* what decoding drops: null and "" fields, empty lists and maps
   * (omitempty), so a manifest that writes them is the same spec */
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe (out, tmp, k, v)
    if (json_is_null (v) || (json_is_string (v) && *json_string_value (v) == '\0')
        || (json_is_array (v) && json_array_size (v) == 0)
        || (json_is_object (v) && json_object_size (v) == 0 && strcmp (k, "securityContext") != 0))
      json_object_del (out, k);
  static const char *const lists[] = { "containers", "initContainers" };
  for (size_t i = 0; i < ARRAY_SIZE (lists); i++)
    {
      const json_t *c = json_object_get (out, lists[i]);
      if (json_is_array (c))
        json_object_set_new (out, lists[i], pod_template_default_containers (c));
    }
  if (json_object_get (out, "containers") == NULL)
    json_object_set_new (out, "containers", json_array ());
  spec_defaults (out);
  return out;
}

/* Priority admission: the value of the built-in PriorityClasses
 * (scheduling.SystemCriticalPriority and 1000 above it), 0 without a class
 * (no globalDefault one). Both built-ins and the default preempt lower
 * priorities. */
static json_int_t
class_priority (const char *name)
{
  if (name && strcmp (name, "system-node-critical") == 0)
    return 2000001000;
  if (name && strcmp (name, "system-cluster-critical") == 0)
    return 2000000000;
  return 0;
}

void
pod_template_pod_defaults (json_t *pod, const char *lab)
{
  json_t *spec = json_object_get (pod, "spec");
  if (!json_is_object (spec))
    return;
  spec_defaults (spec);
  set_default (spec, "priority",
               json_integer (class_priority (json_string_value (json_object_get (spec, "priorityClassName")))));
  set_default (spec, "preemptionPolicy", json_string ("PreemptLowerPriority"));
  /* serviceaccount admission: the account the pod names, else the
   * namespace's default one; its token projected as kube-api-access- and
   * five random characters (here derived from the pod's name, as nslab's
   * other generated names), unless the pod turns the token off */
  set_default (spec, "serviceAccountName", json_string ("default"));
  set_default (spec, "serviceAccount", json_string (json_string_value (json_object_get (spec, "serviceAccountName"))));
  pthread_once (&admitted.once, admitted_init);
  if (api_access_volume (spec) == NULL && !json_is_false (json_object_get (spec, "automountServiceAccountToken")))
    {
      const json_t *meta = json_object_get (pod, "metadata");
      /* a lab's, a namespace's and a pod's names fit (63, 63, 253) */
      char seed[512];
      snprintf (seed, sizeof seed, "%s/%s/%s/kube-api-access", lab,
                json_string_value (json_object_get (meta, "namespace")) ?: "",
                json_string_value (json_object_get (meta, "name")) ?: "");
      char name[] = "kube-api-access-XXXXX";
      safe_random_string (fnv1a64_str (seed), 5, name + 16);
      json_t *vols = json_object_get (spec, "volumes");
      if (!json_is_array (vols))
        json_object_set_new (spec, "volumes", vols = json_array ());
      json_t *vol = json_object ();
      json_object_set_new_nocheck (vol, "name", json_string_nocheck (name));
      json_object_set_nocheck (vol, "projected", admitted.projected);
      json_array_append_new (vols, vol);
    }
  mount_api_access (spec);
  /* DefaultTolerationSeconds admission, unless the pod tolerates the taint
   * already */
  size_t i;
  const json_t *t;
  json_array_foreach (admitted.tolerations, i, t)
    {
      json_t *tols = json_object_get (spec, "tolerations");
      if (tolerates (tols, json_string_value (json_object_get (t, "key"))))
        continue;
      if (!json_is_array (tols))
        json_object_set_new (spec, "tolerations", tols = json_array ());
      json_array_append (tols, (json_t *) t);
    }
  set_qos_class (pod);
}

void
pod_template_apply (json_t *pod, const json_t *template_containers)
{
  json_t *spec = json_object_get (pod, "spec");
  if (!json_is_object (spec) || json_array_size (template_containers) == 0)
    return;
  json_t *containers = pod_template_default_containers (template_containers);
  /* SetDefaults_Pod (a Pod's, not a template's): requests default to the
   * limits a container sets. */
  size_t i;
  json_t *c;
  json_array_foreach (containers, i, c)
    {
      json_t *res = json_object_get (c, "resources");
      const json_t *limits = json_object_get (res, "limits");
      if (!json_is_object (limits) || json_object_size (limits) == 0)
        continue;
      json_t *req = json_object_get (res, "requests");
      if (!json_is_object (req))
        json_object_set_new (res, "requests", req = json_object ());
      const char *k;
      json_t *v;
      json_object_foreach ((json_t *) limits, k, v)
        if (json_object_get (req, k) == NULL)
          json_object_set (req, k, v);
    }
  json_object_set_new (spec, "containers", containers);
  mount_api_access (spec);
  set_qos_class (pod);
  json_t *status = json_object_get (pod, "status");
  if (!json_is_object (status))
    return;
  const json_t *like = json_array_get (json_object_get (status, "containerStatuses"), 0);
  json_object_set_new (status, "containerStatuses", pod_template_statuses (containers, like));
}

/* The app a container runs: its image's (scenario_image_app), with the
 * container's first containerPort for an http one; an image that maps to
 * none of them an http app on that port when it has one. */
static void
container_app (const struct scenario *sc, const json_t *container, struct app_def *out)
{
  const char *image = json_string_value (json_object_get (container, "image"));
  const json_t *port = json_object_get (json_array_get (json_object_get (container, "ports"), 0), "containerPort");
  bool has_port = json_is_integer (port) && json_integer_value (port) > 0 && json_integer_value (port) < 65536;
  if (!scenario_image_app (sc, image, out))
    *out = (struct app_def) { .kind = has_port ? APP_HTTP : APP_NONE };
  if (out->kind == APP_HTTP && has_port)
    out->port = (uint16_t) json_integer_value (port);
}

size_t
pod_template_app (const struct scenario *sc, const json_t *containers, struct app_def *out)
{
  *out = (struct app_def) { .kind = APP_NONE };
  container_app (sc, json_array_get (containers, 0), out);
  size_t i;
  const json_t *c;
  json_array_foreach (containers, i, c)
    {
      struct app_def a;
      container_app (sc, c, &a);
      if (a.kind != APP_NONE)
        {
          *out = a;
          return i;
        }
    }
  return 0;
}
