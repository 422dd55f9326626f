/* kubectl-style column output: left-aligned columns separated by three
 * spaces, widths from the widest cell. */
#ifndef NSLAB_TABLE_H
#define NSLAB_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table {
  size_t n_cols;
  char **cells;  /* row-major, n_rows * n_cols, owned */
  size_t n_rows;
};

/* Header cells, NULL-terminated. */
void table_init (struct table *t, const char *const *header);
/* One row: n_cols printf-free strings (copied). */
void table_row (struct table *t, const char *const *cells);
void table_print (const struct table *t, FILE *out);
void table_free (struct table *t);
/* "45s", "3m", "5h", "21d" as kubectl's AGE column. Caller frees. */
char *table_age (long seconds);

#endif
