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

#include "base/json.h"
#include "base/util.h"
#include "state/journal.h"
#include "state/state.h"

/* P as the snapshot's text. */
static char *
snapshot_text (const struct plan *p)
{
  json_t *j = plan_to_json (p);
  /* Compact: the control loop rewrites it on every change, and a large
   * lab's indented snapshot is megabytes (jq shows it indented). */
  char *text = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (j);
  if (text == NULL)
    abort ();
  return text;
}

static int
write_text (struct state_writer *w, const char *text, nslab_error_t *err)
{
  int dfd = state_writer_dirfd (w);
  const char *lab_dir = state_writer_dir (w);
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
snapshot_write (struct state_writer *w, const struct plan *p, nslab_error_t *err)
{
  cleanup_free char *text = snapshot_text (p);
  return write_text (w, text, err);
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
      json_alloc_for_exiting_child ();
      char *text = snapshot_text (p); /* jansson's now: not for free() */
      if (write_text (w, text, &e) < 0)
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
snapshot_prepare_start (const char *lab, const struct plan *p, struct child_job *job, int *gate, nslab_error_t *err)
{
  child_job_init (job);
  *gate = -1;
  int ep[2], gp[2];
  if (pipe2 (ep, O_CLOEXEC) < 0)
    return nslab_error (err, errno, "pipe");
  if (pipe2 (gp, O_CLOEXEC) < 0)
    {
      int e = errno;
      close (ep[0]);
      close (ep[1]);
      return nslab_error (err, e, "pipe");
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (ep[0]);
      close (ep[1]);
      close (gp[0]);
      close (gp[1]);
      return nslab_error (err, e, "fork to write the snapshot of lab %s", lab);
    }
  if (pid == 0)
    {
      /* A copy of a single-threaded process: it may allocate. The text is
       * made at once; the file only when the parent says the plan is
       * applied ('y'; anything else, its end closed included: dropped),
       * under the lab's lock, which the parent does not hold then. */
      close (gp[1]);
      json_alloc_for_exiting_child ();
      char *text = snapshot_text (p); /* jansson's now: not for free() */
      char go = 0;
      ssize_t n;
      while ((n = read (gp[0], &go, 1)) < 0 && errno == EINTR)
        ;
      if (n != 1 || go != 'y')
        _exit (0);
      nslab_error_t e = NULL;
      struct state_writer *w = NULL;
      if (state_open (lab, &w, &e) < 0 || write_text (w, text, &e) < 0)
        {
          cleanup_free char *msg = nslab_error_format (e);
          (void) !write (ep[1], msg, strlen (msg));
          _exit (1);
        }
      state_writer_close (w);
      _exit (0);
    }
  close (ep[1]);
  close (gp[0]);
  job->pid = pid;
  job->err_fd = ep[0];
  *gate = gp[1];
  return 0;
}

void
snapshot_prepared_release (int *gate, bool write_it)
{
  if (*gate < 0)
    return;
  if (write_it)
    {
      ssize_t n;
      while ((n = write (*gate, "y", 1)) < 0 && errno == EINTR)
        ;
    }
  close (*gate);
  *gate = -1;
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
