/* libFuzzer entry for what nslab reads of a CNI plugin's stdout: an ADD
 * result (cni_result_parse) or an error object (cni_error_message). An
 * accepted result's address is an IPv4 CIDR; nothing may leak or crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "runtime/cni.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = malloc (size + 1);
  if (text == NULL)
    return 0;
  memcpy (text, data, size);
  text[size] = '\0';
  struct cni_result r;
  nslab_error_t err = NULL;
  if (cni_result_parse (text, &r, &err) == 0)
    {
      if (r.ip.len > 32)
        abort ();
      cni_result_free (&r);
    }
  else if (err == NULL || r.bridge != NULL || r.host_veth != NULL)
    abort ();
  nslab_error_free (&err);
  free (cni_error_message (text));
  free (text);
  return 0;
}
