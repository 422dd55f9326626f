/* Request bodies and selectors (see request.h). */
#include "apiserver/request.h"

#include <ctype.h>
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
