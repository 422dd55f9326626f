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

#include "apply/apply.h"
#include "cli.h"
#include "cmd.h"
#include "base/error.h"
#include "kernel/netns.h"
#include "kernel/proc.h"
#include "runtime/pause.h"
#include "k8s/objects.h"
#include "plan/plan.h"
#include "state/snapshot.h"
#include "state/state.h"
#include "base/util.h"

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

/* The live process of a node ("cp1") or pod ("demo/web-..."): the journal's
 * last record of it, since a retried start records it again. The journal,
 * not the snapshot, holds pids: it is written before each process starts. */
static const struct state_process *
journal_process (const struct state *st, enum state_proc_kind kind, const char *name)
{
  const struct state_process *found = NULL;
  for (size_t i = 0; i < st->n_procs; i++)
    if (st->procs[i].kind == kind && strcmp (st->procs[i].name, name) == 0)
      found = &st->procs[i];
  return found;
}

static enum obj_kind
target_obj_kind (enum target_kind k)
{
  switch (k)
    {
    case T_DEPLOY:
      return OBJ_DEPLOYMENT;
    case T_RS:
      return OBJ_REPLICASET;
    case T_NODE:
      return OBJ_NODE;
    case T_HOST:
    case T_POD:
      break;
    }
  return OBJ_POD;
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
unknown_target (const struct lab_objects *o, const struct target *t, const char *ns, nslab_error_t *err)
{
  cleanup_free char *hint = objects_targets_hint (o, HINT_PODS);
  if (t->kind == T_NODE)
    nslab_error_invalid (err, "lab %s has no node \"%s\"", o->lab, t->name);
  else
    nslab_error_invalid (err, "lab %s has no %s \"%s\" in namespace \"%s\"", o->lab, kind_word (t->kind),
                         t->name, ns);
  return nslab_error_hint (err, "%s", hint);
}

/* Open the namespaces of the target's pause process, checking that the pid
 * still is that process before and after. fds[] gets ipc, uts, net, mnt. */
static int
open_proc_namespaces (const char *lab, const struct state_process *p, const char *what, int fds[4],
                      nslab_error_t *err)
{
  static const char *const names[4] = { "ipc", "uts", "net", "mnt" };
  cleanup_close int pidfd = proc_open_verified (p->pid, p->starttime);
  if (pidfd < 0)
    return nslab_error (err, 0, "%s is not running (pid %d gone); try nslab status %s", what, (int) p->pid,
                        lab);
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
                        lab);
  return 0;
}

static int
join (int fd, int nstype, const char *name, nslab_error_t *err)
{
  if (setns (fd, nstype) < 0)
    return nslab_error (err, errno, "setns %s%s", name, errno == EPERM ? " (nslab exec needs root)" : "");
  return 0;
}

/* Run CMD and wait: returns its exit status as a shell reports it (128+N
 * for signal N), or -1 with *err set when it could not be started. */
static int
run (char **cmd, nslab_error_t *err)
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
      return nslab_error (err, e, "fork");
    }
  if (pid == 0)
    {
      sigaction (SIGINT, &old_int, NULL);
      sigaction (SIGQUIT, &old_quit, NULL);
      execvp (cmd[0], cmd);
      int e = errno;
      /* The child reports its own exec failure: the parent only sees an
       * exit status, and 126/127 must stay the command's status (as in a
       * shell), so there is no error object to hand up. */
      char *shown = nslab_escape (cmd[0], false);
      fprintf (stderr, "nslab: exec %s: %s\n", shown, strerror (e));
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
    return nslab_error (err, errno, "wait for %s", cmd[0]);
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return NSLAB_EXIT_FAILURE;
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
cmd_exec (int argc, char **argv, nslab_error_t *err)
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
        return cli_help ("exec");
      if (strcmp (a, "-n") == 0 || strcmp (a, "--namespace") == 0)
        {
          if (i + 1 >= argc)
            return cli_usage ("exec");
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
        return cli_usage ("exec");
      if (lab == NULL)
        lab = a;
      else
        target_arg = a;
    }
  if (lab == NULL || target_arg == NULL || *ns == '\0')
    return cli_usage ("exec");
  if (i < argc)
    cmd = argv + i;

  /* Before anything else, as up does: the same one line without root. */
  if (apply_check_privileges (err) < 0)
    return -1;
  struct target t = { T_POD, "" };
  if (parse_target (target_arg, &t, err) < 0)
    return -1;

  cleanup_free char *labdir = xasprintf ("%s/%s", state_root (), lab);
  struct stat sbuf;
  if (strchr (lab, '/') == NULL && stat (labdir, &sbuf) < 0 && errno == ENOENT)
    return lab_unknown (lab, err);
  struct plan *snap = NULL;
  if (snapshot_read (lab, &snap, err) < 0)
    return -1;
  struct state *st = NULL;
  if (state_load (lab, &st, err) < 0)
    {
      plan_free (snap);
      return -1;
    }

  int fds[4] = { -1, -1, -1, -1 };
  int rc = 0;
  if (t.kind == T_HOST)
    {
      const char *host = NULL;
      for (size_t k = 0; k < snap->n_ops && host == NULL; k++)
        if (snap->ops[k].kind == OP_NETNS && snap->ops[k].u.netns.kind == PLAN_NETNS_LABHOST)
          host = snap->ops[k].ns;
      cleanup_free char *path = host ? netns_path (host) : NULL;
      if (host == NULL)
        rc = nslab_error (err, 0, "lab %s has no host namespace; try nslab status %s", lab, lab);
      else if ((fds[2] = open (path, O_RDONLY | O_CLOEXEC)) < 0)
        rc = nslab_error (err, errno, "host namespace %s of lab %s is gone (%s); try nslab status %s", host, lab,
                          path, lab);
    }
  else
    {
      const struct state_process *p = NULL;
      cleanup_free char *what = NULL;
      if (t.kind == T_NODE)
        {
          const struct lab_node *n = objects_find_node (snap->objects, t.name);
          if (n)
            {
              p = journal_process (st, STATE_PROC_NODE, n->name);
              what = xasprintf ("node/%s", n->name);
            }
        }
      else
        {
          const struct lab_pod *pod = objects_find_pod (snap->objects, target_obj_kind (t.kind), ns, t.name);
          if (pod)
            {
              cleanup_free char *key = xasprintf ("%s/%s", pod->ns, pod->name);
              p = journal_process (st, STATE_PROC_POD, key);
              what = t.kind == T_POD ? xasprintf ("pod/%s", pod->name)
                                     : xasprintf ("pod/%s (%s/%s)", pod->name, kind_word (t.kind), t.name);
            }
        }
      if (what == NULL)
        rc = unknown_target (snap->objects, &t, ns, err);
      else if (p == NULL)
        rc = nslab_error (err, 0, "%s has no process recorded (its up did not get that far); try nslab status %s",
                          what, lab);
      else
        rc = open_proc_namespaces (lab, p, what, fds, err);
    }
  state_free (st);
  plan_free (snap);

  /* The mount namespace last: after it, /proc and the paths above may not
   * be what they were. */
  static const int types[4] = { CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWNS };
  static const char *const names[4] = { "ipc", "uts", "net", "mnt" };
  for (int k = 0; k < 4 && rc == 0; k++)
    if (fds[k] >= 0)
      rc = join (fds[k], types[k], names[k], err);
  for (int k = 0; k < 4; k++)
    if (fds[k] >= 0)
      close (fds[k]);
  if (rc < 0)
    return -1;
  if (t.kind != T_HOST && chdir ("/") < 0)
    return nslab_error (err, errno, "chdir /");

  if (cmd)
    return run (cmd, err);
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
  return run (sh, err);
}
