#include "scenario/keys.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/util.h"

int
key_err (nslab_error_t *err, const struct merged_key *k, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *what = xvasprintf (fmt, ap);
  va_end (ap);
  return nslab_error_invalid (err, "%s: [%s] %s: %s", k->file, k->section, k->name, what);
}

int
section_err (nslab_error_t *err, const struct merged_section *s, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *what = xvasprintf (fmt, ap);
  va_end (ap);
  return nslab_error_invalid (err, "%s: [%s]: %s", s->file, s->name, what);
}

int
key_missing (nslab_error_t *err, const char *main_file, const struct merged_section *s,
             const char *key, const char *why)
{
  if (s == NULL)
    return nslab_error_invalid (err, "%s: [%s] %s: required key is missing%s", main_file,
                                strcmp (key, "name") == 0 ? "lab" : "cluster", key, why);
  return nslab_error_invalid (err, "%s: [%s] %s: required key is missing%s", s->file, s->name,
                              key, why);
}

const struct merged_key *
find_key (const struct merged_section *s, const char *name)
{
  if (s == NULL)
    return NULL;
  for (size_t i = 0; i < s->n_keys; i++)
    if (strcmp (s->keys[i].name, name) == 0)
      return &s->keys[i];
  return NULL;
}

bool
parse_uint (const char *s, uint64_t *out)
{
  if (*s == '\0' || strlen (s) > 10)
    return false;
  uint64_t v = 0;
  for (; *s; s++)
    {
      if (*s < '0' || *s > '9')
        return false;
      v = v * 10 + (uint64_t) (*s - '0');
    }
  *out = v;
  return true;
}

bool
parse_port (const char *s, uint16_t *out)
{
  uint64_t v;
  if (!parse_uint (s, &v) || v < 1 || v > 65535)
    return false;
  *out = (uint16_t) v;
  return true;
}

int
key_uint (nslab_error_t *err, const struct merged_key *k, uint64_t lo, uint64_t hi, uint64_t *out)
{
  uint64_t v;
  if (!parse_uint (k->value, &v))
    return key_err (err, k, "\"%s\" is not an integer", k->value);
  if (v < lo || v > hi)
    return key_err (err, k, "%s is out of range (%llu-%llu)", k->value, (unsigned long long) lo,
                    (unsigned long long) hi);
  *out = v;
  return 0;
}

int
key_port (nslab_error_t *err, const struct merged_key *k, uint16_t *out)
{
  if (!parse_port (k->value, out))
    return key_err (err, k, "\"%s\" is not a port (1-65535)", k->value);
  return 0;
}

int
key_bool (nslab_error_t *err, const struct merged_key *k, bool *out)
{
  const char *v = k->value;
  if (!strcmp (v, "true") || !strcmp (v, "yes") || !strcmp (v, "1"))
    *out = true;
  else if (!strcmp (v, "false") || !strcmp (v, "no") || !strcmp (v, "0"))
    *out = false;
  else
    return key_err (err, k, "\"%s\" is not a boolean (true/false, yes/no, 1/0)", v);
  return 0;
}

int
key_ip (nslab_error_t *err, const struct merged_key *k, const char *text, uint32_t *out)
{
  if (!ip_parse (text, out))
    return key_err (err, k, "\"%s\" is not an IPv4 address", text);
  return 0;
}

int
key_cidr (nslab_error_t *err, const struct merged_key *k, struct cidr *out)
{
  struct cidr any;
  if (!cidr_parse (k->value, &any, false))
    return key_err (err, k, "\"%s\" is not a CIDR (a.b.c.d/len)", k->value);
  if (!cidr_parse (k->value, out, true))
    {
      char buf[CIDR_STRLEN];
      any.addr &= cidr_mask (any.len);
      return key_err (err, k, "%s has host bits set (did you mean %s?)", k->value, cidr_fmt (any, buf));
    }
  return 0;
}

int
key_cidr_list (nslab_error_t *err, const struct merged_key *k, size_t max, const char *what, struct cidr **out,
               size_t *n_out)
{
  cleanup_key_list struct key_list l;
  if (key_list (err, k, NULL, max, what, &l) < 0)
    return -1;
  *out = xcalloc (l.n + 1, sizeof **out);
  *n_out = 0;
  for (size_t i = 0; i < l.n; i++)
    {
      if (!cidr_parse (l.items[i], &(*out)[*n_out], true))
        return key_err (err, k, "\"%s\" is not a CIDR (a.b.c.d/len, no host bits)", l.items[i]);
      (*n_out)++;
    }
  return 0;
}

void
key_list_free (struct key_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    free (l->items[i]);
  free (l->items);
  l->items = NULL;
  l->n = 0;
}

int
key_list (nslab_error_t *err, const struct merged_key *k, const char *if_empty, size_t max,
          const char *what, struct key_list *out)
{
  out->items = NULL;
  out->n = 0;
  cleanup_free char *copy = xstrdup (k->value);
  char *t = str_trim (copy);
  for (char *p = t; *t != '\0';)
    {
      char *comma = strchr (p, ',');
      if (comma)
        *comma = '\0';
      char *item = str_trim (p);
      if (*item == '\0')
        {
          key_list_free (out);
          return key_err (err, k, "empty item in the list");
        }
      *VEC_PUSH (out->items, out->n) = xstrdup (item);
      if (comma == NULL)
        break;
      p = comma + 1;
    }
  int ret = 0;
  if (out->n == 0 && if_empty)
    ret = key_err (err, k, "%s", if_empty);
  else if (max && out->n > max)
    ret = key_err (err, k, "too many %s (at most %zu)", what, max);
  if (ret < 0)
    key_list_free (out);
  return ret;
}

/* Kubernetes "qualified name" part and label value: alphanumeric at both
 * ends, [-_.A-Za-z0-9] inside, at most 63. */
static bool
label_name_valid (const char *s, bool allow_empty)
{
  size_t n = strlen (s);
  if (n == 0)
    return allow_empty;
  if (n > 63 || !isalnum ((unsigned char) s[0]) || !isalnum ((unsigned char) s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return false;
  return true;
}

static bool
label_key_valid (const char *k)
{
  const char *slash = strchr (k, '/');
  if (slash == NULL)
    return label_name_valid (k, false);
  cleanup_free char *prefix = xstrndup (k, (size_t) (slash - k));
  return dns_subdomain_valid (prefix) && label_name_valid (slash + 1, false);
}

int
key_labels (nslab_error_t *err, const struct merged_key *k, struct label **out, size_t *n_out)
{
  cleanup_key_list struct key_list l;
  if (key_list (err, k, NULL, 0, NULL, &l) < 0)
    return -1;
  for (size_t i = 0; i < l.n; i++)
    {
      char *eq = strchr (l.items[i], '=');
      if (eq == NULL)
        return key_err (err, k, "\"%s\" is not KEY=VALUE", l.items[i]);
      *eq = '\0';
      char *key = str_trim (l.items[i]);
      char *val = str_trim (eq + 1);
      if (!label_key_valid (key))
        return key_err (err, k, "\"%s\" is not a valid label key ([prefix/]name, name: at most 63 "
                                "of A-Z a-z 0-9 - _ ., alphanumeric at both ends)", key);
      if (!label_name_valid (val, true))
        return key_err (err, k, "\"%s\" is not a valid label value (at most 63 of A-Z a-z 0-9 - _ "
                                "., alphanumeric at both ends)", val);
      for (size_t j = 0; j < *n_out; j++)
        if (strcmp ((*out)[j].key, key) == 0)
          return key_err (err, k, "label %s is set twice", key);
      struct label *lb = VEC_PUSH (*out, *n_out);
      lb->key = xstrdup (key);
      lb->value = xstrdup (val);
    }
  return 0;
}

char *
labels_str (const struct label *l, size_t n)
{
  struct strbuf sb;
  sb_init (&sb);
  for (size_t i = 0; i < n; i++)
    sb_addf (&sb, "%s%s=%s", i ? "," : "", l[i].key, l[i].value);
  return sb_steal (&sb);
}

int
check_addr_in (nslab_error_t *err, const struct merged_key *k, const char *prefix,
               const char *text, uint32_t ip, struct cidr cidr, const char *outside,
               const char *edge)
{
  if (!cidr_contains (cidr, ip))
    return key_err (err, k, "%s%s is outside %s", prefix, text, outside);
  if (ip == cidr_network (cidr))
    return key_err (err, k, "%s%s is the network address of %s", prefix, text, edge);
  if (ip == cidr_broadcast (cidr))
    return key_err (err, k, "%s%s is the broadcast address of %s", prefix, text, edge);
  return 0;
}
