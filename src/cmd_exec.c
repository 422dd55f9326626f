/* nslab exec LAB [-n NAMESPACE] TARGET [-- CMD ARGS...]: run a command inside
 * a node or a pod of a running lab, as `kubectl exec` / `ssh node` would:
 * join the IPC, UTS, network and mount namespaces of the target's pause
 * process (the lab host: its network namespace only), then run CMD with
 * the caller's terminal, environment and stdio, and exit with its status. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "base/error.h"
#include "kernel/netns.h"
#include "kernel/proc.h"
#include "runtime/pause.h"
#include "state/state.h"
#include "base/util.h"

#define SYNOPSIS "exec LAB [-n NAMESPACE] TARGET [-- CMD ARGS...]\n" \
  "  TARGET: host, node/NAME, pod/NAME, deploy/NAME, rs/NAME (pods in NAMESPACE, default \"default\")"

/* How many pods per namespace the "valid targets" hint lists. */
#define HINT_PODS 6

enum target_kind { T_HOST, T_NODE, T_POD, T_DEPLOY, T_RS };

struct target {
  enum target_kind kind;
  const char *name;
};

static int
parse_target (const char *arg, struct target *t, nslab_error_t *err)
{
  static const struct {
    const char *prefix;
    enum target_kind kind;
  } kinds[] = {
    { "node/", T_NODE }, { "nodes/", T_NODE }, { "no/", T_NODE },
    { "pod/", T_POD }, { "pods/", T_POD }, { "po/", T_POD },
    { "deploy/", T_DEPLOY }, { "deployment/", T_DEPLOY }, { "deployments/", T_DEPLOY },
    { "rs/", T_RS }, { "replicaset/", T_RS }, { "replicasets/", T_RS },
  };
  if (strcmp (arg, "host") == 0)
    {
      t->kind = T_HOST;
      t->name = "host";
      return 0;
    }
  for (size_t i = 0; i < ARRAY_SIZE (kinds); i++)
    if (str_has_prefix (arg, kinds[i].prefix))
      {
        t->kind = kinds[i].kind;
        t->name = arg + strlen (kinds[i].prefix);
        if (*t->name == '\0' || strchr (t->name, '/'))
          return nslab_error_invalid (err, "invalid target \"%s\" (use -n NAMESPACE for the namespace)", arg);
        return 0;
      }
  if (strchr (arg, '/'))
    return nslab_error_invalid (err, "invalid target \"%s\": expected host, node/NAME, pod/NAME, "
                                     "deploy/NAME or rs/NAME", arg);
  /* A bare name is a pod, as for kubectl exec. */
  t->kind = T_POD;
  t->name = arg;
  return 0;
}

/* The pod part of "ns/pod" when ns matches, else NULL. */
static const char *
pod_in_ns (const struct state_process *p, const char *ns)
{
  size_t n = strlen (ns);
  if (p->kind != STATE_PROC_POD || strncmp (p->name, ns, n) != 0 || p->name[n] != '/')
    return NULL;
  return p->name + n + 1;
}

/* The journal may name a process twice (a retried start): the last record
 * is the live one. */
static bool
superseded (const struct state *st, size_t i)
{
  for (size_t j = i + 1; j < st->n_procs; j++)
    if (st->procs[j].kind == st->procs[i].kind && strcmp (st->procs[j].name, st->procs[i].name) == 0)
      return true;
  return false;
}

/* Does pod (name without namespace) belong to replicaset rs? A deployment's
 * pods are named <replicaset>-<5 chars>. */
static bool
pod_of_rs (const struct state_process *p, const char *pod, const char *rs)
{
  if (p->owner && str_has_prefix (p->owner, "replicaset/") && strcmp (p->owner + 11, rs) == 0)
    return true;
  if (p->owner == NULL || !str_has_prefix (p->owner, "deployment/"))
    return false;
  const char *dash = strrchr (pod, '-');
  return dash && (size_t) (dash - pod) == strlen (rs) && strncmp (pod, rs, strlen (rs)) == 0;
}

static const struct state_process *
resolve (const struct state *st, const struct target *t, const char *ns)
{
  const struct state_process *best = NULL;
  for (size_t i = 0; i < st->n_procs; i++)
    {
      const struct state_process *p = &st->procs[i];
      if (superseded (st, i))
        continue;
      if (t->kind == T_NODE)
        {
          if (p->kind == STATE_PROC_NODE && strcmp (p->name, t->name) == 0)
            return p;
          continue;
        }
      const char *pod = pod_in_ns (p, ns);
      if (pod == NULL)
        continue;
      bool match = false;
      if (t->kind == T_POD)
        match = strcmp (pod, t->name) == 0;
      else if (t->kind == T_DEPLOY)
        match = p->owner && str_has_prefix (p->owner, "deployment/") && strcmp (p->owner + 11, t->name) == 0;
      else if (t->kind == T_RS)
        match = pod_of_rs (p, pod, t->name);
      /* Deployments and replicasets: their first pod by name. */
      if (match && (best == NULL || strcmp (p->name, best->name) < 0))
        best = p;
    }
  return best;
}

static bool
seen (char **list, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (list[i], s) == 0)
      return true;
  return false;
}

/* "valid targets: ..." lines for an unknown target. */
static char *
targets_hint (const struct state *st)
{
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "valid targets: host");
  for (size_t i = 0; i < st->n_procs; i++)
    if (st->procs[i].kind == STATE_PROC_NODE && !superseded (st, i))
      sb_addf (&sb, ", node/%s", st->procs[i].name);

  char **namespaces = NULL;
  size_t n_ns = 0;
  for (size_t i = 0; i < st->n_procs; i++)
    {
      const struct state_process *p = &st->procs[i];
      if (p->kind != STATE_PROC_POD || superseded (st, i) || strchr (p->name, '/') == NULL)
        continue;
      cleanup_free char *ns = xstrndup (p->name, (size_t) (strchr (p->name, '/') - p->name));
      if (!seen (namespaces, n_ns, ns))
        *VEC_PUSH (namespaces, n_ns) = xstrdup (ns);
    }
  for (size_t k = 0; k < n_ns; k++)
    {
      char **owners = NULL;
      size_t n_owners = 0, shown = 0, hidden = 0;
      sb_addf (&sb, "\n  -n %s:", namespaces[k]);
      for (size_t i = 0; i < st->n_procs; i++)
        {
          const struct state_process *p = &st->procs[i];
          const char *pod = pod_in_ns (p, namespaces[k]);
          if (pod == NULL || superseded (st, i))
            continue;
          if (p->owner && str_has_prefix (p->owner, "deployment/") && !seen (owners, n_owners, p->owner))
            {
              *VEC_PUSH (owners, n_owners) = p->owner;
              sb_addf (&sb, " deploy/%s", p->owner + 11);
            }
          else if (p->owner && str_has_prefix (p->owner, "replicaset/") && !seen (owners, n_owners, p->owner))
            {
              *VEC_PUSH (owners, n_owners) = p->owner;
              sb_addf (&sb, " rs/%s", p->owner + 11);
            }
        }
      for (size_t i = 0; i < st->n_procs; i++)
        {
          const char *pod = pod_in_ns (&st->procs[i], namespaces[k]);
          if (pod == NULL || superseded (st, i))
            continue;
          if (shown < HINT_PODS)
            {
              sb_addf (&sb, " pod/%s", pod);
              shown++;
            }
          else
            hidden++;
        }
      if (hidden)
        sb_addf (&sb, " (and %zu more pods)", hidden);
      free (owners);
      free (namespaces[k]);
    }
  free (namespaces);
  return sb_steal (&sb);
}

static const char *
kind_word (enum target_kind k)
{
  switch (k)
    {
    case T_NODE:
      return "node";
    case T_DEPLOY:
      return "deploy";
    case T_RS:
      return "rs";
    case T_HOST:
      return "host";
    case T_POD:
    default:
      return "pod";
    }
}

static int
unknown_target (const struct state *st, const struct target *t, const char *ns, nslab_error_t *err)
{
  cleanup_free char *hint = targets_hint (st);
  if (t->kind == T_NODE)
    return nslab_error_invalid (err, "lab %s has no node \"%s\"\n%s", st->lab, t->name, hint);
  return nslab_error_invalid (err, "lab %s has no %s \"%s\" in namespace \"%s\"\n%s", st->lab,
                              kind_word (t->kind), t->name, ns, hint);
}

/* Open the namespaces of the target's pause process, checking that the pid
 * still is that process before and after. fds[] gets ipc, uts, net, mnt. */
static int
open_proc_namespaces (const struct state *st, const struct state_process *p, const char *what,
                      int fds[4], nslab_error_t *err)
{
  static const char *const names[4] = { "ipc", "uts", "net", "mnt" };
  cleanup_close int pidfd = proc_open_verified (p->pid, p->starttime);
  if (pidfd < 0)
    return nslab_error (err, 0, "%s is not running (pid %d gone); try nslab status %s", what, (int) p->pid,
                        st->lab);
  for (int i = 0; i < 4; i++)
    {
      cleanup_free char *path = xasprintf ("/proc/%d/ns/%s", (int) p->pid, names[i]);
      fds[i] = open (path, O_RDONLY | O_CLOEXEC);
      if (fds[i] < 0)
        return nslab_error (err, errno, "open %s", path);
    }
  /* The pid could have been recycled between the check and the opens; the
   * pidfd still names the process we checked. */
  if (!proc_pidfd_alive (pidfd) || !proc_alive (p->pid, p->starttime))
    return nslab_error (err, 0, "%s is not running (pid %d gone); try nslab status %s", what, (int) p->pid,
                        st->lab);
  return 0;
}

static int
join (int fd, int nstype, const char *name, nslab_error_t *err)
{
  if (setns (fd, nstype) < 0)
    return nslab_error (err, errno, "setns %s%s", name, errno == EPERM ? " (nslab exec needs root)" : "");
  return 0;
}

static int
run (char **cmd)
{
  struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
  fflush (NULL);
  /* Like system(): while CMD runs, ^C and ^\ are for it, not for us. */
  sigemptyset (&ign.sa_mask);
  sigaction (SIGINT, &ign, &old_int);
  sigaction (SIGQUIT, &ign, &old_quit);
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      sigaction (SIGINT, &old_int, NULL);
      sigaction (SIGQUIT, &old_quit, NULL);
      fprintf (stderr, "nslab: fork: %s\n", strerror (e));
      return NSLAB_EXIT_FAILURE;
    }
  if (pid == 0)
    {
      sigaction (SIGINT, &old_int, NULL);
      sigaction (SIGQUIT, &old_quit, NULL);
      execvp (cmd[0], cmd);
      int e = errno;
      fprintf (stderr, "nslab: exec %s: %s\n", cmd[0], strerror (e));
      /* The shell's conventions: not found 127, found but not runnable 126. */
      _exit (e == ENOENT || e == ENOTDIR ? 127 : 126);
    }
  int status = 0;
  pid_t r;
  while ((r = waitpid (pid, &status, 0)) < 0 && errno == EINTR)
    ;
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGQUIT, &old_quit, NULL);
  if (r < 0)
    {
      fprintf (stderr, "nslab: waitpid: %s\n", strerror (errno));
      return NSLAB_EXIT_FAILURE;
    }
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return NSLAB_EXIT_FAILURE;
}

static int
usage_ok (void)
{
  printf ("usage: nslab " SYNOPSIS "\n");
  return 0;
}

static int
lab_unknown (const char *lab, nslab_error_t *err)
{
  char **labs = NULL;
  size_t n = 0;
  nslab_error_t lerr = NULL;
  struct strbuf sb;
  sb_init (&sb);
  if (state_list (&labs, &n, &lerr) < 0 || n == 0)
    sb_add (&sb, "no lab is up");
  else
    {
      sb_add (&sb, "labs up:");
      for (size_t i = 0; i < n; i++)
        sb_addf (&sb, " %s", labs[i]);
    }
  for (size_t i = 0; i < n; i++)
    free (labs[i]);
  free (labs);
  nslab_error_free (&lerr);
  cleanup_free char *list = sb_steal (&sb);
  return nslab_error_invalid (err, "unknown lab \"%s\" (%s)", lab, list);
}

int
cmd_exec (int argc, char **argv)
{
  const char *lab = NULL, *target_arg = NULL, *ns = "default";
  char **cmd = NULL;
  int i;

  for (i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--") == 0)
        {
          i++;
          break;
        }
      if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0)
        return usage_ok ();
      if (strcmp (a, "-n") == 0 || strcmp (a, "--namespace") == 0)
        {
          if (i + 1 >= argc)
            return cli_usage (SYNOPSIS);
          ns = argv[++i];
          continue;
        }
      if (str_has_prefix (a, "--namespace="))
        {
          ns = a + 12;
          continue;
        }
      if (a[0] == '-' && a[1] == 'n' && a[2] != '\0')
        {
          ns = a + 2;
          continue;
        }
      /* After LAB and TARGET, the first other word starts the command:
       * `nslab exec k3s pod/x ip route` needs no "--". */
      if (lab && target_arg)
        break;
      if (a[0] == '-' && a[1] != '\0')
        return cli_usage (SYNOPSIS);
      if (lab == NULL)
        lab = a;
      else
        target_arg = a;
    }
  if (lab == NULL || target_arg == NULL || *ns == '\0')
    return cli_usage (SYNOPSIS);
  if (i < argc)
    cmd = argv + i;

  nslab_error_t err = NULL;
  struct target t = { T_POD, "" };
  if (parse_target (target_arg, &t, &err) < 0)
    return nslab_error_print (&err);

  cleanup_free char *labdir = xasprintf ("%s/%s", state_root (), lab);
  struct stat sbuf;
  if (strchr (lab, '/') == NULL && stat (labdir, &sbuf) < 0 && errno == ENOENT)
    {
      lab_unknown (lab, &err);
      return nslab_error_print (&err);
    }
  struct state *st = NULL;
  if (state_load (lab, &st, &err) < 0)
    return nslab_error_print (&err);

  int fds[4] = { -1, -1, -1, -1 };
  int rc = 0;
  if (t.kind == T_HOST)
    {
      if (st->labhost_netns == NULL)
        rc = nslab_error (&err, 0, "lab %s has no host namespace recorded; try nslab status %s", lab, lab);
      else
        {
          cleanup_free char *path = netns_path (st->labhost_netns);
          fds[2] = open (path, O_RDONLY | O_CLOEXEC);
          if (fds[2] < 0)
            rc = nslab_error (&err, errno, "host namespace %s of lab %s is gone (%s); try nslab status %s",
                              st->labhost_netns, lab, path, lab);
        }
    }
  else
    {
      const struct state_process *p = resolve (st, &t, ns);
      if (p == NULL)
        rc = unknown_target (st, &t, ns, &err);
      else
        {
          cleanup_free char *what = NULL;
          if (p->kind == STATE_PROC_NODE)
            what = xasprintf ("node/%s", p->name);
          else if (t.kind == T_POD)
            what = xasprintf ("pod/%s", strchr (p->name, '/') + 1);
          else
            what = xasprintf ("pod/%s (%s/%s)", strchr (p->name, '/') + 1, kind_word (t.kind), t.name);
          rc = open_proc_namespaces (st, p, what, fds, &err);
        }
    }
  state_free (st);

  /* The mount namespace last: after it, /proc and the paths above may not
   * be what they were. */
  static const int types[4] = { CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWNS };
  static const char *const names[4] = { "ipc", "uts", "net", "mnt" };
  for (int k = 0; k < 4 && rc == 0; k++)
    if (fds[k] >= 0)
      rc = join (fds[k], types[k], names[k], &err);
  for (int k = 0; k < 4; k++)
    if (fds[k] >= 0)
      close (fds[k]);
  if (rc < 0)
    return nslab_error_print (&err);
  if (t.kind != T_HOST && chdir ("/") < 0)
    {
      nslab_error (&err, errno, "chdir /");
      return nslab_error_print (&err);
    }

  if (cmd)
    return run (cmd);
  const char *shell = getenv ("SHELL");
  char *sh[3] = { NULL, NULL, NULL };
  if (shell && *shell)
    sh[0] = (char *) shell;
  else
    {
      sh[0] = (char *) "/bin/sh";
      /* Interactive only with a terminal; piped input is a script. */
      if (isatty (STDIN_FILENO))
        sh[1] = (char *) "-i";
    }
  return run (sh);
}
