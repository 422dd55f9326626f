/* The kernel floor's teardown as a command of its own, as `nslab down` is:
 * a static program (no shared libraries to load) that reads the pids
 * kfloor's up wrote and kills every process and waits until each has
 * exited, through pidfds (they are not its children, so it cannot reap
 * them; nor can nslab down). The least a separate down needs; make bench
 * times it from the shell, like nslab down, beside kfloor's in-process
 * teardown.
 *
 *   kfloor-down PIDFILE   (one pid per line) */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fputs ("usage: kfloor-down PIDFILE\n", stderr);
      return 2;
    }
  FILE *f = fopen (argv[1], "re");
  if (f == NULL)
    {
      fprintf (stderr, "kfloor-down: %s: %s\n", argv[1], strerror (errno));
      return 1;
    }
  size_t n = 0, cap = 1024;
  struct pollfd *fds = malloc (cap * sizeof *fds);
  int pid;
  while (fds && fscanf (f, "%d", &pid) == 1)
    {
      if (n == cap && (fds = realloc (fds, (cap *= 2) * sizeof *fds)) == NULL)
        break;
      int fd = (int) syscall (SYS_pidfd_open, pid, 0);
      if (fd < 0)
        continue; /* already gone */
      if (syscall (SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0)
        {
          fprintf (stderr, "kfloor-down: kill %d: %s\n", pid, strerror (errno));
          return 1;
        }
      fds[n++] = (struct pollfd) { .fd = fd, .events = POLLIN };
    }
  fclose (f);
  if (fds == NULL)
    {
      fputs ("kfloor-down: out of memory\n", stderr);
      return 1;
    }
  /* A pidfd polls readable once its process has exited. */
  size_t left = n;
  while (left)
    {
      if (poll (fds, n, -1) < 0 && errno != EINTR)
        {
          fprintf (stderr, "kfloor-down: poll: %s\n", strerror (errno));
          return 1;
        }
      for (size_t i = 0; i < n; i++)
        if (fds[i].fd >= 0 && fds[i].revents)
          {
            close (fds[i].fd);
            fds[i].fd = -1;
            left--;
          }
    }
  return 0;
}
