/* A model of what the kernel shows once a plan is applied: the `ip -br addr`
 * and `ip route` of a namespace, including what the kernel adds by itself
 * (lo, the connected route of each address, EUI-64 IPv6 link-locals, the
 * @ifN of veth ends). `nslab plan` prints it so a learner knows what to
 * expect; tests/integration/up.bats diffs it against the live kernel. */
#ifndef NSLAB_VIEW_KERNEL_EXPECT_H
#define NSLAB_VIEW_KERNEL_EXPECT_H

#include <stdio.h>

#include "plan/plan.h"

/* "# expected `ip -br addr`:" and "# expected `ip route`:" blocks for ns. */
void kernel_expect_print (FILE *out, const struct plan *p, const char *ns);

#endif
