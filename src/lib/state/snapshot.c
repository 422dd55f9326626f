/* The running lab's snapshot (see snapshot.h). */
#include "state/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "state/journal.h"
#include "state/state.h"

int
snapshot_write (struct state_writer *w, const struct plan *p, nslab_error_t *err)
{
  int dfd = state_writer_dirfd (w);
  const char *lab_dir = state_writer_dir (w);
  json_t *j = plan_to_json (p);
  /* Compact: the control loop rewrites it on every change, and a large
   * lab's indented snapshot is megabytes (jq shows it indented). */
  cleanup_free char *text = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
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
snapshot_write_start (struct state_writer *w, const struct plan *p, struct child_job *job, nslab_error_t *err)
{
  child_job_init (job);
  int ep[2];
  if (pipe2 (ep, O_CLOEXEC) < 0)
    return nslab_error (err, errno, "pipe");
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (ep[0]);
      close (ep[1]);
      return nslab_error (err, e, "fork to write %s/%s", state_writer_dir (w), SNAPSHOT_FILE);
    }
  if (pid == 0)
    {
      /* A copy of a single-threaded process: it may allocate. Its error
       * goes to the parent as text; _exit leaves the parent's files (the
       * store's database) alone. */
      nslab_error_t e = NULL;
      if (snapshot_write (w, p, &e) < 0)
        {
          cleanup_free char *msg = nslab_error_format (e);
          (void) !write (ep[1], msg, strlen (msg));
          _exit (1);
        }
      _exit (0);
    }
  close (ep[1]);
  job->pid = pid;
  job->err_fd = ep[0];
  return 0;
}

int
snapshot_write_finish (struct child_job *job, nslab_error_t *err)
{
  cleanup_free char *msg = NULL, *ns = NULL;
  int status;
  if (!child_job_reap (job, &status, &msg, &ns) || (WIFEXITED (status) && WEXITSTATUS (status) == 0))
    return 0;
  str_trim (msg);
  return nslab_error (err, 0, "%s", *msg ? msg : "writing the snapshot failed");
}

int
snapshot_read (const char *lab, struct plan **out, nslab_error_t *err)
{
  int fd = state_open_lab_file (lab, SNAPSHOT_FILE, err);
  cleanup_free char *path = xasprintf ("%s/%s/%s", state_root (), lab, SNAPSHOT_FILE);
  if (fd == -2)
    return nslab_error (err, 0, "lab %s has no snapshot (%s): its up did not get that far; nslab down %s", lab, path,
                        lab);
  if (fd < 0)
    return -1;
  cleanup_file FILE *f = fdopen (fd, "re");
  if (f == NULL)
    {
      close (fd);
      return nslab_error (err, errno, "open %s", path);
    }
  json_error_t jerr;
  json_t *j = json_loadf (f, 0, &jerr);
  if (j == NULL)
    return nslab_error (err, 0, "%s: line %d: %s", path, jerr.line, jerr.text);
  int rc = plan_from_json (j, out, err);
  json_decref (j);
  if (rc < 0)
    return nslab_error_wrap (err, "%s", path);
  return 0;
}
