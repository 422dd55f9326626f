/* nftables in a namespace through libnftables (see nftables.h). */
#include "kernel/nftables.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <string.h>

#include "base/util.h"
#include "kernel/netns.h"

static void
ctx_free (struct nft_ctx **c)
{
  if (*c)
    nft_ctx_free (*c);
}
#define cleanup_nft __attribute__ ((cleanup (ctx_free)))

/* The first line libnftables wrote to its error buffer (it prints the
   failing input line and a caret marker after it). */
static char *
first_error_line (struct nft_ctx *ctx)
{
  const char *e = nft_ctx_get_error_buffer (ctx);
  if (e == NULL || *e == '\0')
    return xstrdup ("failed");
  const char *nl = strchr (e, '\n');
  return nl ? xstrndup (e, (size_t) (nl - e)) : xstrdup (e);
}

static int
run (const char *ns, const char *buf, char **out, nslab_error_t *err)
{
  struct netns_guard g cleanup_netns = NETNS_GUARD_INIT;
  if (ns && netns_enter (&g, ns, err) < 0)
    return -1;
  /* Created inside the namespace: the context's netlink socket talks to
     the namespace it was opened in. */
  struct nft_ctx *ctx cleanup_nft = nft_ctx_new (NFT_CTX_DEFAULT);
  if (ctx == NULL)
    return nslab_error (err, ENOMEM, "%s: nftables context", ns ? ns : "nft");
  if (nft_ctx_buffer_error (ctx) < 0 || (out && nft_ctx_buffer_output (ctx) < 0))
    return nslab_error (err, ENOMEM, "%s: nftables buffers", ns ? ns : "nft");
  if (nft_run_cmd_from_buffer (ctx, buf) != 0)
    {
      cleanup_free char *line = first_error_line (ctx);
      return nslab_error (err, 0, "%s: nft: %s", ns ? ns : "nft", line);
    }
  if (out)
    *out = xstrdup (nft_ctx_get_output_buffer (ctx));
  return 0;
}

int
nftables_run (const char *ns, const char *payload, nslab_error_t *err)
{
  return run (ns, payload, NULL, err);
}

int
nftables_list (const char *ns, const char *command, char **out, nslab_error_t *err)
{
  *out = NULL;
  return run (ns, command, out, err);
}
