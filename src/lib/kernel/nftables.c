/* nftables in a namespace through libnftables (see nftables.h). */
#include "kernel/nftables.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
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

/* run() in a child holding no descriptor but the namespace's: libnftables
 * waits on its netlink socket with select(), which aborts the process on a
 * descriptor past FD_SETSIZE, and up's parallel work on a large lab holds
 * more than a thousand. The first error line comes back through a pipe. */
int
nftables_start (const char *ns, const char *payload, struct child_job *job, nslab_error_t *err)
{
  child_job_init (job);
  int nsfd = -1;
  if (ns && (nsfd = netns_open (ns, err)) < 0)
    return -1;
  int ep[2];
  if (pipe2 (ep, O_CLOEXEC) < 0)
    {
      int e = errno;
      if (nsfd >= 0)
        close (nsfd);
      return nslab_error (err, e, "pipe");
    }
  pid_t pid = fork ();
  if (pid == 0)
    {
      /* fd 3: the namespace, 4: the error pipe; nothing else */
      if ((nsfd >= 0 && dup2 (nsfd, 3) < 0) || dup2 (ep[1], 4) < 0 || close_range (5, ~0U, 0) < 0
          || (nsfd >= 0 && setns (3, CLONE_NEWNET) < 0))
        _exit (126);
      close (3);
      nslab_error_t e = NULL;
      if (run (NULL, payload, NULL, &e) < 0)
        {
          (void) !write (4, e->msg, strlen (e->msg));
          _exit (1);
        }
      _exit (0);
    }
  int fork_errno = errno;
  close (ep[1]);
  if (nsfd >= 0)
    close (nsfd);
  if (pid < 0)
    {
      close (ep[0]);
      return nslab_error (err, fork_errno, "%s: fork for nft", ns ? ns : "nft");
    }
  job->pid = pid;
  job->err_fd = ep[0];
  job->ns = xstrdup (ns ? ns : "nft");
  return 0;
}

int
nftables_finish (struct child_job *job, nslab_error_t *err)
{
  cleanup_free char *msg = NULL, *ns = NULL;
  int status;
  if (!child_job_reap (job, &status, &msg, &ns) || (WIFEXITED (status) && WEXITSTATUS (status) == 0))
    return 0;
  return nslab_error (err, 0, "%s: %s", ns, *msg ? msg : "nft failed");
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
