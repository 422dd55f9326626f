/* nslab-coredns --port PORT LAB: the cluster DNS server, run by the
 * coredns pods' pause processes (apply.c starts it as their app). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "base/error.h"
#include "base/util.h"
#include "dns/coredns.h"
#include "scenario/keys.h"

int
coredns_main (int argc, char **argv)
{
  uint16_t port = 0;
  if (argc == 4 && strcmp (argv[1], "--port") == 0 && parse_port (argv[2], &port))
    {
      signal (SIGPIPE, SIG_IGN);
      setvbuf (stderr, NULL, _IOLBF, 0);
      nslab_error_t err = NULL;
      coredns_serve (argv[3], port, &err);
      fprintf (stderr, "nslab-coredns: %s\n", err ? err->msg : "stopped");
      nslab_error_free (&err);
      return NSLAB_EXIT_FAILURE;
    }
  fputs ("nslab-coredns: started as a coredns pod's app by nslab up (nslab-coredns --port PORT LAB)\n", stderr);
  return NSLAB_EXIT_INVALID;
}
