/* nslab-coredns --port PORT [--domain DOMAIN] LAB: the cluster DNS server, run by the
 * coredns pods' pause processes (apply.c starts it as their app). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "base/error.h"
#include "base/util.h"
#include "dns/coredns.h"
#include "runtime/pause.h"
#include "scenario/keys.h"

static void
log_to_stderr (const struct nslab_error_s *e)
{
  fprintf (stderr, "nslab-coredns: %s\n", e->msg);
}

int
coredns_main (int argc, char **argv)
{
  uint16_t port = 0;
  const char *zone = NULL;
  if (argc == 6 && strcmp (argv[3], "--domain") == 0 && argv[4][0] != '\0')
    {
      zone = argv[4];
      argv[3] = argv[5];
      argc = 4;
    }
  if (argc == 4 && strcmp (argv[1], "--port") == 0 && parse_port (argv[2], &port))
    {
      signal (SIGPIPE, SIG_IGN);
      setvbuf (stderr, NULL, _IOLBF, 0);
      nslab_error_t err = NULL;
      /* The pod's runtime waits for it to close (pause_app.ready_fd). */
      const char *ready = getenv (PAUSE_APP_READY_ENV);
      int ready_fd = ready ? atoi (ready) : -1;
      unsetenv (PAUSE_APP_READY_ENV);
      coredns_serve (argv[3], zone, port, ready_fd > 2 ? ready_fd : -1, log_to_stderr, &err);
      fprintf (stderr, "nslab-coredns: %s\n", err ? err->msg : "stopped");
      nslab_error_free (&err);
      return NSLAB_EXIT_FAILURE;
    }
  fputs ("nslab-coredns: started as a coredns pod's app by nslab up (nslab-coredns --port PORT [--domain DOMAIN] "
         "LAB)\n", stderr);
  return NSLAB_EXIT_INVALID;
}
