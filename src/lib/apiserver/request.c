/* Request bodies and selectors (see request.h). */
#include "apiserver/request.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
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

/* The fields of the kinds a lab's API creates, by their numbers in
 * Kubernetes' generated.proto (k8s.io/api core/v1, apps/v1; apimachinery
 * meta/v1): enough of each object to make it; every other field is
 * skipped, as an old decoder skips unknown ones. */
enum pb_type { PB_STRING, PB_INT, PB_MAP, PB_MSG, PB_STRINGS, PB_MSGS, PB_INT_OR_STRING };

struct pb_desc;
struct pb_fdesc {
  unsigned number;
  const char *json;
  enum pb_type type;
  const struct pb_desc *msg;
};
struct pb_desc {
  struct pb_fdesc f[8];
};

static const struct pb_desc pb_object_meta = { { { 1, "name", PB_STRING, NULL }, { 2, "generateName", PB_STRING, NULL },
                                                 { 3, "namespace", PB_STRING, NULL }, { 11, "labels", PB_MAP, NULL },
                                                 { 12, "annotations", PB_MAP, NULL } } };
static const struct pb_desc pb_container_port = { { { 1, "name", PB_STRING, NULL },
                                                    { 3, "containerPort", PB_INT, NULL },
                                                    { 4, "protocol", PB_STRING, NULL } } };
static const struct pb_desc pb_container = { { { 1, "name", PB_STRING, NULL }, { 2, "image", PB_STRING, NULL },
                                               { 3, "command", PB_STRINGS, NULL }, { 4, "args", PB_STRINGS, NULL },
                                               { 6, "ports", PB_MSGS, &pb_container_port } } };
static const struct pb_desc pb_pod_spec = { { { 2, "containers", PB_MSGS, &pb_container } } };
static const struct pb_desc pb_pod_template = { { { 1, "metadata", PB_MSG, &pb_object_meta },
                                                  { 2, "spec", PB_MSG, &pb_pod_spec } } };
static const struct pb_desc pb_label_selector = { { { 1, "matchLabels", PB_MAP, NULL } } };
static const struct pb_desc pb_deployment_spec = { { { 1, "replicas", PB_INT, NULL },
                                                     { 2, "selector", PB_MSG, &pb_label_selector },
                                                     { 3, "template", PB_MSG, &pb_pod_template } } };
static const struct pb_desc pb_service_port = { { { 1, "name", PB_STRING, NULL }, { 2, "protocol", PB_STRING, NULL },
                                                  { 3, "port", PB_INT, NULL }, { 4, "targetPort", PB_INT_OR_STRING, NULL },
                                                  { 5, "nodePort", PB_INT, NULL } } };
static const struct pb_desc pb_service_spec = { { { 1, "ports", PB_MSGS, &pb_service_port },
                                                  { 2, "selector", PB_MAP, NULL }, { 3, "clusterIP", PB_STRING, NULL },
                                                  { 4, "type", PB_STRING, NULL } } };
static const struct pb_desc pb_deployment = { { { 1, "metadata", PB_MSG, &pb_object_meta },
                                                { 2, "spec", PB_MSG, &pb_deployment_spec } } };
static const struct pb_desc pb_pod = { { { 1, "metadata", PB_MSG, &pb_object_meta }, { 2, "spec", PB_MSG, &pb_pod_spec } } };
static const struct pb_desc pb_service = { { { 1, "metadata", PB_MSG, &pb_object_meta },
                                             { 2, "spec", PB_MSG, &pb_service_spec } } };
static const struct pb_desc pb_namespace = { { { 1, "metadata", PB_MSG, &pb_object_meta } } };
static const struct pb_desc pb_type_meta = { { { 1, "apiVersion", PB_STRING, NULL }, { 2, "kind", PB_STRING, NULL } } };

static json_t *
pb_string (const struct pb_field *f)
{
  return json_stringn ((const char *) f->data, f->len);
}

/* Nesting deeper than the kinds above go is malformed input. */
#define PB_MAX_DEPTH 8

static bool pb_decode (const unsigned char *p, const unsigned char *end, const struct pb_desc *d, json_t *out,
                       int depth);

/* A map entry (1 key, 2 value), or an IntOrString (1 type, 2 intVal, 3 strVal). */
static bool
pb_pair (const struct pb_field *f, json_t **k, json_t **v, uint64_t *num)
{
  const unsigned char *p = f->data, *end = f->data + f->len;
  struct pb_field e;
  while (p < end)
    {
      const unsigned char *start = p;
      if (!pb_next (&p, end, &e))
        return false;
      if (e.wire == 0 && num && (e.number == 1 || e.number == 2))
        {
          uint64_t val;
          if (!pb_varint (&start, end, &val) || !pb_varint (&start, end, &val))
            return false;
          num[e.number - 1] = val;
        }
      else if (e.wire == 2 && (e.number == 1 || e.number == 2 || e.number == 3))
        {
          json_t **slot = e.number == 1 ? k : v;
          json_decref (*slot);
          *slot = pb_string (&e);
        }
    }
  return true;
}

static bool
pb_decode (const unsigned char *p, const unsigned char *end, const struct pb_desc *d, json_t *out, int depth)
{
  if (depth > PB_MAX_DEPTH)
    return false;
  struct pb_field f;
  while (p < end)
    {
      const unsigned char *start = p;
      if (!pb_next (&p, end, &f))
        return false;
      const struct pb_fdesc *fd = NULL;
      for (size_t i = 0; i < ARRAY_SIZE (d->f) && d->f[i].json; i++)
        if (d->f[i].number == f.number)
          fd = &d->f[i];
      if (fd == NULL)
        continue;
      if (fd->type == PB_INT)
        {
          uint64_t v;
          if (f.wire != 0 || !pb_varint (&start, end, &v) || !pb_varint (&start, end, &v))
            return false;
          json_object_set_new (out, fd->json, json_integer ((json_int_t) (int32_t) v));
          continue;
        }
      if (f.wire != 2)
        return false;
      switch (fd->type)
        {
        case PB_STRING:
          json_object_set_new (out, fd->json, pb_string (&f));
          break;
        case PB_STRINGS:
        case PB_MSGS:
          {
            json_t *arr = json_object_get (out, fd->json);
            if (!json_is_array (arr))
              json_object_set_new (out, fd->json, arr = json_array ());
            if (fd->type == PB_STRINGS)
              json_array_append_new (arr, pb_string (&f));
            else
              {
                json_t *m = json_object ();
                json_array_append_new (arr, m);
                if (!pb_decode (f.data, f.data + f.len, fd->msg, m, depth + 1))
                  return false;
              }
            break;
          }
        case PB_MSG:
          {
            json_t *m = json_object_get (out, fd->json);
            if (!json_is_object (m))
              json_object_set_new (out, fd->json, m = json_object ());
            if (!pb_decode (f.data, f.data + f.len, fd->msg, m, depth + 1))
              return false;
            break;
          }
        case PB_MAP:
          {
            json_t *k = NULL, *v = NULL, *map = json_object_get (out, fd->json);
            bool ok = pb_pair (&f, &k, &v, NULL);
            if (ok && json_string_value (k))
              {
                if (!json_is_object (map))
                  json_object_set_new (out, fd->json, map = json_object ());
                json_object_set_new (map, json_string_value (k), v ? json_incref (v) : json_string (""));
              }
            json_decref (k);
            json_decref (v);
            if (!ok)
              return false;
            break;
          }
        case PB_INT_OR_STRING:
          {
            json_t *k = NULL, *sv = NULL;
            uint64_t num[2] = { 0, 0 };
            bool ok = pb_pair (&f, &k, &sv, num);
            json_decref (k);
            if (ok)
              json_object_set_new (out, fd->json,
                                   num[0] == 1 ? (sv ? json_incref (sv) : json_string ("")) : json_integer ((int32_t) num[1]));
            json_decref (sv);
            if (!ok)
              return false;
            break;
          }
        default:
          break;
        }
    }
  return true;
}

json_t *
request_decode_protobuf (const char *body, size_t len, char **message)
{
  static const struct
  {
    const char *kind;
    const struct pb_desc *desc;
  } kinds[] = { { "Namespace", &pb_namespace }, { "Deployment", &pb_deployment }, { "Pod", &pb_pod },
                { "Service", &pb_service } };
  *message = NULL;
  const unsigned char *p = (const unsigned char *) body, *end = p + len;
  if (len < 4 || memcmp (p, "k8s", 4) != 0)
    {
      *message = xstrdup ("provided input did not contain the Kubernetes protobuf prefix");
      return NULL;
    }
  p += 4;
  /* runtime.Unknown: 1 typeMeta, 2 raw (the object), 3 contentEncoding, 4 contentType */
  json_t *obj = json_object ();
  const unsigned char *raw = NULL;
  size_t raw_len = 0;
  struct pb_field f;
  bool ok = true;
  while (ok && p < end)
    {
      if (!(ok = pb_next (&p, end, &f)) || f.wire != 2)
        continue;
      if (f.number == 1)
        ok = pb_decode (f.data, f.data + f.len, &pb_type_meta, obj, 0);
      else if (f.number == 2)
        raw = f.data, raw_len = f.len;
    }
  const char *kind = json_string_value (json_object_get (obj, "kind"));
  const struct pb_desc *d = NULL;
  for (size_t i = 0; ok && kind && i < ARRAY_SIZE (kinds); i++)
    if (strcmp (kinds[i].kind, kind) == 0)
      d = kinds[i].desc;
  if (ok && d && raw)
    ok = pb_decode (raw, raw + raw_len, d, obj, 0);
  if (!ok || d == NULL)
    {
      *message = ok && kind ? xasprintf ("the lab's API reads %s from protobuf as no kind it creates", kind)
                            : xstrdup ("unable to decode the protobuf body");
      json_decref (obj);
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
  return json_string_value (json_at (obj, path));
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

static void merge_patch (json_t *target, const json_t *patch, bool strategic);

/* The lists a strategic merge patch merges by their elements' name
 * (patchMergeKey "name" in the core/v1 types a pod template has). */
static bool
merged_by_name (const char *key)
{
  static const char *const keys[] = { "containers", "initContainers", "env", "volumes", "imagePullSecrets" };
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    if (strcmp (key, keys[i]) == 0)
      return true;
  return false;
}

/* TARGET's elements patched by PATCH's of the same name, PATCH's new ones
 * appended, `$patch: delete` ones removed (strategicpatch's mergeSlice). */
static void
merge_list_by_name (json_t *target, const json_t *patch)
{
  size_t i;
  json_t *pe;
  json_array_foreach (patch, i, pe)
    {
      const char *name = json_string_value (json_object_get (pe, "name"));
      if (name == NULL)
        continue;
      const char *directive = json_string_value (json_object_get (pe, "$patch"));
      size_t at = json_array_size (target);
      for (size_t k = 0; k < json_array_size (target); k++)
        {
          const char *tn = json_string_value (json_object_get (json_array_get (target, k), "name"));
          if (tn && strcmp (tn, name) == 0)
            at = k;
        }
      if (directive && strcmp (directive, "delete") == 0)
        {
          if (at < json_array_size (target))
            json_array_remove (target, at);
          continue;
        }
      if (at == json_array_size (target))
        json_array_append_new (target, json_object ());
      merge_patch (json_array_get (target, at), pe, true);
    }
}

static void
merge_patch (json_t *target, const json_t *patch, bool strategic)
{
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe ((json_t *) patch, tmp, k, v)
    {
      if (k[0] == '$' || str_has_prefix (k, "$setElementOrder/"))
        continue;
      json_t *t = json_object_get (target, k);
      if (json_is_null (v))
        json_object_del (target, k);
      else if (json_is_object (v))
        {
          if (!json_is_object (t))
            {
              t = json_object ();
              json_object_set_new (target, k, t);
            }
          merge_patch (t, v, strategic);
        }
      else if (strategic && json_is_array (v) && json_is_array (t) && merged_by_name (k))
        merge_list_by_name (t, v);
      else
        json_object_set_new (target, k, json_deep_copy (v));
    }
}

void
request_merge_patch (json_t *target, const json_t *patch)
{
  merge_patch (target, patch, false);
}

void
request_strategic_merge_patch (json_t *target, const json_t *patch)
{
  merge_patch (target, patch, true);
}

/* RFC 6901: the next reference token of *P (after its '/'), unescaped. */
static char *
pointer_token (const char **p)
{
  const char *s = *p + 1, *e = strchr (s, '/');
  size_t n = e ? (size_t) (e - s) : strlen (s);
  char *t = xcalloc (n + 1, 1), *o = t;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '~' && i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1'))
      *o++ = s[++i] == '0' ? '~' : '/';
    else
      *o++ = s[i];
  *p = s + n;
  return t;
}

static bool
array_index (const char *tok, size_t size, bool append_ok, size_t *out)
{
  if (append_ok && strcmp (tok, "-") == 0)
    {
      *out = size;
      return true;
    }
  char *end = NULL;
  unsigned long v = strtoul (tok, &end, 10);
  if (*tok == '\0' || *end || (tok[0] == '0' && tok[1]) || v > size || (!append_ok && v == size))
    return false;
  *out = v;
  return true;
}

int
request_json_patch (json_t *target, const json_t *ops, char **message)
{
  if (!json_is_array (ops))
    {
      *message = xstrdup ("the JSON patch is not an array of operations");
      return -1;
    }
  size_t i;
  json_t *op;
  json_array_foreach (ops, i, op)
    {
      const char *name = json_string_value (json_object_get (op, "op"));
      const char *path = json_string_value (json_object_get (op, "path"));
      json_t *value = json_object_get (op, "value");
      bool add = name && strcmp (name, "add") == 0, replace = name && strcmp (name, "replace") == 0,
           remove = name && strcmp (name, "remove") == 0;
      if (!add && !replace && !remove)
        {
          *message = xasprintf ("Unexpected kind: %s", name ? name : "");
          return -1;
        }
      if (path == NULL || (path[0] != '/' && path[0] != '\0') || (!remove && value == NULL))
        {
          *message = xstrdup ("the JSON patch operation has no valid path or value");
          return -1;
        }
      /* the parent of the path's last token */
      json_t *parent = NULL, *cur = target;
      char *last = NULL;
      const char *p = path;
      bool ok = *p != '\0';
      while (ok && *p)
        {
          free (last);
          last = pointer_token (&p);
          if (*p == '\0')
            break;
          parent = cur;
          size_t at;
          if (json_is_object (cur))
            cur = json_object_get (cur, last);
          else if (json_is_array (cur) && array_index (last, json_array_size (cur), false, &at))
            cur = json_array_get (cur, at);
          else
            cur = NULL;
          ok = cur != NULL;
        }
      parent = cur;
      size_t at = 0;
      if (ok && json_is_object (parent))
        {
          ok = add || json_object_get (parent, last) != NULL;
          if (ok && remove)
            json_object_del (parent, last);
          else if (ok)
            json_object_set (parent, last, value);
        }
      else if (ok && json_is_array (parent) && array_index (last, json_array_size (parent), add, &at))
        {
          if (remove)
            json_array_remove (parent, at);
          else if (replace)
            json_array_set (parent, at, value);
          else
            json_array_insert (parent, at, value);
        }
      else
        ok = false;
      if (!ok)
        *message = xasprintf ("jsonpatch %s operation does not apply: doc is missing path: \"%s\"", name, path);
      free (last);
      if (!ok)
        return -1;
    }
  return 0;
}
