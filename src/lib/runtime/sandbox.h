/* Runtime-internal: the child side of pause_spawn, between fork and exec.
 * It runs in a forked copy of nslab, so it reports failures as one struct
 * written to the error pipe and _exits; it never returns. */
#ifndef NSLAB_RUNTIME_SANDBOX_H
#define NSLAB_RUNTIME_SANDBOX_H

#include "runtime/pause.h"

/* What a failing child tells pause_spawn through the error pipe; one
 * write below PIPE_BUF, so the parent reads all of it or nothing. */
struct sandbox_error {
  int errnum;
  char msg[500];
};

/* Wait for the go byte on gofd, then join the namespaces, set up /etc and
 * /sys, start the app and exec nslab-pause. */
void sandbox_child (const struct pause_spec *spec, int gofd, int errfd) __attribute__ ((noreturn));

/* Detach every network namespace mount (/run/netns and any nsfs mount)
 * from the calling process's (private) mount namespace; -1 with errno. */
int sandbox_detach_netns_mounts (void);

#endif
