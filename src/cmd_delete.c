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

static int
delete_object (struct store *s, json_t *obj, const struct lab_change_args *a, nslab_error_t *err)
{
  (void) obj;
  return store_delete (s, a->kind, a->ns, a->name, err);
}

int
cmd_delete (int argc, char **argv, nslab_error_t *err)
{
  struct lab_change_args a;
  int r = lab_change_parse ("delete", argc, argv, false, &a, err);
  if (r != CLI_GO_ON)
    return r;
  int rc = lab_change_commit (&a, delete_object, err);
  if (rc < 0)
    return -1;
  printf ("%s \"%s\" deleted\n", a.type_word, a.name);
  return 0;
}
