/* jansson helpers (see json.h). */
#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void
jr_at (struct json_reader *r, const char *key, size_t i)
{
  if (key == NULL)
    r->where[0] = '\0';
  else
    snprintf (r->where, sizeof r->where, "%s[%zu]", key, i);
}

int
jr_bad (struct json_reader *r, const char *key, const char *what)
{
  return nslab_error (r->err, 0, "%s%s%s: %s", r->where, *r->where ? "." : "", key, what);
}

int
jr_str (struct json_reader *r, const json_t *o, const char *key, bool nullable, char **out)
{
  const json_t *v = json_object_get (o, key);
  *out = NULL;
  if (nullable && (v == NULL || json_is_null (v)))
    return 0;
  if (!json_is_string (v))
    return jr_bad (r, key, "missing or not a string");
  *out = xstrdup (json_string_value (v));
  return 0;
}

int
jr_uint (struct json_reader *r, const json_t *o, const char *key, uint32_t max, uint32_t *out)
{
  const json_t *v = json_object_get (o, key);
  if (!json_is_integer (v) || json_integer_value (v) < 0 || json_integer_value (v) > (json_int_t) max)
    return jr_bad (r, key, "missing or not a number in range");
  *out = (uint32_t) json_integer_value (v);
  return 0;
}

int
jr_u16 (struct json_reader *r, const json_t *o, const char *key, uint16_t *out)
{
  uint32_t v;
  if (jr_uint (r, o, key, UINT16_MAX, &v) < 0)
    return -1;
  *out = (uint16_t) v;
  return 0;
}

int
jr_bool (struct json_reader *r, const json_t *o, const char *key, bool *out)
{
  const json_t *v = json_object_get (o, key);
  if (!json_is_boolean (v))
    return jr_bad (r, key, "missing or not a boolean");
  *out = json_is_true (v);
  return 0;
}

int
jr_ip (struct json_reader *r, const json_t *o, const char *key, uint32_t *out)
{
  const char *s = json_string_value (json_object_get (o, key));
  if (s == NULL || !ip_parse (s, out))
    return jr_bad (r, key, "missing or not an IPv4 address");
  return 0;
}

int
jr_ip_or_null (struct json_reader *r, const json_t *o, const char *key, uint32_t *out)
{
  const json_t *v = json_object_get (o, key);
  *out = 0;
  if (v == NULL || json_is_null (v))
    return 0;
  return jr_ip (r, o, key, out);
}

int
jr_cidr (struct json_reader *r, const json_t *o, const char *key, struct cidr *out)
{
  const char *s = json_string_value (json_object_get (o, key));
  if (s == NULL || !cidr_parse (s, out, false))
    return jr_bad (r, key, "missing or not an IPv4 CIDR");
  return 0;
}

int
jr_mac (struct json_reader *r, const json_t *o, const char *key, uint8_t mac[6])
{
  const char *s = json_string_value (json_object_get (o, key));
  if (s == NULL || !mac_parse (s, mac))
    return jr_bad (r, key, "missing or not a MAC address");
  return 0;
}

int
jr_enum (struct json_reader *r, const json_t *o, const char *key, const char *const *names, size_t n, int *out)
{
  const char *s = json_string_value (json_object_get (o, key));
  for (size_t i = 0; s && i < n; i++)
    if (names[i] && strcmp (names[i], s) == 0)
      {
        *out = (int) i;
        return 0;
      }
  return jr_bad (r, key, "missing or not a known value");
}

int
jr_strv (struct json_reader *r, const json_t *o, const char *key, bool nullable, char ***out)
{
  const json_t *a = json_object_get (o, key);
  *out = NULL;
  if (nullable && (a == NULL || json_is_null (a)))
    return 0;
  if (!json_is_array (a))
    return jr_bad (r, key, "missing or not an array of strings");
  size_t n = json_array_size (a);
  char **v = xcalloc (n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    {
      const char *s = json_string_value (json_array_get (a, i));
      if (s == NULL)
        {
          for (size_t k = 0; k < i; k++)
            free (v[k]);
          free (v);
          return jr_bad (r, key, "missing or not an array of strings");
        }
      v[i] = xstrdup (s);
    }
  *out = v;
  return 0;
}

const json_t *
jr_array (struct json_reader *r, const json_t *o, const char *key)
{
  const json_t *a = json_object_get (o, key);
  if (!json_is_array (a))
    {
      jr_bad (r, key, "missing or not an array");
      return NULL;
    }
  return a;
}

const json_t *
jr_object (struct json_reader *r, const json_t *o, const char *key)
{
  const json_t *a = json_object_get (o, key);
  if (!json_is_object (a))
    {
      jr_bad (r, key, "missing or not an object");
      return NULL;
    }
  return a;
}

const json_t *
json_at (const json_t *o, const char *path)
{
  char key[128];
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
  return o;
}

static int
append_text (const char *buf, size_t size, void *data)
{
  sb_addn (data, buf, size);
  return 0;
}

/* ---- compact text, written directly ---- */

/* The length of the UTF-8 sequence at S (N bytes left) as jansson accepts
 * it (utf8_check_first and utf8_check_full: no overlong form, surrogate
 * or code point past U+10FFFF), 0 when it is not one. */
static size_t
utf8_seq (const unsigned char *s, size_t n)
{
  size_t len;
  uint32_t cp;
  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    len = 2, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    len = 3, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    len = 4, cp = s[0] & 0x07;
  else
    return 0;
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i] & 0x3f);
    }
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
    return 0;
  return len;
}

/* S as a JSON string, escaped as jansson's dump_string escapes it without
 * JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH; -1 on invalid UTF-8. */
static int
write_string (struct strbuf *sb, const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *) str;
  sb_addn (sb, "\"", 1);
  size_t run = 0; /* the bytes before s[i] not written yet */
  for (size_t i = 0; i < n;)
    {
      unsigned char c = s[i];
      /* Plain ASCII, nearly all of nslab's text: no sequence to check. */
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\')
        {
          i++;
          run++;
          continue;
        }
      if (c >= 0x80)
        {
          size_t k = utf8_seq (s + i, n - i);
          if (k == 0)
            return -1;
          i += k;
          run += k;
          continue;
        }
      sb_addn (sb, (const char *) s + i - run, run);
      run = 0;
      char esc[8];
      const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                      : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
      if (e == NULL)
        {
          snprintf (esc, sizeof esc, "\\u%04X", c);
          e = esc;
        }
      sb_addn (sb, e, strlen (e));
      i++;
    }
  sb_addn (sb, (const char *) s + n - run, run);
  sb_addn (sb, "\"", 1);
  return 0;
}

/* Deeper than this is not nslab's JSON (or a cycle): jansson decides. */
#define WRITE_MAX_DEPTH 512

static int
write_value (struct strbuf *sb, const json_t *j, size_t flags, int depth)
{
  if (depth > WRITE_MAX_DEPTH)
    return -1;
  switch (json_typeof (j))
    {
    case JSON_OBJECT:
      {
        sb_addn (sb, "{", 1);
        bool first = true;
        for (void *it = json_object_iter ((json_t *) j); it; it = json_object_iter_next ((json_t *) j, it))
          {
            if (!first)
              sb_addn (sb, ",", 1);
            first = false;
            if (write_string (sb, json_object_iter_key (it), json_object_iter_key_len (it)) < 0)
              return -1;
            sb_addn (sb, ":", 1);
            if (write_value (sb, json_object_iter_value (it), flags, depth + 1) < 0)
              return -1;
          }
        sb_addn (sb, "}", 1);
        return 0;
      }
    case JSON_ARRAY:
      sb_addn (sb, "[", 1);
      for (size_t i = 0; i < json_array_size (j); i++)
        {
          if (i > 0)
            sb_addn (sb, ",", 1);
          if (write_value (sb, json_array_get (j, i), flags, depth + 1) < 0)
            return -1;
        }
      sb_addn (sb, "]", 1);
      return 0;
    case JSON_STRING:
      return write_string (sb, json_string_value (j), json_string_length (j));
    case JSON_INTEGER:
      {
        char b[32];
        int n = snprintf (b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value (j));
        sb_addn (sb, b, (size_t) n);
        return 0;
      }
    case JSON_REAL:
      /* jansson's own (its precision and its ".0") */
      return json_dump_callback (j, append_text, sb, flags | JSON_ENCODE_ANY);
    case JSON_TRUE:
      sb_addn (sb, "true", 4);
      return 0;
    case JSON_FALSE:
      sb_addn (sb, "false", 5);
      return 0;
    case JSON_NULL:
      sb_addn (sb, "null", 4);
      return 0;
    }
  return -1;
}

char *
json_text (const json_t *j, size_t flags, size_t *len)
{
  struct strbuf sb;
  sb_init (&sb);
  /* Compact text, the snapshot's, the store's and the API's answers, is
   * written here: jansson's dump walks each string a code point at a time
   * and hands each piece to a callback, a third of what a large answer or
   * snapshot costs. Anything else (indented, sorted keys, ASCII only), and
   * anything this refuses (invalid UTF-8, depth), is jansson's. */
  bool fast = j != NULL && (flags & JSON_COMPACT) && !(flags & ~(size_t) (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY))
              && ((flags & JSON_ENCODE_ANY) || json_is_object (j) || json_is_array (j));
  if (!fast || write_value (&sb, j, flags, 0) < 0)
    {
      sb.len = 0;
      if (json_dump_callback (j, append_text, &sb, flags) < 0)
        {
          sb_free (&sb);
          return NULL;
        }
    }
  *len = sb.len;
  return sb_steal (&sb);
}

char *
json_compact (json_t *j)
{
  char *s = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (j);
  if (s == NULL)
    abort ();
  return s;
}

/* ---- one object's members, as a tree or as text ---- */

/* Text mode: the separator and the key; the length to go back to if the
 * value turns out not to be writable. */
static bool
jo_key (struct json_out *o, const char *key, size_t *at)
{
  *at = o->sb->len;
  if (o->any)
    sb_addn (o->sb, ",", 1);
  if (key)
    {
      /* a key jansson refuses (not UTF-8): no member */
      if (write_string (o->sb, key, strlen (key)) < 0)
        {
          o->sb->len = *at;
          o->failed |= o->strict;
          return false;
        }
      sb_addn (o->sb, ":", 1);
    }
  return true;
}

/* Tree mode: V (taken) as KEY of O's object, or appended to its array;
 * V NULL is what jansson refused. */
static void
jo_tree_put (struct json_out *o, const char *key, json_t *v)
{
  if (v == NULL)
    o->failed |= o->strict;
  else if (key)
    {
      if (json_object_set_new (o->obj, key, v) < 0)
        o->failed |= o->strict;
    }
  else
    json_array_append_new (o->obj, v);
}

static void
jo_open (struct json_out *o, const char *key, bool array, bool strict, struct json_out *sub)
{
  *sub = (struct json_out) { .parent = o, .key = key, .array = array, .strict = strict };
  if (o->obj)
    {
      sub->obj = array ? json_array () : json_object ();
      return;
    }
  sub->sb = o->sb;
  /* under a refused key: written, then taken back by jo_close */
  if (!jo_key (o, key, &sub->at))
    sub->failed = true;
  sb_addn (o->sb, array ? "[" : "{", 1);
}

void
jo_open_object (struct json_out *o, const char *key, bool strict, struct json_out *sub)
{
  jo_open (o, key, false, strict, sub);
}

void
jo_open_array (struct json_out *o, const char *key, struct json_out *sub)
{
  jo_open (o, key, true, false, sub);
}

void
jo_close (struct json_out *sub)
{
  struct json_out *o = sub->parent;
  if (o->obj)
    {
      if (sub->failed)
        json_decref (sub->obj);
      jo_tree_put (o, sub->key, sub->failed ? NULL : sub->obj);
      return;
    }
  if (sub->failed)
    {
      o->sb->len = sub->at;
      o->failed |= o->strict;
      return;
    }
  sb_addn (o->sb, sub->array ? "]" : "}", 1);
  o->any = true;
}

void
jo_strv (struct json_out *o, const char *key, char *const *v)
{
  if (v == NULL)
    {
      jo_null (o, key);
      return;
    }
  struct json_out a;
  jo_open_array (o, key, &a);
  for (; *v; v++)
    jo_str (&a, NULL, *v);
  jo_close (&a);
}

void
jo_set (struct json_out *o, const char *key, json_t *v)
{
  if (v == NULL)
    {
      o->failed |= o->strict;
      return;
    }
  if (o->obj)
    {
      jo_tree_put (o, key, v);
      return;
    }
  /* Written in place, as json_text writes it; what the writer refuses goes
   * to json_text, which leaves it to jansson (nothing when jansson refuses
   * it too, as json_object_set_new would keep nothing). */
  size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
  size_t at;
  if (!jo_key (o, key, &at))
    ;
  else if (write_value (o->sb, v, flags, 0) == 0)
    o->any = true;
  else
    {
      o->sb->len = at;
      size_t len = 0;
      char *text = json_text (v, flags, &len);
      if (text && jo_key (o, key, &at))
        {
          sb_addn (o->sb, text, len);
          o->any = true;
        }
      free (text);
    }
  json_decref (v);
}

void
jo_str (struct json_out *o, const char *key, const char *s)
{
  if (s == NULL)
    {
      o->failed |= o->strict;
      return;
    }
  if (o->obj)
    {
      jo_tree_put (o, key, json_string (s));
      return;
    }
  size_t at;
  if (!jo_key (o, key, &at))
    return;
  if (write_string (o->sb, s, strlen (s)) < 0)
    {
      o->sb->len = at; /* json_string refuses it: no member */
      o->failed |= o->strict;
    }
  else
    o->any = true;
}

void
jo_str_or_null (struct json_out *o, const char *key, const char *s)
{
  if (s)
    jo_str (o, key, s);
  else
    jo_null (o, key);
}

/* Text mode: KEY with the literal TEXT as its value. */
static void
jo_literal (struct json_out *o, const char *key, const char *text, size_t n)
{
  size_t at;
  if (!jo_key (o, key, &at))
    return;
  sb_addn (o->sb, text, n);
  o->any = true;
}

void
jo_int (struct json_out *o, const char *key, json_int_t v)
{
  if (o->obj)
    {
      jo_tree_put (o, key, json_integer (v));
      return;
    }
  char b[32];
  int n = snprintf (b, sizeof b, "%" JSON_INTEGER_FORMAT, v);
  jo_literal (o, key, b, (size_t) n);
}

void
jo_bool (struct json_out *o, const char *key, bool v)
{
  if (o->obj)
    jo_tree_put (o, key, json_boolean (v));
  else
    jo_literal (o, key, v ? "true" : "false", v ? 4 : 5);
}

void
jo_null (struct json_out *o, const char *key)
{
  if (o->obj)
    jo_tree_put (o, key, json_null ());
  else
    jo_literal (o, key, "null", 4);
}

void
jo_ip (struct json_out *o, const char *key, uint32_t ip)
{
  char b[IP_STRLEN];
  jo_str (o, key, ip_fmt (ip, b));
}

void
jo_cidr (struct json_out *o, const char *key, struct cidr c)
{
  char b[CIDR_STRLEN];
  jo_str (o, key, cidr_fmt (c, b));
}

void
jo_mac (struct json_out *o, const char *key, const uint8_t mac[6])
{
  char b[MAC_STRLEN];
  jo_str (o, key, mac_fmt (mac, b));
}

void
jo_ip_or_null (struct json_out *o, const char *key, uint32_t ip)
{
  if (ip)
    jo_ip (o, key, ip);
  else
    jo_null (o, key);
}

void
jo_mac_or_null (struct json_out *o, const char *key, const uint8_t *mac)
{
  if (mac)
    jo_mac (o, key, mac);
  else
    jo_null (o, key);
}
