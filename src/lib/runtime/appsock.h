/* The listening socket of a pod's built-in app. The pause child binds the
 * app's port itself, before anything is exec'd, so that `nslab up` fails
 * with "port in use" instead of an app dying later in a log; the socket
 * reaches the app as fd APPSOCK_FD. */
#ifndef NSLAB_RUNTIME_APPSOCK_H
#define NSLAB_RUNTIME_APPSOCK_H

#include <stdint.h>

#include "base/error.h"

#define APPSOCK_FD 3

/* A non-blocking listening TCP socket (O_CLOEXEC) on every address, IPv6
 * and IPv4 (one dual-stack socket; IPv4 only where IPv6 is unavailable). */
int appsock_listen (uint16_t port, int *fd_out, nslab_error_t *err);

#endif
