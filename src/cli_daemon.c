/* cli_daemon_init (cli.h), apart from the rest of cli.c: the programs of
 * their own (nslab-apiserver, nslab-kube-proxy) use it, and cli.c's verb
 * table would link every command into them. */
#include <signal.h>
#include <stdio.h>

#include "cli.h"

static volatile sig_atomic_t *daemon_stop;

static void
daemon_on_term (int sig)
{
  (void) sig;
  *daemon_stop = 1;
}

void
cli_daemon_init (volatile sig_atomic_t *stop)
{
  if (stop)
    {
      daemon_stop = stop;
      struct sigaction sa = { .sa_handler = daemon_on_term };
      sigemptyset (&sa.sa_mask);
      sigaction (SIGTERM, &sa, NULL);
      sigaction (SIGINT, &sa, NULL);
    }
  signal (SIGPIPE, SIG_IGN);
  setvbuf (stderr, NULL, _IOLBF, 0);
}
