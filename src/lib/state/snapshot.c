/* The running lab's snapshot (see snapshot.h). */
#include "state/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "state/state.h"

int
snapshot_write (const char *lab_dir, const struct plan *p, nslab_error_t *err)
{
  cleanup_close int dfd = open (lab_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return nslab_error (err, errno, "open %s", lab_dir);
  json_t *j = plan_to_json (p);
  cleanup_free char *text = json_dumps (j, JSON_INDENT (1) | JSON_PRESERVE_ORDER);
  json_decref (j);
  if (text == NULL)
    abort ();
  static const char tmp[] = SNAPSHOT_FILE ".tmp";
  unlinkat (dfd, tmp, 0);
  cleanup_close int fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return nslab_error (err, errno, "create %s/%s", lab_dir, tmp);
  size_t len = strlen (text), off = 0;
  while (off < len)
    {
      ssize_t n = write (fd, text + off, len - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return nslab_error (err, errno, "write %s/%s", lab_dir, tmp);
      off += (size_t) n;
    }
  if (renameat (dfd, tmp, dfd, SNAPSHOT_FILE) < 0)
    return nslab_error (err, errno, "rename %s/%s", lab_dir, tmp);
  return 0;
}

int
snapshot_read (const char *lab, struct plan **out, nslab_error_t *err)
{
  if (lab == NULL || *lab == '\0' || strchr (lab, '/') || strcmp (lab, ".") == 0 || strcmp (lab, "..") == 0)
    return nslab_error_invalid (err, "invalid lab name \"%s\"", lab ? lab : "");
  cleanup_free char *dir = xasprintf ("%s/%s", state_root (), lab);
  cleanup_close int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    {
      if (errno == ENOENT)
        return nslab_error (err, 0, "lab %s is not up", lab);
      return nslab_error (err, errno, "open %s", dir);
    }
  cleanup_close int fd = openat (dfd, SNAPSHOT_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat sb;
  if (fd < 0)
    {
      if (errno == ENOENT)
        return nslab_error (err, 0, "lab %s has no snapshot (%s/%s): its up did not get that far; nslab down %s",
                            lab, dir, SNAPSHOT_FILE, lab);
      return nslab_error (err, errno, "open %s/%s", dir, SNAPSHOT_FILE);
    }
  if (fstat (fd, &sb) < 0)
    return nslab_error (err, errno, "stat %s/%s", dir, SNAPSHOT_FILE);
  if (!S_ISREG (sb.st_mode) || sb.st_uid != 0 || (sb.st_mode & 022))
    return nslab_error (err, 0, "%s/%s is not a regular file written by root: not trusted", dir, SNAPSHOT_FILE);
  cleanup_file FILE *f = fdopen (fd, "re");
  if (f == NULL)
    return nslab_error (err, errno, "open %s/%s", dir, SNAPSHOT_FILE);
  fd = -1;
  json_error_t jerr;
  json_t *j = json_loadf (f, 0, &jerr);
  if (j == NULL)
    return nslab_error (err, 0, "%s/%s: line %d: %s", dir, SNAPSHOT_FILE, jerr.line, jerr.text);
  int rc = plan_from_json (j, out, err);
  json_decref (j);
  if (rc < 0)
    return nslab_error_wrap (err, "%s/%s", dir, SNAPSHOT_FILE);
  return 0;
}
