/* Teardown from the state record (see teardown.h). */
#include "teardown.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"
#include "nl.h"
#include "pause.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* SIGKILL every recorded process that is still the one we started: the
 * pidfd pins the process, so checking its start time after opening the
 * pidfd and signalling through it cannot hit a recycled pid. All are
 * signalled first and waited for together, which keeps `down` of a lab
 * with hundreds of pods short. */
static int
kill_processes (const struct state *st, nslab_error_t *err)
{
  int rc = 0;
  int *fds = xcalloc (st->n_procs + 1, sizeof *fds);
  for (size_t i = st->n_procs; i-- > 0;)
    {
      const struct state_process *p = &st->procs[i];
      fds[i] = -1;
      if (p->pid <= 0)
        continue;
      int fd = (int) syscall (SYS_pidfd_open, p->pid, 0);
      if (fd < 0)
        continue; /* already gone */
      uint64_t start = 0;
      nslab_error_t e = NULL;
      if (proc_starttime (p->pid, &start, &e) < 0 || start != p->starttime)
        {
          nslab_error_free (&e);
          close (fd);
          continue; /* gone, or the pid now belongs to someone else */
        }
      if (syscall (SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
        {
          if (rc == 0)
            rc = nslab_error (err, errno, "kill %s (pid %d)", p->name, (int) p->pid);
          close (fd);
          continue;
        }
      fds[i] = fd;
    }
  /* A pidfd polls readable once its process has exited. */
  struct timespec t0;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < st->n_procs; i++)
    {
      if (fds[i] < 0)
        continue;
      struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
      while (poll (&pfd, 1, 5000) < 0 && errno == EINTR)
        ;
      /* Reap it if it happens to be our child (rollback of our own up). */
      waitpid (st->procs[i].pid, NULL, WNOHANG);
      close (fds[i]);
    }
  free (fds);
  /* pause_kill checks identity again and waits until each is really gone. */
  for (size_t i = st->n_procs; i-- > 0;)
    {
      const struct state_process *p = &st->procs[i];
      if (p->pid <= 0)
        continue;
      nslab_error_t e = NULL;
      if (pause_kill (p->pid, p->starttime, &e) < 0)
        {
          if (rc == 0)
            {
              nslab_error_wrap (&e, "%s", p->name);
              *err = e;
              e = NULL;
              rc = -1;
            }
          nslab_error_free (&e);
        }
    }
  return rc;
}

int
teardown_objects (const struct state *st, nslab_error_t *err)
{
  int rc = kill_processes (st, err);
  for (size_t i = st->n_netns; i-- > 0;)
    {
      nslab_error_t e = NULL;
      if (netns_delete (st->netns[i], &e) < 0)
        {
          if (rc == 0 && err && *err == NULL)
            {
              *err = e;
              e = NULL;
            }
          rc = -1;
          nslab_error_free (&e);
        }
    }
  return rc;
}

int
teardown_lab (const char *lab, nslab_error_t *err)
{
  struct state_writer *w = NULL;
  if (state_open (lab, &w, err) < 0)
    return -1;
  struct state *st = NULL;
  if (state_load (lab, &st, err) < 0)
    {
      state_writer_close (w);
      return -1;
    }
  int rc = teardown_objects (st, err);
  state_free (st);
  /* The record stays when something could not be removed, so a second
   * `down` can retry. */
  if (rc == 0)
    rc = state_remove (w, err);
  state_writer_close (w);
  return rc;
}
