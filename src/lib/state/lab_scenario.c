/* A running lab's own copy of its scenario (see lab_scenario.h). */
#include "state/lab_scenario.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "state/journal.h"
#include "state/state.h"

#define SCENARIO_DIR "scenario"
#define TEMPLATES_DIR "templates"

static int
ensure_dir (int dir_fd, const char *name, const char *dir, nslab_error_t *err)
{
  if (mkdirat (dir_fd, name, 0700) < 0 && errno != EEXIST)
    return nslab_error (err, errno, "create %s/%s", dir, name);
  struct stat st;
  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode) || st.st_uid != 0)
    return nslab_error (err, errno ? errno : ENOTDIR, "%s/%s: not root's directory", dir, name);
  return 0;
}

static int
copy_into (int dir_fd, const char *dir, const char *sub, const char *src, nslab_error_t *err)
{
  cleanup_free char *srcdup = xstrdup (src);
  const char *base = basename (srcdup);
  cleanup_free char *content = NULL;
  size_t len = 0;
  FILE *in = fopen (src, "re");
  if (in == NULL)
    return nslab_error (err, errno, "read %s", src);
  FILE *mem = open_memstream (&content, &len);
  char buf[8192];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, in)) > 0)
    fwrite (buf, 1, n, mem);
  bool bad = ferror (in);
  fclose (in);
  fclose (mem);
  if (bad)
    return nslab_error (err, EIO, "read %s", src);
  cleanup_free char *tmp = xasprintf ("%s/.%s.tmp", sub, base);
  cleanup_free char *dst = xasprintf ("%s/%s", sub, base);
  int fd = openat (dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return nslab_error (err, errno, "create %s/%s", dir, tmp);
  int w = fd_write_all (fd, content, len);
  int e = errno;
  close (fd);
  if (w < 0)
    return nslab_error (err, e, "write %s/%s", dir, tmp);
  if (renameat (dir_fd, tmp, dir_fd, dst) < 0)
    return nslab_error (err, errno, "rename %s/%s", dir, dst);
  return 0;
}

int
lab_scenario_save (struct state_writer *w, char *const *files, size_t n, nslab_error_t *err)
{
  int dir_fd = state_writer_dirfd (w);
  const char *dir = state_writer_dir (w);
  if (n == 0)
    return 0;
  if (ensure_dir (dir_fd, SCENARIO_DIR, dir, err) < 0 || ensure_dir (dir_fd, TEMPLATES_DIR, dir, err) < 0)
    return -1;
  /* One scenario file at a time: an earlier one of another name goes. */
  int sfd = openat (dir_fd, SCENARIO_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd >= 0)
    {
      DIR *d = fdopendir (sfd);
      struct dirent *de;
      cleanup_free char *keep = xstrdup (files[0]);
      const char *kb = basename (keep);
      while (d && (de = readdir (d)) != NULL)
        if (de->d_name[0] != '.' && strcmp (de->d_name, kb) != 0)
          unlinkat (sfd, de->d_name, 0);
      if (d)
        closedir (d);
      else
        close (sfd);
    }
  if (copy_into (dir_fd, dir, SCENARIO_DIR, files[0], err) < 0)
    return -1;
  for (size_t i = 1; i < n; i++)
    if (copy_into (dir_fd, dir, TEMPLATES_DIR, files[i], err) < 0)
      return -1;
  return 0;
}

char *
lab_scenario_path (const char *lab, nslab_error_t *err)
{
  int dir_fd = state_open_lab_dirfd (lab, err);
  if (dir_fd < 0)
    return NULL;
  int sfd = openat (dir_fd, SCENARIO_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  close (dir_fd);
  if (sfd < 0)
    {
      nslab_error (err, errno, "%s/%s/%s: lab %s keeps no scenario (made by an older nslab?)", state_root (), lab,
                   SCENARIO_DIR, lab);
      return NULL;
    }
  DIR *d = fdopendir (sfd);
  if (d == NULL)
    {
      close (sfd);
      nslab_error (err, errno, "%s/%s/%s", state_root (), lab, SCENARIO_DIR);
      return NULL;
    }
  char *path = NULL;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      struct stat st;
      if (de->d_name[0] == '.' || fstatat (sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode)
          || st.st_uid != 0)
        continue;
      path = xasprintf ("%s/%s/%s/%s", state_root (), lab, SCENARIO_DIR, de->d_name);
      break;
    }
  closedir (d);
  if (path == NULL)
    nslab_error (err, ENOENT, "%s/%s/%s: no scenario file", state_root (), lab, SCENARIO_DIR);
  return path;
}

int
lab_scenario_load (const char *lab, struct scenario **out, nslab_error_t *err)
{
  cleanup_free char *path = lab_scenario_path (lab, err);
  if (path == NULL)
    return -1;
  return scenario_load (path, out, err);
}
