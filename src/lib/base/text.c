#include "base/text.h"

#include <ctype.h>
#include <string.h>

#include "base/util.h"

size_t
edit_distance (const char *a, const char *b, size_t cap)
{
  size_t la = strlen (a), lb = strlen (b);
  if (la > 64 || lb > 64)
    return cap + 1;
  if ((la > lb ? la - lb : lb - la) > cap)
    return cap + 1;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++)
    {
      size_t diag = row[0], best;
      row[0] = i;
      best = row[0];
      for (size_t j = 1; j <= lb; j++)
        {
          size_t up = row[j];
          size_t v = diag + (a[i - 1] != b[j - 1]);
          if (row[j - 1] + 1 < v)
            v = row[j - 1] + 1;
          if (up + 1 < v)
            v = up + 1;
          row[j] = v;
          diag = up;
          if (v < best)
            best = v;
        }
      if (best > cap)
        return cap + 1;
    }
  return row[lb];
}

const char *
text_closest (const char *word, const char *const *cands, size_t n)
{
  const char *best = NULL;
  size_t bestd = 3;
  for (size_t i = 0; i < n; i++)
    {
      size_t d = edit_distance (word, cands[i], 2);
      if (d < bestd)
        {
          bestd = d;
          best = cands[i];
        }
    }
  return best;
}

bool
dns_label_valid (const char *s, size_t max)
{
  size_t n = strlen (s);
  if (n == 0 || n > max)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char ch = s[i];
      bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
      if (!alnum && !(ch == '-' && i > 0 && i < n - 1))
        return false;
    }
  return true;
}

bool
dns_subdomain_valid (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 253)
    return false;
  if (s[0] == '.' || s[n - 1] == '.' || strstr (s, ".."))
    return false;
  cleanup_free char *copy = xstrdup (s);
  char *save = NULL;
  for (char *l = strtok_r (copy, ".", &save); l; l = strtok_r (NULL, ".", &save))
    if (!dns_label_valid (l, 63))
      return false;
  return true;
}

bool
ifname_valid (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 15 || strcmp (s, ".") == 0 || strcmp (s, "..") == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '/' || s[i] == ':' || isspace ((unsigned char) s[i]) || (unsigned char) s[i] < 0x21
        || (unsigned char) s[i] > 0x7e)
      return false;
  return true;
}
