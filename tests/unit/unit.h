/* Shared harness for the Check unit tests: each tests/unit/test_X.c defines
 * one Suite and ends with UNIT_MAIN(make_suite). Check forks every test, so a
 * crash fails one test, not the binary. */
#ifndef NSLAB_UNIT_H
#define NSLAB_UNIT_H

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"

#ifndef NSLAB_SRCDIR
#define NSLAB_SRCDIR "."
#endif

#define UNIT_MAIN(make_suite)                                                  \
  int main (void)                                                              \
  {                                                                            \
    SRunner *sr = srunner_create (make_suite ());                              \
    srunner_run_all (sr, CK_NORMAL);                                           \
    int failed = srunner_ntests_failed (sr);                                   \
    srunner_free (sr);                                                         \
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                          \
  }

/* A test that needs root and does not have it is skipped, visibly: it prints
 * "SKIP: <test>: needs root" on stdout and returns. Check counts it as
 * passed, so tests/run counts these lines and reports them as skipped
 * instead. A plain return (not an exit) keeps CK_FORK=no runs working.
 * where is the caller's __func__: a START_TEST body is "<test>_fn"; from a
 * helper shared by several tests the test case's name is the best we have. */
static inline void
unit_skip (const char *where, const char *why)
{
  size_t n = strlen (where);
  if (n > 3 && strcmp (where + n - 3, "_fn") == 0)
    printf ("SKIP: %.*s: %s\n", (int) (n - 3), where, why);
  else
    printf ("SKIP: %s (%s): %s\n", tcase_name (), where, why);
  fflush (stdout);
}

/* The root of a user namespace (tests/run without root) has only uid 0
 * mapped: chown to another uid fails with EINVAL. The part of a test that
 * needs a file of another owner is then skipped, visibly. */
#define UNIT_NO_OTHER_UID_REASON "the root of a user namespace cannot give a file to another uid"

static inline bool
unit_have_root (const char *where)
{
  if (geteuid () == 0)
    return true;
  unit_skip (where, "needs root");
  return false;
}

#define UNIT_REQUIRE_ROOT()                                                    \
  do                                                                           \
    {                                                                          \
      if (! unit_have_root (__func__))                                         \
        return;                                                                \
    }                                                                          \
  while (0)

static char unit_tmp_dir[] = "/tmp/nslab-unit-XXXXXX";

static inline int
unit_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) flag;
  (void) ftw;
  return remove (path);
}

/* The temp dir goes away with the (forked) test process that made it. */
static inline void
unit_remove_tmp_dir (void)
{
  nftw (unit_tmp_dir, unit_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to a fresh file in a private temp dir and return its path
 * (caller frees). The dir also gets a templates/ symlink to the repo's, so
 * `template = k3s` resolves as it does for labs/. */
static inline char *
unit_write_file (const char *name, const char *text)
{
  char *dir = unit_tmp_dir;
  static int made;
  if (!made)
    {
      if (mkdtemp (dir) == NULL)
        abort ();
      atexit (unit_remove_tmp_dir);
      char *sub = xasprintf ("%s/labs", dir);
      char *tpl = xasprintf ("%s/templates", dir);
      if (mkdir (sub, 0700) < 0 || symlink (NSLAB_SRCDIR "/templates", tpl) < 0)
        abort ();
      free (sub);
      free (tpl);
      made = 1;
    }
  char *path = xasprintf ("%s/labs/%s", dir, name);
  FILE *f = fopen (path, "w");
  if (f == NULL)
    abort ();
  fputs (text, f);
  fclose (f);
  return path;
}

/* The whole file as a string (caller frees), or NULL if it cannot be opened. */
static inline char *
unit_read_file (const char *path)
{
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return NULL;
  struct strbuf sb;
  char buf[4096];
  size_t n;
  sb_init (&sb);
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    sb_addn (&sb, buf, n);
  fclose (f);
  return sb_steal (&sb);
}

#endif
