/* resource.Quantity (k8s.io/apimachinery/pkg/api/resource): a request or
 * limit as the API server parses it and kubectl prints it. */
#ifndef NSLAB_K8S_QUANTITY_H
#define NSLAB_K8S_QUANTITY_H

#include <stdbool.h>

#include <jansson.h>

/* How a quantity is written back: the format of the text it was parsed
 * from (Mi: binary, m/k/M or none: decimal, 1e3: exponent). */
enum quantity_format { QUANTITY_DECIMAL_SI, QUANTITY_BINARY_SI, QUANTITY_DECIMAL_EXPONENT };

struct quantity {
  __int128 nano;               /* the value in units of 10^-9, finer ones rounded up */
  enum quantity_format format;
};

/* Q (a JSON string such as "100m", "70Mi", "1e3", or an integer) into
 * OUT; false for what does not parse (the API server refuses it). */
bool quantity_parse (const json_t *q, struct quantity *out);

/* SUM += Q as Quantity.Add: the sum keeps SUM's format, or takes Q's while
 * SUM is zero. */
void quantity_add (struct quantity *sum, const struct quantity *q);

/* Quantity.String(): the canonical text ("100m", "70Mi", "2", "0"), into
 * OUT of at least 48 bytes. */
const char *quantity_string (const struct quantity *q, char out[48]);

/* MilliValue() and Value(): rounded up, as the API's helpers do. */
long long quantity_milli (const struct quantity *q);
long long quantity_value (const struct quantity *q);

#endif
