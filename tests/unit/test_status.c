/* The pause process's status file (runtime/status.c): what the writer
 * writes, byte for byte, reads back; anything else is refused with one
 * line naming what is wrong. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/status.h"

static int
tmp_dir (char *path)
{
  strcpy (path, "/tmp/wt-status-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (path));
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ck_assert_int_ge (fd, 0);
  return fd;
}

static void
put (int dirfd, const char *content)
{
  int fd = openat (dirfd, "status", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ck_assert_int_ge (fd, 0);
  ck_assert_int_eq (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  close (fd);
}

static char *
get (int dirfd)
{
  int fd = openat (dirfd, "status", O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge (fd, 0);
  char buf[1024];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  ck_assert_int_ge (n, 0);
  buf[n] = '\0';
  return xstrdup (buf);
}

static void
cleanup_dir (int dirfd, const char *path)
{
  unlinkat (dirfd, "status", 0);
  unlinkat (dirfd, "status.tmp", 0);
  close (dirfd);
  rmdir (path);
}

START_TEST (test_round_trip)
{
  char path[64];
  int dfd = tmp_dir (path);
  static const struct {
    struct pause_status st;
    const char *text;
  } cases[] = {
    { { PAUSE_STATE_RUNNING, PAUSE_REASON_NONE, 0, -1, -1, -1, -1, -1 }, "state running\nrestarts 0\n" },
    { { PAUSE_STATE_RUNNING, PAUSE_REASON_NONE, 0, 1764520800, -1, -1, -1, -1 },
      "state running\nrestarts 0\nstarted_at 1764520800\n" },
    { { PAUSE_STATE_RUNNING, PAUSE_REASON_NONE, 2, 1764520900, 137, 1764520890, -1, -1 },
      "state running\nrestarts 2\nstarted_at 1764520900\nexit_code 137\nfinished_at 1764520890\n" },
    { { PAUSE_STATE_WAITING, PAUSE_REASON_CRASH_LOOP_BACK_OFF, 1, -1, 1, 1764520800, 1764520810, -1 },
      "state waiting\nreason CrashLoopBackOff\nrestarts 1\nexit_code 1\nfinished_at 1764520800\n"
      "next_start 1764520810\n" },
    { { PAUSE_STATE_TERMINATED, PAUSE_REASON_COMPLETED, 0, -1, 0, 1764520800, -1, -1 },
      "state terminated\nreason Completed\nrestarts 0\nexit_code 0\nfinished_at 1764520800\n" },
    { { PAUSE_STATE_TERMINATED, PAUSE_REASON_ERROR, 4, -1, 143, 1764520800, -1, -1 },
      "state terminated\nreason Error\nrestarts 4\nexit_code 143\nfinished_at 1764520800\n" },
    { { PAUSE_STATE_RUNNING, PAUSE_REASON_NONE, 1, 1764520901, 137, 1764520900, -1, 1764520700 },
      "state running\nrestarts 1\nstarted_at 1764520901\nexit_code 137\nfinished_at 1764520900\n"
      "last_started_at 1764520700\n" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      ck_assert_int_eq (pause_status_write (dfd, &cases[i].st), 0);
      cleanup_free char *text = get (dfd);
      ck_assert_str_eq (text, cases[i].text);
      ck_assert_int_eq (faccessat (dfd, "status.tmp", F_OK, 0), -1);
      struct pause_status back;
      nslab_error_t err = NULL;
      ck_assert_msg (pause_status_read (dfd, &back, &err) == 0, "%s", err ? err->msg : "");
      ck_assert_int_eq (back.state, cases[i].st.state);
      ck_assert_int_eq (back.reason, cases[i].st.reason);
      ck_assert_uint_eq (back.restarts, cases[i].st.restarts);
      ck_assert_int_eq (back.started_at, cases[i].st.started_at);
      ck_assert_int_eq (back.exit_code, cases[i].st.exit_code);
      ck_assert_int_eq (back.finished_at, cases[i].st.finished_at);
      ck_assert_int_eq (back.next_start, cases[i].st.next_start);
      ck_assert_int_eq (back.last_started_at, cases[i].st.last_started_at);
    }
  cleanup_dir (dfd, path);
}
END_TEST

START_TEST (test_refused)
{
  char path[64];
  int dfd = tmp_dir (path);
  static const struct {
    const char *text, *msg;
  } cases[] = {
    { "", "status: empty" },
    { "state running\nrestarts 0", "status: last line not terminated" },
    { "restarts 0\nstate running\n", "status: line 1: the first key must be state" },
    { "state running\nrestarts 0\nrestarts 1\n", "status: line 3: key out of order or repeated" },
    { "state running\nstarted_at 5\nrestarts 0\n", "status: line 3: key out of order or repeated" },
    { "state running\nrestarts 0\ncolor blue\n", "status: line 3: unknown key" },
    { "state sleeping\nrestarts 0\n", "status: line 1: state is not running, waiting or terminated" },
    { "state running\nrestarts -1\n", "status: line 2: restarts is not a count" },
    { "state running\nrestarts  1\n", "status: line 2: expected \"key value\"" },
    { "state running\nrestarts\n", "status: line 2: expected \"key value\"" },
    { "state running\n", "status: restarts missing" },
    { "state running\nreason Error\nrestarts 0\n", "status: reason Error does not go with state running" },
    { "state waiting\nreason Completed\nrestarts 0\nexit_code 0\nfinished_at 1\nnext_start 2\n",
      "status: reason Completed does not go with state waiting" },
    { "state waiting\nreason CrashLoopBackOff\nrestarts 1\nexit_code 1\nfinished_at 1\n",
      "status: waiting without next_start" },
    { "state running\nrestarts 0\nnext_start 5\n", "status: next_start when not waiting" },
    { "state terminated\nreason Error\nrestarts 0\nstarted_at 1\nexit_code 1\nfinished_at 2\n",
      "status: started_at with state terminated" },
    { "state terminated\nreason Error\nrestarts 0\n", "status: terminated without exit_code" },
    { "state running\nrestarts 0\nexit_code 1\n", "status: exit_code and finished_at go together" },
    { "state running\nrestarts 0\nlast_started_at 1\n", "status: last_started_at without exit_code" },
    { "state running\nrestarts 0\nexit_code 256\nfinished_at 1\n", "status: line 3: exit_code is not 0-255" },
    { "state terminated\nreason Completed\nrestarts 0\nexit_code 1\nfinished_at 1\n",
      "status: Completed with exit_code 1" },
    { "state running\nrestarts 0\nstarted_at 99999999999999999999\n", "status: line 3: not a time in seconds" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      put (dfd, cases[i].text);
      struct pause_status st;
      nslab_error_t err = NULL;
      ck_assert_msg (pause_status_read (dfd, &st, &err) == -1, "accepted: %s", cases[i].text);
      ck_assert_str_eq (err->msg, cases[i].msg);
      ck_assert_ptr_null (strchr (err->msg, '\n'));
      nslab_error_free (&err);
    }
  /* A symlink is not followed. */
  unlinkat (dfd, "status", 0);
  ck_assert_int_eq (symlinkat ("/etc/hostname", dfd, "status"), 0);
  struct pause_status st;
  nslab_error_t err = NULL;
  ck_assert_int_eq (pause_status_read (dfd, &st, &err), -1);
  ck_assert_int_eq (err->status, ELOOP);
  nslab_error_free (&err);
  cleanup_dir (dfd, path);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("status");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_round_trip);
  tcase_add_test (tc, test_refused);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
