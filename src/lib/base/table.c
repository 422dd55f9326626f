/* kubectl-style tables (see table.h). */
#include "base/table.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"

void
table_init (struct table *t, const char *const *header)
{
  memset (t, 0, sizeof *t);
  while (header[t->n_cols])
    t->n_cols++;
  table_row (t, header);
}

void
table_row (struct table *t, const char *const *cells)
{
  t->cells = xrealloc (t->cells, (t->n_rows + 1) * t->n_cols * sizeof *t->cells);
  for (size_t c = 0; c < t->n_cols; c++)
    /* Cells show names and values from scenarios and state files: a
     * terminal escape in one must not reach the terminal. */
    t->cells[t->n_rows * t->n_cols + c] = nslab_escape (cells[c] ? cells[c] : "", false);
  t->n_rows++;
}

void
table_print (const struct table *t, FILE *out)
{
  size_t *w = xcalloc (t->n_cols, sizeof *w);
  for (size_t r = 0; r < t->n_rows; r++)
    for (size_t c = 0; c < t->n_cols; c++)
      {
        size_t l = strlen (t->cells[r * t->n_cols + c]);
        if (l > w[c])
          w[c] = l;
      }
  for (size_t r = 0; r < t->n_rows; r++)
    {
      for (size_t c = 0; c < t->n_cols; c++)
        {
          const char *s = t->cells[r * t->n_cols + c];
          if (c + 1 == t->n_cols)
            fputs (s, out);
          else
            fprintf (out, "%-*s   ", (int) w[c], s);
        }
      fputc ('\n', out);
    }
  free (w);
}

void
table_free (struct table *t)
{
  for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
    free (t->cells[i]);
  free (t->cells);
  memset (t, 0, sizeof *t);
}

char *
table_age (long s)
{
  if (s < 0)
    s = 0;
  if (s < 120)
    return xasprintf ("%lds", s);
  if (s < 2 * 3600)
    return xasprintf ("%ldm", s / 60);
  if (s < 2 * 86400)
    return xasprintf ("%ldh", s / 3600);
  return xasprintf ("%ldd", s / 86400);
}
