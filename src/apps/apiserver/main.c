/* nslab-apiserver as a program of its own: the lab's API server
 * (cmd_apiserver.c), the one process that needs libmicrohttpd, GnuTLS and
 * wslay, which every nslab command would otherwise load at its start. */
#include "cmd.h"

int
main (int argc, char **argv)
{
  return apiserver_main (argc, argv);
}
