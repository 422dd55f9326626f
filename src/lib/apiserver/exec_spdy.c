/* kubectl exec's streams over SPDY/3.1, kubectl before 1.30 (moby's
 * spdystream on its side; the kubelet's remotecommand server is the
 * model): kubectl opens one stream per channel, named by its streamtype
 * header, and waits for each reply; output goes out as data frames, each
 * stream ends with a FIN. Framing and header compression: spdy.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/exec_transport.h"
#include "apiserver/spdy.h"
#include "base/util.h"

/* Output queued beyond this waits for the socket. */
#define QUEUE_LIMIT (256 * 1024)
/* The largest data frame sent. */
#define FRAME_DATA_MAX 16384
/* A resize line longer than this is dropped. */
#define RESIZE_LINE_MAX 4096

static const struct {
  const char *name;
  int version;
} protocols[] = {
  { "v4.channel.k8s.io", 4 },
  { "v3.channel.k8s.io", 3 },
  { "v2.channel.k8s.io", 2 },
  { "channel.k8s.io", 1 },
};

const char exec_spdy_protocols[] = "v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io";

const char *
exec_spdy_pick_protocol (const char *offer, int *version)
{
  while (offer && *offer)
    {
      offer += strspn (offer, " ,");
      size_t n = strcspn (offer, ",");
      size_t m = n;
      while (m && offer[m - 1] == ' ')
        m--;
      for (size_t i = 0; m && i < ARRAY_SIZE (protocols); i++)
        if (strlen (protocols[i].name) == m && strncmp (offer, protocols[i].name, m) == 0)
          {
            *version = protocols[i].version;
            return protocols[i].name;
          }
      offer += n;
    }
  return NULL;
}

static const char *const stream_types[EXEC_CHANNELS] = { "stdin", "stdout", "stderr", "error", "resize" };

struct stream {
  uint32_t id; /* 0: not opened */
  bool fin_sent, reset;
  int64_t window; /* what the peer takes on it */
};

struct spdy {
  struct exec_transport t;
  struct spdy_codec *codec;
  struct strbuf in, out;
  size_t out_off;
  int version;
  unsigned expected; /* bit per channel: the streams the request asked for */
  struct stream ch[EXEC_CHANNELS];
  uint32_t last_peer_id;
  int64_t session_window, initial_window;
  /* The peer keeps SPDY/3.1's windows: it sent a WINDOW_UPDATE or an
   * initial window size. spdystream (every kubectl before 1.30, and the
   * kubelet's own server side) sends neither and never reads faster for a
   * window: held to 64 KiB, a larger output would stall for good. */
  bool flow_control;
  struct strbuf resize;
  bool eof, goaway, goaway_sent;
};

static struct stream *
by_id (struct spdy *s, uint32_t id, enum exec_channel *ch)
{
  for (int k = 0; k < EXEC_CHANNELS; k++)
    if (s->ch[k].id == id)
      {
        if (ch)
          *ch = (enum exec_channel) k;
        return &s->ch[k];
      }
  return NULL;
}

static bool
usable (const struct stream *st)
{
  return st->id && !st->fin_sent && !st->reset;
}

/* A protocol error: the connection ends (GOAWAY, sent as far as the
 * socket takes it now). */
static void
fail (struct spdy *s)
{
  spdy_put_goaway (&s->out, s->last_peer_id, SPDY_GOAWAY_PROTOCOL_ERROR);
  s->goaway_sent = true;
  (void) exec_transport_send (&s->t, s->out.buf + s->out_off, s->out.len - s->out_off);
  s->out.len = s->out_off = 0;
  s->t.peer_gone = true;
}

static void
on_resize (struct spdy *s, const uint8_t *data, size_t len)
{
  /* One JSON object a line (Go's json.Encoder). */
  sb_addn (&s->resize, (const char *) data, len);
  char *nl;
  while (s->resize.len && (nl = memchr (s->resize.buf, '\n', s->resize.len)) != NULL)
    {
      size_t n = (size_t) (nl - s->resize.buf);
      exec_io_resize (s->t.io, s->resize.buf, n);
      memmove (s->resize.buf, nl + 1, s->resize.len - n - 1);
      s->resize.len -= n + 1;
    }
  if (s->resize.len > RESIZE_LINE_MAX)
    s->resize.len = 0;
}

static void
on_syn_stream (struct spdy *s, const struct spdy_frame *f)
{
  /* The client's streams are odd, each above the last. */
  if (f->stream_id % 2 == 0 || f->stream_id <= s->last_peer_id)
    {
      spdy_put_rst_stream (&s->out, f->stream_id, SPDY_PROTOCOL_ERROR);
      return;
    }
  s->last_peer_id = f->stream_id;
  const char *type = spdy_header_get (f, "streamtype");
  int k = 0;
  while (k < EXEC_CHANNELS && !(type && strcmp (type, stream_types[k]) == 0))
    k++;
  if (k == EXEC_CHANNELS || s->ch[k].id)
    {
      spdy_put_rst_stream (&s->out, f->stream_id, SPDY_REFUSED_STREAM);
      return;
    }
  struct stream *st = &s->ch[k];
  st->id = f->stream_id;
  st->window = s->initial_window;
  if (!spdy_put_syn_reply (s->codec, &s->out, st->id, 0, NULL, NULL, 0))
    {
      fail (s);
      return;
    }
  if (k == EXEC_STDIN && (f->flags & SPDY_FLAG_FIN))
    exec_io_stdin_end (s->t.io);
  /* channel.k8s.io: the kubelet closes its side of stdin at once. */
  if (k == EXEC_STDIN && s->version == 1)
    {
      spdy_put_data (&s->out, st->id, SPDY_FLAG_FIN, NULL, 0);
      st->fin_sent = true;
    }
}

static void
on_data (struct spdy *s, const struct spdy_frame *f)
{
  enum exec_channel ch;
  struct stream *st = by_id (s, f->stream_id, &ch);
  if (st == NULL)
    {
      if (f->stream_id > s->last_peer_id)
        spdy_put_rst_stream (&s->out, f->stream_id, SPDY_INVALID_STREAM);
      return;
    }
  if (st->reset)
    return;
  if (ch == EXEC_STDIN)
    exec_io_stdin (s->t.io, f->data, f->len);
  else if (ch == EXEC_RESIZE)
    on_resize (s, f->data, f->len);
  /* The data is consumed: the peer may send as much again. */
  if (f->len)
    {
      if (!(f->flags & SPDY_FLAG_FIN))
        spdy_put_window_update (&s->out, st->id, (uint32_t) f->len);
      spdy_put_window_update (&s->out, 0, (uint32_t) f->len);
    }
  if ((f->flags & SPDY_FLAG_FIN) && ch == EXEC_STDIN)
    exec_io_stdin_end (s->t.io);
}

static void
on_window_update (struct spdy *s, const struct spdy_frame *f)
{
  s->flow_control = true;
  if (f->stream_id == 0)
    {
      s->session_window += f->delta;
      if (s->session_window > SPDY_MAX_WINDOW)
        s->session_window = SPDY_MAX_WINDOW;
      return;
    }
  struct stream *st = by_id (s, f->stream_id, NULL);
  if (st == NULL || st->reset)
    return;
  st->window += f->delta;
  if (st->window > SPDY_MAX_WINDOW)
    {
      spdy_put_rst_stream (&s->out, st->id, SPDY_FLOW_CONTROL_ERROR);
      st->reset = true;
    }
}

static void
on_frame (struct spdy *s, const struct spdy_frame *f)
{
  switch (f->type)
    {
    case SPDY_DATA:
      on_data (s, f);
      break;
    case SPDY_SYN_STREAM:
      on_syn_stream (s, f);
      break;
    case SPDY_SYN_REPLY:
      /* This side opens no streams. */
      spdy_put_rst_stream (&s->out, f->stream_id, SPDY_INVALID_STREAM);
      break;
    case SPDY_RST_STREAM:
      {
        enum exec_channel ch;
        struct stream *st = by_id (s, f->stream_id, &ch);
        if (st)
          {
            st->reset = true;
            if (ch == EXEC_STDIN)
              exec_io_stdin_end (s->t.io);
          }
        break;
      }
    case SPDY_SETTINGS:
      for (size_t i = 0; i < f->n_settings; i++)
        if (f->settings[i].id == SPDY_SETTINGS_INITIAL_WINDOW_SIZE && f->settings[i].value <= SPDY_MAX_WINDOW)
          {
            /* Open streams' windows move by the difference (3.1, 2.6.8). */
            int64_t d = (int64_t) f->settings[i].value - s->initial_window;
            for (int k = 0; k < EXEC_CHANNELS; k++)
              if (s->ch[k].id)
                s->ch[k].window += d;
            s->initial_window = f->settings[i].value;
            s->flow_control = true;
          }
      break;
    case SPDY_PING:
      /* The client's pings are odd; even ones would answer this side's. */
      if (f->ping_id % 2 == 1)
        spdy_put_ping (&s->out, f->ping_id);
      break;
    case SPDY_GOAWAY:
      s->goaway = s->t.peer_gone = true;
      break;
    case SPDY_WINDOW_UPDATE:
      on_window_update (s, f);
      break;
    default:
      break; /* HEADERS carry nothing for exec; unknown types are ignored */
    }
}

static bool
receive (struct exec_transport *t)
{
  struct spdy *s = (struct spdy *) t;
  char buf[65536];
  ssize_t n = exec_transport_recv (t, buf, sizeof buf);
  if (n == 0)
    {
      s->eof = t->peer_gone = true;
      return true;
    }
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK;
  sb_addn (&s->in, buf, (size_t) n);
  size_t off = 0;
  while (!t->peer_gone)
    {
      struct spdy_frame f;
      const char *why;
      ssize_t r = spdy_frame_parse (s->codec, (const uint8_t *) s->in.buf + off, s->in.len - off, &f, &why);
      if (r < 0)
        {
          fail (s);
          break;
        }
      if (r == 0)
        break;
      on_frame (s, &f);
      spdy_frame_clear (&f);
      off += (size_t) r;
    }
  memmove (s->in.buf, s->in.buf + off, s->in.len - off);
  s->in.len -= off;
  return true;
}

static bool
send_queued (struct exec_transport *t)
{
  struct spdy *s = (struct spdy *) t;
  while (s->out_off < s->out.len)
    {
      ssize_t n = exec_transport_send (t, s->out.buf + s->out_off, s->out.len - s->out_off);
      if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK;
      s->out_off += (size_t) n;
    }
  s->out.len = s->out_off = 0;
  return true;
}

static bool
want_write (struct exec_transport *t)
{
  struct spdy *s = (struct spdy *) t;
  return s->out_off < s->out.len;
}

static bool
ready (struct exec_transport *t)
{
  struct spdy *s = (struct spdy *) t;
  for (int k = 0; k < EXEC_CHANNELS; k++)
    if ((s->expected & 1u << k) && s->ch[k].id == 0)
      return false;
  return true;
}

static size_t
room (struct exec_transport *t, enum exec_channel ch)
{
  struct spdy *s = (struct spdy *) t;
  const struct stream *st = &s->ch[ch];
  if (!usable (st))
    return FRAME_DATA_MAX; /* taken and dropped */
  if (s->out.len - s->out_off >= QUEUE_LIMIT)
    return 0;
  if (!s->flow_control)
    return QUEUE_LIMIT;
  int64_t w = st->window < s->session_window ? st->window : s->session_window;
  return w > 0 ? (size_t) w : 0;
}

static void
output (struct exec_transport *t, enum exec_channel ch, const void *data, size_t len)
{
  struct spdy *s = (struct spdy *) t;
  struct stream *st = &s->ch[ch];
  const char *p = data;
  while (usable (st) && len)
    {
      size_t n = len < FRAME_DATA_MAX ? len : FRAME_DATA_MAX;
      spdy_put_data (&s->out, st->id, 0, p, n);
      st->window -= (int64_t) n;
      s->session_window -= (int64_t) n;
      p += n;
      len -= n;
    }
}

static void
output_end (struct exec_transport *t, enum exec_channel ch)
{
  struct spdy *s = (struct spdy *) t;
  struct stream *st = &s->ch[ch];
  if (usable (st))
    {
      spdy_put_data (&s->out, st->id, SPDY_FLAG_FIN, NULL, 0);
      st->fin_sent = true;
    }
}

static void
spdy_close (struct exec_transport *t)
{
  /* This side of every stream ends; kubectl then closes the connection
   * (the kubelet resets the streams instead, racing the last data). */
  for (int k = 0; k < EXEC_CHANNELS; k++)
    output_end (t, (enum exec_channel) k);
}

static bool
closed (struct exec_transport *t)
{
  struct spdy *s = (struct spdy *) t;
  return s->eof || s->goaway;
}

static void
spdy_free (struct exec_transport *t)
{
  struct spdy *s = (struct spdy *) t;
  if (!s->eof && !s->goaway && !s->goaway_sent)
    {
      spdy_put_goaway (&s->out, s->last_peer_id, SPDY_GOAWAY_OK);
      (void) send_queued (t);
    }
  spdy_codec_free (s->codec);
  sb_free (&s->in);
  sb_free (&s->out);
  sb_free (&s->resize);
  free (s);
}

static const struct exec_transport_ops spdy_ops = {
  .receive = receive, .send = send_queued, .want_write = want_write, .ready = ready, .room = room,
  .output = output, .output_end = output_end, .close = spdy_close, .closed = closed, .free = spdy_free,
};

struct exec_transport *
exec_spdy_new (const struct exec_request *r)
{
  struct spdy *s = xcalloc (1, sizeof *s);
  s->t.ops = &spdy_ops;
  s->codec = spdy_codec_new ();
  sb_init (&s->in);
  sb_init (&s->out);
  sb_init (&s->resize);
  s->version = r->version;
  s->session_window = s->initial_window = SPDY_DEFAULT_WINDOW;
  /* The streams the kubelet waits for (remotecommand/httpstream.go). */
  s->expected = 1u << EXEC_ERROR;
  if (r->stdin_)
    s->expected |= 1u << EXEC_STDIN;
  if (r->stdout_)
    s->expected |= 1u << EXEC_STDOUT;
  if (r->stderr_ && !r->tty)
    s->expected |= 1u << EXEC_STDERR;
  if (r->tty && r->version >= 3)
    s->expected |= 1u << EXEC_RESIZE;
  return &s->t;
}
