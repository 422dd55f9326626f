/* The error object: wrap and hint, the printed form (msg, errno text, then
 * the hint lines), escaping of what a scenario or the command line can put
 * in a message, and a second error on a set one. */
#include "unit.h"

#include <errno.h>
#include <signal.h>

static char *
formatted (nslab_error_t *err)
{
  char *s = nslab_error_format (*err);
  nslab_error_free (err);
  return s;
}

START_TEST (test_wrap_and_errno_text)
{
  nslab_error_t err = NULL;
  ck_assert_int_eq (nslab_error (&err, ENOENT, "open %s", "/run/netns/x"), -1);
  ck_assert_int_eq (nslab_error_wrap (&err, "netns %s", "x"), -1);
  ck_assert_str_eq (err->msg, "netns x: open /run/netns/x");
  ck_assert_int_eq (nslab_error_exit_code (err), NSLAB_EXIT_FAILURE);
  cleanup_free char *s = formatted (&err);
  ck_assert_str_eq (s, "nslab: netns x: open /run/netns/x: No such file or directory\n");
  ck_assert_ptr_null (err);
}
END_TEST

START_TEST (test_hint_after_errno_text)
{
  nslab_error_t err = NULL;
  nslab_error (&err, ENOENT, "open /proc/sys/net/bridge/x");
  nslab_error_hint (&err, "is br_netfilter loaded? modprobe %s", "br_netfilter");
  /* A wrap after the hint still goes on the message, not the hint. */
  nslab_error_wrap (&err, "sysctl x=1");
  cleanup_free char *s = formatted (&err);
  ck_assert_str_eq (s, "nslab: sysctl x=1: open /proc/sys/net/bridge/x: No such file or directory\n"
                       "is br_netfilter loaded? modprobe br_netfilter\n");
}
END_TEST

/* The one-line form another program's message takes (an API Status, a
 * server's log): no "nslab: ", no hint, a newline in the message escaped. */
START_TEST (test_line_has_no_prefix_and_no_hint)
{
  nslab_error_t err = NULL;
  nslab_error (&err, ENOENT, "open /proc/sys/net/bridge/x");
  nslab_error_hint (&err, "is br_netfilter loaded?");
  cleanup_free char *line = nslab_error_line (err);
  ck_assert_str_eq (line, "open /proc/sys/net/bridge/x: No such file or directory");
  nslab_error_free (&err);
  nslab_error (&err, 0, "store.db: read\nresourceVersion");
  cleanup_free char *plain = nslab_error_line (err);
  ck_assert_str_eq (plain, "store.db: read\\nresourceVersion");
  nslab_error_free (&err);
}
END_TEST

START_TEST (test_hints_accumulate_as_lines)
{
  nslab_error_t err = NULL;
  nslab_error_invalid (&err, "lab k has no node \"x\"");
  nslab_error_hint (&err, "valid targets: host\n  -n demo: pod/a");
  nslab_error_hint (&err, "see nslab status k");
  ck_assert_int_eq (nslab_error_exit_code (err), NSLAB_EXIT_INVALID);
  cleanup_free char *s = formatted (&err);
  ck_assert_str_eq (s, "nslab: lab k has no node \"x\"\nvalid targets: host\n  -n demo: pod/a\nsee nslab status k\n");
}
END_TEST

START_TEST (test_hint_and_wrap_on_no_error)
{
  nslab_error_t err = NULL;
  ck_assert_int_eq (nslab_error_hint (&err, "x"), -1);
  ck_assert_int_eq (nslab_error_wrap (&err, "y"), -1);
  ck_assert_ptr_null (err);
  ck_assert_int_eq (nslab_error_print (&err), 0);
}
END_TEST

START_TEST (test_escape_controls_bidi_zero_width)
{
  cleanup_free char *a = nslab_escape ("a\x1b[31mb\tc\rd\x7f" "e\x01", false);
  ck_assert_str_eq (a, "a\\x1b[31mb\\tc\\rd\\x7fe\\x01");
  /* U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LRI, U+200B ZWSP, U+2060 WJ,
   * U+FEFF BOM, U+0085 NEL (C1) escaped; other non-ASCII kept. */
  cleanup_free char *b = nslab_escape ("x\u202ey\u2066z\u200bw\u2060v\ufeffu" "\xc2\x85" "t caf\u00e9 \u2069", false);
  ck_assert_str_eq (b, "x\\u202ey\\u2066z\\u200bw\\u2060v\\ufeffu\\u0085t caf\u00e9 \\u2069");
  /* Invalid UTF-8 bytes (a lone continuation, an overlong '/', a
   * truncated sequence) are escaped byte by byte. */
  cleanup_free char *c = nslab_escape ("\x80/\xc0\xaf/\xe2\x80", false);
  ck_assert_str_eq (c, "\\x80/\\xc0\\xaf/\\xe2\\x80");
  cleanup_free char *d = nslab_escape ("one\ntwo", false);
  ck_assert_str_eq (d, "one\\ntwo");
  cleanup_free char *e = nslab_escape ("one\ntwo\x1b", true);
  ck_assert_str_eq (e, "one\ntwo\\x1b");
  cleanup_free char *f = nslab_escape ("", false);
  ck_assert_str_eq (f, "");
}
END_TEST

START_TEST (test_format_escapes_msg_newlines_but_keeps_hint_lines)
{
  nslab_error_t err = NULL;
  nslab_error_invalid (&err, "lab %s: bad", "evil\n\x1b]0;owned\x07\u202e");
  nslab_error_hint (&err, "first\nsecond \x1b[2J");
  cleanup_free char *s = formatted (&err);
  ck_assert_str_eq (s, "nslab: lab evil\\n\\x1b]0;owned\\x07\\u202e: bad\nfirst\nsecond \\x1b[2J\n");
}
END_TEST

START_TEST (test_keep_first)
{
  nslab_error_t err = NULL, e = NULL;
  nslab_error (&e, 0, "first");
  nslab_error_keep_first (&err, &e);
  ck_assert_ptr_null (e);
  nslab_error (&e, 0, "second");
  nslab_error_keep_first (&err, &e);
  ck_assert_ptr_null (e);
  ck_assert_str_eq (err->msg, "first");
  nslab_error_free (&err);
}
END_TEST

/* A second nslab_error on a set error is a bug: the sanitizer build aborts,
 * a release build keeps the first. */
START_TEST (test_second_error_on_set_one)
{
  nslab_error_t err = NULL;
  nslab_error (&err, 0, "first");
  nslab_error (&err, EIO, "second");
  ck_assert_str_eq (err->msg, "first");
  ck_assert_int_eq (err->status, 0);
  nslab_error_free (&err);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("error");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_wrap_and_errno_text);
  tcase_add_test (tc, test_hint_after_errno_text);
  tcase_add_test (tc, test_hints_accumulate_as_lines);
  tcase_add_test (tc, test_line_has_no_prefix_and_no_hint);
  tcase_add_test (tc, test_hint_and_wrap_on_no_error);
  tcase_add_test (tc, test_escape_controls_bidi_zero_width);
  tcase_add_test (tc, test_format_escapes_msg_newlines_but_keeps_hint_lines);
  tcase_add_test (tc, test_keep_first);
#ifdef __SANITIZE_ADDRESS__
  tcase_add_test_raise_signal (tc, test_second_error_on_set_one, SIGABRT);
#else
  tcase_add_test (tc, test_second_error_on_set_one);
#endif
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
