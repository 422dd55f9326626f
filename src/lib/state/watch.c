/* Waking on writes to a lab's state dir (see watch.h). */
#include "state/watch.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "base/util.h"
#include "state/state.h"
#include "state/store.h"

int
watch_state_dir (int dir_fd, const char *lab, nslab_error_t *err)
{
  int fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0)
    return nslab_error (err, errno, "inotify_init1");
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", dir_fd);
  if (inotify_add_watch (fd, path, IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0)
    {
      int e = errno;
      close (fd);
      return nslab_error (err, e, "inotify_add_watch the state dir of lab %s", lab);
    }
  return fd;
}

int
watch_lab_dir (const char *lab)
{
  nslab_error_t e = NULL;
  cleanup_close int dfd = state_open_lab_dirfd (lab, &e);
  int fd = dfd < 0 ? -1 : watch_state_dir (dfd, lab, &e);
  nslab_error_free (&e);
  return fd;
}

/* Whether the inotify events in BUF (N bytes) may mean a commit: a write
 * to one of the store's files (the WAL on every commit, the database at a
 * checkpoint), or an overflow that lost some events. */
static bool
events_name_store (const char *buf, ssize_t n)
{
  for (ssize_t off = 0; off + (ssize_t) sizeof (struct inotify_event) <= n;)
    {
      const struct inotify_event *ev = (const struct inotify_event *) (const void *) (buf + off);
      if ((ev->mask & IN_Q_OVERFLOW) || (ev->len && strncmp (ev->name, STORE_FILE, strlen (STORE_FILE)) == 0))
        return true;
      off += (ssize_t) (sizeof *ev + ev->len);
    }
  return false;
}

bool
wait_for_write (int watch, int wait_ms)
{
  if (watch < 0)
    {
      usleep ((useconds_t) wait_ms * 1000);
      return false;
    }
  int64_t deadline = monotonic_us () + (int64_t) wait_ms * 1000;
  for (int left = wait_ms;;)
    {
      struct pollfd pfd = { .fd = watch, .events = POLLIN };
      if (poll (&pfd, 1, left) <= 0)
        return false;
      char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
      bool store = false;
      ssize_t n;
      while ((n = read (watch, buf, sizeof buf)) > 0)
        store = store || events_name_store (buf, n);
      if (store)
        return true;
      /* Only the lab's other files (the journal, appended at every object
       * up or the control loop's agent makes): wait on for the rest of the
       * time. Each wake used to read the store, and up woke every node's
       * kube-proxy some 140 times at 100 pods (60 ms of CPU in all). */
      left = (int) ((deadline - monotonic_us ()) / 1000);
      if (left <= 0)
        return false;
    }
}
