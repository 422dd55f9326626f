/* nslab-apiserver LAB: the lab's API server (apiserver/server.h), a
 * program of its own (src/apps/apiserver) exec'd by up (control_start) in
 * the control-plane node's network namespace, with its listening socket on
 * the node's INTERNAL-IP (:6443) already bound on fd 3, up's ready pipe
 * on fd 4, which it closes once the lab's PKI is made, and up's go on fd 5
 * (CONTROL_GO_FD), awaited first. Its stderr is the lab's
 * logs/apiserver.log. */
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "apiserver/api.h"
#include "apiserver/pki.h"
#include "apiserver/server.h"
#include "base/error.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "control/controller.h"
#include "kernel/proc.h"
#include "runtime/pause.h"
#include "state/state.h"

#define LISTEN_FD 3
#define READY_FD 4

static volatile sig_atomic_t stop;


int
apiserver_main (int argc, char **argv)
{
  if (argc != 2 || fcntl (LISTEN_FD, F_SETFD, FD_CLOEXEC) < 0)
    {
      fputs ("nslab-apiserver: started by nslab up, not by hand\n", stderr);
      return NSLAB_EXIT_INVALID;
    }
  const char *lab = argv[1];
  if (!proc_await_go (CONTROL_GO_FD))
    return 0;
  cli_daemon_init (&stop);
  /* The lab's certificates and kubeconfig, before up returns: up waits for
   * READY_FD to close (a byte on it fails up). */
  const char *pki = getenv (APISERVER_PKI_ENV);
  if (fcntl (READY_FD, F_GETFD) >= 0)
    {
      nslab_error_t perr = NULL;
      if (pki && pki_lab_create (lab, pki, &perr) < 0)
        {
          fputs ("nslab-apiserver: ", stderr);
          nslab_error_print (&perr);
          (void) !write (READY_FD, "x", 1);
          return NSLAB_EXIT_FAILURE;
        }
      close (READY_FD);
    }
  unsetenv (APISERVER_PKI_ENV);
  /* One malloc arena for the few server threads: each would otherwise keep
   * its own megabytes of a large list's answer. */
  mallopt (M_ARENA_MAX, 1);
  nslab_error_t err = NULL;
  struct api *a = NULL;
  const char *version = getenv (APISERVER_VERSION_ENV);
  int rc = version ? 0 : nslab_error_invalid (&err, "no %s in the environment (started by nslab up)",
                                              APISERVER_VERSION_ENV);
  if (rc == 0)
    {
      struct sockaddr_storage ss;
      socklen_t sl = sizeof ss;
      char host[64] = "", address[80];
      if (getsockname (LISTEN_FD, (struct sockaddr *) &ss, &sl) == 0 && ss.ss_family == AF_INET)
        {
          struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
          inet_ntop (AF_INET, &sin->sin_addr, host, sizeof host);
          snprintf (address, sizeof address, "%s:%u", host, ntohs (sin->sin_port));
        }
      else
        snprintf (address, sizeof address, "127.0.0.1:6443");
      rc = api_open (lab, version, address, &a, &err);
    }
  cleanup_free char *dir = xasprintf ("%s/%s", state_root (), lab);
  if (rc == 0)
    rc = apiserver_serve (a, dir, LISTEN_FD, &stop, &err);
  api_close (a);
  if (rc < 0)
    {
      fputs ("nslab-apiserver: ", stderr);
      nslab_error_print (&err);
      return NSLAB_EXIT_FAILURE;
    }
  return 0;
}
