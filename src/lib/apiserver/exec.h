/* kubectl exec over the WebSocket remote command protocol current kubectl
 * speaks (v5.channel.k8s.io; v4 too): the command runs as `nslab exec LAB
 * -n NS pod/NAME -- CMD...` would run it (the pod's namespaces and
 * capabilities), with stdin, a terminal (resizes followed) and the exit
 * code passed through. WebSocket framing is wslay's. */
#ifndef NSLAB_APISERVER_EXEC_H
#define NSLAB_APISERVER_EXEC_H

#include <stdbool.h>
#include <stddef.h>

struct exec_request {
  char *lab, *ns, *pod;
  char **argv; /* the command, NULL-terminated */
  size_t argc;
  bool stdin_, tty;
  int version;   /* 5: v5.channel.k8s.io (close frames for stdin), 4: v4 */
};

/* The subprotocol to accept from a Sec-WebSocket-Protocol offer, or NULL. */
const char *exec_pick_protocol (const char *offer);
/* Sec-WebSocket-Accept for KEY (caller frees). */
char *exec_accept_key (const char *key);
/* Run R over the upgraded connection SOCK (EXTRA: bytes already read from
 * it); returns when the command has ended and its status was sent. Frees R. */
void exec_session (struct exec_request *r, int sock, const char *extra, size_t extra_len);
void exec_request_free (struct exec_request *r);

#endif
