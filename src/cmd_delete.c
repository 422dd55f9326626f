/* nslab delete LAB [-n NS] TYPE/NAME: remove the object from the lab's
 * store, as kubectl delete does through the API, and return once the lab's
 * control loop has acted: a deployment's pod is replaced by a new one (new
 * name, new address), a bare pod is gone, a deployment takes its
 * replicaset and pods with it, a service its rules on every node. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "lab_change.h"
#include "state/store.h"

int
cmd_delete (int argc, char **argv, nslab_error_t *err)
{
  struct lab_change_args a;
  int r = lab_change_parse ("delete", argc, argv, false, &a, err);
  if (r != CLI_GO_ON)
    return r;
  struct store *s = NULL;
  if (store_open (a.lab, &s, err) < 0)
    return -1;
  json_t *obj = NULL;
  int rc = store_get (s, a.kind, a.ns, a.name, &obj, err);
  if (rc == 0 && obj == NULL)
    rc = nslab_error (err, 0, "lab %s: %s \"%s\" not found in namespace %s", a.lab, a.type_word, a.name, a.ns);
  json_decref (obj);
  uint64_t rv = 0;
  if (rc == 0)
    rc = store_delete (s, a.kind, a.ns, a.name, err);
  if (rc == 0)
    rc = store_resource_version (s, &rv, err);
  store_close (s);
  if (rc == 0)
    rc = lab_change_wait (a.lab, rv, a.timeout_ms, err);
  if (rc < 0)
    return -1;
  printf ("%s \"%s\" deleted\n", a.type_word, a.name);
  return 0;
}
