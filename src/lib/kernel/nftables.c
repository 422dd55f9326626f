/* nftables in a namespace through libnftables (see nftables.h). */
#include "kernel/nftables.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

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

/* Whether a descriptor opened now would be past what select() takes. */
static bool
low_fds_taken (void)
{
  int probe = fcntl (2, F_DUPFD_CLOEXEC, 0);
  if (probe < 0)
    return errno == EMFILE;
  close (probe);
  return probe >= FD_SETSIZE;
}

/* The nft program: the command-line front end of the same libnftables. */
static const char *
nft_program (nslab_error_t *err)
{
  static char *prog;
  if (prog == NULL && (prog = find_program ("nft", NULL)) == NULL)
    nslab_error (err, ENOENT, "nft not found in PATH (install the nftables package)");
  return prog;
}

/* `nft -f -` with the payload on its standard input, as kube-proxy's
 * nftables mode runs its transactions (knftables execs nft): a fresh
 * process. A forked copy of the control loop running libnftables itself
 * spent most of its time in the loop's inherited heap (glibc's malloc
 * sorting the parent's free chunks, pages copied on write), and it could
 * not use select() past FD_SETSIZE descriptors, which libnftables does. */
int
nftables_start (const char *ns, const char *payload, struct child_job *job, nslab_error_t *err)
{
  child_job_init (job);
  const char *prog = nft_program (err);
  if (prog == NULL)
    return nslab_error_wrap (err, "%s: nft", ns ? ns : "nft");
  char *argv[] = { (char *) "nft", (char *) "-f", (char *) "-", NULL };
  return netns_exec_stdin_start (ns, prog, argv, payload, job, err);
}

int
nftables_finish (struct child_job *job, nslab_error_t *err)
{
  return netns_exec_finish (job, "nft", err);
}

int
nftables_run (const char *ns, const char *payload, nslab_error_t *err)
{
  if (low_fds_taken ())
    {
      struct child_job job;
      if (nftables_start (ns, payload, &job, err) < 0)
        return -1;
      return nftables_finish (&job, err);
    }
  return run (ns, payload, NULL, err);
}

int
nftables_list (const char *ns, const char *command, char **out, nslab_error_t *err)
{
  *out = NULL;
  return run (ns, command, out, err);
}
