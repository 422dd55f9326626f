/* nslab-pause: the process that holds a pod's (or node's) namespaces, as
 * the pause container does in a real pod. It is PID 1 in spirit: it reaps
 * every orphan of the pod, and on SIGTERM stops the app and then the whole
 * pod's process group. It is nslab itself re-executed (cmd_internal): it
 * sets the pod up first (pause_setup), then forks the pod's built-in app
 * without an exec, so a pod is two processes sharing one program image. */
#include "apps/pause_main.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apps/echo.h"
#include "kernel/caps.h"
#include "runtime/appsock.h"
#include "runtime/pause.h"

/* How long the app gets after SIGTERM before the pod is killed. */
#define TERM_GRACE_MS 2000

static pid_t app_pid;

static void
log_exit (pid_t pid, int status)
{
  const char *what = pid == app_pid ? "app" : "process";
  if (WIFEXITED (status))
    dprintf (STDERR_FILENO, "nslab-pause: %s %d exited with status %d\n", what, (int) pid,
             WEXITSTATUS (status));
  else if (WIFSIGNALED (status))
    dprintf (STDERR_FILENO, "nslab-pause: %s %d killed by signal %d (%s)\n", what, (int) pid,
             WTERMSIG (status), strsignal (WTERMSIG (status)));
}

/* Collect every exited child; returns false once the app is gone (or there
 * never was one). */
static bool
reap_all (void)
{
  for (;;)
    {
      int status;
      pid_t p = waitpid (-1, &status, WNOHANG);
      if (p > 0)
        {
          log_exit (p, status);
          if (p == app_pid)
            app_pid = 0;
          continue;
        }
      if (p < 0 && errno == EINTR)
        continue;
      return app_pid > 0;
    }
}

/* ps shows the app as "nslab-echo PORT", as it did when it was exec'd:
 * rewrite our argv area in place. Its last byte not NUL tells the kernel
 * that the title is the first string only (as setproctitle does), since
 * shortening the area (PR_SET_MM) needs CAP_SYS_RESOURCE. */
static void
set_title (int argc, char **argv, const char *port)
{
  char *end = argv[0];
  for (int i = 0; i < argc; i++)
    {
      if (argv[i] != end)
        return; /* not one contiguous area: leave it */
      end = argv[i] + strlen (argv[i]) + 1;
    }
  int n = snprintf (NULL, 0, "nslab-echo %s", port);
  if (n < 0 || end - argv[0] < n + 2)
    return;
  memset (argv[0], ' ', (size_t) (end - argv[0]));
  snprintf (argv[0], (size_t) n + 1, "nslab-echo %s", port);
}

/* The built-in HTTP app, a child of the pause process. */
static pid_t
fork_echo (int argc, char **argv, const struct pause_setup *su)
{
  pid_t self = getpid ();
  pid_t pid = fork ();
  if (pid != 0)
    return pid;
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != self)
    _exit (1);
  /* As a container's process: containerd's default capabilities only. */
  if (!su->privileged && caps_limit (CAPS_CONTAINER_DEFAULT) < 0)
    pause_setup_fail (su->errfd, errno, "limit the app's capabilities");
  close (su->errfd);
  sigset_t none;
  sigemptyset (&none);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      signal (s, SIG_DFL);
  sigprocmask (SIG_SETMASK, &none, NULL);
  prctl (PR_SET_CHILD_SUBREAPER, 0);
  char port[8];
  snprintf (port, sizeof port, "%u", su->http_port);
  set_title (argc, argv, port);
  char *eargv[] = { (char *) "nslab-echo", port, NULL };
  exit (echo_main (2, eargv));
}

int
pause_main (int argc, char **argv)
{
  sigset_t set;

  if (getenv (PAUSE_SETUP_ENV))
    {
      struct pause_setup su;
      pause_setup (&su);
      app_pid = su.app_pid;
      if (su.http_port)
        {
          app_pid = fork_echo (argc, argv, &su);
          if (app_pid < 0)
            pause_setup_fail (su.errfd, errno, "fork the app");
        }
      /* EOF on the error pipe: the pod started. */
      close (su.errfd);
    }
  close_range (3, ~0U, 0);
  signal (SIGINT, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  signal (SIGPIPE, SIG_IGN);
  /* An ignored SIGCHLD (inherited) would make the kernel reap for us and
   * hide exit statuses. */
  signal (SIGCHLD, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGTERM);
  sigprocmask (SIG_SETMASK, &set, NULL);
  prctl (PR_SET_CHILD_SUBREAPER, 1);

  for (;;)
    {
      /* The app may have died before we got here: reap first. */
      reap_all ();
      siginfo_t si;
      int sig = sigwaitinfo (&set, &si);
      if (sig == SIGTERM)
        break;
    }

  /* SIGTERM, as a pod is stopped: the app gets SIGTERM and a grace period
   * to exit, then everything left in the pod's process group (ourselves
   * included) gets SIGKILL. */
  if (app_pid > 0)
    kill (app_pid, SIGTERM);
  sigset_t chld;
  sigemptyset (&chld);
  sigaddset (&chld, SIGCHLD);
  struct timespec slice = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
  for (int waited = 0; waited < TERM_GRACE_MS && reap_all (); waited += 100)
    sigtimedwait (&chld, NULL, &slice);
  kill (0, SIGKILL);
  _exit (0);
}
