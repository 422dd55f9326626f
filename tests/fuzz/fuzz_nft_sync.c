/* libFuzzer entry for the nftables resync's payload reader: the input is two
 * payloads (OLD, then NEW after the first NUL byte; NEW = OLD without one),
 * as a snapshot's plan.json hands the control loop the applied one. Whatever
 * is read must diff without crashing, a payload against itself is "nothing
 * to do", and the loop's path (from OLD's digest) gives the text's
 * transaction. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "plan/kube_proxy_nftables.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *buf = malloc (size + 1);
  if (buf == NULL)
    return 0;
  memcpy (buf, data, size);
  buf[size] = '\0';
  size_t first = strlen (buf);
  const char *old = buf, *new = first < size ? buf + first + 1 : buf;
  struct kube_proxy_nft_digest *digest = NULL;
  nslab_error_t derr = NULL;
  if (kube_proxy_nft_digest_new (old, &digest, &derr) < 0)
    nslab_error_free (&derr);
  for (int full = 0; full < 2; full++)
    {
      char *out = NULL;
      nslab_error_t err = NULL;
      int rc = kube_proxy_nft_sync_payload (old, new, full, &out, &err);
      nslab_error_free (&err);
      char *via = NULL;
      if (digest && kube_proxy_nft_sync_digest (digest, new, full, &via, NULL, &err) == 0
          && (rc < 0 || (via == NULL) != (out == NULL) || (via && strcmp (via, out) != 0)))
        abort ();
      nslab_error_free (&err);
      free (via);
      free (out);
    }
  kube_proxy_nft_digest_free (digest);
  char *same = NULL;
  nslab_error_t err = NULL;
  if (kube_proxy_nft_sync_payload (old, old, false, &same, &err) == 0 && same != NULL)
    abort ();
  nslab_error_free (&err);
  free (same);
  free (buf);
  return 0;
}
