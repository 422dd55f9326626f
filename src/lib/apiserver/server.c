/* The HTTPS transport of the lab's API (see server.h). */
#include "apiserver/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "apiserver/api.h"
#include "apiserver/exec.h"
#include "apiserver/pki.h"
#include "apiserver/request.h"
#include "apiserver/tls_relay.h"
#include "base/json.h"
#include "base/util.h"

/* Each connection's request body, gathered before it is answered. */
struct pending {
  struct strbuf body;
  bool too_large;
  bool trim; /* a large answer was built: give its memory back once sent */
};

/* Answers larger than this are followed by malloc_trim: a 1000-pod Table
 * leaves megabytes of freed heap that would otherwise stay the server's. */
#define TRIM_AFTER_BYTES (256 * 1024)

static enum MHD_Result
respond (struct MHD_Connection *c, const struct api_response *r, size_t *sent)
{
  size_t len = 0;
  char *text = r->text ? strdup (r->text) : json_text (r->body, JSON_COMPACT, &len);
  if (r->text && text)
    len = strlen (text);
  if (sent)
    *sent = len;
  struct MHD_Response *resp = MHD_create_response_from_buffer (len, text ? text : (char *) "",
                                                               text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header (resp, "Content-Type",
                           r->content_type ? r->content_type : r->text ? "text/plain" : "application/json");
  MHD_add_response_header (resp, "Cache-Control", "no-cache, private");
  if (r->warning)
    MHD_add_response_header (resp, "Warning", r->warning);
  enum MHD_Result ret = MHD_queue_response (c, (unsigned) r->code, resp);
  MHD_destroy_response (resp);
  return ret;
}

/* ---- watch: a stream of events ------------------------------------------ */

/* How often a watch looks at the store's resourceVersion (a change shows
 * within this long), and how long it lasts without timeoutSeconds (the API
 * server's --min-request-timeout). */
#define WATCH_POLL_MS 100
#define WATCH_DEFAULT_SECONDS 1800
/* How many polls in a row a watch may find the store unreadable before it
 * ends with an ERROR event: each failure is logged, and one that passes
 * (a lock held past the busy timeout) costs the client nothing. */
#define WATCH_FAILED_POLLS 30

struct watch_stream {
  struct api *a;
  struct api_watch *w;
  struct MHD_Connection *c;
  char *path;
  struct strbuf buf;
  size_t off;
  time_t until;
  unsigned failed; /* polls in a row that could not read the store */
  bool ended;      /* the ERROR event is the last thing in buf */
};

/* The server's log is its stderr (the lab's logs/apiserver.log). */
static void server_log (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static void
server_log (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
}

/* The client went away: kubectl sends nothing during a watch, so anything
 * to read (its TLS close_notify) or a hang-up ends it. */
static bool
client_gone (struct MHD_Connection *c, int timeout_ms)
{
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info (c, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci == NULL)
    return true;
  struct pollfd p = { .fd = ci->connect_fd, .events = POLLIN | POLLRDHUP };
  int n = poll (&p, 1, timeout_ms);
  return n > 0;
}

/* Called by the connection's own thread (thread per connection): it may
 * wait for the next events. */
static ssize_t
watch_read (void *cls, uint64_t pos, char *out, size_t max)
{
  (void) pos;
  struct watch_stream *ws = cls;
  while (ws->off == ws->buf.len)
    {
      if (ws->ended)
        return MHD_CONTENT_READER_END_OF_STREAM;
      ws->buf.len = 0;
      ws->off = 0;
      nslab_error_t e = NULL;
      if (api_watch_next (ws->a, ws->w, &ws->buf, &e) == 0)
        ws->failed = 0;
      else
        {
          cleanup_free char *msg = nslab_error_line (e);
          server_log ("watch %s: %s\n", ws->path, msg);
          if (++ws->failed == WATCH_FAILED_POLLS)
            {
              api_watch_error (e, &ws->buf);
              ws->ended = true;
            }
          nslab_error_free (&e);
          if (ws->ended)
            continue;
        }
      if (ws->buf.len)
        break;
      if (time (NULL) >= ws->until || client_gone (ws->c, WATCH_POLL_MS))
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
  size_t n = ws->buf.len - ws->off < max ? ws->buf.len - ws->off : max;
  memcpy (out, ws->buf.buf + ws->off, n);
  ws->off += n;
  return (ssize_t) n;
}

static void
watch_free (void *cls)
{
  struct watch_stream *ws = cls;
  api_watch_free (ws->w);
  sb_free (&ws->buf);
  free (ws->path);
  free (ws);
}

static enum MHD_Result
start_watch (struct api *a, struct MHD_Connection *c, const struct api_request *req)
{
  struct api_response r;
  struct api_watch *w
      = api_watch_start (a, req, MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "resourceVersion"), &r);
  if (w == NULL)
    {
      enum MHD_Result ret = respond (c, &r, NULL);
      api_response_free (&r);
      return ret;
    }
  struct watch_stream *ws = xcalloc (1, sizeof *ws);
  ws->a = a;
  ws->w = w;
  ws->c = c;
  /* For the log: a client's path, control characters escaped. */
  ws->path = nslab_escape (req->path, false);
  sb_init (&ws->buf);
  const char *t = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "timeoutSeconds");
  long secs = t ? atol (t) : 0;
  ws->until = time (NULL) + (secs > 0 && secs < WATCH_DEFAULT_SECONDS ? secs : WATCH_DEFAULT_SECONDS);
  /* Idle between events for as long as the watch lasts. */
  MHD_set_connection_option (c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
  struct MHD_Response *resp = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 4096, watch_read, ws, watch_free);
  MHD_add_response_header (resp, "Content-Type", "application/json");
  MHD_add_response_header (resp, "Cache-Control", "no-cache, private");
  enum MHD_Result ret = MHD_queue_response (c, MHD_HTTP_OK, resp);
  MHD_destroy_response (resp);
  return ret;
}

/* ---- kubectl exec: an upgrade to WebSocket or SPDY/3.1 ------------------ */

struct upgraded {
  struct exec_request *req;
  int sock;
  char *extra;
  size_t extra_len;
  struct MHD_UpgradeResponseHandle *urh;
};

static void *
exec_thread (void *arg)
{
  struct upgraded *u = arg;
  exec_session (u->req, u->sock, u->extra, u->extra_len);
  MHD_upgrade_action (u->urh, MHD_UPGRADE_ACTION_CLOSE);
  free (u->extra);
  free (u);
  return NULL;
}

static void
on_upgrade (void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in, size_t extra_in_size,
            MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  (void) c, (void) con_cls;
  struct upgraded *u = xcalloc (1, sizeof *u);
  u->req = cls;
  u->sock = sock;
  u->extra = extra_in_size ? xstrndup (extra_in, extra_in_size) : NULL;
  u->extra_len = extra_in_size;
  u->urh = urh;
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init (&at);
  pthread_attr_setdetachstate (&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create (&t, &at, exec_thread, u) != 0)
    {
      exec_request_free (u->req);
      MHD_upgrade_action (urh, MHD_UPGRADE_ACTION_CLOSE);
      free (u->extra);
      free (u);
    }
  pthread_attr_destroy (&at);
}

static enum MHD_Result
collect_command (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  (void) kind;
  struct exec_request *r = cls;
  if (strcmp (key, "command") == 0 && value)
    {
      r->argv = xrealloc (r->argv, (r->argc + 2) * sizeof *r->argv);
      r->argv[r->argc++] = xstrdup (value);
      r->argv[r->argc] = NULL;
    }
  return MHD_YES;
}

static bool
query_true (struct MHD_Connection *c, const char *key)
{
  const char *v = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, key);
  return v && (strcmp (v, "true") == 0 || strcmp (v, "1") == 0);
}

/* GET|POST .../namespaces/NS/pods/NAME/exec (with an Upgrade header). */
static bool
is_exec (const char *url, char **ns, char **pod)
{
  const char *pre = "/api/v1/namespaces/";
  if (!str_has_prefix (url, pre) || !str_has_suffix (url, "/exec"))
    return false;
  const char *p = url + strlen (pre), *slash = strchr (p, '/');
  if (slash == NULL || !str_has_prefix (slash, "/pods/"))
    return false;
  const char *name = slash + strlen ("/pods/"), *end = strchr (name, '/');
  if (end == NULL || strcmp (end, "/exec") != 0 || end == name || slash == p)
    return false;
  *ns = xstrndup (p, (size_t) (slash - p));
  *pod = xstrndup (name, (size_t) (end - name));
  return true;
}

/* The X-Stream-Protocol-Version values (kubectl sends one header each). */
static enum MHD_Result
collect_protocols (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  (void) kind;
  struct strbuf *offers = cls;
  if (strcasecmp (key, "X-Stream-Protocol-Version") == 0 && value)
    {
      if (offers->len)
        sb_add (offers, ",");
      sb_add (offers, value);
    }
  return MHD_YES;
}

static enum MHD_Result
refuse_text (struct MHD_Connection *c, int code, const char *text)
{
  struct api_response r = { .code = code, .text = (char *) text };
  return respond (c, &r, NULL);
}

/* The tokens of comma-separated CSV as Go's %v prints a []string:
 * "[a b c]" (caller frees). */
static char *
go_list (const char *csv)
{
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "[");
  for (const char *p = csv; *p;)
    {
      p += strspn (p, " ,");
      size_t n = strcspn (p, ","), m = n;
      while (m && p[m - 1] == ' ')
        m--;
      if (m)
        sb_addf (&sb, "%s%.*s", sb.len > 1 ? " " : "", (int) m, p);
      p += n;
    }
  sb_add (&sb, "]");
  return sb_steal (&sb);
}

/* The kubelet's answer when no protocol is common: 403, the server's list
 * in X-Accepted-Stream-Protocol-Versions. */
static enum MHD_Result
refuse_protocols (struct MHD_Connection *c, const char *offers)
{
  cleanup_free char *client = go_list (offers), *server = go_list (exec_spdy_protocols);
  cleanup_free char *msg = xasprintf ("unable to upgrade: unable to negotiate protocol: client supports %s, server "
                                      "accepts %s\n",
                                      client, server);
  struct MHD_Response *resp = MHD_create_response_from_buffer (strlen (msg), msg, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header (resp, "Content-Type", "text/plain; charset=utf-8");
  for (const char *p = exec_spdy_protocols; *p;)
    {
      p += strspn (p, " ,");
      size_t n = strcspn (p, ",");
      cleanup_free char *one = xstrndup (p, n);
      MHD_add_response_header (resp, "X-Accepted-Stream-Protocol-Versions", one);
      p += n;
    }
  enum MHD_Result ret = MHD_queue_response (c, MHD_HTTP_FORBIDDEN, resp);
  MHD_destroy_response (resp);
  return ret;
}

static enum MHD_Result
start_exec (struct api *a, struct MHD_Connection *c, char *ns, char *pod)
{
  /* The pod must exist: otherwise the API's own 404. */
  cleanup_free char *path = xasprintf ("/api/v1/namespaces/%s/pods/%s", ns, pod);
  struct api_request get = { .method = "GET", .path = path, .accept = "application/json" };
  struct api_response r;
  api_handle (a, &get, &r);
  const char *upgrade = MHD_lookup_connection_value (c, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE);
  /* kubectl before 1.30 asks for SPDY/3.1, later ones for websocket. */
  bool spdy = upgrade && strcasecmp (upgrade, "websocket") != 0;
  struct strbuf offers;
  sb_init (&offers);
  int version = 4;
  const char *proto = NULL;
  cleanup_free char *accept = NULL;
  if (spdy)
    {
      MHD_get_connection_values (c, MHD_HEADER_KIND, collect_protocols, &offers);
      proto = exec_spdy_pick_protocol (offers.buf, &version);
    }
  else
    {
      proto = exec_pick_protocol (MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Sec-WebSocket-Protocol"));
      version = proto && proto[1] == '5' ? 5 : 4;
      const char *key = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
      accept = key ? exec_accept_key (key) : NULL;
    }
  struct exec_request *req = xcalloc (1, sizeof *req);
  req->lab = xstrdup (api_lab (a));
  req->ns = ns;
  req->pod = pod;
  req->stdin_ = query_true (c, "stdin");
  req->stdout_ = query_true (c, "stdout");
  req->tty = query_true (c, "tty");
  req->stderr_ = query_true (c, "stderr") && !req->tty;
  req->spdy = spdy;
  req->version = version;
  MHD_get_connection_values (c, MHD_GET_ARGUMENT_KIND, collect_command, req);
  enum MHD_Result ret;
  if (r.code == 200 && req->argc > 0 && spdy && strcasestr (upgrade, "spdy/3.1") == NULL)
    ret = refuse_text (c, 400, "unable to upgrade: missing upgrade headers in request");
  else if (r.code == 200 && req->argc > 0 && spdy && offers.len == 0)
    ret = refuse_text (c, 400, "unable to upgrade: X-Stream-Protocol-Version is required");
  else if (r.code == 200 && req->argc > 0 && spdy && proto == NULL)
    ret = refuse_protocols (c, offers.buf);
  else if (r.code != 200 || proto == NULL || (!spdy && accept == NULL) || req->argc == 0)
    {
      if (r.code == 200)
        {
          api_response_free (&r);
          r = (struct api_response) { .code = 400 };
          r.body = json_pack ("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                              "metadata", "status", "Failure", "message",
                              req->argc == 0 ? "you must specify at least 1 command"
                                             : "the lab's API speaks v5.channel.k8s.io or v4.channel.k8s.io",
                              "reason", "BadRequest", "code", 400);
        }
      ret = respond (c, &r, NULL);
    }
  else
    {
      struct MHD_Response *resp = MHD_create_response_for_upgrade (on_upgrade, req);
      if (spdy)
        {
          MHD_add_response_header (resp, MHD_HTTP_HEADER_UPGRADE, "SPDY/3.1");
          MHD_add_response_header (resp, "X-Stream-Protocol-Version", proto);
        }
      else
        {
          MHD_add_response_header (resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
          MHD_add_response_header (resp, "Sec-WebSocket-Accept", accept);
          MHD_add_response_header (resp, "Sec-WebSocket-Protocol", proto);
        }
      ret = MHD_queue_response (c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
      MHD_destroy_response (resp);
      req = NULL; /* on_upgrade's now */
    }
  exec_request_free (req);
  sb_free (&offers);
  api_response_free (&r);
  return ret;
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
            const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  (void) version;
  struct api *a = cls;
  struct pending *p = *con_cls;
  if (p == NULL)
    {
      p = xcalloc (1, sizeof *p);
      sb_init (&p->body);
      *con_cls = p;
      return MHD_YES;
    }
  if (*upload_data_size)
    {
      if (p->body.len + *upload_data_size > REQUEST_MAX_BODY)
        p->too_large = true;
      else
        sb_addn (&p->body, upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }
  const char *upgrade = MHD_lookup_connection_value (c, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE);
  char *ns = NULL, *pod = NULL;
  /* kubectl exec: an upgrade to WebSocket or SPDY/3.1. */
  if (upgrade && is_exec (url, &ns, &pod))
    return start_exec (a, c, ns, pod);
  struct api_request req = {
    .method = method,
    .path = url,
    .accept = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Accept"),
    .content_type = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Content-Type"),
    .label_selector = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "labelSelector"),
    .field_selector = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "fieldSelector"),
    .include_object = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "includeObject"),
    .tail_lines = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "tailLines"),
    .container = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "container"),
    .body = p->body.buf ? p->body.buf : "",
    .body_len = p->body.len,
  };
  if (strcmp (method, "GET") == 0 && query_true (c, "watch") && !p->too_large)
    return start_watch (a, c, &req);
  struct api_response r;
  if (p->too_large)
    {
      r = (struct api_response) { .code = 413 };
      r.body = json_pack ("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
                          "status", "Failure", "message", "the request body is too large", "reason",
                          "RequestEntityTooLarge", "code", 413);
    }
  else
    api_handle (a, &req, &r);
  size_t sent = 0;
  enum MHD_Result ret = respond (c, &r, &sent);
  p->trim = sent > TRIM_AFTER_BYTES;
  api_response_free (&r);
  return ret;
}

static void
on_completed (void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
  (void) cls, (void) c, (void) toe;
  struct pending *p = *con_cls;
  if (p)
    {
      bool trim = p->trim;
      sb_free (&p->body);
      free (p);
      if (trim)
        malloc_trim (0);
    }
  *con_cls = NULL;
}

/* libmicrohttpd's messages, to stderr (the server's log), less those of
 * its TCP tuning: its connections are tls_relay's socketpairs, where
 * TCP_NODELAY and TCP_CORK fail with EOPNOTSUPP, which 0.9.75 does not
 * take for "not TCP" and reports on every answer. */
static void
log_mhd (void *cls, const char *fmt, va_list ap)
{
  (void) cls;
  if (strncmp (fmt, "Setting %s option to %s state failed", 36) == 0
      || strncmp (fmt, "Failed to push the data from buffers to the network", 51) == 0)
    return;
  vfprintf (stderr, fmt, ap);
}

int
apiserver_serve (struct api *a, const char *dir, int listen_fd, volatile sig_atomic_t *stop, nslab_error_t *err)
{
  cleanup_free char *crt = pki_read (dir, "server.crt", err);
  cleanup_free char *key = crt ? pki_read (dir, "server.key", err) : NULL;
  if (key == NULL)
    return -1;
  /* A thread per connection, so that a watch can wait for the store to
   * change without holding up other requests (a content reader in a
   * polling thread may not block); small stacks, as the work is
   * api_handle's, one at a time behind its lock. The TLS is ended by
   * tls_relay (see there why), which takes the stop signals: every other
   * thread starts with them blocked. */
  sigset_t stop_sigs, old;
  sigemptyset (&stop_sigs);
  sigaddset (&stop_sigs, SIGTERM);
  sigaddset (&stop_sigs, SIGINT);
  pthread_sigmask (SIG_BLOCK, &stop_sigs, &old);
  struct MHD_Daemon *d = MHD_start_daemon (
      MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION
          | MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE,
      0, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_THREAD_STACK_SIZE,
      (size_t) (512 * 1024), MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
  if (d == NULL)
    {
      pthread_sigmask (SIG_SETMASK, &old, NULL);
      return nslab_error (err, errno, "start the HTTP server");
    }
  int rc = tls_relay_serve (d, listen_fd, crt, key, stop, err);
  MHD_stop_daemon (d);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  return rc;
}
