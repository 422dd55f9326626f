/* A plan as JSON and back (schema: docs/state.md): the lab's objects, the
 * namespaces in creation order, and one object per op with its "op" kind and
 * "netns" beside the kind's own members from the op table. */
#include "plan/plan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "plan/op.h"

/* Bumped when a member changes meaning; readers refuse other versions. */
#define PLAN_JSON_VERSION 1

json_t *
plan_to_json (const struct plan *p)
{
  json_t *root = json_object ();
  json_object_set_new (root, "version", json_integer (PLAN_JSON_VERSION));
  struct json_out out = { .obj = root };
  objects_to_json (p->objects, &out);
  json_t *namespaces = json_array ();
  json_t *ops = json_array ();
  for (size_t i = 0; i < p->n_ops; i++)
    {
      const struct plan_op *op = &p->ops[i];
      if (op->kind == OP_NETNS)
        json_array_append_new (namespaces, json_string (op->ns));
      json_array_append_new (ops, plan_op_to_json (op));
    }
  json_object_set_new (root, "namespaces", namespaces);
  json_object_set_new (root, "ops", ops);
  return root;
}

/* An op's members: its kind, its namespace, the kind's own. */
static void
op_members (const struct plan_op *op, struct json_out *o)
{
  jo_str (o, "op", op_type (op->kind)->name);
  jo_str (o, "netns", op->ns);
  op_type (op->kind)->to_json (op, o);
}

int
plan_dump_json (const struct plan *p, int (*write) (const char *buf, size_t len, void *arg), void *arg)
{
  /* The head as plan_to_json has it: objects, namespaces. */
  struct strbuf sb;
  sb_init (&sb);
  sb_addn (&sb, "{", 1);
  struct json_out head = { .sb = &sb }, ns;
  jo_int (&head, "version", PLAN_JSON_VERSION);
  objects_to_json (p->objects, &head);
  jo_open_array (&head, "namespaces", &ns);
  for (size_t i = 0; i < p->n_ops; i++)
    if (p->ops[i].kind == OP_NETNS)
      jo_str (&ns, NULL, p->ops[i].ns);
  jo_close (&ns);
  static const char ops_open[] = ",\"ops\":[", end[] = "]}";
  int rc = write (sb.buf, sb.len, arg);
  if (rc == 0)
    rc = write (ops_open, sizeof ops_open - 1, arg);
  /* Each op as text straight from its members (op_members), no tree: a
   * large lab's plan has tens of thousands. */
  for (size_t i = 0; rc == 0 && i < p->n_ops; i++)
    {
      sb.len = 0;
      if (i > 0)
        sb_addn (&sb, ",", 1);
      sb_addn (&sb, "{", 1);
      struct json_out o = { .sb = &sb };
      op_members (&p->ops[i], &o);
      sb_addn (&sb, "}", 1);
      rc = write (sb.buf, sb.len, arg);
    }
  sb_free (&sb);
  if (rc == 0)
    rc = write (end, sizeof end - 1, arg);
  return rc;
}

json_t *
plan_op_to_json (const struct plan_op *op)
{
  struct json_out o = { .obj = json_object () };
  op_members (op, &o);
  return o.obj;
}

int
plan_op_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  if (!json_is_object (o))
    return nslab_error (err, 0, "not an object");
  const char *kind = json_string_value (json_object_get (o, "op"));
  const char *ns = json_string_value (json_object_get (o, "netns"));
  if (kind == NULL)
    return nslab_error (err, 0, "op: missing or not a string");
  if (ns == NULL)
    return nslab_error (err, 0, "netns: missing or not a string");
  for (int k = 0; k < OP__COUNT; k++)
    if (strcmp (op_type (k)->name, kind) == 0)
      {
        op->kind = k;
        op->ns = xstrdup (ns);
        return op_type (k)->from_json (o, op, err);
      }
  return nslab_error (err, 0, "op: unknown kind \"%s\"", kind);
}

int
plan_from_json (const json_t *j, struct plan **out, nslab_error_t *err)
{
  const json_t *version = json_object_get (j, "version");
  if (!json_is_integer (version) || json_integer_value (version) != PLAN_JSON_VERSION)
    return nslab_error (err, 0, "version: not %d (written by another nslab?)", PLAN_JSON_VERSION);
  const json_t *ops = json_object_get (j, "ops");
  if (!json_is_array (ops))
    return nslab_error (err, 0, "ops: missing or not an array");
  struct plan *p = xcalloc (1, sizeof *p);
  if (objects_from_json (j, &p->objects, err) < 0)
    {
      plan_free (p);
      return -1;
    }
  p->ops = xcalloc (json_array_size (ops) + 1, sizeof *p->ops);
  for (size_t i = 0; i < json_array_size (ops); i++)
    {
      const json_t *o = json_array_get (ops, i);
      /* Count it before reading, so plan_free frees a half-read op. */
      p->n_ops++;
      if (plan_op_from_json (o, &p->ops[i], err) < 0)
        {
          nslab_error_wrap (err, "ops[%zu]", i);
          plan_free (p);
          return -1;
        }
    }
  *out = p;
  return 0;
}
