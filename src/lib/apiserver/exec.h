/* kubectl exec: the command runs as `nslab exec LAB -n NS pod/NAME --
 * CMD...` would run it (the pod's namespaces and capabilities), with stdin,
 * a terminal (resizes followed) and the exit code passed through, over
 * either remote command transport kubectl speaks: WebSocket
 * (v5.channel.k8s.io, v4; kubectl 1.30 and later, framing by wslay) or
 * SPDY/3.1 (v4.channel.k8s.io down to channel.k8s.io; kubectl before
 * 1.30, framing in spdy.c). One session (exec.c) serves both. */
#ifndef NSLAB_APISERVER_EXEC_H
#define NSLAB_APISERVER_EXEC_H

#include <stdbool.h>
#include <stddef.h>

struct exec_request {
  char *lab, *ns, *pod;
  char **argv; /* the command, NULL-terminated */
  size_t argc;
  bool stdin_, stdout_, stderr_, tty;
  bool spdy;   /* SPDY/3.1, else WebSocket */
  /* The remote command protocol: 5 (v5.channel.k8s.io: close frames for
   * stdin), 4 (v4: a Status on the error channel), 3 (v3: resizes), 2, 1
   * (channel.k8s.io); 1-3 carry only a failure's message as error. */
  int version;
};

/* The WebSocket subprotocol to accept from a Sec-WebSocket-Protocol offer, or NULL. */
const char *exec_pick_protocol (const char *offer);
/* Sec-WebSocket-Accept for KEY (caller frees). */
char *exec_accept_key (const char *key);
/* The SPDY stream protocol to answer in X-Stream-Protocol-Version for
 * OFFER, the client's values joined by commas, as the kubelet picks it
 * (the client's first that it knows); NULL if none; *version gets 4..1. */
const char *exec_spdy_pick_protocol (const char *offer, int *version);
/* The protocols exec_spdy_pick_protocol knows, best first, comma-separated. */
extern const char exec_spdy_protocols[];

/* Run R over the upgraded connection SOCK (EXTRA: bytes already read from
 * it); returns when the command has ended and its status was sent. Frees R. */
void exec_session (struct exec_request *r, int sock, const char *extra, size_t extra_len);
void exec_request_free (struct exec_request *r);

#endif
