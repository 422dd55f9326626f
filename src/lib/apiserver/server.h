/* The lab's API server over HTTPS: libmicrohttpd behind GnuTLS
 * (tls_relay.h), the lab's serving certificate (pki.h), answers from
 * api_handle. kubectl speaks
 * HTTP/1.1 to it (it offers h2 by ALPN and falls back). */
#ifndef NSLAB_APISERVER_SERVER_H
#define NSLAB_APISERVER_SERVER_H

#include <signal.h>
#include <stdint.h>

#include "base/error.h"

struct api;

/* Serve A on the listening socket LISTEN_FD with the certificates in
 * DIR/pki until *STOP. */
int apiserver_serve (struct api *a, const char *dir, int listen_fd, volatile sig_atomic_t *stop, nslab_error_t *err);

#endif
