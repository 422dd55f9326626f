#include "base/error.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  return s;
}

static int
make_error (nslab_error_t *err, int status, int exit_code, const char *fmt, va_list ap)
{
  if (err == NULL)
    return -1;
  if (*err != NULL)
    {
#ifdef __SANITIZE_ADDRESS__
      /* A second error on a set one loses one of them: a bug in the
       * caller (use nslab_error_keep_first). Caught in the test build; a
       * release build keeps the first rather than dying. */
      fprintf (stderr, "nslab: BUG: error set twice (had \"%s\", new \"%s\")\n", (*err)->msg, fmt);
      abort ();
#else
      return -1;
#endif
    }
  struct nslab_error_s *e = calloc (1, sizeof *e);
  if (e == NULL)
    abort ();
  e->status = status;
  e->exit_code = exit_code;
  e->msg = vformat (fmt, ap);
  *err = e;
  return -1;
}

int
nslab_error (nslab_error_t *err, int status, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  make_error (err, status, NSLAB_EXIT_FAILURE, fmt, ap);
  va_end (ap);
  return -1;
}

int
nslab_error_invalid (nslab_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  make_error (err, 0, NSLAB_EXIT_INVALID, fmt, ap);
  va_end (ap);
  return -1;
}

int
nslab_error_wrap (nslab_error_t *err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  va_list ap;
  va_start (ap, fmt);
  char *ctx = vformat (fmt, ap);
  va_end (ap);
  char *joined = NULL;
  if (asprintf (&joined, "%s: %s", ctx, (*err)->msg) < 0)
    abort ();
  free (ctx);
  free ((*err)->msg);
  (*err)->msg = joined;
  return -1;
}

int
nslab_error_hint (nslab_error_t *err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  va_list ap;
  va_start (ap, fmt);
  char *line = vformat (fmt, ap);
  va_end (ap);
  if ((*err)->hint == NULL)
    {
      (*err)->hint = line;
      return -1;
    }
  char *joined = NULL;
  if (asprintf (&joined, "%s\n%s", (*err)->hint, line) < 0)
    abort ();
  free (line);
  free ((*err)->hint);
  (*err)->hint = joined;
  return -1;
}

void
nslab_error_free (nslab_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free ((*err)->hint);
  free (*err);
  *err = NULL;
}

int
nslab_error_keep_first_of (nslab_error_t *err, nslab_error_t *errs, size_t n)
{
  int rc = 0;
  for (size_t k = 0; k < n; k++)
    if (errs[k] != NULL)
      {
        nslab_error_keep_first (err, &errs[k]);
        nslab_error_free (&errs[k]);
        rc = -1;
      }
  return rc;
}

void
nslab_error_keep_first (nslab_error_t *err, nslab_error_t *e)
{
  if (err != NULL && *err == NULL)
    {
      *err = *e;
      *e = NULL;
    }
  nslab_error_free (e);
}

int
nslab_error_exit_code (const nslab_error_t err)
{
  return err && err->exit_code ? err->exit_code : NSLAB_EXIT_FAILURE;
}

/* Length of the UTF-8 sequence at s and its code point, or 0 when s does
 * not start a valid (shortest-form, non-surrogate) sequence. */
static size_t
utf8_decode (const unsigned char *s, uint32_t *cp)
{
  size_t len;
  uint32_t c;
  if (s[0] < 0x80)
    {
      *cp = s[0];
      return 1;
    }
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    len = 2, c = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    len = 3, c = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    len = 4, c = s[0] & 0x07;
  else
    return 0;
  for (size_t i = 1; i < len; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      c = (c << 6) | (s[i] & 0x3f);
    }
  if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
    return 0;
  *cp = c;
  return len;
}

static bool
invisible (uint32_t c)
{
  return (c >= 0x80 && c <= 0x9f)                     /* C1 controls */
         || (c >= 0x200b && c <= 0x200d) || c == 0x2060 || c == 0xfeff /* zero-width */
         || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069); /* bidi */
}

char *
nslab_escape (const char *s, bool keep_newlines)
{
  char *out = NULL;
  size_t size = 0;
  FILE *f = open_memstream (&out, &size);
  if (f == NULL)
    abort ();
  const unsigned char *p = (const unsigned char *) s;
  while (*p)
    {
      uint32_t c;
      size_t len = utf8_decode (p, &c);
      if (len == 0)
        {
          fprintf (f, "\\x%02x", *p);
          p++;
          continue;
        }
      if (c == '\n' && keep_newlines)
        fputc ('\n', f);
      else if (c == '\n')
        fputs ("\\n", f);
      else if (c == '\t')
        fputs ("\\t", f);
      else if (c == '\r')
        fputs ("\\r", f);
      else if (c < 0x20 || c == 0x7f)
        fprintf (f, "\\x%02x", (unsigned) c);
      else if (invisible (c))
        fprintf (f, "\\u%04x", (unsigned) c);
      else
        fwrite (p, 1, len, f);
      p += len;
    }
  if (fclose (f) != 0)
    abort ();
  return out;
}

char *
nslab_error_line (const nslab_error_t err)
{
  char *msg = nslab_escape (err->msg, false);
  char *out = NULL;
  if (asprintf (&out, "%s%s%s", msg, err->status ? ": " : "", err->status ? strerror (err->status) : "") < 0)
    abort ();
  free (msg);
  return out;
}

char *
nslab_error_format (const nslab_error_t err)
{
  char *line = nslab_error_line (err);
  char *hint = err->hint ? nslab_escape (err->hint, true) : NULL;
  char *out = NULL;
  if (asprintf (&out, "nslab: %s\n%s%s", line, hint ? hint : "", hint ? "\n" : "") < 0)
    abort ();
  free (line);
  free (hint);
  return out;
}

int
nslab_error_print (nslab_error_t *err)
{
  if (err == NULL || *err == NULL)
    return 0;
  int code = nslab_error_exit_code (*err);
  char *text = nslab_error_format (*err);
  fputs (text, stderr);
  free (text);
  nslab_error_free (err);
  return code;
}
