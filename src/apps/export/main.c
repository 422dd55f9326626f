/* nslab-export: nslab export's archive writer as a program of its own, the
 * one that loads libarchive (and through it libxml2, ICU, libstdc++ and
 * libcrypto): linked into nslab they cost every command ~5 ms to start. */
#include "cmd.h"

int
main (int argc, char **argv)
{
  return export_main (argc, argv);
}
