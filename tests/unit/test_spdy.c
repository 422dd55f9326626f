/* SPDY/3.1 framing (apiserver/spdy.c) against an outside oracle: a
 * SYN_STREAM as kubectl 1.20 sends it (captured from the real binary), its
 * zlib dictionary id the SPDY/3 dictionary's Adler-32; every frame type
 * written and read back through two codecs (header blocks share one zlib
 * stream per direction); malformed frames rejected, not crashed on; the
 * stream protocol kubectl is answered; and exec_spdy.c's windows: ignored
 * for a peer that keeps none (spdystream), kept for one that does. */
#include "unit.h"

#include <sys/socket.h>
#include <zlib.h>

#include "apiserver/exec.h"
#include "apiserver/exec_transport.h"
#include "apiserver/spdy.h"

/* kubectl 1.20's first frame after the upgrade, its error stream:
 * `kubectl --server=http://127.0.0.1:PORT exec p -- true` against a
 * listener answering 101 SPDY/3.1, the bytes it then wrote. */
static const uint8_t kubectl_syn_stream[] = {
  0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x29, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2, 0x62, 0x60, 0x60, 0x60, 0x04, 0xa7, 0xb3, 0x92, 0xa2, 0xd4,
  0xc4, 0x5c, 0x68, 0x51, 0xc2, 0x9a, 0x0a, 0x0a, 0x68, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
};

START_TEST (kubectl_frame)
{
  ck_assert_uint_eq (spdy_dictionary_len, 1423);
  /* The zlib header's FDICT id (RFC 1950): the dictionary kubectl used. */
  uLong adler = adler32 (adler32 (0, NULL, 0), spdy_dictionary, (uInt) spdy_dictionary_len);
  const uint8_t *id = kubectl_syn_stream + 20;
  ck_assert_uint_eq (adler, (uLong) id[0] << 24 | (uLong) id[1] << 16 | (uLong) id[2] << 8 | id[3]);
  struct spdy_codec *c = spdy_codec_new ();
  struct spdy_frame f;
  const char *why;
  for (size_t n = 0; n < sizeof kubectl_syn_stream; n++)
    ck_assert_int_eq (spdy_frame_parse (c, kubectl_syn_stream, n, &f, &why), 0);
  ck_assert_int_eq (spdy_frame_parse (c, kubectl_syn_stream, sizeof kubectl_syn_stream, &f, &why),
                    (ssize_t) sizeof kubectl_syn_stream);
  ck_assert_int_eq (f.type, SPDY_SYN_STREAM);
  ck_assert_uint_eq (f.stream_id, 1);
  ck_assert_uint_eq (f.flags, 0);
  ck_assert_uint_eq (f.n_headers, 1);
  ck_assert_str_eq (spdy_header_get (&f, "streamtype"), "error");
  spdy_frame_clear (&f);
  spdy_codec_free (c);
}
END_TEST

static struct spdy_frame
next (struct spdy_codec *c, const struct strbuf *sb, size_t *off)
{
  struct spdy_frame f;
  const char *why = NULL;
  ssize_t n = spdy_frame_parse (c, (const uint8_t *) sb->buf + *off, sb->len - *off, &f, &why);
  ck_assert_msg (n > 0, "frame at %zu: %zd (%s)", *off, n, why ? why : "");
  *off += (size_t) n;
  return f;
}

START_TEST (round_trip)
{
  struct spdy_codec *a = spdy_codec_new (), *b = spdy_codec_new ();
  struct strbuf sb;
  sb_init (&sb);
  const char *names[] = { "streamtype", "port" }, *values[] = { "stdout", "8080" };
  ck_assert (spdy_put_syn_stream (a, &sb, 3, 1, 5, SPDY_FLAG_FIN, names, values, 2));
  ck_assert (spdy_put_syn_reply (a, &sb, 3, 0, NULL, NULL, 0));
  /* the same header block again: the shared zlib stream now refers back */
  ck_assert (spdy_put_syn_stream (a, &sb, 5, 0, 0, 0, names, values, 2));
  ck_assert (spdy_put_headers (a, &sb, 5, SPDY_FLAG_FIN, names + 1, values + 1, 1));
  spdy_put_data (&sb, 5, SPDY_FLAG_FIN, "hello", 5);
  spdy_put_data (&sb, 7, 0, NULL, 0);
  spdy_put_rst_stream (&sb, 5, SPDY_CANCEL);
  struct spdy_setting set[] = { { 1, SPDY_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20 }, { 0, 4, 100 } };
  spdy_put_settings (&sb, 0, set, 2);
  spdy_put_ping (&sb, 7);
  spdy_put_goaway (&sb, 5, SPDY_GOAWAY_OK);
  spdy_put_window_update (&sb, 0, 65536);
  spdy_put_window_update (&sb, 3, SPDY_MAX_WINDOW);
  size_t off = 0;
  struct spdy_frame f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_SYN_STREAM);
  ck_assert_uint_eq (f.stream_id, 3);
  ck_assert_uint_eq (f.associated_id, 1);
  ck_assert_uint_eq (f.priority, 5);
  ck_assert_uint_eq (f.flags, SPDY_FLAG_FIN);
  ck_assert_str_eq (spdy_header_get (&f, "streamtype"), "stdout");
  ck_assert_str_eq (spdy_header_get (&f, "port"), "8080");
  ck_assert_ptr_null (spdy_header_get (&f, "Port"));
  spdy_frame_clear (&f);
  f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_SYN_REPLY);
  ck_assert_uint_eq (f.stream_id, 3);
  ck_assert_uint_eq (f.n_headers, 0);
  spdy_frame_clear (&f);
  size_t before = off;
  f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_SYN_STREAM);
  ck_assert_str_eq (spdy_header_get (&f, "streamtype"), "stdout");
  ck_assert_uint_lt (off - before, 30); /* compressed against the first */
  spdy_frame_clear (&f);
  f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_HEADERS);
  ck_assert_uint_eq (f.flags, SPDY_FLAG_FIN);
  ck_assert_str_eq (spdy_header_get (&f, "port"), "8080");
  spdy_frame_clear (&f);
  f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_DATA);
  ck_assert_uint_eq (f.stream_id, 5);
  ck_assert_uint_eq (f.flags, SPDY_FLAG_FIN);
  ck_assert_uint_eq (f.len, 5);
  ck_assert_mem_eq (f.data, "hello", 5);
  f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_DATA);
  ck_assert_uint_eq (f.len, 0);
  f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_RST_STREAM);
  ck_assert_uint_eq (f.status, SPDY_CANCEL);
  f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_SETTINGS);
  ck_assert_uint_eq (f.n_settings, 2);
  ck_assert_uint_eq (f.settings[0].flags, 1);
  ck_assert_uint_eq (f.settings[0].id, SPDY_SETTINGS_INITIAL_WINDOW_SIZE);
  ck_assert_uint_eq (f.settings[0].value, 1 << 20);
  ck_assert_uint_eq (f.settings[1].id, 4);
  spdy_frame_clear (&f);
  f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_PING);
  ck_assert_uint_eq (f.ping_id, 7);
  f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_GOAWAY);
  ck_assert_uint_eq (f.stream_id, 5);
  f = next (b, &sb, &off);
  ck_assert_int_eq (f.type, SPDY_WINDOW_UPDATE);
  ck_assert_uint_eq (f.stream_id, 0);
  ck_assert_uint_eq (f.delta, 65536);
  f = next (b, &sb, &off);
  ck_assert_uint_eq (f.delta, SPDY_MAX_WINDOW);
  ck_assert_uint_eq (off, sb.len);
  sb_free (&sb);
  spdy_codec_free (a);
  spdy_codec_free (b);
}
END_TEST

/* A raw control frame: version 3, TYPE, FLAGS, BODY of LEN bytes. */
static void
raw_control (struct strbuf *sb, uint16_t version, uint16_t type, uint8_t flags, const void *body, uint32_t len)
{
  uint8_t h[8] = { (uint8_t) (0x80 | version >> 8), (uint8_t) version, (uint8_t) (type >> 8), (uint8_t) type, flags,
                   (uint8_t) (len >> 16), (uint8_t) (len >> 8), (uint8_t) len };
  sb_addn (sb, (const char *) h, 8);
  sb_addn (sb, body, len);
}

/* A header block compressed as a peer would (its own zlib stream). */
static void
packed_block (const void *plain, size_t len, struct strbuf *out)
{
  z_stream z = { 0 };
  ck_assert_int_eq (deflateInit (&z, Z_DEFAULT_COMPRESSION), Z_OK);
  ck_assert_int_eq (deflateSetDictionary (&z, spdy_dictionary, (uInt) spdy_dictionary_len), Z_OK);
  uint8_t *buf = xmalloc (len + 1024);
  z.next_in = (Bytef *) plain;
  z.avail_in = (uInt) len;
  z.next_out = buf;
  z.avail_out = (uInt) len + 1024;
  ck_assert_int_eq (deflate (&z, Z_SYNC_FLUSH), Z_OK);
  sb_addn (out, (const char *) buf, len + 1024 - z.avail_out);
  deflateEnd (&z);
  free (buf);
}

static void
expect_rejected (const struct strbuf *sb, const char *what)
{
  struct spdy_codec *c = spdy_codec_new ();
  struct spdy_frame f;
  const char *why = NULL;
  ck_assert_msg (spdy_frame_parse (c, (const uint8_t *) sb->buf, sb->len, &f, &why) == -1, "%s accepted", what);
  ck_assert_ptr_nonnull (why);
  spdy_codec_free (c);
}

START_TEST (malformed)
{
  struct strbuf sb;
  uint8_t zero8[8] = { 0 }, four[4] = { 0, 0, 0, 1 };
  uint8_t rst_ok_len[8] = { 0, 0, 0, 1, 0, 0, 0, 0 };
  struct {
    uint16_t version, type;
    const uint8_t *body;
    uint32_t len;
    const char *what;
  } cases[] = {
    { 2, SPDY_PING, four, 4, "SPDY/2" },
    { 3, SPDY_RST_STREAM, four, 4, "a short RST_STREAM" },
    { 3, SPDY_RST_STREAM, rst_ok_len, 8, "RST_STREAM with status 0" },
    { 3, SPDY_PING, zero8, 8, "a long PING" },
    { 3, SPDY_GOAWAY, four, 4, "a short GOAWAY" },
    { 3, SPDY_WINDOW_UPDATE, rst_ok_len, 8, "WINDOW_UPDATE with delta 0" },
    { 3, SPDY_SETTINGS, four, 4, "SETTINGS counting 1 entry, holding none" },
    { 3, SPDY_SYN_STREAM, zero8, 8, "a short SYN_STREAM" },
    { 3, SPDY_SYN_REPLY, four, 2, "a short SYN_REPLY" },
    { 3, SPDY_HEADERS, zero8, 4, "HEADERS for stream 0" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      sb_init (&sb);
      raw_control (&sb, cases[i].version, cases[i].type, 0, cases[i].body, cases[i].len);
      expect_rejected (&sb, cases[i].what);
      sb_free (&sb);
    }
  /* a data frame on stream 0; one over 1 MiB */
  sb_init (&sb);
  sb_addn (&sb, "\0\0\0\0\0\0\0\0", 8);
  expect_rejected (&sb, "data on stream 0");
  sb_free (&sb);
  sb_init (&sb);
  sb_addn (&sb, "\0\0\0\1\0\x20\0\0", 8);
  expect_rejected (&sb, "a 2 MiB frame");
  sb_free (&sb);
  /* header blocks: not zlib; counting more than they hold; a name in
   * capitals; a name twice; one that inflates past 64 KiB */
  static const char *const blocks[] = {
    "\0\0\0\1\0\0\0\3abc\0\0\0\1x\0\0\0\1",
    "\0\0\0\1\0\0\0\3Abc\0\0\0\1x",
    "\0\0\0\2\0\0\0\3abc\0\0\0\1x\0\0\0\3abc\0\0\0\1y",
    "\0\0\0\1\0\0\0\0\0\0\0\1x",
  };
  static const size_t block_len[] = { 20, 16, 28, 13 };
  for (size_t i = 0; i < ARRAY_SIZE (blocks) + 2; i++)
    {
      struct strbuf body, packed;
      sb_init (&body);
      sb_init (&packed);
      sb_addn (&body, "\0\0\0\1\0\0\0\0\0\0", 10);
      if (i < ARRAY_SIZE (blocks))
        packed_block (blocks[i], block_len[i], &packed);
      else if (i == ARRAY_SIZE (blocks))
        sb_addn (&packed, "\x78\xf9garbage, not deflate", 22);
      else
        {
          char *big = xcalloc (1, 70000);
          memcpy (big, "\0\0\0\1\0\0\0\1a\0\1\x11\x60", 13);
          packed_block (big, 70000, &packed);
          free (big);
        }
      sb_addn (&body, packed.buf, packed.len);
      sb_init (&sb);
      raw_control (&sb, 3, SPDY_SYN_STREAM, 0, body.buf, (uint32_t) body.len);
      expect_rejected (&sb, "a bad header block");
      sb_free (&sb);
      sb_free (&body);
      sb_free (&packed);
    }
  /* an unknown control type (CREDENTIAL) is read and left to be ignored */
  sb_init (&sb);
  raw_control (&sb, 3, 10, 0, zero8, 8);
  struct spdy_codec *c = spdy_codec_new ();
  struct spdy_frame f;
  const char *why;
  ck_assert_int_eq (spdy_frame_parse (c, (const uint8_t *) sb.buf, sb.len, &f, &why), 16);
  ck_assert_uint_eq (f.type, 10);
  spdy_codec_free (c);
  sb_free (&sb);
}
END_TEST

START_TEST (stream_protocols)
{
  int v = 0;
  /* kubectl 1.29's offer, one header each, joined */
  ck_assert_str_eq (exec_spdy_pick_protocol ("v5.channel.k8s.io,v4.channel.k8s.io,v3.channel.k8s.io,"
                                             "v2.channel.k8s.io,channel.k8s.io",
                                             &v),
                    "v4.channel.k8s.io");
  ck_assert_int_eq (v, 4);
  ck_assert_str_eq (exec_spdy_pick_protocol ("v2.channel.k8s.io, v3.channel.k8s.io", &v), "v2.channel.k8s.io");
  ck_assert_int_eq (v, 2);
  ck_assert_str_eq (exec_spdy_pick_protocol (" channel.k8s.io ", &v), "channel.k8s.io");
  ck_assert_int_eq (v, 1);
  ck_assert_ptr_null (exec_spdy_pick_protocol ("xv4.channel.k8s.io,v4.channel.k8s.iox", &v));
  ck_assert_ptr_null (exec_spdy_pick_protocol ("", &v));
  ck_assert_ptr_null (exec_spdy_pick_protocol (NULL, &v));
}
END_TEST

/* The peer's side of a socketpair: frames exec_spdy.c sent. */
static size_t
drain (int fd, struct spdy_codec *c, struct strbuf *in, uint32_t *data_bytes, int *replies)
{
  char buf[65536];
  ssize_t n;
  while ((n = recv (fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
    sb_addn (in, buf, (size_t) n);
  size_t off = 0, frames = 0;
  for (;;)
    {
      struct spdy_frame f;
      const char *why;
      ssize_t r = spdy_frame_parse (c, (const uint8_t *) in->buf + off, in->len - off, &f, &why);
      ck_assert_int_ge (r, 0);
      if (r == 0)
        break;
      if (f.type == SPDY_DATA)
        *data_bytes += (uint32_t) f.len;
      if (f.type == SPDY_SYN_REPLY)
        ++*replies;
      spdy_frame_clear (&f);
      off += (size_t) r;
      frames++;
    }
  memmove (in->buf, in->buf + off, in->len - off);
  in->len -= off;
  return frames;
}

static void
peer_sends (int fd, const struct strbuf *sb)
{
  ck_assert_int_eq (send (fd, sb->buf, sb->len, 0), (ssize_t) sb->len);
}

START_TEST (windows)
{
  for (int keeps_windows = 0; keeps_windows < 2; keeps_windows++)
    {
      int sv[2];
      ck_assert_int_eq (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
      int big = 4 << 20;
      setsockopt (sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
      setsockopt (sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
      struct exec_request r = { .stdout_ = true, .spdy = true, .version = 4 };
      struct exec_transport *t = exec_spdy_new (&r);
      t->sock = sv[0];
      struct spdy_codec *peer = spdy_codec_new (), *peer_in = spdy_codec_new ();
      struct strbuf out, in;
      sb_init (&out);
      sb_init (&in);
      const char *names[] = { "streamtype" }, *err[] = { "error" }, *so[] = { "stdout" };
      ck_assert (spdy_put_syn_stream (peer, &out, 1, 0, 0, 0, names, err, 1));
      peer_sends (sv[1], &out);
      out.len = 0;
      ck_assert (t->ops->receive (t));
      ck_assert (!t->ops->ready (t));
      ck_assert (spdy_put_syn_stream (peer, &out, 3, 0, 0, 0, names, so, 1));
      if (keeps_windows)
        spdy_put_window_update (&out, 0, 1 << 20); /* the session: 64 KiB + 1 MiB */
      peer_sends (sv[1], &out);
      out.len = 0;
      ck_assert (t->ops->receive (t));
      ck_assert (t->ops->ready (t));
      ck_assert (t->ops->send (t));
      uint32_t got = 0;
      int replies = 0;
      drain (sv[1], peer_in, &in, &got, &replies);
      ck_assert_int_eq (replies, 2);
      /* 200 KiB of output, as much as room allows at a time */
      char chunk[16384];
      memset (chunk, 'x', sizeof chunk);
      size_t sent = 0;
      while (sent < 200 * 1024)
        {
          size_t room = t->ops->room (t, EXEC_STDOUT);
          if (room == 0)
            break;
          size_t n = room < sizeof chunk ? room : sizeof chunk;
          n = n < 200 * 1024 - sent ? n : 200 * 1024 - sent;
          t->ops->output (t, EXEC_STDOUT, chunk, n);
          sent += n;
          ck_assert (t->ops->send (t));
        }
      drain (sv[1], peer_in, &in, &got, &replies);
      if (!keeps_windows)
        ck_assert_uint_eq (got, 200 * 1024); /* spdystream: no window held to */
      else
        {
          /* the stream's 64 KiB, then nothing until the peer reads */
          ck_assert_uint_eq (got, SPDY_DEFAULT_WINDOW);
          ck_assert_uint_eq (t->ops->room (t, EXEC_STDOUT), 0);
          spdy_put_window_update (&out, 3, 1000);
          peer_sends (sv[1], &out);
          out.len = 0;
          ck_assert (t->ops->receive (t));
          ck_assert_uint_eq (t->ops->room (t, EXEC_STDOUT), 1000);
        }
      /* a channel nobody opened takes output and drops it */
      ck_assert_uint_gt (t->ops->room (t, EXEC_STDERR), 0);
      t->ops->output (t, EXEC_STDERR, "dropped", 7);
      /* a ping from the client is answered */
      spdy_put_ping (&out, 5);
      peer_sends (sv[1], &out);
      out.len = 0;
      ck_assert (t->ops->receive (t));
      ck_assert (t->ops->send (t));
      uint32_t before = got;
      ck_assert_uint_eq (drain (sv[1], peer_in, &in, &got, &replies), 1);
      ck_assert_uint_eq (got, before);
      t->ops->free (t);
      spdy_codec_free (peer);
      spdy_codec_free (peer_in);
      sb_free (&out);
      sb_free (&in);
      close (sv[0]);
      close (sv[1]);
    }
}
END_TEST

/* Streams kubectl may not open, and a frame that ends the connection. */
START_TEST (refusals)
{
  int sv[2];
  ck_assert_int_eq (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  struct exec_request r = { .stdout_ = true, .spdy = true, .version = 4 };
  struct exec_transport *t = exec_spdy_new (&r);
  t->sock = sv[0];
  struct spdy_codec *peer = spdy_codec_new (), *peer_in = spdy_codec_new ();
  struct strbuf out, in;
  sb_init (&out);
  sb_init (&in);
  const char *names[] = { "streamtype" }, *err[] = { "error" }, *odd[] = { "stdcrash" };
  ck_assert (spdy_put_syn_stream (peer, &out, 2, 0, 0, 0, names, err, 1));  /* even: the server's ids */
  ck_assert (spdy_put_syn_stream (peer, &out, 3, 0, 0, 0, names, odd, 1));  /* no such channel */
  ck_assert (spdy_put_syn_stream (peer, &out, 5, 0, 0, 0, names, err, 1));  /* fine */
  ck_assert (spdy_put_syn_stream (peer, &out, 7, 0, 0, 0, names, err, 1));  /* error again */
  ck_assert (spdy_put_syn_stream (peer, &out, 1, 0, 0, 0, names, err, 1));  /* below the last */
  spdy_put_data (&out, 9, 0, "x", 1);                                       /* never opened */
  peer_sends (sv[1], &out);
  out.len = 0;
  ck_assert (t->ops->receive (t));
  ck_assert (t->ops->send (t));
  char buf[4096];
  ssize_t n = recv (sv[1], buf, sizeof buf, 0);
  ck_assert_int_gt (n, 0);
  sb_addn (&in, buf, (size_t) n);
  uint32_t want[][2] = { { 2, SPDY_PROTOCOL_ERROR }, { 3, SPDY_REFUSED_STREAM }, { 5, 0 }, { 7, SPDY_REFUSED_STREAM },
                         { 1, SPDY_PROTOCOL_ERROR }, { 9, SPDY_INVALID_STREAM } };
  size_t off = 0;
  for (size_t i = 0; i < ARRAY_SIZE (want); i++)
    {
      struct spdy_frame f = next (peer_in, &in, &off);
      ck_assert_int_eq (f.type, want[i][1] ? SPDY_RST_STREAM : SPDY_SYN_REPLY);
      ck_assert_uint_eq (f.stream_id, want[i][0]);
      ck_assert_uint_eq (f.status, want[i][1]);
      spdy_frame_clear (&f);
    }
  ck_assert_uint_eq (off, in.len);
  ck_assert (!t->peer_gone);
  /* SPDY/2: the connection ends with GOAWAY PROTOCOL_ERROR */
  peer_sends (sv[1], &(struct strbuf) { .buf = (char *) "\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", .len = 12 });
  ck_assert (t->ops->receive (t));
  ck_assert (t->peer_gone);
  n = recv (sv[1], buf, sizeof buf, 0);
  ck_assert_int_eq (n, 16);
  in.len = 0;
  sb_addn (&in, buf, (size_t) n);
  off = 0;
  struct spdy_frame f = next (peer_in, &in, &off);
  ck_assert_int_eq (f.type, SPDY_GOAWAY);
  ck_assert_uint_eq (f.stream_id, 7);
  ck_assert_uint_eq (f.status, SPDY_GOAWAY_PROTOCOL_ERROR);
  t->ops->free (t);
  /* no second GOAWAY on the way out */
  ck_assert_int_eq (recv (sv[1], buf, sizeof buf, MSG_DONTWAIT), -1);
  spdy_codec_free (peer);
  spdy_codec_free (peer_in);
  sb_free (&out);
  sb_free (&in);
  close (sv[0]);
  close (sv[1]);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("spdy");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, kubectl_frame);
  tcase_add_test (tc, round_trip);
  tcase_add_test (tc, malformed);
  tcase_add_test (tc, stream_protocols);
  tcase_add_test (tc, windows);
  tcase_add_test (tc, refusals);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
