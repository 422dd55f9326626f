/* The control loop's runtime agent (control/agent.c): its wire carries a
 * message of any size over SOCK_SEQPACKET, the client's requests reach the
 * agent's runtime op for op as the plan has them, its errors come back as
 * their one line, and a gone agent is an error, not a hang. The agent side
 * runs in a forked child with a fake runtime (the real one needs a lab). */
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "control/agent.h"
#include "plan/op.h"
#include "scenario/scenario.h"

static struct plan *
k3s_plan (void)
{
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  if (scenario_load (NSLAB_SRCDIR "/labs/k3s-virtualbox.ini", &sc, &err) < 0)
    ck_abort_msg ("scenario_load: %s", err->msg);
  struct plan *p = NULL;
  if (plan_build (sc, &p, &err) < 0)
    ck_abort_msg ("plan_build: %s", err->msg);
  scenario_free (sc);
  return p;
}

static void
pair (int sv[2])
{
  ck_assert_int_eq (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

START_TEST (test_wire_sizes)
{
  int sv[2];
  pair (sv);
  /* Over several packets, one packet, empty: each arrives whole. */
  size_t sizes[] = { 3 * AGENT_PACKET + 17, AGENT_PACKET - 1, 0 };
  for (size_t k = 0; k < 3; k++)
    {
      size_t n = sizes[k];
      char *msg = xmalloc (n + 1);
      for (size_t i = 0; i < n; i++)
        msg[i] = (char) ('a' + i % 26);
      nslab_error_t err = NULL;
      pid_t pid = fork ();
      ck_assert_int_ge (pid, 0);
      if (pid == 0)
        _exit (agent_send (sv[0], msg, n, &err) == 0 ? 0 : 1);
      char *got = NULL;
      size_t len = 99;
      ck_assert_int_eq (agent_recv (sv[1], &got, &len, &err), 1);
      ck_assert_uint_eq (len, n);
      ck_assert_int_eq (memcmp (got, msg, n), 0);
      ck_assert_int_eq (got[n], '\0');
      int st;
      ck_assert_int_eq (waitpid (pid, &st, 0), pid);
      ck_assert (WIFEXITED (st) && WEXITSTATUS (st) == 0);
      free (got);
      free (msg);
    }
  /* The other end closed: EOF, not an error. */
  close (sv[0]);
  char *got = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (agent_recv (sv[1], &got, NULL, &err), 0);
  ck_assert_ptr_null (err);
  close (sv[1]);
}
END_TEST

/* The fake runtime: apply succeeds only when it got exactly the plan's ops
 * (compared as text, each op's every member shows in its description or
 * JSON); teardown fails naming its first namespace. */
static struct plan *want;

static int
fake_apply (void *arg, const struct plan_op *ops, size_t n, nslab_error_t *err)
{
  (void) arg;
  if (n != want->n_ops)
    return nslab_error (err, 0, "%zu ops, not %zu", n, want->n_ops);
  for (size_t i = 0; i < n; i++)
    {
      json_t *a = plan_op_to_json (&ops[i]), *b = plan_op_to_json (&want->ops[i]);
      bool same = json_equal (a, b);
      json_decref (a);
      json_decref (b);
      if (!same)
        return nslab_error (err, 0, "ops[%zu] differs", i);
    }
  return 0;
}

static int
fake_teardown (void *arg, char *const *netns, size_t n, nslab_error_t *err)
{
  (void) arg;
  nslab_error (err, ENOENT, "%zu namespaces, first %s", n, n ? netns[0] : "-");
  return nslab_error_hint (err, "a hint, not sent");
}

START_TEST (test_requests_and_replies)
{
  want = k3s_plan ();
  int sv[2];
  pair (sv);
  pid_t pid = fork ();
  ck_assert_int_ge (pid, 0);
  if (pid == 0)
    {
      close (sv[1]);
      struct control_runtime rt = { .apply = fake_apply, .teardown = fake_teardown };
      nslab_error_t err = NULL;
      _exit (agent_serve_rt (&rt, sv[0], &err) == 0 ? 0 : 1);
    }
  close (sv[0]);
  int fd = sv[1];
  struct control_runtime rt;
  control_runtime_remote (&rt, &fd);
  nslab_error_t err = NULL;
  /* Every op of a lab (the iptables payloads make it many packets). */
  if (rt.apply (rt.arg, want->ops, want->n_ops, &err) < 0)
    ck_abort_msg ("apply: %s", err->msg);
  /* One op fewer: the agent's error, as its one line. */
  ck_assert_int_eq (rt.apply (rt.arg, want->ops, want->n_ops - 1, &err), -1);
  cleanup_free char *m1 = xasprintf ("%zu ops, not %zu", want->n_ops - 1, want->n_ops);
  ck_assert_str_eq (err->msg, m1);
  nslab_error_free (&err);
  char *names[] = { (char *) "k3s-demo-web-1", (char *) "k3s-demo-web-2" };
  ck_assert_int_eq (rt.teardown (rt.arg, names, 2, &err), -1);
  ck_assert_str_eq (err->msg, "2 namespaces, first k3s-demo-web-1: No such file or directory");
  ck_assert_ptr_null (err->hint);
  nslab_error_free (&err);
  /* Our end closed: the agent returns 0 (EOF). */
  close (fd);
  int st;
  ck_assert_int_eq (waitpid (pid, &st, 0), pid);
  ck_assert (WIFEXITED (st) && WEXITSTATUS (st) == 0);
  plan_free (want);
}
END_TEST

START_TEST (test_agent_gone)
{
  int sv[2];
  pair (sv);
  close (sv[0]);
  int fd = sv[1];
  struct control_runtime rt;
  control_runtime_remote (&rt, &fd);
  nslab_error_t err = NULL;
  char *names[] = { (char *) "x" };
  signal (SIGPIPE, SIG_IGN);
  ck_assert_int_eq (rt.teardown (rt.arg, names, 1, &err), -1);
  ck_assert_ptr_nonnull (strstr (err->msg, "runtime"));
  nslab_error_free (&err);
  close (fd);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("agent");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_wire_sizes);
  tcase_add_test (tc, test_requests_and_replies);
  tcase_add_test (tc, test_agent_gone);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
