/* nslab-echo: the built-in app of a pod with `app = http:PORT`. A small
 * poll()-based HTTP/1.1 server that answers every request with a few lines
 * a learner reads at a glance: which pod answered, on which node, and the
 * client and server addresses as the pod's socket sees them (so SNAT and
 * DNAT show up without tcpdump). */
#ifndef NSLAB_ECHO_SERVER_H
#define NSLAB_ECHO_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/error.h"
#include "runtime/appsock.h"

/* The pause process binds the port itself (runtime/appsock.h) and hands the
 * socket to nslab-echo as this fd. */
#define ECHO_LISTEN_FD APPSOCK_FD
/* Longest request head (request line + headers) accepted. */
#define ECHO_MAX_REQUEST 8192
/* Connections served at once; more wait in the kernel's accept queue. */
#define ECHO_MAX_CONNS 512

/* Parse a request head. Returns 1 when the head is complete (method and
 * target copied, NUL-terminated, truncated to their sizes), 0 when more
 * bytes are needed, -1 when it is malformed. */
int echo_parse_request (const char *buf, size_t len, char *method, size_t method_size,
                        char *target, size_t target_size);

/* "host:port" for IPv4 (also IPv4-mapped IPv6), "[addr]:port" for IPv6. */
void echo_format_addr (const struct sockaddr_storage *ss, char *out, size_t size);

/* The response body (caller frees), from POD_NAME, POD_NAMESPACE, POD_IP and
 * NODE_NAME in the environment (a missing one leaves its line out; pod falls
 * back to the hostname). */
char *echo_body (const char *method, const char *target, const struct sockaddr_storage *client,
                 const struct sockaddr_storage *server);

/* How long nslab-echo waits for a client to send its request (and for a
 * stalled client to take the answer) before dropping the connection. */
#define ECHO_IDLE_MS 10000

/* Serve forever on listen_fd, dropping connections idle for idle_ms.
 * Returns only on a fatal error. */
int echo_serve (int listen_fd, int idle_ms, nslab_error_t *err);

/* argv: {"nslab-echo", PORT}. Uses fd ECHO_LISTEN_FD when it is a listening
 * socket on PORT, binds PORT otherwise. */
int echo_main (int argc, char **argv);

#endif
