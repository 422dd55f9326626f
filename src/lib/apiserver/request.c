/* Request bodies and selectors (see request.h). */
#include "apiserver/request.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

json_t *
request_decode_body (const char *body, size_t len, char **message)
{
  *message = NULL;
  if (len > REQUEST_MAX_BODY)
    {
      *message = xstrdup ("the request body is too large");
      return NULL;
    }
  json_error_t je;
  json_t *v = json_loadb (body, len, JSON_REJECT_DUPLICATES, &je);
  if (v == NULL)
    {
      *message = xasprintf ("couldn't get version/kind; json parse error: %s (line %d, column %d)", je.text, je.line,
                            je.column);
      return NULL;
    }
  if (!json_is_object (v))
    {
      json_decref (v);
      *message = xstrdup ("couldn't get version/kind; json parse error: the request body is not a JSON object");
      return NULL;
    }
  return v;
}

/* ---- protobuf ---------------------------------------------------------- */

/* One field of a protobuf message: its number, and for length-delimited
 * fields (the only ones read here) the bytes. */
struct pb_field {
  uint64_t number;
  int wire;
  const unsigned char *data;
  size_t len;
};

static bool
pb_varint (const unsigned char **p, const unsigned char *end, uint64_t *v)
{
  *v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7)
    {
      unsigned char b = *(*p)++;
      *v |= (uint64_t) (b & 0x7f) << shift;
      if (!(b & 0x80))
        return true;
    }
  return false;
}

/* The next field of [*p, end); false at the end or on malformed input. */
static bool
pb_next (const unsigned char **p, const unsigned char *end, struct pb_field *f)
{
  uint64_t key, v;
  if (*p >= end || !pb_varint (p, end, &key))
    return false;
  f->number = key >> 3;
  f->wire = (int) (key & 7);
  f->data = NULL;
  f->len = 0;
  switch (f->wire)
    {
    case 0:
      return pb_varint (p, end, &v);
    case 1:
      if (end - *p < 8)
        return false;
      *p += 8;
      return true;
    case 5:
      if (end - *p < 4)
        return false;
      *p += 4;
      return true;
    case 2:
      if (!pb_varint (p, end, &v) || v > (uint64_t) (end - *p))
        return false;
      f->data = *p;
      f->len = (size_t) v;
      *p += v;
      return true;
    default:
      return false;
    }
}

static json_t *
pb_string (const struct pb_field *f)
{
  return json_stringn ((const char *) f->data, f->len);
}

json_t *
request_decode_protobuf (const char *body, size_t len, char **message)
{
  *message = NULL;
  const unsigned char *p = (const unsigned char *) body, *end = p + len;
  if (len < 4 || memcmp (p, "k8s", 4) != 0)
    {
      *message = xstrdup ("provided input did not contain the Kubernetes protobuf prefix");
      return NULL;
    }
  p += 4;
  json_t *obj = json_object (), *meta = json_object ();
  json_object_set_new (obj, "metadata", meta);
  struct pb_field f, g, h, e;
  bool ok = true;
  while (ok && p < end)
    {
      if (!(ok = pb_next (&p, end, &f)) || f.wire != 2)
        continue;
      const unsigned char *q = f.data, *qe = f.data + f.len;
      if (f.number == 1) /* typeMeta */
        while (q < qe && (ok = pb_next (&q, qe, &g)))
          {
            if (g.wire == 2 && (g.number == 1 || g.number == 2))
              json_object_set_new (obj, g.number == 1 ? "apiVersion" : "kind", pb_string (&g));
          }
      else if (f.number == 2) /* raw: the object; its field 1 is metadata */
        while (q < qe && (ok = pb_next (&q, qe, &g)))
          {
            if (g.number != 1 || g.wire != 2)
              continue;
            const unsigned char *r = g.data, *re = g.data + g.len;
            while (r < re && (ok = pb_next (&r, re, &h)))
              {
                if (h.wire != 2)
                  continue;
                if (h.number == 1)
                  json_object_set_new (meta, "name", pb_string (&h));
                else if (h.number == 11) /* labels: map entries (1 key, 2 value) */
                  {
                    const unsigned char *m = h.data, *me = h.data + h.len;
                    json_t *k = NULL, *v = NULL;
                    while (m < me && (ok = pb_next (&m, me, &e)))
                      if (e.wire == 2 && (e.number == 1 || e.number == 2))
                        {
                          json_t **slot = e.number == 1 ? &k : &v;
                          json_decref (*slot);
                          *slot = pb_string (&e);
                        }
                    if (k && json_string_value (k))
                      {
                        json_t *labels = json_object_get (meta, "labels");
                        if (labels == NULL)
                          json_object_set_new (meta, "labels", labels = json_object ());
                        json_object_set_new (labels, json_string_value (k), v ? json_incref (v) : json_string (""));
                      }
                    json_decref (k);
                    json_decref (v);
                  }
              }
          }
    }
  if (!ok || json_string_value (json_object_get (obj, "kind")) == NULL)
    {
      json_decref (obj);
      *message = xstrdup ("unable to decode the protobuf body");
      return NULL;
    }
  return obj;
}

/* ---- selectors --------------------------------------------------------- */

enum op { OP_EQ, OP_NE, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOT_EXISTS };

struct requirement {
  char *key;
  enum op op;
  char **values;
  size_t n_values;
};

struct selector {
  enum selector_kind kind;
  struct requirement *reqs;
  size_t n_reqs;
};

void
selector_free (struct selector *sel)
{
  if (sel == NULL)
    return;
  for (size_t i = 0; i < sel->n_reqs; i++)
    {
      free (sel->reqs[i].key);
      for (size_t j = 0; j < sel->reqs[i].n_values; j++)
        free (sel->reqs[i].values[j]);
      free (sel->reqs[i].values);
    }
  free (sel->reqs);
  free (sel);
}

static void
skip_ws (const char **p)
{
  while (**p == ' ' || **p == '\t')
    (*p)++;
}

/* A key or value: what labels.Parse's lexer reads as an identifier. */
static char *
ident (const char **p)
{
  const char *s = *p;
  while (**p && !strchr (" \t,=!()", **p))
    (*p)++;
  return *p > s ? xstrndup (s, (size_t) (*p - s)) : NULL;
}

static bool
word (const char **p, const char *w)
{
  size_t n = strlen (w);
  if (strncmp (*p, w, n) == 0 && ((*p)[n] == ' ' || (*p)[n] == '(' || (*p)[n] == '\t'))
    {
      *p += n;
      return true;
    }
  return false;
}

static bool
parse_requirement (enum selector_kind kind, const char **p, struct requirement *r)
{
  skip_ws (p);
  if (**p == '!' && kind == SELECTOR_LABEL)
    {
      (*p)++;
      skip_ws (p);
      r->op = OP_NOT_EXISTS;
      return (r->key = ident (p)) != NULL;
    }
  if ((r->key = ident (p)) == NULL)
    return false;
  skip_ws (p);
  if (**p == '\0' || **p == ',')
    {
      r->op = OP_EXISTS;
      return kind == SELECTOR_LABEL;
    }
  if (strncmp (*p, "==", 2) == 0)
    *p += 2, r->op = OP_EQ;
  else if (strncmp (*p, "!=", 2) == 0)
    *p += 2, r->op = OP_NE;
  else if (**p == '=')
    *p += 1, r->op = OP_EQ;
  else if (kind == SELECTOR_LABEL && word (p, "in"))
    r->op = OP_IN;
  else if (kind == SELECTOR_LABEL && word (p, "notin"))
    r->op = OP_NOTIN;
  else
    return false;
  skip_ws (p);
  if (r->op == OP_IN || r->op == OP_NOTIN)
    {
      if (**p != '(')
        return false;
      (*p)++;
      for (;;)
        {
          skip_ws (p);
          char *v = ident (p);
          *VEC_PUSH (r->values, r->n_values) = v ? v : xstrdup ("");
          skip_ws (p);
          if (**p == ',')
            {
              (*p)++;
              continue;
            }
          if (**p == ')')
            {
              (*p)++;
              return true;
            }
          return false;
        }
    }
  char *v = ident (p);
  *VEC_PUSH (r->values, r->n_values) = v ? v : xstrdup ("");
  return true;
}

struct selector *
selector_parse (enum selector_kind kind, const char *s, char **message)
{
  *message = NULL;
  struct selector *sel = xcalloc (1, sizeof *sel);
  sel->kind = kind;
  if (s == NULL)
    return sel;
  const char *p = s;
  skip_ws (&p);
  if (*p == '\0')
    return sel;
  for (;;)
    {
      struct requirement *r = VEC_PUSH (sel->reqs, sel->n_reqs);
      if (!parse_requirement (kind, &p, r))
        break;
      skip_ws (&p);
      if (*p == '\0')
        return sel;
      if (*p != ',')
        break;
      p++;
    }
  *message = xasprintf ("unable to parse requirement: found '%s', expected: ',', '=', '==', '!=', 'in', 'notin'",
                        *p ? p : "");
  selector_free (sel);
  return NULL;
}

static const char *
field_value (const json_t *obj, const char *path)
{
  char key[128];
  const json_t *o = obj;
  while (o && *path)
    {
      size_t n = strcspn (path, ".");
      if (n >= sizeof key)
        return NULL;
      memcpy (key, path, n);
      key[n] = '\0';
      o = json_object_get (o, key);
      path += n + (path[n] == '.');
    }
  return json_string_value (o);
}

bool
selector_matches (const struct selector *sel, const json_t *obj)
{
  const json_t *labels = json_object_get (json_object_get (obj, "metadata"), "labels");
  for (size_t i = 0; i < sel->n_reqs; i++)
    {
      const struct requirement *r = &sel->reqs[i];
      const char *v = sel->kind == SELECTOR_LABEL ? json_string_value (json_object_get (labels, r->key))
                                                  : field_value (obj, r->key);
      /* A field that is not set compares as "" (fields.Set). */
      if (sel->kind == SELECTOR_FIELD && v == NULL)
        v = "";
      bool in = false;
      for (size_t j = 0; v && j < r->n_values; j++)
        in |= strcmp (v, r->values[j]) == 0;
      bool ok;
      switch (r->op)
        {
        case OP_EQ:
        case OP_IN:
          ok = in;
          break;
        case OP_NE:
        case OP_NOTIN:
          ok = !in;
          break;
        case OP_EXISTS:
          ok = v != NULL;
          break;
        default:
          ok = v == NULL;
          break;
        }
      if (!ok)
        return false;
    }
  return true;
}

/* ---- patches ------------------------------------------------------------ */

void
request_merge_patch (json_t *target, const json_t *patch)
{
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe ((json_t *) patch, tmp, k, v)
    {
      if (k[0] == '$' || str_has_prefix (k, "$setElementOrder/"))
        continue;
      if (json_is_null (v))
        json_object_del (target, k);
      else if (json_is_object (v))
        {
          json_t *t = json_object_get (target, k);
          if (!json_is_object (t))
            {
              t = json_object ();
              json_object_set_new (target, k, t);
            }
          request_merge_patch (t, v);
        }
      else
        json_object_set_new (target, k, json_deep_copy (v));
    }
}
