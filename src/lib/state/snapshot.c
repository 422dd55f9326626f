/* The running lab's snapshot (see snapshot.h). */
#include "state/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "base/util.h"
#include "state/journal.h"
#include "state/state.h"

/* plan.json in the writer's lab dir, under a temporary name that is then
 * renamed into place: the unnamed file LINKABLE (O_TMPFILE, holding the
 * text; -1 for none) linked there, or where it cannot be (or for none), a
 * new file written by FILL (0, or -1 with errno). The link goes through
 * /proc: AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH, which a container's
 * root may lack. */
static int
write_snapshot_file (struct state_writer *w, int linkable, int (*fill) (int fd, void *arg), void *arg,
                     nslab_error_t *err)
{
  int dfd = state_writer_dirfd (w);
  const char *lab_dir = state_writer_dir (w);
  static const char tmp[] = SNAPSHOT_FILE ".tmp";
  unlinkat (dfd, tmp, 0);
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", linkable);
  if (linkable < 0 || linkat (AT_FDCWD, path, dfd, tmp, AT_SYMLINK_FOLLOW) < 0)
    {
      cleanup_close int fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        return nslab_error (err, errno, "create %s/%s", lab_dir, tmp);
      errno = 0;
      if (fill (fd, arg) < 0)
        return nslab_error (err, errno ? errno : EIO, "write %s/%s", lab_dir, tmp);
    }
  if (renameat (dfd, tmp, dfd, SNAPSHOT_FILE) < 0)
    return nslab_error (err, errno, "rename %s/%s", lab_dir, tmp);
  return 0;
}

/* The text goes out in blocks of this size. */
#define TEXT_BLOCK (64 * 1024)

/* The text of a plan, buffered into a file; STOP (may be NULL) ends it early. */
struct text_out {
  int fd;
  const atomic_bool *stop;
  size_t n;
  char *buf;
};

static int
text_flush (struct text_out *o)
{
  int rc = fd_write_all (o->fd, o->buf, o->n);
  o->n = 0;
  return rc;
}

static int
text_put (const char *buf, size_t len, void *arg)
{
  struct text_out *o = arg;
  if (o->stop != NULL && atomic_load_explicit (o->stop, memory_order_relaxed))
    return -1;
  if (o->n + len > TEXT_BLOCK && text_flush (o) < 0)
    return -1;
  if (len >= TEXT_BLOCK)
    return fd_write_all (o->fd, buf, len);
  memcpy (o->buf + o->n, buf, len);
  o->n += len;
  return 0;
}

/* PLAN's text (compact: the control loop rewrites it on every change, and a
 * large lab's indented snapshot is megabytes; jq shows it indented) into FD,
 * a part at a time. */
static int
plan_text_write (const struct plan *p, int fd, const atomic_bool *stop)
{
  struct text_out o = { .fd = fd, .stop = stop, .buf = xmalloc (TEXT_BLOCK) };
  int rc = plan_dump_json (p, text_put, &o) < 0 || text_flush (&o) < 0 ? -1 : 0;
  int e = errno;
  free (o.buf);
  errno = e;
  return rc;
}

static int
fill_from_plan (int fd, void *arg)
{
  return plan_text_write (arg, fd, NULL);
}

int
snapshot_write (struct state_writer *w, const struct plan *p, nslab_error_t *err)
{
  return write_snapshot_file (w, -1, fill_from_plan, (void *) p, err);
}

/* The text into a memory file (the kernel's pages, written by write(): no
 * page of this process's to fault in), a part at a time. */
static void *
snapshot_maker_run (void *arg)
{
  struct snapshot_maker *m = arg;
  if (plan_text_write (m->plan, m->fd, &m->stop) < 0 && !atomic_load (&m->stop))
    m->err = errno ? errno : EIO;
  return NULL;
}

/* The memory file's text, from its start. */
static int
fill_from_file (int fd, void *arg)
{
  int src = *(int *) arg;
  off_t at = 0;
  ssize_t n;
  while ((n = sendfile (fd, src, &at, 1 << 30)) > 0 || (n < 0 && errno == EINTR))
    ;
  return n < 0 ? -1 : 0;
}

int
snapshot_make_start (const char *lab, const struct plan *p, struct snapshot_maker *m, nslab_error_t *err)
{
  *m = (struct snapshot_maker) { .plan = p, .fd = -1 };
  atomic_init (&m->stop, false);
  nslab_error_t gone = NULL;
  int dfd = state_open_lab_dirfd (lab, &gone);
  nslab_error_free (&gone);
  if (dfd >= 0)
    {
      m->fd = openat (dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      m->in_lab_dir = m->fd >= 0;
      close (dfd);
    }
  if (m->fd < 0)
    m->fd = memfd_create ("nslab-snapshot", MFD_CLOEXEC);
  if (m->fd < 0)
    return nslab_error (err, errno, "create the memory file of the snapshot");
  int e = pthread_create (&m->thread, NULL, snapshot_maker_run, m);
  if (e != 0)
    {
      close (m->fd);
      m->fd = -1;
      return nslab_error (err, e, "start the thread that makes the snapshot");
    }
  m->running = true;
  return 0;
}

void
snapshot_make_stop (struct snapshot_maker *m)
{
  atomic_store (&m->stop, true);
}

int
snapshot_make_finish (const char *lab, struct snapshot_maker *m, bool write_it, nslab_error_t *err)
{
  if (!m->running)
    return 0;
  pthread_join (m->thread, NULL);
  m->running = false;
  cleanup_close int fd = m->fd;
  m->fd = -1;
  if (!write_it)
    return 0;
  if (atomic_load (&m->stop))
    return nslab_error (err, ECANCELED, "the snapshot of lab %s was stopped halfway", lab);
  if (m->err != 0)
    return nslab_error (err, m->err, "make the snapshot of lab %s", lab);
  struct state_writer *w = NULL;
  if (state_open (lab, &w, err) < 0)
    return -1;
  int rc = write_snapshot_file (w, m->in_lab_dir ? fd : -1, fill_from_file, &fd, err);
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
