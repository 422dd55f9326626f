/* Is the lab still what its plan made? Every namespace, every link (both ends
 * of a veth) and, per iptables payload, its chains and rules are looked up in
 * the live kernel: `nslab status` reports what it finds missing, so a learner
 * who deleted cni0 or flushed a nat table sees that the lab is broken, and
 * where. */
#ifndef NSLAB_APPLY_VERIFY_H
#define NSLAB_APPLY_VERIFY_H

#include <stddef.h>

#include "base/error.h"
#include "plan/plan.h"

struct verify_finding {
  char *netns;
  char *what;           /* "link cni0 is missing" */
};

/* Findings in plan order (none: *n == 0). Fails only when the kernel cannot
 * be asked at all. */
int verify_plan (const struct plan *p, struct verify_finding **out, size_t *n, nslab_error_t *err);
void verify_findings_free (struct verify_finding *f, size_t n);

#endif
