/* nslab-controller LAB: the lab's control loop (control/controller.h), this
 * binary re-executed by up in the control-plane node's network namespace, as
 * `k3s server` runs on a real one. Its stderr is the lab's
 * logs/controller.log: a failed round is written there and retried. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "cmd.h"
#include "control/controller.h"

static volatile sig_atomic_t stop;

static void
on_term (int sig)
{
  (void) sig;
  stop = 1;
}

static long long
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
log_error (const char *lab, nslab_error_t *e)
{
  time_t t = time (NULL);
  struct tm tm;
  char when[32];
  localtime_r (&t, &tm);
  strftime (when, sizeof when, "%H:%M:%S", &tm);
  fprintf (stderr, "%s nslab-controller %s: ", when, lab);
  nslab_error_print (e);
}

int
controller_main (int argc, char **argv)
{
  if (argc != 2)
    {
      fputs ("nslab-controller: started by nslab up, not by hand\n", stderr);
      return NSLAB_EXIT_INVALID;
    }
  const char *lab = argv[1];
  /* Recorded first: nothing before up's go byte. */
  char go;
  if (read (CONTROL_GO_FD, &go, 1) != 1)
    return 0;
  close (CONTROL_GO_FD);
  struct sigaction sa = { .sa_handler = on_term };
  sigemptyset (&sa.sa_mask);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);
  setvbuf (stderr, NULL, _IOLBF, 0);

  nslab_error_t err = NULL;
  struct controller *c = NULL;
  if (controller_open (lab, &c, &err) < 0)
    {
      log_error (lab, &err);
      return NSLAB_EXIT_FAILURE;
    }
  long long next_full = now_ms () + CONTROL_FULL_SYNC_S * 1000LL;
  while (!stop)
    {
      bool full = now_ms () >= next_full;
      int r = controller_round (c, full, &err);
      if (r < 0)
        {
          if (controller_lab_gone (c))
            {
              nslab_error_free (&err);
              break;
            }
          /* Logged and retried: the loop outlives a transient failure, as
           * kube-proxy and the controllers do. */
          log_error (lab, &err);
          usleep (500000);
          continue;
        }
      if (full)
        next_full = now_ms () + CONTROL_FULL_SYNC_S * 1000LL;
      usleep (r > 0 ? 20000 : 100000);
    }
  controller_close (c);
  return 0;
}
