/* nslab scale LAB [-n NS] deploy/NAME --replicas N: set the replica count in
 * the lab's store, as kubectl scale sets the scale subresource, and return
 * once the lab's control loop has the pods and every node's rules in place. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "lab_change.h"
#include "state/store.h"

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
  struct store *s = NULL;
  if (store_open (a.lab, &s, err) < 0)
    return -1;
  json_t *obj = NULL;
  int rc = store_get (s, a.kind, a.ns, a.name, &obj, err);
  if (rc == 0 && obj == NULL)
    rc = nslab_error (err, 0, "lab %s: %s \"%s\" not found in namespace %s", a.lab, a.type_word, a.name, a.ns);
  uint64_t rv = 0;
  if (rc == 0)
    {
      json_object_set_new (json_object_get (obj, "spec"), "replicas", json_integer (a.replicas));
      rc = store_put (s, obj, err);
    }
  if (rc == 0)
    rc = store_resource_version (s, &rv, err);
  json_decref (obj);
  store_close (s);
  if (rc == 0)
    rc = lab_change_wait (a.lab, rv, a.timeout_ms, err);
  if (rc < 0)
    return -1;
  printf ("%s/%s scaled\n", a.type_word, a.name);
  return 0;
}
