/* nslab export LAB -o FILE.tar.gz: its arguments checked here, the archive
 * written by nslab-export (cmd_export_archive.c), a program of its own
 * beside nslab: libarchive and what it loads (libxml2, ICU, libstdc++,
 * libcrypto) were a quarter of every command's start. A separate program
 * rather than dlopen: the compiler checks its calls against libarchive's
 * headers, and the sanitizer and fuzz builds link it as any other code. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "apply/apply.h"
#include "base/error.h"
#include "cli.h"
#include "cmd.h"
#include "runtime/pause.h"

int
cmd_export (int argc, char **argv, nslab_error_t *err)
{
  const char *lab = NULL, *out = NULL;
  for (int i = 1; i < argc; i++)
    {
      if (cli_is_help (argv[i]))
        return cli_help ("export");
      if (strcmp (argv[i], "-o") == 0 || strcmp (argv[i], "--output") == 0)
        {
          if (i + 1 >= argc)
            return cli_usage ("export");
          out = argv[++i];
        }
      else if (argv[i][0] == '-' || lab)
        return cli_usage ("export");
      else
        lab = argv[i];
    }
  if (lab == NULL || out == NULL)
    return cli_usage ("export");
  if (apply_check_privileges (err) < 0)
    return -1;
  char exe[PATH_MAX];
  if (!pause_helper_path ("nslab-export", exe))
    return nslab_error (err, ENOENT, "nslab-export is not installed beside nslab (make install puts it in "
                                     "PREFIX/lib/nslab)");
  char *exe_argv[] = { (char *) "nslab-export", (char *) lab, (char *) out, NULL };
  fflush (stdout);
  execv (exe, exe_argv);
  return nslab_error (err, errno, "exec %s", exe);
}
