/* libFuzzer entry for the snapshot reader: the input is parsed as JSON and
 * read as a plan (what `nslab exec/status/ls` do with a lab's plan.json).
 * Whatever is accepted must print and write back to the same JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "plan/plan.h"
#include "view/plan_text.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  json_error_t jerr;
  json_t *j = json_loadb ((const char *) data, size, 0, &jerr);
  if (j == NULL)
    return 0;
  struct plan *p = NULL;
  nslab_error_t err = NULL;
  if (plan_from_json (j, &p, &err) == 0)
    {
      FILE *null = fopen ("/dev/null", "w");
      if (null)
        {
          plan_print_text (p, null);
          fclose (null);
        }
      /* A plan read back writes what it was read as, and reads again. */
      json_t *again = plan_to_json (p);
      char *s1 = json_dumps (again, JSON_COMPACT | JSON_SORT_KEYS);
      struct plan *q = NULL;
      if (plan_from_json (again, &q, &err) != 0)
        abort ();
      json_t *third = plan_to_json (q);
      char *s2 = json_dumps (third, JSON_COMPACT | JSON_SORT_KEYS);
      if (strcmp (s1, s2) != 0)
        abort ();
      free (s1);
      free (s2);
      json_decref (third);
      json_decref (again);
      plan_free (q);
      plan_free (p);
    }
  else
    nslab_error_free (&err);
  json_decref (j);
  return 0;
}
