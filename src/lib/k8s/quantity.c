/* resource.Quantity's parsing and canonical text (see quantity.h). */
#include "k8s/quantity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

bool
quantity_parse (const json_t *q, struct quantity *out)
{
  if (json_is_integer (q))
    {
      *out = (struct quantity) { (__int128) json_integer_value (q) * 1000000000, QUANTITY_DECIMAL_SI };
      return true;
    }
  const char *s = json_string_value (q);
  if (s == NULL || *s == '\0')
    return false;
  bool neg = *s == '-';
  if (*s == '-' || *s == '+')
    s++;
  __int128 v = 0;
  int frac = -1; /* digits after the point */
  bool digits = false, extra = false;
  for (; (*s >= '0' && *s <= '9') || *s == '.'; s++)
    {
      if (*s == '.')
        {
          if (frac >= 0)
            return false;
          frac = 0;
          continue;
        }
      digits = true;
      if (v > ((__int128) 1 << 100))
        return false;
      if (frac >= 9)
        {
          extra |= *s != '0';
          continue;
        }
      v = v * 10 + (*s - '0');
      if (frac >= 0)
        frac++;
    }
  if (!digits)
    return false;
  for (int k = frac < 0 ? 0 : frac; k < 9; k++)
    v *= 10;
  v += extra;
  static const struct { const char *suffix; int exp10; int exp2; } units[] = {
    { "n", -9, 0 }, { "u", -6, 0 }, { "m", -3, 0 }, { "", 0, 0 }, { "k", 3, 0 }, { "M", 6, 0 }, { "G", 9, 0 },
    { "T", 12, 0 }, { "P", 15, 0 }, { "E", 18, 0 }, { "Ki", 0, 10 }, { "Mi", 0, 20 }, { "Gi", 0, 30 },
    { "Ti", 0, 40 }, { "Pi", 0, 50 }, { "Ei", 0, 60 },
  };
  int e10 = 0, e2 = 0;
  bool found = false;
  enum quantity_format format = QUANTITY_DECIMAL_SI;
  for (size_t i = 0; i < ARRAY_SIZE (units) && !found; i++)
    if (strcmp (s, units[i].suffix) == 0)
      e10 = units[i].exp10, e2 = units[i].exp2, found = true;
  if (e2)
    format = QUANTITY_BINARY_SI;
  if (!found && (*s == 'e' || *s == 'E'))
    {
      char *end;
      long e = strtol (s + 1, &end, 10);
      if (*end != '\0' || end == s + 1 || e < -9 || e > 18)
        return false;
      e10 = (int) e;
      found = true;
      format = QUANTITY_DECIMAL_EXPONENT;
    }
  if (!found)
    return false;
  for (; e10 > 0; e10--)
    v *= 10;
  for (; e10 < 0; e10++)
    v = (v + 9) / 10;
  v <<= e2;
  *out = (struct quantity) { neg ? -v : v, format };
  return true;
}

void
quantity_add (struct quantity *sum, const struct quantity *q)
{
  if (sum->nano == 0)
    sum->format = q->format;
  sum->nano += q->nano;
}

static char *
int128_text (__int128 v, char *end)
{
  bool neg = v < 0;
  unsigned __int128 u = neg ? -(unsigned __int128) v : (unsigned __int128) v;
  *--end = '\0';
  do
    *--end = (char) ('0' + (int) (u % 10));
  while ((u /= 10) != 0);
  if (neg)
    *--end = '-';
  return end;
}

const char *
quantity_string (const struct quantity *q, char out[48])
{
  if (q->nano == 0)
    return strcpy (out, "0");
  char digits[48];
  enum quantity_format format = q->format;
  /* BinarySI only for whole values of at least 1024 (CanonicalizeBytes:
   * smaller or fractional ones would round or confuse). */
  if (format == QUANTITY_BINARY_SI
      && ((q->nano > -(__int128) 1024 * 1000000000 && q->nano < (__int128) 1024 * 1000000000)
          || q->nano % 1000000000 != 0))
    format = QUANTITY_DECIMAL_SI;
  if (format == QUANTITY_BINARY_SI)
    {
      __int128 v = q->nano / 1000000000;
      int e = 0;
      while (v % 1024 == 0 && e < 6)
        v /= 1024, e++;
      static const char *const bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
      snprintf (out, 48, "%s%s", int128_text (v, digits + sizeof digits), bin[e]);
      return out;
    }
  /* AsCanonicalBytes: every factor of 10 out of the mantissa, then the
   * exponent down to a multiple of 3. */
  __int128 v = q->nano;
  int e = -9;
  while (v % 10 == 0)
    v /= 10, e++;
  while (((e % 3) + 3) % 3 != 0)
    v *= 10, e--;
  const char *num = int128_text (v, digits + sizeof digits);
  if (format == QUANTITY_DECIMAL_EXPONENT)
    {
      if (e == 0)
        snprintf (out, 48, "%s", num);
      else
        snprintf (out, 48, "%se%d", num, e);
      return out;
    }
  static const struct { int e; const char *suffix; } dec[] = {
    { -9, "n" }, { -6, "u" }, { -3, "m" }, { 0, "" }, { 3, "k" }, { 6, "M" }, { 9, "G" },
    { 12, "T" }, { 15, "P" }, { 18, "E" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (dec); i++)
    if (dec[i].e == e)
      {
        snprintf (out, 48, "%s%s", num, dec[i].suffix);
        return out;
      }
  snprintf (out, 48, "%se%d", num, e);
  return out;
}

static long long
ceil_div (__int128 v, long long d)
{
  __int128 r = v / d;
  if (v % d != 0 && v > 0)
    r++;
  return (long long) r;
}

long long
quantity_milli (const struct quantity *q)
{
  return ceil_div (q->nano, 1000000);
}

long long
quantity_value (const struct quantity *q)
{
  return ceil_div (q->nano, 1000000000);
}
