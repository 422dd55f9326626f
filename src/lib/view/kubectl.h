/* kubectl-style tables of a lab's objects (get nodes/pods/svc -o wide), as
 * `nslab plan` and `nslab up` print them. */
#ifndef NSLAB_VIEW_KUBECTL_H
#define NSLAB_VIEW_KUBECTL_H

#include <stdbool.h>
#include <stdio.h>

#include "k8s/objects.h"

/* running: with the STATUS/READY columns a live cluster shows. */
void kubectl_print_summary (const struct lab_objects *o, bool running, FILE *out);

#endif
