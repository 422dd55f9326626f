/* SPDY/3.1 framing, as kubectl before 1.30 speaks it for exec (moby's
 * spdystream, draft 3 of the SPDY protocol plus 3.1's session window):
 * frames read from and written to byte buffers, header blocks compressed
 * with zlib and the protocol's dictionary, one inflate and one deflate
 * stream per connection. No I/O: exec_spdy.c drives it. Debian has no SPDY
 * library (spdylay is not in bookworm); zlib is the only dependency. */
#ifndef NSLAB_APISERVER_SPDY_H
#define NSLAB_APISERVER_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/util.h"

/* Control frame types; SPDY_DATA stands for a data frame. */
enum spdy_type {
  SPDY_DATA = 0,
  SPDY_SYN_STREAM = 1,
  SPDY_SYN_REPLY = 2,
  SPDY_RST_STREAM = 3,
  SPDY_SETTINGS = 4,
  SPDY_PING = 6,
  SPDY_GOAWAY = 7,
  SPDY_HEADERS = 8,
  SPDY_WINDOW_UPDATE = 9,
};

enum { SPDY_FLAG_FIN = 0x01, SPDY_FLAG_UNIDIRECTIONAL = 0x02 };

/* RST_STREAM status codes. */
enum spdy_rst {
  SPDY_PROTOCOL_ERROR = 1,
  SPDY_INVALID_STREAM = 2,
  SPDY_REFUSED_STREAM = 3,
  SPDY_UNSUPPORTED_VERSION = 4,
  SPDY_CANCEL = 5,
  SPDY_INTERNAL_ERROR = 6,
  SPDY_FLOW_CONTROL_ERROR = 7,
  SPDY_STREAM_IN_USE = 8,
  SPDY_STREAM_ALREADY_CLOSED = 9,
  SPDY_FRAME_TOO_LARGE = 11,
};

/* GOAWAY status codes. */
enum { SPDY_GOAWAY_OK = 0, SPDY_GOAWAY_PROTOCOL_ERROR = 1, SPDY_GOAWAY_INTERNAL_ERROR = 2 };

#define SPDY_SETTINGS_INITIAL_WINDOW_SIZE 7
/* Every stream's window and the session's, until SETTINGS say otherwise. */
#define SPDY_DEFAULT_WINDOW 65536
#define SPDY_MAX_WINDOW 0x7fffffff
/* The largest frame accepted (the 24-bit length allows 16 MiB): kubectl's
 * are at most 32 KiB (io.Copy's buffer), header blocks a few bytes. */
#define SPDY_MAX_FRAME (1024 * 1024)
/* The largest header block accepted once inflated. */
#define SPDY_MAX_HEADER_BLOCK (64 * 1024)

/* The SPDY/3 header compression dictionary (a protocol constant). */
extern const uint8_t *const spdy_dictionary;
extern const size_t spdy_dictionary_len;

struct spdy_header {
  char *name;  /* lowercase */
  char *value; /* several values are separated by NULs */
  size_t value_len;
};

struct spdy_setting {
  uint8_t flags;
  uint32_t id, value;
};

struct spdy_frame {
  uint16_t type;  /* enum spdy_type; an unknown control type as read */
  uint8_t flags;
  uint32_t stream_id; /* GOAWAY: the last good stream; WINDOW_UPDATE: 0 for the session */
  uint32_t associated_id; /* SYN_STREAM */
  uint8_t priority;       /* SYN_STREAM, 0 (highest) to 7 */
  uint32_t status;        /* RST_STREAM, GOAWAY */
  uint32_t ping_id;
  uint32_t delta;         /* WINDOW_UPDATE */
  const uint8_t *data;    /* DATA: the payload, inside the parsed buffer */
  size_t len;
  struct spdy_header *headers; /* SYN_STREAM, SYN_REPLY, HEADERS */
  size_t n_headers;
  struct spdy_setting *settings;
  size_t n_settings;
};

/* One connection's compression state, both directions. */
struct spdy_codec;
struct spdy_codec *spdy_codec_new (void);
void spdy_codec_free (struct spdy_codec *c);

/* Parse the frame at the start of BUF: returns the bytes it takes (F
 * filled; spdy_frame_clear it), 0 when BUF holds only part of it, -1 when
 * it is malformed (*why says how; the connection cannot go on, its
 * header compression state may be lost). */
ssize_t spdy_frame_parse (struct spdy_codec *c, const uint8_t *buf, size_t len, struct spdy_frame *f,
                          const char **why);
void spdy_frame_clear (struct spdy_frame *f);
/* The value of header NAME (its first value when there are several), or NULL. */
const char *spdy_header_get (const struct spdy_frame *f, const char *name);

/* Writers: append one frame to SB. The header block writers take N
 * name/value pairs (NAMES lowercase) and return false if zlib fails. */
bool spdy_put_syn_stream (struct spdy_codec *c, struct strbuf *sb, uint32_t id, uint32_t associated, uint8_t priority,
                          uint8_t flags, const char *const *names, const char *const *values, size_t n);
bool spdy_put_syn_reply (struct spdy_codec *c, struct strbuf *sb, uint32_t id, uint8_t flags,
                         const char *const *names, const char *const *values, size_t n);
bool spdy_put_headers (struct spdy_codec *c, struct strbuf *sb, uint32_t id, uint8_t flags, const char *const *names,
                       const char *const *values, size_t n);
void spdy_put_data (struct strbuf *sb, uint32_t id, uint8_t flags, const void *data, size_t len);
void spdy_put_rst_stream (struct strbuf *sb, uint32_t id, uint32_t status);
void spdy_put_settings (struct strbuf *sb, uint8_t flags, const struct spdy_setting *s, size_t n);
void spdy_put_ping (struct strbuf *sb, uint32_t id);
void spdy_put_goaway (struct strbuf *sb, uint32_t last_good, uint32_t status);
void spdy_put_window_update (struct strbuf *sb, uint32_t id, uint32_t delta);

#endif
