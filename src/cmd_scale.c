/* nslab scale LAB [-n NS] deploy/NAME --replicas N: set the replica count in
 * the lab's store, as kubectl scale sets the scale subresource, and return
 * once the lab's control loop has the pods and every node's rules in place. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "k8s/resources.h"
#include "lab_change.h"
#include "state/store.h"

static int
set_replicas (struct store *s, json_t *obj, const struct lab_change_args *a, nslab_error_t *err)
{
  /* the API server's generation moves with the spec, as kubectl scale's
   * write to the scale subresource moves it */
  json_t *before = json_object ();
  json_object_set (before, "metadata", json_object_get (obj, "metadata"));
  json_object_set_new (before, "spec", json_deep_copy (json_object_get (obj, "spec")));
  json_object_set_new (json_object_get (obj, "spec"), "replicas", json_integer (a->replicas));
  resources_bump_generation (before, obj);
  json_decref (before);
  return store_put (s, obj, err);
}

int
cmd_scale (int argc, char **argv, nslab_error_t *err)
{
  struct lab_change_args a;
  int r = lab_change_parse ("scale", argc, argv, true, &a, err);
  if (r != CLI_GO_ON)
    return r;
  if (strcmp (a.kind, "Deployment") != 0 && strcmp (a.kind, "ReplicaSet") != 0)
    return nslab_error_invalid (err, "nslab scale: %s/%s: only deployments and replicasets scale", a.type_word,
                                a.name);
  int rc = lab_change_commit (&a, set_replicas, err);
  if (rc < 0)
    return -1;
  printf ("%s/%s scaled\n", a.type_word, a.name);
  return 0;
}
