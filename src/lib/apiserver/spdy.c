/* SPDY/3.1 framing (see spdy.h). */
#include "apiserver/spdy.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The dictionary of draft 3, section 2.6.10.1: length-prefixed header
 * names and values, then common value fragments. */
#define W(len, word) "\0\0\0" len word
static const char dictionary[] =
  W("\x07", "options") W("\x04", "head") W("\x04", "post") W("\x03", "put") W("\x06", "delete")
  W("\x05", "trace") W("\x06", "accept") W("\x0e", "accept-charset") W("\x0f", "accept-encoding")
  W("\x0f", "accept-language") W("\x0d", "accept-ranges") W("\x03", "age") W("\x05", "allow")
  W("\x0d", "authorization") W("\x0d", "cache-control") W("\x0a", "connection") W("\x0c", "content-base")
  W("\x10", "content-encoding") W("\x10", "content-language") W("\x0e", "content-length")
  W("\x10", "content-location") W("\x0b", "content-md5") W("\x0d", "content-range") W("\x0c", "content-type")
  W("\x04", "date") W("\x04", "etag") W("\x06", "expect") W("\x07", "expires") W("\x04", "from")
  W("\x04", "host") W("\x08", "if-match") W("\x11", "if-modified-since") W("\x0d", "if-none-match")
  W("\x08", "if-range") W("\x13", "if-unmodified-since") W("\x0d", "last-modified") W("\x08", "location")
  W("\x0c", "max-forwards") W("\x06", "pragma") W("\x12", "proxy-authenticate")
  W("\x13", "proxy-authorization") W("\x05", "range") W("\x07", "referer") W("\x0b", "retry-after")
  W("\x06", "server") W("\x02", "te") W("\x07", "trailer") W("\x11", "transfer-encoding") W("\x07", "upgrade")
  W("\x0a", "user-agent") W("\x04", "vary") W("\x03", "via") W("\x07", "warning") W("\x10", "www-authenticate")
  W("\x06", "method") W("\x03", "get") W("\x06", "status") W("\x06", "200 OK") W("\x07", "version")
  W("\x08", "HTTP/1.1") W("\x03", "url") W("\x06", "public") W("\x0a", "set-cookie") W("\x0a", "keep-alive")
  W("\x06", "origin")
  "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505203 No"
  "n-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403"
  " Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service UnavailableJan Fe"
  "b Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunke"
  "d,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/"
  "javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
#undef W
const uint8_t *const spdy_dictionary = (const uint8_t *) dictionary;
const size_t spdy_dictionary_len = sizeof dictionary - 1;

struct spdy_codec {
  z_stream in, out;
  bool in_ok, out_ok;
};

struct spdy_codec *
spdy_codec_new (void)
{
  struct spdy_codec *c = xcalloc (1, sizeof *c);
  c->in_ok = inflateInit (&c->in) == Z_OK;
  c->out_ok = deflateInit (&c->out, Z_DEFAULT_COMPRESSION) == Z_OK
              && deflateSetDictionary (&c->out, spdy_dictionary, (uInt) spdy_dictionary_len) == Z_OK;
  return c;
}

void
spdy_codec_free (struct spdy_codec *c)
{
  if (c == NULL)
    return;
  inflateEnd (&c->in);
  deflateEnd (&c->out);
  free (c);
}

static uint32_t
get32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void
put32 (struct strbuf *sb, uint32_t v)
{
  char b[4] = { (char) (v >> 24), (char) (v >> 16), (char) (v >> 8), (char) v };
  sb_addn (sb, b, 4);
}

static void
put_control (struct strbuf *sb, uint16_t type, uint8_t flags, uint32_t len)
{
  put32 (sb, 0x80000000u | 3u << 16 | type);
  put32 (sb, (uint32_t) flags << 24 | (len & 0xffffff));
}

void
spdy_frame_clear (struct spdy_frame *f)
{
  for (size_t i = 0; i < f->n_headers; i++)
    {
      free (f->headers[i].name);
      free (f->headers[i].value);
    }
  free (f->headers);
  free (f->settings);
  memset (f, 0, sizeof *f);
}

const char *
spdy_header_get (const struct spdy_frame *f, const char *name)
{
  for (size_t i = 0; i < f->n_headers; i++)
    if (strcmp (f->headers[i].name, name) == 0)
      return f->headers[i].value;
  return NULL;
}

/* Inflate one header block: the compressed bytes of a frame, one piece of
 * the connection's single zlib stream, which the sender flushed. */
static bool
inflate_block (struct spdy_codec *c, const uint8_t *in, size_t len, struct strbuf *out, const char **why)
{
  if (!c->in_ok)
    return *why = "the header compression stream is broken", false;
  c->in.next_in = (Bytef *) in;
  c->in.avail_in = (uInt) len;
  do
    {
      uint8_t buf[4096];
      c->in.next_out = buf;
      c->in.avail_out = sizeof buf;
      int r = inflate (&c->in, Z_SYNC_FLUSH);
      if (r == Z_NEED_DICT)
        r = inflateSetDictionary (&c->in, spdy_dictionary, (uInt) spdy_dictionary_len);
      if (r == Z_BUF_ERROR && c->in.avail_out == sizeof buf)
        break; /* nothing more to give: all read, or the block was cut short */
      if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
        {
          c->in_ok = false;
          return *why = "a header block does not inflate", false;
        }
      size_t n = sizeof buf - c->in.avail_out;
      if (out->len + n > SPDY_MAX_HEADER_BLOCK)
        {
          c->in_ok = false;
          return *why = "a header block is too large", false;
        }
      sb_addn (out, (const char *) buf, n);
      if (r == Z_STREAM_END)
        {
          /* A peer that ends its zlib stream can send no further headers. */
          c->in_ok = false;
          break;
        }
    }
  while (c->in.avail_in > 0 || c->in.avail_out == 0);
  if (c->in.avail_in > 0)
    return *why = "a header block has bytes after its end", false;
  return true;
}

/* Name/value pairs: a 32-bit count, then each as a 32-bit length and
 * bytes. */
static bool
parse_header_block (const uint8_t *p, size_t len, struct spdy_frame *f, const char **why)
{
  if (len < 4)
    return *why = "a header block has no count", false;
  uint32_t n = get32 (p);
  p += 4, len -= 4;
  if (n > len / 8)
    return *why = "a header block counts more pairs than it holds", false;
  for (uint32_t i = 0; i < n; i++)
    {
      const uint8_t *s[2];
      uint32_t l[2];
      for (int k = 0; k < 2; k++)
        {
          if (len < 4 || (l[k] = get32 (p)) > len - 4)
            return *why = "a header block is cut short", false;
          s[k] = p + 4;
          p += 4 + l[k], len -= 4 + l[k];
        }
      if (l[0] == 0)
        return *why = "a header name is empty", false;
      for (uint32_t j = 0; j < l[0]; j++)
        if (s[0][j] == 0 || (s[0][j] >= 'A' && s[0][j] <= 'Z'))
          return *why = "a header name is not lowercase text", false;
      char *name = xstrndup ((const char *) s[0], l[0]);
      if (spdy_header_get (f, name))
        {
          free (name);
          return *why = "a header name is repeated", false;
        }
      struct spdy_header *h = VEC_PUSH (f->headers, f->n_headers);
      h->name = name;
      h->value = xmalloc (l[1] + 1);
      memcpy (h->value, s[1], l[1]);
      h->value[l[1]] = '\0';
      h->value_len = l[1];
    }
  if (len != 0)
    return *why = "a header block has bytes after its pairs", false;
  return true;
}

static bool
parse_headers (struct spdy_codec *c, const uint8_t *in, size_t len, struct spdy_frame *f, const char **why)
{
  struct strbuf plain;
  sb_init (&plain);
  bool ok = inflate_block (c, in, len, &plain, why)
            && parse_header_block ((const uint8_t *) plain.buf, plain.len, f, why);
  sb_free (&plain);
  return ok;
}

static ssize_t
parse_control (struct spdy_codec *c, const uint8_t *b, uint32_t len, struct spdy_frame *f, const char **why)
{
  const uint8_t *p = b + 8;
  bool needs_stream = true;
  switch (f->type)
    {
    case SPDY_SYN_STREAM:
      if (len < 10)
        return *why = "SYN_STREAM is too short", -1;
      f->stream_id = get32 (p) & 0x7fffffff;
      f->associated_id = get32 (p + 4) & 0x7fffffff;
      f->priority = p[8] >> 5;
      if (!parse_headers (c, p + 10, len - 10, f, why))
        return -1;
      break;
    case SPDY_SYN_REPLY:
    case SPDY_HEADERS:
      if (len < 4)
        return *why = "SYN_REPLY or HEADERS is too short", -1;
      f->stream_id = get32 (p) & 0x7fffffff;
      if (!parse_headers (c, p + 4, len - 4, f, why))
        return -1;
      break;
    case SPDY_RST_STREAM:
      if (len != 8)
        return *why = "RST_STREAM is not 8 bytes long", -1;
      f->stream_id = get32 (p) & 0x7fffffff;
      f->status = get32 (p + 4);
      if (f->status == 0)
        return *why = "RST_STREAM has status 0", -1;
      break;
    case SPDY_SETTINGS:
      needs_stream = false;
      if (len < 4 || (len - 4) / 8 != get32 (p) || (len - 4) % 8 != 0)
        return *why = "SETTINGS' length does not match its count", -1;
      f->n_settings = get32 (p);
      f->settings = xcalloc (f->n_settings ? f->n_settings : 1, sizeof *f->settings);
      for (size_t i = 0; i < f->n_settings; i++)
        {
          const uint8_t *e = p + 4 + 8 * i;
          f->settings[i] = (struct spdy_setting) { .flags = e[0], .id = get32 (e) & 0xffffff, .value = get32 (e + 4) };
        }
      break;
    case SPDY_PING:
      needs_stream = false;
      if (len != 4)
        return *why = "PING is not 4 bytes long", -1;
      f->ping_id = get32 (p);
      break;
    case SPDY_GOAWAY:
      needs_stream = false;
      if (len != 8)
        return *why = "GOAWAY is not 8 bytes long", -1;
      f->stream_id = get32 (p) & 0x7fffffff;
      f->status = get32 (p + 4);
      break;
    case SPDY_WINDOW_UPDATE:
      needs_stream = false; /* 0: the session's window */
      if (len != 8)
        return *why = "WINDOW_UPDATE is not 8 bytes long", -1;
      f->stream_id = get32 (p) & 0x7fffffff;
      f->delta = get32 (p + 4) & 0x7fffffff;
      if (f->delta == 0)
        return *why = "WINDOW_UPDATE's delta is 0", -1;
      break;
    default:
      /* Unknown control frames are ignored (draft 3, 2.2.1). */
      needs_stream = false;
      break;
    }
  if (needs_stream && f->stream_id == 0)
    return *why = "a stream's frame has stream id 0", -1;
  return (ssize_t) len + 8;
}

ssize_t
spdy_frame_parse (struct spdy_codec *c, const uint8_t *buf, size_t len, struct spdy_frame *f, const char **why)
{
  memset (f, 0, sizeof *f);
  *why = NULL;
  if (len < 8)
    return 0;
  uint32_t w0 = get32 (buf), w1 = get32 (buf + 4);
  uint32_t flen = w1 & 0xffffff;
  f->flags = (uint8_t) (w1 >> 24);
  if (flen > SPDY_MAX_FRAME)
    return *why = "a frame is larger than 1 MiB", -1;
  if (len < 8 + (size_t) flen)
    return 0;
  if (w0 & 0x80000000u)
    {
      if (((w0 >> 16) & 0x7fff) != 3)
        return *why = "a control frame is not SPDY version 3", -1;
      f->type = (uint16_t) (w0 & 0xffff);
      ssize_t r = parse_control (c, buf, flen, f, why);
      if (r < 0)
        spdy_frame_clear (f);
      return r;
    }
  f->type = SPDY_DATA;
  f->stream_id = w0 & 0x7fffffff;
  if (f->stream_id == 0)
    return *why = "a data frame has stream id 0", -1;
  f->data = buf + 8;
  f->len = flen;
  return (ssize_t) flen + 8;
}

/* Deflate PLAIN into SB, flushed so that the peer can inflate it alone. */
static bool
deflate_block (struct spdy_codec *c, const struct strbuf *plain, struct strbuf *sb)
{
  if (!c->out_ok)
    return false;
  c->out.next_in = (Bytef *) plain->buf;
  c->out.avail_in = (uInt) plain->len;
  do
    {
      uint8_t buf[4096];
      c->out.next_out = buf;
      c->out.avail_out = sizeof buf;
      int r = deflate (&c->out, Z_SYNC_FLUSH);
      if (r != Z_OK && r != Z_BUF_ERROR)
        return c->out_ok = false;
      sb_addn (sb, (const char *) buf, sizeof buf - c->out.avail_out);
    }
  while (c->out.avail_out == 0 || c->out.avail_in > 0);
  return true;
}

/* A control frame whose body is PREFIX (stream ids, priority) followed by
 * the compressed header block. */
static bool
put_with_headers (struct spdy_codec *c, struct strbuf *sb, uint16_t type, uint8_t flags, const struct strbuf *prefix,
                  const char *const *names, const char *const *values, size_t n)
{
  struct strbuf plain, packed;
  sb_init (&plain);
  sb_init (&packed);
  put32 (&plain, (uint32_t) n);
  for (size_t i = 0; i < n; i++)
    {
      put32 (&plain, (uint32_t) strlen (names[i]));
      sb_add (&plain, names[i]);
      put32 (&plain, (uint32_t) strlen (values[i]));
      sb_add (&plain, values[i]);
    }
  bool ok = deflate_block (c, &plain, &packed);
  if (ok)
    {
      put_control (sb, type, flags, (uint32_t) (prefix->len + packed.len));
      sb_addn (sb, prefix->buf, prefix->len);
      sb_addn (sb, packed.buf, packed.len);
    }
  sb_free (&plain);
  sb_free (&packed);
  return ok;
}

bool
spdy_put_syn_stream (struct spdy_codec *c, struct strbuf *sb, uint32_t id, uint32_t associated, uint8_t priority,
                     uint8_t flags, const char *const *names, const char *const *values, size_t n)
{
  struct strbuf pre;
  sb_init (&pre);
  put32 (&pre, id & 0x7fffffff);
  put32 (&pre, associated & 0x7fffffff);
  char pri[2] = { (char) ((priority & 7) << 5), 0 };
  sb_addn (&pre, pri, 2);
  bool ok = put_with_headers (c, sb, SPDY_SYN_STREAM, flags, &pre, names, values, n);
  sb_free (&pre);
  return ok;
}

static bool
put_stream_headers (struct spdy_codec *c, struct strbuf *sb, uint16_t type, uint32_t id, uint8_t flags,
                    const char *const *names, const char *const *values, size_t n)
{
  struct strbuf pre;
  sb_init (&pre);
  put32 (&pre, id & 0x7fffffff);
  bool ok = put_with_headers (c, sb, type, flags, &pre, names, values, n);
  sb_free (&pre);
  return ok;
}

bool
spdy_put_syn_reply (struct spdy_codec *c, struct strbuf *sb, uint32_t id, uint8_t flags, const char *const *names,
                    const char *const *values, size_t n)
{
  return put_stream_headers (c, sb, SPDY_SYN_REPLY, id, flags, names, values, n);
}

bool
spdy_put_headers (struct spdy_codec *c, struct strbuf *sb, uint32_t id, uint8_t flags, const char *const *names,
                  const char *const *values, size_t n)
{
  return put_stream_headers (c, sb, SPDY_HEADERS, id, flags, names, values, n);
}

void
spdy_put_data (struct strbuf *sb, uint32_t id, uint8_t flags, const void *data, size_t len)
{
  put32 (sb, id & 0x7fffffff);
  put32 (sb, (uint32_t) flags << 24 | ((uint32_t) len & 0xffffff));
  if (len)
    sb_addn (sb, data, len);
}

void
spdy_put_rst_stream (struct strbuf *sb, uint32_t id, uint32_t status)
{
  put_control (sb, SPDY_RST_STREAM, 0, 8);
  put32 (sb, id & 0x7fffffff);
  put32 (sb, status);
}

void
spdy_put_settings (struct strbuf *sb, uint8_t flags, const struct spdy_setting *s, size_t n)
{
  put_control (sb, SPDY_SETTINGS, flags, (uint32_t) (4 + 8 * n));
  put32 (sb, (uint32_t) n);
  for (size_t i = 0; i < n; i++)
    {
      put32 (sb, (uint32_t) s[i].flags << 24 | (s[i].id & 0xffffff));
      put32 (sb, s[i].value);
    }
}

void
spdy_put_ping (struct strbuf *sb, uint32_t id)
{
  put_control (sb, SPDY_PING, 0, 4);
  put32 (sb, id);
}

void
spdy_put_goaway (struct strbuf *sb, uint32_t last_good, uint32_t status)
{
  put_control (sb, SPDY_GOAWAY, 0, 8);
  put32 (sb, last_good & 0x7fffffff);
  put32 (sb, status);
}

void
spdy_put_window_update (struct strbuf *sb, uint32_t id, uint32_t delta)
{
  put_control (sb, SPDY_WINDOW_UPDATE, 0, 8);
  put32 (sb, id & 0x7fffffff);
  put32 (sb, delta & 0x7fffffff);
}
