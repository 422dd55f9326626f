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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apps/echo.h"
#include "base/util.h"
#include "kernel/caps.h"
#include "kernel/proc.h"
#include "runtime/appsock.h"
#include "runtime/pause.h"
#include "runtime/spawner.h"
#include "runtime/status.h"

/* How long the app gets after SIGTERM before the pod is killed. */
#define TERM_GRACE_MS 2000

/* kubelet's container restart back-off: 10 s (setup.backoff_ms), doubling up
 * to MaxContainerBackOff (5 min, 30 times the initial); forgotten when two
 * exits are more than twice the maximum apart (flowcontrol.Backoff). */
#define BACKOFF_MAX_FACTOR 30

/* One pause process's state, all of it set by pause_run: a spawner's
 * child starts over from its node's. */
static pid_t app_pid;
static struct pause_setup setup;
static int spawner_fd;                 /* a node's: its pods' spawn requests (spawner.h) */
static bool stopping;                 /* SIGTERM: no more restarts */
static struct pause_status pst;
static uint64_t backoff_ms;           /* 0: no back-off entry yet */
static uint64_t backoff_updated;      /* monotonic ms of its last update */
static uint64_t restart_at;           /* monotonic ms to restart the app at (waiting), or 0 */

static uint64_t
clock_ms (clockid_t id)
{
  struct timespec t;
  clock_gettime (id, &t);
  return (uint64_t) t.tv_sec * 1000 + (uint64_t) t.tv_nsec / 1000000;
}

static void
save_status (void)
{
  if (setup.files_dirfd >= 0 && pause_status_write (setup.files_dirfd, &pst) < 0)
    dprintf (STDERR_FILENO, "nslab-pause: write status: %s\n", strerror (errno));
}

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

static pid_t fork_echo (const struct pause_setup *su);
static void app_exited (int wstatus);

/* Start the app again, as kubelet starts a new container: the HTTP app's
 * port is bound again first (it was closed with the app). */
static void
restart_app (void)
{
  restart_at = 0;
  pst.restarts++;
  pid_t pid = -1;
  if (setup.app_kind == PAUSE_APP_HTTP)
    {
      nslab_error_t err = NULL;
      int fd = -1;
      if (appsock_listen (setup.http_port, &fd, &err) < 0)
        {
          dprintf (STDERR_FILENO, "nslab-pause: app http:%u: %s: %s\n", setup.http_port, err->msg,
                   strerror (err->status));
          nslab_error_free (&err);
        }
      else if (fd == APPSOCK_FD || (dup2 (fd, APPSOCK_FD) == APPSOCK_FD && close (fd) == 0))
        {
          pid = fork_echo (&setup);
          close (APPSOCK_FD);
        }
      else
        close (fd);
    }
  else
    pid = pause_fork_command_app (&setup);
  if (pid < 0)
    {
      /* Could not start: as a container that failed at once. */
      pst.state = PAUSE_STATE_RUNNING;
      app_exited (1 << 8);
      return;
    }
  app_pid = pid;
  dprintf (STDERR_FILENO, "nslab-pause: app %d started (restart %u)\n", (int) pid, pst.restarts);
  pst.state = PAUSE_STATE_RUNNING;
  pst.reason = PAUSE_REASON_NONE;
  pst.started_at = (int64_t) (clock_ms (CLOCK_REALTIME) / 1000);
  pst.next_start = -1;
  save_status ();
}

/* The app exited with WSTATUS: restart it now, after the back-off, or
 * never, as kubelet does for the pod's restartPolicy. */
static void
app_exited (int wstatus)
{
  app_pid = 0;
  bool exited = WIFEXITED (wstatus);
  int code = exited ? WEXITSTATUS (wstatus) : 128 + WTERMSIG (wstatus);
  bool failed = !exited || code != 0;
  uint64_t wall = clock_ms (CLOCK_REALTIME), now = clock_ms (CLOCK_MONOTONIC);
  pst.exit_code = code;
  pst.finished_at = (int64_t) (wall / 1000);
  pst.last_started_at = pst.started_at;
  pst.started_at = -1;
  if (stopping)
    return;
  bool restart = setup.restart == PAUSE_RESTART_ALWAYS || (setup.restart == PAUSE_RESTART_ON_FAILURE && failed);
  if (!restart)
    {
      pst.state = PAUSE_STATE_TERMINATED;
      pst.reason = failed ? PAUSE_REASON_ERROR : PAUSE_REASON_COMPLETED;
      save_status ();
      return;
    }
  uint64_t max = (uint64_t) setup.backoff_ms * BACKOFF_MAX_FACTOR;
  if (backoff_ms == 0 || now - backoff_updated > 2 * max)
    {
      /* Not in back-off: at once, and the next exit waits the initial back-off. */
      backoff_ms = setup.backoff_ms;
      backoff_updated = now;
      restart_app ();
      return;
    }
  restart_at = now + backoff_ms;
  pst.state = PAUSE_STATE_WAITING;
  pst.reason = PAUSE_REASON_CRASH_LOOP_BACK_OFF;
  pst.next_start = (int64_t) ((wall + backoff_ms) / 1000);
  dprintf (STDERR_FILENO, "nslab-pause: back-off %llu ms restarting failed app\n", (unsigned long long) backoff_ms);
  save_status ();
}

/* The back-off is over: double it for the next time, and start. */
static void
backoff_done (void)
{
  uint64_t max = (uint64_t) setup.backoff_ms * BACKOFF_MAX_FACTOR;
  backoff_ms = backoff_ms * 2 > max ? max : backoff_ms * 2;
  backoff_updated = clock_ms (CLOCK_MONOTONIC);
  restart_app ();
}

/* Collect every exited child; returns false once the app is gone (or there
 * never was one). */
static bool
reap_all (void)
{
  for (;;)
    {
      int st;
      pid_t p = waitpid (-1, &st, WNOHANG);
      if (p > 0)
        {
          log_exit (p, st);
          if (p == app_pid)
            app_exited (st);
          continue;
        }
      if (p < 0 && errno == EINTR)
        continue;
      return app_pid > 0;
    }
}

/* The built-in HTTP app, a child of the pause process. */
static pid_t
fork_echo (const struct pause_setup *su)
{
  pid_t self = getpid ();
  pid_t pid = fork ();
  if (pid != 0)
    return pid;
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != self)
    _exit (1);
  if (su->files_dirfd >= 0)
    close (su->files_dirfd);
  /* As a container's process: containerd's default capabilities and what
   * its securityContext adds. */
  if (!su->privileged && caps_limit (CAPS_CONTAINER_DEFAULT | su->cap_add) < 0)
    pause_setup_fail (su->errfd, errno, "limit the app's capabilities");
  char port[8];
  snprintf (port, sizeof port, "%u", su->http_port);
  /* Before the error pipe closes: once the pod has started, ps shows it,
   * by its command line and by its name (comm: ps -e, top, pkill -x). */
  char title[32];
  snprintf (title, sizeof title, "nslab-echo %s", port);
  proc_title_set (title);
  prctl (PR_SET_NAME, "nslab-echo");
  if (su->errfd >= 0)
    close (su->errfd);
  sigset_t none;
  sigemptyset (&none);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      signal (s, SIG_DFL);
  sigprocmask (SIG_SETMASK, &none, NULL);
  prctl (PR_SET_CHILD_SUBREAPER, 0);
  char *eargv[] = { (char *) "nslab-echo", port, NULL };
  exit (echo_main (2, eargv));
}

/* One pause process's life: set up (an exec'd or, SPAWNED, a
 * spawner-forked one), then reap, restart and wait. Returns true in a
 * child a spawner forked, which starts over as the pod's pause process. */
static bool
pause_run (bool spawned)
{
  sigset_t set;

  app_pid = 0;
  stopping = false;
  backoff_ms = backoff_updated = restart_at = 0;
  pst = (struct pause_status) { .started_at = -1, .exit_code = -1, .finished_at = -1, .next_start = -1,
                                .last_started_at = -1 };
  spawner_fd = -1;
  setup = (struct pause_setup) { .errfd = -1, .files_dirfd = -1, .backoff_ms = 10000, .own_pid_ns = spawned };
  if (getenv (PAUSE_SETUP_ENV))
    {
      pause_setup (&setup);
      app_pid = setup.app_pid;
      if (setup.http_port)
        {
          app_pid = fork_echo (&setup);
          if (app_pid < 0)
            pause_setup_fail (setup.errfd, errno, "fork the app");
        }
    }
  /* Everything else goes: the app's listening socket lives in the app
   * only, so a dead app's port refuses connections, as a dead container's. */
  int keep = setup.errfd > setup.files_dirfd ? setup.errfd : setup.files_dirfd;
  for (int fd = 3; fd <= keep; fd++)
    if (fd != setup.errfd && fd != setup.files_dirfd)
      close (fd);
  close_range (keep >= 3 ? (unsigned) keep + 1 : 3, ~0U, 0);
  /* In our network namespace (the node's), before the node's start is
   * reported: nslab asks for its pods' forks as soon as it is. SIGIO
   * (a request came) would kill us before it is blocked. */
  if (setup.spawner)
    {
      sigset_t io;
      sigemptyset (&io);
      sigaddset (&io, SIGIO);
      sigprocmask (SIG_BLOCK, &io, NULL);
    }
  if (setup.spawner && (spawner_fd = spawner_listen ()) < 0)
    dprintf (STDERR_FILENO, "nslab-pause: spawner: listen: %s (pods are spawned by nslab)\n", strerror (errno));
  if (setup.errfd >= 0)
    {
      /* EOF on the error pipe: the pod started. */
      close (setup.errfd);
      setup.errfd = -1;
    }
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
  if (spawner_fd >= 0)
    sigaddset (&set, SIGIO);
  sigprocmask (SIG_SETMASK, &set, NULL);
  prctl (PR_SET_CHILD_SUBREAPER, 1);

  pst.state = PAUSE_STATE_RUNNING;
  if (app_pid > 0)
    pst.started_at = (int64_t) (clock_ms (CLOCK_REALTIME) / 1000);
  save_status ();

  for (;;)
    {
      /* The app may have died before we got here: reap first. */
      reap_all ();
      siginfo_t si;
      int sig;
      if (restart_at != 0)
        {
          uint64_t now = clock_ms (CLOCK_MONOTONIC);
          if (now >= restart_at)
            {
              backoff_done ();
              continue;
            }
          uint64_t left = restart_at - now;
          struct timespec ts = { .tv_sec = (time_t) (left / 1000), .tv_nsec = (long) (left % 1000) * 1000000 };
          sig = sigtimedwait (&set, &si, &ts);
        }
      else
        sig = sigwaitinfo (&set, &si);
      if (sig == SIGTERM)
        break;
      /* Requests may have come before the listen's SIGIO could: always
       * look once a signal came. */
      if (spawner_fd >= 0 && spawner_serve (spawner_fd))
        return true;
    }

  /* SIGTERM, as a pod is stopped: the app gets SIGTERM and a grace period
   * to exit, then everything left in the pod's process group (ourselves
   * included) gets SIGKILL. */
  stopping = true;
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

int
pause_main (int argc, char **argv)
{
  /* Before anything changes environ: a spawner's children write their
   * titles there. */
  proc_title_init (argc, argv);
  bool spawned = false;
  while ((spawned = pause_run (spawned)))
    ;
  return 0;
}
