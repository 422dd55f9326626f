/* Teardown from the state record (see teardown.h). */
#include "state/teardown.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/netns.h"
#include "kernel/rtnl.h"
#include "runtime/pause.h"
#include "base/util.h"

/* SIGKILL every recorded process that is still the one we started, with
 * its process group (its app and whatever that started): see
 * pause_kill_start for why a recycled pid cannot be hit. All are signalled
 * first and waited for together, which keeps `down` of a lab with hundreds
 * of pods short. */
static int
kill_processes (const struct state *st, nslab_error_t *err)
{
  int rc = 0;
  int *fds = xcalloc (st->n_procs + 1, sizeof *fds);
  for (size_t i = st->n_procs; i-- > 0;)
    {
      const struct state_process *p = &st->procs[i];
      nslab_error_t e = NULL;
      fds[i] = p->pid > 0 ? pause_kill_start (p->pid, p->starttime, &e) : -1;
      if (e != NULL)
        {
          nslab_error_wrap (&e, "kill %s", p->name);
          nslab_error_keep_first (err, &e);
          rc = -1;
        }
    }
  for (size_t i = 0; i < st->n_procs; i++)
    {
      if (fds[i] < 0)
        continue;
      nslab_error_t e = NULL;
      if (pause_kill_wait (fds[i], st->procs[i].pid, &e) < 0)
        {
          nslab_error_wrap (&e, "%s", st->procs[i].name);
          nslab_error_keep_first (err, &e);
          rc = -1;
        }
      /* Reap it if it happens to be our child (rollback of our own up). */
      waitpid (st->procs[i].pid, NULL, WNOHANG);
    }
  free (fds);
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
          nslab_error_keep_first (err, &e);
          rc = -1;
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
