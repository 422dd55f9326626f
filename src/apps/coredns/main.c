/* nslab-coredns as a program of its own: the cluster DNS server
 * (cmd_coredns.c) linked with only the libraries it uses, so that a coredns
 * pod's private memory does not pay for the relocations of nslab's others
 * (libarchive, libxml2, ICU, libnl). nslab falls back to re-executing
 * itself as nslab-coredns without it. */
#include "cmd.h"

int
main (int argc, char **argv)
{
  return coredns_main (argc, argv);
}
