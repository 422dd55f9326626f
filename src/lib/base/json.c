/* jansson helpers (see json.h). */
#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

json_t *
json_ip (uint32_t ip)
{
  char b[IP_STRLEN];
  return json_string (ip_fmt (ip, b));
}

json_t *
json_cidr (struct cidr c)
{
  char b[CIDR_STRLEN];
  return json_string (cidr_fmt (c, b));
}

json_t *
json_mac (const uint8_t mac[6])
{
  char b[MAC_STRLEN];
  return json_string (mac_fmt (mac, b));
}

json_t *
json_str_or_null (const char *s)
{
  return s ? json_string (s) : json_null ();
}

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

char *
json_text (const json_t *j, size_t flags, size_t *len)
{
  struct strbuf sb;
  sb_init (&sb);
  if (json_dump_callback (j, append_text, &sb, flags) < 0)
    {
      sb_free (&sb);
      return NULL;
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

