/* The control loop's runtime agent and its client (see agent.h). */
#include "control/agent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <jansson.h>

#include "apply/apply.h"
#include "base/json.h"
#include "base/util.h"
#include "plan/op.h"
#include "state/journal.h"
#include "state/teardown.h"

/* ---- the wire ---- */

int
agent_send (int fd, const char *data, size_t len, nslab_error_t *err)
{
  cleanup_free char *pkt = xmalloc (AGENT_PACKET);
  size_t off = 0;
  do
    {
      size_t n = len - off < AGENT_PACKET - 1 ? len - off : AGENT_PACKET - 1;
      pkt[0] = off + n < len ? '+' : '.';
      memcpy (pkt + 1, data + off, n);
      ssize_t w;
      do
        w = send (fd, pkt, n + 1, MSG_NOSIGNAL);
      while (w < 0 && errno == EINTR);
      if (w < 0)
        return nslab_error (err, errno, "send to the runtime socket");
      off += n;
    }
  while (off < len);
  return 0;
}

int
agent_recv (int fd, char **out, size_t *len, nslab_error_t *err)
{
  cleanup_free char *pkt = xmalloc (AGENT_PACKET);
  char *buf = NULL;
  size_t n = 0;
  for (;;)
    {
      ssize_t r;
      do
        r = recv (fd, pkt, AGENT_PACKET, MSG_CMSG_CLOEXEC);
      while (r < 0 && errno == EINTR);
      if (r < 0)
        {
          free (buf);
          return nslab_error (err, errno, "receive from the runtime socket");
        }
      if (r == 0)
        {
          free (buf);
          if (n == 0)
            return 0;
          return nslab_error (err, EPIPE, "the runtime socket closed in the middle of a message");
        }
      if (pkt[0] != '+' && pkt[0] != '.')
        {
          free (buf);
          return nslab_error (err, EPROTO, "runtime socket: a packet without its flag byte");
        }
      buf = xrealloc (buf, n + (size_t) r);
      memcpy (buf + n, pkt + 1, (size_t) r - 1);
      n += (size_t) r - 1;
      if (pkt[0] == '.')
        break;
    }
  buf[n] = '\0';
  *out = buf;
  if (len)
    *len = n;
  return 1;
}

/* ---- in this process ---- */

static int
local_apply (void *arg, const struct plan_op *ops, size_t n, nslab_error_t *err)
{
  struct state_writer *w = NULL;
  if (state_open (arg, &w, err) < 0)
    return -1;
  int rc = apply_ops (w, ops, n, err);
  state_writer_close (w);
  return rc;
}

static int
local_teardown (void *arg, char *const *netns, size_t n, nslab_error_t *err)
{
  struct state_writer *w = NULL;
  if (state_open (arg, &w, err) < 0)
    return -1;
  struct state *st = NULL;
  int rc = state_writer_load (w, &st, err);
  if (rc == 0)
    rc = teardown_namespaces (w, st, netns, n, err);
  state_free (st);
  state_writer_close (w);
  return rc;
}

static int
local_withdraw (void *arg, const struct plan_op *ops, size_t n, nslab_error_t *err)
{
  /* Under the lab's lock, as apply: `down` never runs in between. */
  struct state_writer *w = NULL;
  if (state_open (arg, &w, err) < 0)
    return -1;
  int rc = withdraw_ops (ops, n, err);
  state_writer_close (w);
  return rc;
}

void
control_runtime_local (struct control_runtime *rt, const char *lab)
{
  *rt = (struct control_runtime) {
    .apply = local_apply, .teardown = local_teardown, .withdraw = local_withdraw, .arg = (void *) lab
  };
}

/* ---- over the socket ---- */

static int
remote_call (int fd, json_t *req, nslab_error_t *err)
{
  size_t len = 0;
  cleanup_free char *text = json_text (req, JSON_COMPACT, &len);
  json_decref (req);
  if (text == NULL)
    return nslab_error (err, ENOMEM, "runtime request");
  cleanup_free char *reply = NULL;
  int r = agent_send (fd, text, len, err);
  if (r == 0)
    r = agent_recv (fd, &reply, NULL, err);
  if (r == 0)
    return nslab_error (err, EPIPE, "the runtime agent is gone");
  if (r < 0)
    return nslab_error_wrap (err, "the runtime agent");
  if (strcmp (reply, "ok") == 0)
    return 0;
  if (strncmp (reply, "error: ", 7) == 0)
    return nslab_error (err, 0, "%s", reply + 7);
  return nslab_error (err, EPROTO, "the runtime agent's reply");
}

static int
remote_ops (void *arg, const char *request, const struct plan_op *ops, size_t n, nslab_error_t *err)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (a, plan_op_to_json (&ops[i]));
  return remote_call (*(int *) arg, json_pack ("{s:s, s:o}", "request", request, "ops", a), err);
}

static int
remote_apply (void *arg, const struct plan_op *ops, size_t n, nslab_error_t *err)
{
  return remote_ops (arg, "apply", ops, n, err);
}

static int
remote_withdraw (void *arg, const struct plan_op *ops, size_t n, nslab_error_t *err)
{
  return remote_ops (arg, "withdraw", ops, n, err);
}

static int
remote_teardown (void *arg, char *const *netns, size_t n, nslab_error_t *err)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (a, json_string (netns[i]));
  return remote_call (*(int *) arg, json_pack ("{s:s, s:o}", "request", "teardown", "netns", a), err);
}

void
control_runtime_remote (struct control_runtime *rt, int *fd)
{
  *rt = (struct control_runtime) {
    .apply = remote_apply, .teardown = remote_teardown, .withdraw = remote_withdraw, .arg = fd
  };
}

/* ---- the agent ---- */

static int
serve_one (const struct control_runtime *rt, const char *text, nslab_error_t *err)
{
  json_error_t je;
  json_t *req = json_loads (text, 0, &je);
  if (req == NULL)
    return nslab_error (err, 0, "runtime request: not JSON: %s", je.text);
  const char *what = json_string_value (json_object_get (req, "request"));
  int rc;
  bool withdraw = what && strcmp (what, "withdraw") == 0;
  if (what && (withdraw || strcmp (what, "apply") == 0) && json_is_array (json_object_get (req, "ops")))
    {
      const json_t *a = json_object_get (req, "ops");
      size_t n = json_array_size (a);
      struct plan_op *ops = xcalloc (n + 1, sizeof *ops);
      size_t got = 0;
      rc = 0;
      for (size_t i = 0; rc == 0 && i < n; i++)
        {
          got++;
          if (plan_op_from_json (json_array_get (a, i), &ops[i], err) < 0)
            rc = nslab_error_wrap (err, "runtime request: ops[%zu]", i);
        }
      if (rc == 0)
        rc = withdraw ? (rt->withdraw ? rt->withdraw (rt->arg, ops, n, err)
                                      : nslab_error (err, ENOTSUP, "runtime request: withdraw"))
                      : rt->apply (rt->arg, ops, n, err);
      for (size_t i = 0; i < got; i++)
        op_free (&ops[i]);
      free (ops);
    }
  else if (what && strcmp (what, "teardown") == 0 && json_is_array (json_object_get (req, "netns")))
    {
      const json_t *a = json_object_get (req, "netns");
      size_t n = json_array_size (a);
      char **names = xcalloc (n + 1, sizeof *names);
      rc = 0;
      for (size_t i = 0; rc == 0 && i < n; i++)
        {
          const char *s = json_string_value (json_array_get (a, i));
          if (s == NULL)
            rc = nslab_error (err, 0, "runtime request: netns[%zu]: not a string", i);
          else
            names[i] = xstrdup (s);
        }
      if (rc == 0)
        rc = rt->teardown (rt->arg, names, n, err);
      for (size_t i = 0; i < n; i++)
        free (names[i]);
      free (names);
    }
  else
    rc = nslab_error (err, 0, "runtime request: unknown");
  json_decref (req);
  return rc;
}

int
agent_serve (const char *lab, int fd, nslab_error_t *err)
{
  struct control_runtime rt;
  control_runtime_local (&rt, lab);
  return agent_serve_rt (&rt, fd, err);
}

int
agent_serve_rt (const struct control_runtime *rt, int fd, nslab_error_t *err)
{
  for (;;)
    {
      char *req = NULL;
      int r = agent_recv (fd, &req, NULL, err);
      if (r <= 0)
        return r;
      nslab_error_t e = NULL;
      int rc = serve_one (rt, req, &e);
      free (req);
      cleanup_free char *reply = NULL;
      if (rc == 0)
        reply = xstrdup ("ok");
      else
        {
          cleanup_free char *line = nslab_error_line (e);
          reply = xasprintf ("error: %s", line);
          nslab_error_free (&e);
        }
      if (agent_send (fd, reply, strlen (reply), err) < 0)
        return -1;
    }
}
