/* nslab-kube-proxy as a program of its own: a node's kube-proxy health
 * servers (cmd_kube_proxy.c), with libmicrohttpd, which no nslab command
 * needs. */
#include "cmd.h"

int
main (int argc, char **argv)
{
  return kube_proxy_main (argc, argv);
}
