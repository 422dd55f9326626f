/* libFuzzer entry for the API server's request decoder: the input is a
 * request body (decoded, then applied as a merge and a strategic merge
 * patch to a Deployment, as a JSON patch too, and
 * made into the scenario section a create writes), and,
 * as a protobuf body, and,
 * split at its first newline, a label and a field selector (parsed, then
 * matched). Nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/create.h"
#include "apiserver/request.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *msg = NULL;
  json_t *target = json_pack ("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:i}}", "apiVersion", "apps/v1", "kind",
                              "Deployment", "metadata", "name", "web", "namespace", "demo", "labels", "app", "web",
                              "spec", "replicas", 2);
  json_t *body = request_decode_body ((const char *) data, size, &msg);
  if (body)
    {
      char *field = NULL, *message = NULL;
      free (create_section (NULL, body, "default", &field, &message));
      free (field);
      free (message);
      request_merge_patch (target, body);
      request_strategic_merge_patch (target, body);
      json_decref (body);
    }
  free (msg);
  /* a JSON patch (kubectl rollout undo's): any array of operations */
  json_t *ops = json_loadb ((const char *) data, size, 0, NULL);
  if (ops)
    {
      char *why = NULL;
      json_t *copy = json_deep_copy (target);
      (void) request_json_patch (copy, ops, &why);
      free (why);
      json_decref (copy);
      json_decref (ops);
    }
  body = request_decode_protobuf ((const char *) data, size, &msg);
  json_decref (body);
  free (msg);
  char *text = xstrndup ((const char *) data, size);
  char *nl = strchr (text, '\n');
  if (nl)
    *nl = '\0';
  for (int k = 0; k < 2; k++)
    {
      const char *s = k == 0 ? text : nl ? nl + 1 : "";
      struct selector *sel = selector_parse (k == 0 ? SELECTOR_LABEL : SELECTOR_FIELD, s, &msg);
      if (sel)
        {
          (void) selector_matches (sel, target);
          selector_free (sel);
        }
      free (msg);
    }
  free (text);
  json_decref (target);
  return 0;
}
