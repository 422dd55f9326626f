/* kubectl exec's streams over WebSocket, kubectl 1.30 and later
 * (v5.channel.k8s.io, v4): each message's first byte names its channel;
 * framing by wslay. */
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "apiserver/exec_transport.h"
#include "base/util.h"

/* v5's close message: the channel whose input ended follows it. */
#define CH_CLOSE 255
/* Output queued beyond this waits for the peer to read. */
#define QUEUE_LIMIT (256 * 1024)

const char *
exec_pick_protocol (const char *offer)
{
  static const char *const known[] = { "v5.channel.k8s.io", "v4.channel.k8s.io" };
  for (size_t i = 0; offer && i < ARRAY_SIZE (known); i++)
    {
      const char *p = strstr (offer, known[i]);
      size_t n = strlen (known[i]);
      if (p && (p == offer || p[-1] == ' ' || p[-1] == ',') && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
        return known[i];
    }
  return NULL;
}

char *
exec_accept_key (const char *key)
{
  cleanup_free char *s = xasprintf ("%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
  unsigned char digest[20];
  if (gnutls_hash_fast (GNUTLS_DIG_SHA1, s, strlen (s), digest) < 0)
    return NULL;
  gnutls_datum_t in = { digest, sizeof digest }, out = { 0 };
  if (gnutls_base64_encode2 (&in, &out) < 0)
    return NULL;
  char *r = xstrndup ((const char *) out.data, out.size);
  gnutls_free (out.data);
  return r;
}

struct websocket {
  struct exec_transport t;
  wslay_event_context_ptr ctx;
  int version;
  bool closed; /* the peer sent a close frame */
};

static ssize_t
ws_recv (wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
  (void) flags;
  struct websocket *w = user;
  ssize_t r = exec_transport_recv (&w->t, buf, len);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    wslay_event_set_error (ctx, WSLAY_ERR_WOULDBLOCK);
  else if (r <= 0)
    wslay_event_set_error (ctx, WSLAY_ERR_CALLBACK_FAILURE);
  return r > 0 ? r : -1;
}

static ssize_t
ws_send (wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
  (void) flags;
  struct websocket *w = user;
  ssize_t r = exec_transport_send (&w->t, data, len);
  if (r < 0)
    wslay_event_set_error (ctx, errno == EAGAIN || errno == EWOULDBLOCK ? WSLAY_ERR_WOULDBLOCK
                                                                        : WSLAY_ERR_CALLBACK_FAILURE);
  return r;
}

static void
ws_on_msg (wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
  (void) ctx;
  struct websocket *w = user;
  if (arg->opcode == WSLAY_CONNECTION_CLOSE)
    {
      w->closed = w->t.peer_gone = true;
      return;
    }
  if ((arg->opcode != WSLAY_BINARY_FRAME && arg->opcode != WSLAY_TEXT_FRAME) || arg->msg_length == 0)
    return;
  uint8_t ch = arg->msg[0];
  const uint8_t *data = arg->msg + 1;
  size_t len = arg->msg_length - 1;
  if (ch == EXEC_STDIN)
    exec_io_stdin (w->t.io, data, len);
  else if (ch == EXEC_RESIZE)
    exec_io_resize (w->t.io, data, len);
  else if (ch == CH_CLOSE && w->version >= 5 && len >= 1 && data[0] == EXEC_STDIN)
    exec_io_stdin_end (w->t.io);
}

static bool
receive (struct exec_transport *t)
{
  struct websocket *w = (struct websocket *) t;
  return wslay_event_recv (w->ctx) == 0;
}

static bool
send_queued (struct exec_transport *t)
{
  struct websocket *w = (struct websocket *) t;
  return wslay_event_send (w->ctx) == 0;
}

static bool
want_write (struct exec_transport *t)
{
  return wslay_event_want_write (((struct websocket *) t)->ctx);
}

static bool
ready (struct exec_transport *t)
{
  (void) t;
  return true;
}

static size_t
room (struct exec_transport *t, enum exec_channel ch)
{
  (void) ch;
  return wslay_event_get_queued_msg_length (((struct websocket *) t)->ctx) < QUEUE_LIMIT ? QUEUE_LIMIT : 0;
}

static void
output (struct exec_transport *t, enum exec_channel ch, const void *data, size_t len)
{
  struct websocket *w = (struct websocket *) t;
  uint8_t *buf = xmalloc (len + 1);
  buf[0] = (uint8_t) ch;
  memcpy (buf + 1, data, len);
  struct wslay_event_msg m = { WSLAY_BINARY_FRAME, buf, len + 1 };
  wslay_event_queue_msg (w->ctx, &m);
  free (buf);
}

static void
output_end (struct exec_transport *t, enum exec_channel ch)
{
  /* The end of the output is the close. */
  (void) t, (void) ch;
}

static void
ws_close (struct exec_transport *t)
{
  wslay_event_queue_close (((struct websocket *) t)->ctx, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
}

static bool
closed (struct exec_transport *t)
{
  return ((struct websocket *) t)->closed;
}

static void
ws_free (struct exec_transport *t)
{
  struct websocket *w = (struct websocket *) t;
  wslay_event_context_free (w->ctx);
  free (w);
}

static const struct exec_transport_ops websocket_ops = {
  .receive = receive, .send = send_queued, .want_write = want_write, .ready = ready, .room = room,
  .output = output, .output_end = output_end, .close = ws_close, .closed = closed, .free = ws_free,
};

struct exec_transport *
exec_websocket_new (const struct exec_request *r)
{
  struct websocket *w = xcalloc (1, sizeof *w);
  w->t.ops = &websocket_ops;
  w->version = r->version;
  struct wslay_event_callbacks cb = { .recv_callback = ws_recv, .send_callback = ws_send,
                                      .on_msg_recv_callback = ws_on_msg };
  if (wslay_event_context_server_init (&w->ctx, &cb, w) != 0)
    abort (); /* wslay fails only to allocate */
  return &w->t;
}
