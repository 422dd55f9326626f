/* Between kubectl exec's session (exec.c: the command, its stdio, its
 * exit status) and the two ways kubectl carries the streams over the
 * upgraded connection: WebSocket (exec_websocket.c, kubectl 1.30 and
 * later) and SPDY/3.1 (exec_spdy.c, kubectl before 1.30). */
#ifndef NSLAB_APISERVER_EXEC_TRANSPORT_H
#define NSLAB_APISERVER_EXEC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "apiserver/exec.h"

/* The remote command protocol's channels (a WebSocket message's first
 * byte; a SPDY stream's streamtype header). */
enum exec_channel { EXEC_STDIN = 0, EXEC_STDOUT = 1, EXEC_STDERR = 2, EXEC_ERROR = 3, EXEC_RESIZE = 4, EXEC_CHANNELS };

/* The command's end, for the transport to hand over what kubectl sends. */
struct exec_io;
void exec_io_stdin (struct exec_io *io, const void *data, size_t len);
void exec_io_stdin_end (struct exec_io *io);
/* One TerminalSize object, {"Width":W,"Height":H}. */
void exec_io_resize (struct exec_io *io, const void *json, size_t len);

struct exec_transport_ops;

struct exec_transport {
  const struct exec_transport_ops *ops;
  int sock;          /* the upgraded connection, non-blocking */
  const char *extra; /* bytes read with the upgrade request, consumed first */
  size_t extra_len;
  struct exec_io *io;
  bool peer_gone; /* the peer closed or left: nothing more to send */
};

struct exec_transport_ops {
  /* The socket is readable: take what it has. False: the connection broke. */
  bool (*receive) (struct exec_transport *t);
  /* The socket is writable: send what is queued. False: it broke. */
  bool (*send) (struct exec_transport *t);
  bool (*want_write) (struct exec_transport *t);
  /* Every stream the request asked for is open: the command may start. */
  bool (*ready) (struct exec_transport *t);
  /* How many bytes of output CH takes now (the peer's window, what is
   * already queued); output on a channel the peer did not open is taken
   * and dropped. */
  size_t (*room) (struct exec_transport *t, enum exec_channel ch);
  void (*output) (struct exec_transport *t, enum exec_channel ch, const void *data, size_t len);
  /* CH has no more output. */
  void (*output_end) (struct exec_transport *t, enum exec_channel ch);
  /* Everything is sent: begin the closing handshake. */
  void (*close) (struct exec_transport *t);
  /* The peer answered the close. */
  bool (*closed) (struct exec_transport *t);
  void (*free) (struct exec_transport *t);
};

/* recv from EXTRA, then the socket: -1 with errno as recv. */
ssize_t exec_transport_recv (struct exec_transport *t, void *buf, size_t len);
/* send without SIGPIPE: -1 with errno as send. */
ssize_t exec_transport_send (struct exec_transport *t, const void *buf, size_t len);

struct exec_transport *exec_websocket_new (const struct exec_request *r);
struct exec_transport *exec_spdy_new (const struct exec_request *r);

#endif
