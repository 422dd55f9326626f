/* nftables in a namespace through libnftables (see nftables.h). */
#include "kernel/nftables.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/netns.h"

/* libnftables is loaded at its first use, not linked: only labs in
 * nftables proxy mode need it, and linking it made every nslab command
 * (down, exec, the control loop's runs) map and relocate it and the four
 * libraries it brings (nftnl, xtables, gmp, jansson's shared copy): about
 * 1.2 ms of each start on the 2-core VM. The header still declares each
 * function, so the pointers keep their exact types. */
#define LIBNFTABLES_SONAME "libnftables.so.1"

static struct {
  __typeof__ (nft_ctx_new) *ctx_new;
  __typeof__ (nft_ctx_free) *ctx_free;
  __typeof__ (nft_ctx_buffer_error) *ctx_buffer_error;
  __typeof__ (nft_ctx_buffer_output) *ctx_buffer_output;
  __typeof__ (nft_ctx_get_error_buffer) *ctx_get_error_buffer;
  __typeof__ (nft_ctx_get_output_buffer) *ctx_get_output_buffer;
  __typeof__ (nft_run_cmd_from_buffer) *run_cmd_from_buffer;
  char load_error[256]; /* empty once every function is found */
} libnft;

static void
libnft_load (void)
{
  void *h = dlopen (LIBNFTABLES_SONAME, RTLD_NOW | RTLD_LOCAL);
  const char *e = h ? NULL : dlerror ();
#define LIBNFT_SYM(field, name) \
  if (e == NULL && (libnft.field = (__typeof__ (libnft.field)) dlsym (h, name)) == NULL) \
    e = dlerror ();
  LIBNFT_SYM (ctx_new, "nft_ctx_new")
  LIBNFT_SYM (ctx_free, "nft_ctx_free")
  LIBNFT_SYM (ctx_buffer_error, "nft_ctx_buffer_error")
  LIBNFT_SYM (ctx_buffer_output, "nft_ctx_buffer_output")
  LIBNFT_SYM (ctx_get_error_buffer, "nft_ctx_get_error_buffer")
  LIBNFT_SYM (ctx_get_output_buffer, "nft_ctx_get_output_buffer")
  LIBNFT_SYM (run_cmd_from_buffer, "nft_run_cmd_from_buffer")
#undef LIBNFT_SYM
  if (e)
    snprintf (libnft.load_error, sizeof libnft.load_error, "%s", e);
}

/* Loaded once per process; the handle stays for its life. */
static int
libnft_ready (nslab_error_t *err)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once (&once, libnft_load);
  if (libnft.load_error[0])
    return nslab_error (err, ENOENT, "load %s (the libnftables1 package): %s", LIBNFTABLES_SONAME,
                        libnft.load_error);
  return 0;
}

static void
ctx_free (struct nft_ctx **c)
{
  if (*c)
    libnft.ctx_free (*c);
}
#define cleanup_nft __attribute__ ((cleanup (ctx_free)))

/* The first line libnftables wrote to its error buffer (it prints the
   failing input line and a caret marker after it). */
static char *
first_error_line (struct nft_ctx *ctx)
{
  const char *e = libnft.ctx_get_error_buffer (ctx);
  if (e == NULL || *e == '\0')
    return xstrdup ("failed");
  const char *nl = strchr (e, '\n');
  return nl ? xstrndup (e, (size_t) (nl - e)) : xstrdup (e);
}

static int
run (const char *ns, const char *buf, char **out, nslab_error_t *err)
{
  if (libnft_ready (err) < 0)
    return nslab_error_wrap (err, "%s: nftables", ns ? ns : "nft");
  struct netns_guard g cleanup_netns = NETNS_GUARD_INIT;
  if (ns && netns_enter (&g, ns, err) < 0)
    return -1;
  /* Created inside the namespace: the context's netlink socket talks to
     the namespace it was opened in. */
  struct nft_ctx *ctx cleanup_nft = libnft.ctx_new (NFT_CTX_DEFAULT);
  if (ctx == NULL)
    return nslab_error (err, ENOMEM, "%s: nftables context", ns ? ns : "nft");
  if (libnft.ctx_buffer_error (ctx) < 0 || (out && libnft.ctx_buffer_output (ctx) < 0))
    return nslab_error (err, ENOMEM, "%s: nftables buffers", ns ? ns : "nft");
  if (libnft.run_cmd_from_buffer (ctx, buf) != 0)
    {
      cleanup_free char *line = first_error_line (ctx);
      return nslab_error (err, 0, "%s: nft: %s", ns ? ns : "nft", line);
    }
  if (out)
    *out = xstrdup (libnft.ctx_get_output_buffer (ctx));
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
