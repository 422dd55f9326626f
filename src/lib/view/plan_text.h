/* A plan as a person reads it: the commands one would type (ip, bridge,
 * sysctl, iptables-restore), grouped by namespace, with the kubectl summary
 * and the expected kernel views; or as JSON (plan_to_json, pretty-printed). */
#ifndef NSLAB_VIEW_PLAN_TEXT_H
#define NSLAB_VIEW_PLAN_TEXT_H

#include <stdio.h>

#include "plan/plan.h"

void plan_print_text (const struct plan *p, FILE *out);
/* The same with each iptables payload replaced by its size and hash: what the
 * golden plans of tests/unit/golden keep (the payloads themselves are pinned
 * rule by rule in test_iptables_rules.c). */
void plan_print_text_digested (const struct plan *p, FILE *out);
void plan_print_json (const struct plan *p, FILE *out);

#endif
