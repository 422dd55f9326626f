/* The running lab's snapshot (see snapshot.h). */
#include "state/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

static void *
snapshot_maker_run (void *arg)
{
  struct snapshot_maker *m = arg;
  m->text = snapshot_text (m->plan);
  return NULL;
}

int
snapshot_make_start (const struct plan *p, struct snapshot_maker *m, nslab_error_t *err)
{
  *m = (struct snapshot_maker) { .plan = p };
  int e = pthread_create (&m->thread, NULL, snapshot_maker_run, m);
  if (e != 0)
    return nslab_error (err, e, "start the thread that makes the snapshot");
  m->running = true;
  return 0;
}

int
snapshot_make_finish (const char *lab, struct snapshot_maker *m, bool write_it, nslab_error_t *err)
{
  if (!m->running)
    return 0;
  pthread_join (m->thread, NULL);
  m->running = false;
  cleanup_free char *text = m->text;
  m->text = NULL;
  if (!write_it)
    return 0;
  struct state_writer *w = NULL;
  if (state_open (lab, &w, err) < 0)
    return -1;
  int rc = write_text (w, text, err);
  state_writer_close (w);
  return rc;
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
