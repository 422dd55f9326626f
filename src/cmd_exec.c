/* nslab exec LAB [-n NAMESPACE] TARGET [-- CMD ARGS...]: run a command inside
 * a node or a pod of a running lab, as `kubectl exec` / `ssh node` would:
 * join the IPC, UTS, network and mount namespaces of the target's pause
 * process (the lab host: its network namespace only), then run CMD with
 * the caller's terminal, environment and stdio, and exit with its status. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "apiserver/pki.h"
#include "apply/apply.h"
#include "state/state.h"
#include "base/error.h"
#include "base/util.h"
#include "base/ipaddr.h"
#include "cli.h"
#include "kernel/caps.h"
#include "cmd.h"
#include "runtime/enter.h"
#include "target.h"

/* What the command gets of a terminal on stdin. The command runs in the
 * pod's PID namespace, where our process group and session (outside it)
 * have no number: a shell there that shares them reads its terminal's
 * foreground group as 0 and fails restoring it at exit ("Cannot set tty
 * process group", exit 2 instead of its own status). So the command gets
 * a group of its own, as runc gives a container's. */
enum exec_tty {
  EXEC_TTY_NONE,       /* no terminal, or one we are in the background of: as it is */
  EXEC_TTY_SESSION,    /* a terminal that is not our controlling terminal
                        * (the API server's pty, nobody's yet): the command
                        * leads a session with it as its controlling
                        * terminal and is its foreground, as runc sets up a
                        * container's process */
  EXEC_TTY_FOREGROUND, /* our own controlling terminal, ours to give: the
                        * command is its foreground group while it runs,
                        * as a shell runs a job */
};

static enum exec_tty
exec_tty_of_stdin (void)
{
  if (!isatty (STDIN_FILENO))
    return EXEC_TTY_NONE;
  pid_t sid = tcgetsid (STDIN_FILENO);
  if (sid < 0)
    return EXEC_TTY_SESSION;
  if (sid == getsid (0) && tcgetpgrp (STDIN_FILENO) == getpgrp ())
    return EXEC_TTY_FOREGROUND;
  return EXEC_TTY_NONE;
}

/* Make PGRP the terminal's foreground group; from a background group that
 * takes SIGTTOU ignored. */
static void
give_terminal (pid_t pgrp)
{
  struct sigaction ign = { .sa_handler = SIG_IGN }, old;
  sigemptyset (&ign.sa_mask);
  sigaction (SIGTTOU, &ign, &old);
  (void) tcsetpgrp (STDIN_FILENO, pgrp);
  sigaction (SIGTTOU, &old, NULL);
}

/* What is sent to nslab exec while its command runs is for the command,
 * as sudo relays it: timeout(1)'s SIGTERM, a script's kill, a closing
 * terminal's SIGHUP. Without this the command outlives the exec that a
 * script stopped (an orphan still holding its stdout). */
static const int forwarded_signals[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
#define N_FORWARDED (sizeof forwarded_signals / sizeof forwarded_signals[0])
static volatile sig_atomic_t exec_child;

static void
forward_signal (int sig)
{
  int saved = errno;
  if (exec_child > 0)
    kill ((pid_t) exec_child, sig);
  errno = saved;
}

/* What run changes of our signals while CMD runs, to be put back. */
struct exec_signals {
  struct sigaction old_int, old_quit, old_fwd[N_FORWARDED];
  sigset_t fwd_set, old_mask;
};

/* Like system(): while CMD runs, ^C and ^\ are for it, not for us. The
 * forwarded ones are caught, and wait (blocked) until the child's pid is
 * known: the caller unblocks them with S->old_mask then. */
static void
signals_take (struct exec_signals *s)
{
  struct sigaction ign = { .sa_handler = SIG_IGN };
  struct sigaction fwd = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };
  sigemptyset (&ign.sa_mask);
  sigemptyset (&fwd.sa_mask);
  sigaction (SIGINT, &ign, &s->old_int);
  sigaction (SIGQUIT, &ign, &s->old_quit);
  sigemptyset (&s->fwd_set);
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaddset (&s->fwd_set, forwarded_signals[i]);
  sigprocmask (SIG_BLOCK, &s->fwd_set, &s->old_mask);
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaction (forwarded_signals[i], &fwd, &s->old_fwd[i]);
}

/* Everything as before signals_take (in the child too, before its exec). */
static void
signals_restore (struct exec_signals *s)
{
  sigprocmask (SIG_BLOCK, &s->fwd_set, NULL);
  exec_child = 0;
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaction (forwarded_signals[i], &s->old_fwd[i], NULL);
  sigprocmask (SIG_SETMASK, &s->old_mask, NULL);
  sigaction (SIGINT, &s->old_int, NULL);
  sigaction (SIGQUIT, &s->old_quit, NULL);
}

/* Run CMD and wait: returns its exit status as a shell reports it (128+N
 * for signal N), or -1 with *err set when it could not be started. */
static int
run (char **cmd, uint64_t limit_caps, nslab_error_t *err)
{
  struct exec_signals sigs;
  enum exec_tty tty = exec_tty_of_stdin ();
  fflush (NULL);
  signals_take (&sigs);
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      signals_restore (&sigs);
      return nslab_error (err, e, "fork");
    }
  if (pid == 0)
    {
      signals_restore (&sigs);
      /* Another session's terminal (tcgetsid says ENOTTY for it too) is
       * not ours to take: the command then runs without one, as a
       * container's does when its terminal could not be set up. */
      if (tty == EXEC_TTY_SESSION && setsid () >= 0)
        (void) ioctl (STDIN_FILENO, TIOCSCTTY, 0);
      if (tty == EXEC_TTY_FOREGROUND)
        {
          setpgid (0, 0);
          give_terminal (getpid ());
        }
      /* kubectl exec runs with the container's capabilities: a pod's shell
       * cannot `ip link add` unless its workload (or --privileged) says so.
       * Only the command: we keep ours to leave the pod's namespaces. */
      if (limit_caps && caps_limit (limit_caps) < 0)
        {
          fprintf (stderr, "nslab: limit capabilities to a pod's: %s\n", strerror (errno));
          _exit (126);
        }
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
  exec_child = pid;
  sigprocmask (SIG_SETMASK, &sigs.old_mask, NULL);
  /* Both sides, whichever runs first. */
  if (tty == EXEC_TTY_FOREGROUND)
    {
      setpgid (pid, pid);
      give_terminal (pid);
    }
  enter_leave ();
  int status = 0;
  pid_t r;
  for (;;)
    {
      r = waitpid (pid, &status, tty == EXEC_TTY_FOREGROUND ? WUNTRACED : 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 || !WIFSTOPPED (status))
        break;
      /* ^Z stopped the command: the terminal back to us, stop as a job
       * does, and on `fg` hand it over again and wake the command. */
      give_terminal (getpgrp ());
      raise (SIGTSTP);
      give_terminal (pid);
      kill (-pid, SIGCONT);
    }
  if (tty == EXEC_TTY_FOREGROUND)
    give_terminal (getpgrp ());
  int wait_errno = errno;
  signals_restore (&sigs);
  if (r < 0)
    return nslab_error (err, wait_errno, "wait for %s", cmd[0]);
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return NSLAB_EXIT_FAILURE;
}

int
cmd_exec (int argc, char **argv, nslab_error_t *err)
{
  const char *lab = NULL, *target_arg = NULL, *ns = "default";
  char **cmd = NULL;
  bool privileged = false;
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
      if (strcmp (a, "--privileged") == 0)
        {
          privileged = true;
          continue;
        }
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
  struct lab_view v;
  if (lab_view_load (lab, &v, err) < 0)
    return -1;
  struct enter_fds f;
  bool is_host = false;
  uint64_t pod_caps = 0;
  int rc = target_open (&v, target_arg, ns, &f, &is_host, &pod_caps, err);
  /* On the control-plane node kubectl finds the lab's API server, as on a
   * k3s server (/etc/rancher/k3s/k3s.yaml). */
  const char *node_name = target_node_name (target_arg);
  if (rc == 0 && node_name)
    for (size_t k = 0; k < v.snap->objects->n_nodes; k++)
      {
        const struct lab_node *n = &v.snap->objects->nodes[k];
        cleanup_free char *kc = xasprintf ("%s/%s/%s", state_root (), lab, KUBECONFIG_FILE);
        if (n->role == ROLE_CONTROL_PLANE && strcmp (n->name, node_name) == 0 && access (kc, R_OK) == 0)
          setenv ("KUBECONFIG", kc, 1);
      }
  /* In a pod, in-cluster clients (client-go's InClusterConfig, kubectl)
   * find the API server by the kubernetes service's variables, which
   * kubelet puts in every container's environment, as the pod's app has
   * them (plan/kubelet.c): whichever way the pod is named (deploy/web). */
  if (rc == 0 && target_enters_pod (target_arg))
    for (size_t k = 0; k < v.snap->objects->n_services; k++)
      {
        const struct lab_service *s = &v.snap->objects->services[k];
        if (!s->implicit || strcmp (s->ns, "default") != 0 || strcmp (s->name, "kubernetes") != 0 || !s->n_ports)
          continue;
        char ip[IP_STRLEN], port[8];
        ip_fmt (s->cluster_ip, ip);
        snprintf (port, sizeof port, "%u", s->ports[0].port);
        setenv ("KUBERNETES_SERVICE_HOST", ip, 1);
        setenv ("KUBERNETES_SERVICE_PORT", port, 1);
        setenv ("KUBERNETES_SERVICE_PORT_HTTPS", port, 1);
      }
  lab_view_free (&v);
  if (rc < 0)
    return -1;
  if (enter_join (&f, err) < 0)
    return -1;
  uint64_t limit = privileged ? 0 : pod_caps;

  if (cmd)
    return run (cmd, limit, err);
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
  return run (sh, limit, err);
}
