/* A node's pod spawner: the node's pause process forks its pods' pause
 * processes on request, as containerd's shim is asked to start a sandbox,
 * instead of nslab executing nslab-pause for each. A pod then costs no
 * execve (with a static C library's start-up: dozens of cpuid, each a trap
 * to the hypervisor in a VM), and nslab waits for no vfork to exec: it
 * sends one message and goes on.
 *
 * The request carries what pause_spawn_begin would have given the new
 * process: the handshake socket, the error pipe, the pod's network
 * namespace and the template mount namespace as fds, its title and its
 * environment. The forked child then goes on exactly as an exec'd
 * nslab-pause: it waits for the go byte before it does anything, so the
 * record-before-release protocol of pause.h is unchanged.
 *
 * The spawner listens on an abstract unix socket in the node's network
 * namespace (only what runs in that namespace reaches it) and serves only
 * root from outside the node's PID namespace (nslab, not a command run in
 * the node nor a hostNetwork pod's app: they would get a process with
 * every capability). nslab checks that the listener is the node's pause
 * process as the journal recorded it; a node without a spawner (an older
 * lab, a failed bind) gets its pods spawned as before. */
#ifndef NSLAB_RUNTIME_SPAWNER_H
#define NSLAB_RUNTIME_SPAWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* The abstract socket's name (in the node's network namespace). */
#define SPAWNER_SOCKET "nslab-spawner"

/* A spawner's pods' titles must fit in its argv and environment area: a
 * node's pause process gets this much room in its environment
 * (sandbox_build_env). The title is cut there (it is only shown). */
#define SPAWNER_TITLE_ROOM 512
#define SPAWNER_TITLE_ENV "NSLAB_TITLE_ROOM"

/* The fds of a request, in this order (the template is optional). */
enum { SPAWNER_FD_GO, SPAWNER_FD_ERR, SPAWNER_FD_NETNS, SPAWNER_FD_TEMPLATE, SPAWNER_MAX_FDS };

/* A request: the title, then each environment string, each NUL-terminated,
 * then an empty string; at most this long. Its fds ride along
 * (SCM_RIGHTS). */
#define SPAWNER_MSG_MAX (64 * 1024)

/* The spawner's address (abstract). */
socklen_t spawner_address (struct sockaddr_un *sa);

/* Server (a node's pause process): listen, non-blocking, with SIGIO sent
 * to us when a request arrives. The fd, or -1 with errno. */
int spawner_listen (void);
/* Server: take every waiting request. For each, fork the child straight
 * into a PID namespace of its own, as its PID 1 (the pod's): the parent
 * goes on; the child returns true, with the request's fds in place
 * (sandbox.h), its environment and title set, ready to run as a freshly
 * exec'd nslab-pause that made its PID namespace already
 * (pause_setup.own_pid_ns). False once no request is left (failures are
 * reported in the log). */
bool spawner_serve (int lfd);

#endif
