/* [lab]: the lab's name (prefix of everything nslab creates). */
#include <string.h>

#include "base/util.h"
#include "scenario/decode.h"

static bool
lab_name_valid (const char *s)
{
  size_t n = strlen (s);
  if (n < 1 || n > LAB_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z') || s[n - 1] == '-')
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
      return false;
  return true;
}

int
decode_lab (struct ctx *c, const struct merged_section *s)
{
  const struct merged_key *k = find_key (s, "name");
  if (k == NULL)
    return missing (c, s, "name", "");
  if (!lab_name_valid (k->value))
    return kerr (c, k, "\"%s\" must be 1-%d characters of a-z, 0-9 and '-', start with a letter "
                       "and not end with '-'", k->value, LAB_NAME_MAX);
  c->sc->lab = xstrdup (k->value);
  if ((k = find_key (s, "description")))
    c->sc->description = xstrdup (k->value);
  return 0;
}
