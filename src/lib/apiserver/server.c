/* The HTTPS transport of the lab's API (see server.h). */
#include "apiserver/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/api.h"
#include "apiserver/pki.h"
#include "apiserver/request.h"
#include "base/util.h"

/* Each connection's request body, gathered before it is answered. */
struct pending {
  struct strbuf body;
  bool too_large;
};

static enum MHD_Result
respond (struct MHD_Connection *c, const struct api_response *r)
{
  char *text = r->text ? strdup (r->text) : json_dumps (r->body, JSON_COMPACT);
  size_t len = text ? strlen (text) : 0;
  struct MHD_Response *resp = MHD_create_response_from_buffer (len, text ? text : (char *) "",
                                                               text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header (resp, "Content-Type", r->text ? "text/plain" : "application/json");
  MHD_add_response_header (resp, "Cache-Control", "no-cache, private");
  if (r->warning)
    MHD_add_response_header (resp, "Warning", r->warning);
  enum MHD_Result ret = MHD_queue_response (c, (unsigned) r->code, resp);
  MHD_destroy_response (resp);
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
  struct api_request req = {
    .method = method,
    .path = url,
    .accept = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Accept"),
    .content_type = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Content-Type"),
    .label_selector = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "labelSelector"),
    .field_selector = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "fieldSelector"),
    .include_object = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "includeObject"),
    .tail_lines = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "tailLines"),
    .body = p->body.buf ? p->body.buf : "",
    .body_len = p->body.len,
  };
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
  enum MHD_Result ret = respond (c, &r);
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
      sb_free (&p->body);
      free (p);
    }
  *con_cls = NULL;
}

int
apiserver_serve (struct api *a, const char *dir, int listen_fd, volatile sig_atomic_t *stop, nslab_error_t *err)
{
  cleanup_free char *crt = pki_read (dir, "server.crt", err);
  cleanup_free char *key = crt ? pki_read (dir, "server.key", err) : NULL;
  if (key == NULL)
    return -1;
  /* A small pool of threads over epoll: 100 kubectl at once are queued,
   * not refused; the store is one connection behind api_handle's lock. */
  struct MHD_Daemon *d = MHD_start_daemon (
      MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
      on_request, a, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_HTTPS_MEM_CERT, crt, MHD_OPTION_HTTPS_MEM_KEY, key,
      MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 256u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
  if (d == NULL)
    return nslab_error (err, errno, "start the HTTPS server");
  while (!*stop)
    pause ();
  MHD_stop_daemon (d);
  return 0;
}
