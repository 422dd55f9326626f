/* Waking on writes to a lab's state dir (see watch.h). */
#include "state/watch.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "base/util.h"
#include "state/state.h"

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

bool
wait_for_write (int watch, int wait_ms)
{
  if (watch < 0)
    {
      usleep ((useconds_t) wait_ms * 1000);
      return false;
    }
  struct pollfd pfd = { .fd = watch, .events = POLLIN };
  if (poll (&pfd, 1, wait_ms) <= 0)
    return false;
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  while (read (watch, buf, sizeof buf) > 0)
    ;
  return true;
}
