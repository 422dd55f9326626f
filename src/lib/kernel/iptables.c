/* iptables-restore in a namespace (see iptables_exec.h). */
#include "kernel/iptables.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/netns.h"
#include "base/util.h"

/* Run PROG with ARGV (in the network namespace NSFD, or here when -1) and
 * collect its stdout; stdin and stderr are /dev/null. Returns the wait
 * status, or -1 with errno when it could not be started. */
static int
run_capture (const char *prog, char *const argv[], int nsfd, char **out)
{
  int p[2];
  *out = NULL;
  if (pipe2 (p, O_CLOEXEC) < 0)
    return -1;
  char *envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };
  pid_t pid = netns_spawn (prog, argv, envp, nsfd, (const int[3]) { -1, p[1], -1 });
  if (pid < 0)
    {
      int e = errno;
      close (p[0]);
      close (p[1]);
      errno = e;
      return -1;
    }
  close (p[1]);
  return child_reap (pid, p[0], out);
}

/* Run `iptables -V` and look for "(nf_tables)": only needed when the
 * binary's name does not tell (a self-built iptables, say). */
static int
version_says_nft (const char *iptables)
{
  char *argv[] = { (char *) "iptables", (char *) "-V", NULL };
  cleanup_free char *out = NULL;
  if (run_capture (iptables, argv, -1, &out) < 0)
    return -1;
  return strstr (out, "(nf_tables)") != NULL;
}

const char *
iptables_restore_program (nslab_error_t *err)
{
  static char *prog;
  if (prog)
    return prog;
  cleanup_free char *ipt = find_program ("iptables", NULL);
  if (ipt == NULL)
    {
      nslab_error (err, ENOENT, "iptables not found in PATH (install the iptables package)");
      return NULL;
    }
  char real[PATH_MAX];
  if (realpath (ipt, real) == NULL)
    {
      nslab_error (err, errno, "resolve %s", ipt);
      return NULL;
    }
  /* Debian: iptables -> /etc/alternatives/iptables -> iptables-nft ->
   * xtables-nft-multi (or the legacy ones). */
  const char *base = strrchr (real, '/') ? strrchr (real, '/') + 1 : real;
  bool nft;
  if (strstr (base, "legacy"))
    nft = false;
  else if (strstr (base, "nft"))
    nft = true;
  else
    nft = version_says_nft (real) == 1;
  char *dir = xstrdup (ipt);
  *strrchr (dir, '/') = '\0';
  const char *name = nft ? "iptables-nft-restore" : "iptables-legacy-restore";
  prog = find_program (name, dir);
  free (dir);
  if (prog == NULL)
    nslab_error (err, ENOENT, "%s not found (the backend `iptables` uses)", name);
  return prog;
}

int
iptables_restore_start (const char *ns, const char *payload, struct child_job *job, nslab_error_t *err)
{
  child_job_init (job);
  const char *prog = iptables_restore_program (err);
  if (prog == NULL)
    return nslab_error_wrap (err, "%s: iptables-restore", ns);
  char *argv[] = { (char *) "iptables-restore", (char *) "--noflush", (char *) "--counters", NULL };
  return netns_exec_stdin_start (ns, prog, argv, payload, job, err);
}

int
iptables_restore_finish (struct child_job *job, nslab_error_t *err)
{
  return netns_exec_finish (job, "iptables-restore", err);
}

int
iptables_restore (const char *ns, const char *payload, nslab_error_t *err)
{
  struct child_job job;
  if (iptables_restore_start (ns, payload, &job, err) < 0)
    return -1;
  return iptables_restore_finish (&job, err);
}

int
iptables_save (const char *ns, const char *table, char **out, nslab_error_t *err)
{
  const char *restore = iptables_restore_program (err);
  if (restore == NULL)
    return nslab_error_wrap (err, "%s: iptables-save", ns);
  /* The save program of the same backend sits beside the restore one. */
  cleanup_free char *prog = xstrdup (restore);
  char *suffix = strstr (prog, "-restore");
  if (suffix == NULL)
    return nslab_error (err, ENOENT, "%s: no iptables-save beside %s", ns, restore);
  memcpy (suffix, "-save", sizeof "-save");
  cleanup_close int nsfd = netns_open (ns, err);
  if (nsfd < 0)
    return -1;
  char *argv[] = { (char *) "iptables-save", table ? (char *) "-t" : NULL, (char *) table, NULL };
  cleanup_free char *text = NULL;
  int status = run_capture (prog, argv, nsfd, &text);
  if (status < 0)
    return nslab_error (err, errno, "%s: start iptables-save", ns);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return nslab_error (err, 0, "%s: iptables-save%s%s failed (status %d)", ns, table ? " -t " : "", table ? table : "",
                        WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
  *out = text;
  text = NULL;
  return 0;
}
