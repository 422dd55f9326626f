/* One table row per op kind: its name, how it reads as the command a person
 * would type, how it is written to and read from JSON, and how it is freed.
 * A new op kind is one row here (and one in the applier's table); the
 * static_asserts in op.c and apply.c catch a missing row. */
#ifndef NSLAB_PLAN_OP_H
#define NSLAB_PLAN_OP_H

#include <jansson.h>

#include "base/json.h"
#include "base/util.h"
#include "plan/plan.h"

struct op_type {
  const char *name; /* "link", as in the JSON "op" member */
  /* Append the op as ip(8)/bridge(8)/sysctl(8)/iptables-restore input. */
  void (*describe) (struct strbuf *sb, const struct plan_op *op);
  /* List the kind's members into out, a jansson object or the snapshot's
   * text (op and netns are listed by the caller). */
  void (*to_json) (const struct plan_op *op, struct json_out *out);
  /* Fill the kind's members from obj; the error names the member. */
  int (*from_json) (const json_t *obj, struct plan_op *op, nslab_error_t *err);
  void (*free) (struct plan_op *op);
};

const struct op_type *op_type (enum plan_op_kind kind);

/* The op as one line of text (no trailing newline); caller frees. */
char *op_describe (const struct plan_op *op);
/* The same text appended to SB: a caller describing many ops reuses one
 * buffer instead of a block per op. */
void op_describe_to (struct strbuf *sb, const struct plan_op *op);
/* The route as `ip route` prints it, for the expected views too. */
void op_format_route (struct strbuf *sb, const struct plan_route *r);

void op_free (struct plan_op *op);

#endif
