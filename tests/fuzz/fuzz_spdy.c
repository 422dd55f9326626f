/* libFuzzer entry for the SPDY/3.1 frame parser (apiserver/spdy.c), which
 * reads what kubectl before 1.30 sends to kubectl exec: the input is a
 * connection's bytes, parsed frame by frame through one codec (so header
 * blocks share the zlib stream, as on a connection) until it ends or is
 * rejected; each header block read is written again and read back by a
 * second pair of codecs. Nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/spdy.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
rewrite (struct spdy_codec *w, struct spdy_codec *r, const struct spdy_frame *f)
{
  const char **names = xcalloc (f->n_headers + 1, sizeof *names);
  const char **values = xcalloc (f->n_headers + 1, sizeof *values);
  for (size_t i = 0; i < f->n_headers; i++)
    {
      names[i] = f->headers[i].name;
      values[i] = f->headers[i].value;
    }
  struct strbuf sb;
  sb_init (&sb);
  if (spdy_put_syn_stream (w, &sb, f->stream_id ? f->stream_id : 1, 0, f->priority, f->flags, names, values,
                           f->n_headers))
    {
      struct spdy_frame g;
      const char *why;
      if (spdy_frame_parse (r, (const uint8_t *) sb.buf, sb.len, &g, &why) <= 0)
        abort (); /* what the writer wrote must read back */
      if (g.n_headers != f->n_headers)
        abort ();
      spdy_frame_clear (&g);
    }
  sb_free (&sb);
  free (names);
  free (values);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct spdy_codec *c = spdy_codec_new (), *w = spdy_codec_new (), *r = spdy_codec_new ();
  size_t off = 0;
  for (;;)
    {
      struct spdy_frame f;
      const char *why;
      ssize_t n = spdy_frame_parse (c, data + off, size - off, &f, &why);
      if (n <= 0)
        break;
      if (f.n_headers)
        rewrite (w, r, &f);
      (void) spdy_header_get (&f, "streamtype");
      spdy_frame_clear (&f);
      off += (size_t) n;
    }
  spdy_codec_free (c);
  spdy_codec_free (w);
  spdy_codec_free (r);
  return 0;
}
