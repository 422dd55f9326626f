#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    return NULL;
  return s;
}

static int
make_error (nslab_error_t *err, int status, int exit_code, const char *fmt, va_list ap)
{
  if (err == NULL || *err != NULL)
    return -1;
  struct nslab_error_s *e = calloc (1, sizeof *e);
  if (e == NULL)
    abort ();
  e->status = status;
  e->exit_code = exit_code;
  e->msg = vformat (fmt, ap);
  if (e->msg == NULL)
    abort ();
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
  if (ctx == NULL)
    abort ();
  char *joined = NULL;
  if (asprintf (&joined, "%s: %s", ctx, (*err)->msg) < 0)
    abort ();
  free (ctx);
  free ((*err)->msg);
  (*err)->msg = joined;
  return -1;
}

void
nslab_error_free (nslab_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
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
nslab_error_print (nslab_error_t *err)
{
  if (err == NULL || *err == NULL)
    return 0;
  int code = (*err)->exit_code ? (*err)->exit_code : NSLAB_EXIT_FAILURE;
  if ((*err)->status)
    fprintf (stderr, "nslab: %s: %s\n", (*err)->msg, strerror ((*err)->status));
  else
    fprintf (stderr, "nslab: %s\n", (*err)->msg);
  nslab_error_free (err);
  return code;
}
