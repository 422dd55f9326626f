/* The API server's TLS, ended here rather than in libmicrohttpd: each
 * connection accepted is a GnuTLS session whose plaintext is relayed to
 * the HTTP server through a socketpair (MHD_add_connection), with 64 KiB
 * buffers each way.
 *
 * Why not MHD_USE_TLS: libmicrohttpd 0.9.75 (Debian 12's) relays an
 * upgraded TLS connection (kubectl exec, so kubectl cp) through what is
 * left of the connection's memory pool after the 101 response's header,
 * and that header takes all of it: the relay falls back to an 8-byte
 * buffer, ~0.45 MB/s (fixed in 0.9.77, commit a93ca180). With the TLS
 * ended here, an upgraded connection is the socketpair itself. */
#ifndef NSLAB_APISERVER_TLS_RELAY_H
#define NSLAB_APISERVER_TLS_RELAY_H

#include <signal.h>

#include "base/error.h"

struct MHD_Daemon;

/* Accept connections on LISTEN_FD, end their TLS with the certificate
 * chain CRT and key KEY (PEM) and hand each to D (started with
 * MHD_USE_NO_LISTEN_SOCKET and MHD_USE_ITC, without MHD_USE_TLS), until
 * *STOP, set by the handler of SIGTERM or SIGINT. Those two must be blocked
 * in every thread of the process (D's included): the accepting wait takes
 * them, and nothing else may. A connection whose handshake fails is
 * closed; one the server cannot take (D at its connection limit) too. At
 * *STOP every connection is ended (both ways) before it returns; D is the
 * caller's to stop after. Returns -1 only when it cannot serve at all. */
int tls_relay_serve (struct MHD_Daemon *d, int listen_fd, const char *crt, const char *key, volatile sig_atomic_t *stop,
                     nslab_error_t *err);

#endif
