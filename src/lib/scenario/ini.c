/* Pre-scan + iniparser. See ini.h for why both. The pre-scan stays
 * hand-written because iniparser cannot report line numbers, duplicate
 * sections or keys, or where it would cut a value. */
#include "scenario/ini.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iniparser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/* ---- ini_file -------------------------------------------------------- */

void
ini_file_free (struct ini_file *f)
{
  if (f == NULL)
    return;
  for (size_t i = 0; i < f->n_sections; i++)
    {
      struct ini_section *s = &f->sections[i];
      for (size_t k = 0; k < s->n_keys; k++)
        {
          free (s->keys[k].name);
          free (s->keys[k].value);
        }
      free (s->keys);
      free (s->name);
      free (s->canon);
      free (s->type);
      free (s->arg);
    }
  free (f->sections);
  free (f->path);
  free (f);
}

const struct ini_key *
ini_section_find (const struct ini_section *s, const char *key)
{
  for (size_t i = 0; i < s->n_keys; i++)
    if (strcmp (s->keys[i].name, key) == 0)
      return &s->keys[i];
  return NULL;
}

static bool
has_upper (const char *s)
{
  for (; *s; s++)
    if (isupper ((unsigned char) *s))
      return true;
  return false;
}

/* iniparser trims with isspace() in the C locale; so do we. */
static bool
is_ws (char c)
{
  return isspace ((unsigned char) c) != 0;
}

struct prescan {
  const char *path;
  struct ini_file *file;
  struct strmap sections; /* canon -> line */
  struct strmap keys;     /* canon "\n" key -> line */
  size_t entries;
  nslab_error_t *err;
};

static int
too_many (struct prescan *p, int lineno)
{
  if (++p->entries > INI_MAX_ENTRIES)
    return nslab_error_invalid (p->err, "%s:%d: too many sections and keys (at most %d)", p->path,
                                lineno, INI_MAX_ENTRIES);
  return 0;
}

static int
scan_section (struct prescan *p, char *line, size_t len, int lineno)
{
  if (line[len - 1] != ']')
    return nslab_error_invalid (p->err,
                                "%s:%d: syntax error: a section header is \"[name]\" alone on its line",
                                p->path, lineno);
  line[len - 1] = '\0';
  char *name = str_trim (line + 1);
  if (strpbrk (name, "[]"))
    return nslab_error_invalid (p->err, "%s:%d: syntax error: '[' or ']' inside a section name",
                                p->path, lineno);
  if (*name == '\0')
    return nslab_error_invalid (p->err, "%s:%d: empty section name", p->path, lineno);
  if (has_upper (name))
    return nslab_error_invalid (p->err,
                                "%s:%d: [%s] has upper-case letters (section and key names are lower case)",
                                p->path, lineno, name);
  if (strchr (name, ':'))
    return nslab_error_invalid (p->err, "%s:%d: [%s]: ':' is not allowed in a section name",
                                p->path, lineno, name);
  if (too_many (p, lineno) < 0)
    return -1;

  size_t tlen = 0;
  while (name[tlen] && !is_ws (name[tlen]))
    tlen++;
  cleanup_free char *type = xstrndup (name, tlen);
  cleanup_free char *arg = xstrdup (name + tlen);
  char *a = str_trim (arg);
  cleanup_free char *canon = *a ? xasprintf ("%s %s", type, a) : xstrdup (type);

  void *first = strmap_put (&p->sections, canon, (void *) (intptr_t) lineno);
  if ((intptr_t) first != lineno)
    return nslab_error_invalid (p->err, "%s:%d: duplicate section [%s] (first on line %d)", p->path,
                                lineno, name, (int) (intptr_t) first);

  struct ini_file *f = p->file;
  struct ini_section *s = VEC_PUSH (f->sections, f->n_sections);
  s->name = xstrdup (name);
  s->canon = canon;
  canon = NULL;
  s->type = type;
  type = NULL;
  s->arg = xstrdup (a);
  s->line = lineno;
  return 0;
}

static int
scan_value (struct prescan *p, const char *key, char *v, int lineno, char **out)
{
  while (is_ws (*v))
    v++;
  if (*v == '"' || *v == '\'')
    {
      char q = *v;
      char *end = strchr (v + 1, q);
      if (end == NULL)
        return nslab_error_invalid (p->err, "%s:%d: unterminated quote in the value of \"%s\"", p->path,
                                    lineno, key);
      char *rest = end + 1;
      while (is_ws (*rest))
        rest++;
      if (*rest && *rest != ';' && *rest != '#')
        return nslab_error_invalid (p->err,
                                    "%s:%d: text after the closing quote in the value of \"%s\" "
                                    "(quote the whole value)",
                                    p->path, lineno, key);
      *out = xstrndup (v + 1, (size_t) (end - v - 1));
      return 0;
    }

  /* iniparser ends an unquoted value at the first ';' or '#'. That is a
   * comment only when whitespace precedes it and no quote is open; any other
   * cut would silently lose part of what the user wrote. */
  bool quote_seen = false;
  size_t n = 0;
  for (; v[n]; n++)
    {
      char c = v[n];
      if (c == '"' || c == '\'')
        quote_seen = true;
      else if (c == ';' || c == '#')
        {
          if (n == 0 || (is_ws (v[n - 1]) && !quote_seen))
            break;
          return nslab_error_invalid (p->err,
                                      "%s:%d: '%c' in the unquoted value of \"%s\" would start a comment "
                                      "(iniparser cuts the value there): quote the value",
                                      p->path, lineno, c, key);
        }
    }
  cleanup_free char *val = xstrndup (v, n);
  *out = xstrdup (str_trim (val));
  return 0;
}

static int
scan_key (struct prescan *p, char *line, int lineno)
{
  char *eq = strchr (line, '=');
  if (eq == NULL)
    return nslab_error_invalid (p->err,
                                "%s:%d: syntax error: expected [section], key = value, or a comment",
                                p->path, lineno);
  *eq = '\0';
  char *key = str_trim (line);
  if (*key == '\0')
    return nslab_error_invalid (p->err, "%s:%d: syntax error: missing key name before '='", p->path,
                                lineno);
  if (has_upper (key))
    return nslab_error_invalid (p->err,
                                "%s:%d: key \"%s\" has upper-case letters (section and key names are lower case)",
                                p->path, lineno, key);
  struct ini_file *f = p->file;
  if (f->n_sections == 0)
    return nslab_error_invalid (p->err, "%s:%d: key \"%s\" outside of any section", p->path, lineno,
                                key);
  if (too_many (p, lineno) < 0)
    return -1;
  struct ini_section *s = &f->sections[f->n_sections - 1];
  cleanup_free char *id = xasprintf ("%s\n%s", s->canon, key);
  void *first = strmap_put (&p->keys, id, (void *) (intptr_t) lineno);
  if ((intptr_t) first != lineno)
    return nslab_error_invalid (p->err, "%s:%d: duplicate key \"%s\" in [%s] (first set on line %d)",
                                p->path, lineno, key, s->name, (int) (intptr_t) first);
  char *value = NULL;
  if (scan_value (p, key, eq + 1, lineno, &value) < 0)
    return -1;
  struct ini_key *k = VEC_PUSH (s->keys, s->n_keys);
  k->name = xstrdup (key);
  k->value = value;
  k->line = lineno;
  return 0;
}

static int
scan_line (struct prescan *p, const char *raw, size_t rawlen, int lineno)
{
  if (memchr (raw, '\0', rawlen))
    return nslab_error_invalid (p->err, "%s:%d: NUL byte in the file", p->path, lineno);
  if (rawlen > INI_MAX_LINE)
    return nslab_error_invalid (p->err, "%s:%d: line too long (more than %d characters)", p->path,
                                lineno, INI_MAX_LINE);
  cleanup_free char *buf = xstrndup (raw, rawlen);
  char *line = str_trim (buf);
  size_t len = strlen (line);
  if (len == 0)
    return 0;
  /* iniparser joins a line ending in '\' with the next one, even a comment:
   * a silent way to lose a line. */
  if (line[len - 1] == '\\')
    return nslab_error_invalid (p->err,
                                "%s:%d: line ends with '\\' (line continuation is not supported)",
                                p->path, lineno);
  if (line[0] == ';' || line[0] == '#')
    return 0;
  if (line[0] == '[')
    return scan_section (p, line, len, lineno);
  return scan_key (p, line, lineno);
}

#define INI_BOM "\xEF\xBB\xBF"
#define INI_BOM_LEN 3

static bool
ini_has_bom (const char *text, size_t len)
{
  return len >= INI_BOM_LEN && memcmp (text, INI_BOM, INI_BOM_LEN) == 0;
}

int
ini_parse_buffer (const char *path, const char *text, size_t len, struct ini_file **out,
                  nslab_error_t *err)
{
  /* Editors on Windows start UTF-8 files with a byte order mark. */
  if (ini_has_bom (text, len))
    {
      text += INI_BOM_LEN;
      len -= INI_BOM_LEN;
    }
  struct prescan p = { .path = path, .err = err };
  p.file = xcalloc (1, sizeof *p.file);
  p.file->path = xstrdup (path);
  strmap_init (&p.sections);
  strmap_init (&p.keys);

  int ret = 0;
  size_t pos = 0;
  int lineno = 0;
  while (pos < len && ret == 0)
    {
      const char *nl = memchr (text + pos, '\n', len - pos);
      size_t end = nl ? (size_t) (nl - text) : len;
      lineno++;
      ret = scan_line (&p, text + pos, end - pos, lineno);
      pos = end + 1;
    }
  strmap_free (&p.sections);
  strmap_free (&p.keys);
  if (ret < 0)
    {
      ini_file_free (p.file);
      return -1;
    }
  *out = p.file;
  return 0;
}

static int
read_file (const char *path, char **out, size_t *out_len, nslab_error_t *err)
{
  /* O_NONBLOCK so a FIFO named as a template cannot hang us before the
   * regular-file check. */
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return nslab_error_invalid (err, "%s: %s", path, strerror (errno));
  struct stat st;
  if (fstat (fd, &st) < 0)
    return nslab_error_invalid (err, "%s: %s", path, strerror (errno));
  if (!S_ISREG (st.st_mode))
    return nslab_error_invalid (err, "%s: not a regular file", path);
  if (st.st_size > (off_t) INI_MAX_FILE_SIZE)
    return nslab_error_invalid (err, "%s: file too large (more than %u bytes)", path,
                                INI_MAX_FILE_SIZE);
  size_t cap = (size_t) st.st_size + 1, len = 0;
  cleanup_free char *buf = xmalloc (cap);
  for (;;)
    {
      if (len == cap)
        {
          if (cap > INI_MAX_FILE_SIZE)
            return nslab_error_invalid (err, "%s: file too large (more than %u bytes)", path,
                                        INI_MAX_FILE_SIZE);
          cap *= 2;
          buf = xrealloc (buf, cap);
        }
      ssize_t r = read (fd, buf + len, cap - len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return nslab_error_invalid (err, "%s: %s", path, strerror (errno));
      if (r == 0)
        break;
      len += (size_t) r;
    }
  if (len > INI_MAX_FILE_SIZE)
    return nslab_error_invalid (err, "%s: file too large (more than %u bytes)", path,
                                INI_MAX_FILE_SIZE);
  *out = buf;
  buf = NULL;
  *out_len = len;
  return 0;
}

/* Library code never prints: drop iniparser's own diagnostics (the pre-scan
 * has already reported anything it could complain about). */
static int
swallow_error (const char *fmt, ...)
{
  (void) fmt;
  return 0;
}

static int
value_mismatch (const struct ini_file *f, const struct ini_section *s, const struct ini_key *k,
                const char *got, nslab_error_t *err)
{
  if (got == NULL)
    return nslab_error_invalid (err, "%s:%d: iniparser did not read key \"%s\" of [%s]", f->path,
                                k->line, k->name, s->name);
  return nslab_error_invalid (err,
                              "%s:%d: iniparser reads the value of \"%s\" as \"%s\", not \"%s\": "
                              "quote the value",
                              f->path, k->line, k->name, got, k->value);
}

/* Take every value from iniparser. Its dictionary keeps entries in
 * insertion order ("section", then "section:key" ...), which is exactly our
 * pre-scan order because duplicates are refused; walking both in step keeps
 * this linear. Should a future iniparser order differently, fall back to
 * lookups. */
static int
take_values (struct ini_file *f, dictionary *d, nslab_error_t *err)
{
  int i = 0;
  bool in_step = true;
  for (size_t si = 0; si < f->n_sections; si++)
    {
      struct ini_section *s = &f->sections[si];
      if (in_step)
        {
          while (i < d->size && d->key[i] == NULL)
            i++;
          if (i < d->size && strcmp (d->key[i], s->name) == 0)
            i++;
          else
            in_step = false;
        }
      for (size_t ki = 0; ki < s->n_keys; ki++)
        {
          struct ini_key *k = &s->keys[ki];
          cleanup_free char *full = xasprintf ("%s:%s", s->name, k->name);
          const char *got = NULL;
          if (in_step)
            {
              while (i < d->size && d->key[i] == NULL)
                i++;
              if (i < d->size && strcmp (d->key[i], full) == 0)
                got = d->val[i++];
              else
                in_step = false;
            }
          if (!in_step)
            got = iniparser_getstring (d, full, NULL);
          if (got == NULL || strcmp (got, k->value) != 0)
            return value_mismatch (f, s, k, got, err);
          free (k->value);
          k->value = xstrdup (got);
        }
    }
  return 0;
}

/* iniparser 4.1 only opens paths and would read a byte order mark as part
 * of the first line: give it the text without the mark, through a memfd. */
static dictionary *
load_dict (const char *path, const char *text, size_t len)
{
  if (!ini_has_bom (text, len))
    return iniparser_load (path);
  cleanup_close int fd = memfd_create ("nslab-ini", MFD_CLOEXEC);
  if (fd < 0)
    return NULL;
  if (fd_write_all (fd, text + INI_BOM_LEN, len - INI_BOM_LEN) < 0)
    return NULL;
  char fdpath[64];
  snprintf (fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
  return iniparser_load (fdpath);
}

int
ini_load (const char *path, struct ini_file **out, nslab_error_t *err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  if (read_file (path, &text, &len, err) < 0)
    return -1;
  struct ini_file *f = NULL;
  if (ini_parse_buffer (path, text, len, &f, err) < 0)
    return -1;

  iniparser_set_error_callback (swallow_error);
  dictionary *d = load_dict (path, text, len);
  if (d == NULL)
    {
      ini_file_free (f);
      return nslab_error_invalid (err, "%s: iniparser could not read the file", path);
    }
  int ret = take_values (f, d, err);
  iniparser_freedict (d);
  if (ret < 0)
    {
      ini_file_free (f);
      return -1;
    }
  *out = f;
  return 0;
}
