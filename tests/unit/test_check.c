/* [check NAME] sections: each bad check gives one "file: [section] key:
 * what" line (exit 2), in a scenario and in a checks-only file; good ones
 * decode to what was written. */
#include "unit.h"

#include "scenario/check.h"
#include "scenario/scenario.h"

#define LAB                                                                     \
  "[lab]\nname = t\ntemplate = k3s\n"                                           \
  "[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n" \
  "[deployment demo/web]\nlabels = app=web\nreplicas = 2\napp = http:80\n"

struct ccase {
  const char *text;   /* after LAB in a scenario; alone in a checks file */
  const char *suffix; /* the message after "FILE: " */
};

static const struct ccase cases[] = {
  { "[check c]\ntype = htp\nurl = http://1.2.3.4/\n", "[check c] type: unknown check type \"htp\" (did you mean http?)" },
  { "[check c]\ntype = bogus\n", "[check c] type: unknown check type \"bogus\" (http, tcp, udp, ping, dns, route, link, addr, iptables, nft or command)" },
  { "[check c]\nurl = http://1.2.3.4/\n", "[check c] type: required key is missing (http, tcp, udp, ping, dns, route, link, addr, iptables, nft or command)" },
  { "[check c]\ntype = route\nmatch = via (10\n", "[check c] match: \"via (10\" is not a valid regular expression (Unmatched ( or \\()" },
  { "[check c]\ntype = http\nurl = http://1.2.3.4/\nbody = [a\n", "[check c] body: \"[a\" is not a valid regular expression (Unmatched [, [^, [:, [., or [=)" },
  { "[check c]\ntype = tcp\ntarget = vm/cp1\nhost = 1.2.3.4\nport = 80\n", "[check c] target: \"vm/cp1\" is not a target (host, node/NAME, pod/NAME, deploy/NAME or rs/NAME)" },
  { "[check c]\ntype = tcp\nhost = 1.2.3.4\n", "[check c] port: required key is missing" },
  { "[check c]\ntype = tcp\nhost = 1.2.3.4\nport = 80\nexpect = maybe\n", "[check c] expect: \"maybe\" is not reachable or unreachable" },
  { "[check c]\ntype = tcp\nhost = 1.2.3.4\nport = 80\nurl = http://x/\n", "[check c] url: not used by type = tcp" },
  { "[check c]\ntype = tcp\nhost = 1.2.3.4\nport = 80\ntimout = 3\n", "[check c] timout: unknown key (did you mean timeout?)" },
  { "[check c]\ntype = http\nurl = https://1.2.3.4/\n", "[check c] url: \"https://1.2.3.4/\" is not http://HOST[:PORT][/PATH]" },
  { "[check c]\ntype = http\nurl = http://1.2.3.4/\ncount = 2\nbackends = 3\n", "[check c] backends: 3 backends cannot be seen in count = 2 requests" },
  { "[check c]\ntype = command\ncommand = echo \"x\n", "[check c] command: unterminated double quote" },
  { "[check a+b]\ntype = ping\nhost = 1.2.3.4\n", "[check a+b]: \"a+b\" is not a check name (a-z, 0-9, '-', '_', '.')" },
};

/* Only in a scenario: targets are checked against its nodes and workloads. */
static const struct ccase scenario_cases[] = {
  { "[check c]\ntype = ping\ntarget = node/w9\nhost = 1.2.3.4\n", "[check c] target: unknown target node/w9 (no [node w9])" },
  { "[check c]\ntype = ping\ntarget = deploy/web\nhost = 1.2.3.4\n", "[check c] target: unknown target deploy/web (no [deployment default/web])" },
  { "[check c]\ntype = ping\ntarget = pod/db\nnamespace = demo\nhost = 1.2.3.4\n", "[check c] target: unknown target pod/db (no [pod demo/db])" },
};

static void
expect_scenario_error (const char *text, const char *suffix)
{
  char *full = xasprintf ("%s%s", LAB, text);
  char *path = unit_write_file ("c.ini", full);
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  int r = scenario_load (path, &sc, &err);
  char *want = xasprintf ("%s: %s", path, suffix);
  ck_assert_msg (r == -1, "loaded although invalid, want: %s", want);
  ck_assert_str_eq (err->msg, want);
  ck_assert_int_eq (err->exit_code, NSLAB_EXIT_INVALID);
  nslab_error_free (&err);
  free (want);
  free (path);
  free (full);
}

START_TEST (test_scenario_case)
{
  expect_scenario_error (cases[_i].text, cases[_i].suffix);
}
END_TEST

START_TEST (test_scenario_target)
{
  expect_scenario_error (scenario_cases[_i].text, scenario_cases[_i].suffix);
}
END_TEST

START_TEST (test_file_case)
{
  char *path = unit_write_file ("checks.ini", cases[_i].text);
  struct check_set *set = NULL;
  nslab_error_t err = NULL;
  int r = check_file_load (path, &set, &err);
  char *want = xasprintf ("%s: %s", path, cases[_i].suffix);
  ck_assert_msg (r == -1, "loaded although invalid, want: %s", want);
  ck_assert_ptr_null (set);
  ck_assert_str_eq (err->msg, want);
  ck_assert_int_eq (err->exit_code, NSLAB_EXIT_INVALID);
  nslab_error_free (&err);
  free (want);
  free (path);
}
END_TEST

START_TEST (test_file_other_section)
{
  char *path = unit_write_file ("checks2.ini", "[check a]\ntype = ping\nhost = 1.2.3.4\n[node x]\n");
  struct check_set *set = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (check_file_load (path, &set, &err), -1);
  char *want = xasprintf ("%s: [node x]: a checks file has only [check NAME] sections", path);
  ck_assert_str_eq (err->msg, want);
  nslab_error_free (&err);
  free (want);
  free (path);
}
END_TEST

START_TEST (test_good)
{
  char *full = xasprintf ("%s%s", LAB,
                          "[check a]\ntype = http\ntarget = deploy/web\nnamespace = demo\nurl = http://10.43.0.1:8080/x\n"
                          "count = 4\nbackends = 2\nbody = ^pod: \n"
                          "[check b]\ntype = dns\ntarget = node/cp1\nhost = kubernetes.default\naddresses = 10.43.0.1\n"
                          "[check c]\ntype = command\ntarget = pod/web-abc\nnamespace = demo\ncommand = sh -c 'exit 3'\nexit = 3\n"
                          "[check d]\ntype = udp\nhost = 10.43.0.10\nport = 53\nexpect = unreachable\ntimeout = 1\n");
  char *path = unit_write_file ("good.ini", full);
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  ck_assert_msg (scenario_load (path, &sc, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_uint_eq (sc->n_checks, 4);
  const struct check_def *c = sc->checks;
  ck_assert_int_eq (c[0].kind, CHECK_HTTP);
  ck_assert_str_eq (c[0].target, "deploy/web");
  ck_assert_str_eq (c[0].ns, "demo");
  ck_assert_uint_eq (c[0].count, 4);
  ck_assert_uint_eq (c[0].backends, 2);
  ck_assert_uint_eq (c[0].status, 200);
  ck_assert (c[0].expect);
  ck_assert_int_eq (c[1].kind, CHECK_DNS);
  ck_assert_uint_eq (c[1].n_addresses, 1);
  ck_assert_str_eq (c[1].addresses[0], "10.43.0.1");
  ck_assert_str_eq (c[2].target, "pod/web-abc");
  ck_assert_str_eq (c[2].argv[2], "exit 3");
  ck_assert_int_eq (c[2].exit_code, 3);
  ck_assert (!c[3].expect);
  ck_assert_uint_eq (c[3].timeout_ms, 1000);
  ck_assert_str_eq (c[3].target, "host");
  scenario_free (sc);
  free (path);
  free (full);
}
END_TEST

/* The shipped lab's checks load: nslab test k3s runs them. */
START_TEST (test_seed_lab)
{
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  ck_assert_msg (scenario_load (NSLAB_SRCDIR "/labs/k3s-virtualbox.ini", &sc, &err) == 0, "%s",
                 err ? err->msg : "");
  ck_assert_uint_ge (sc->n_checks, 5);
  scenario_free (sc);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("check");
  TCase *tc = tcase_create ("parse");
  tcase_add_loop_test (tc, test_scenario_case, 0, (int) ARRAY_SIZE (cases));
  tcase_add_loop_test (tc, test_scenario_target, 0, (int) ARRAY_SIZE (scenario_cases));
  tcase_add_loop_test (tc, test_file_case, 0, (int) ARRAY_SIZE (cases));
  tcase_add_test (tc, test_file_other_section);
  tcase_add_test (tc, test_good);
  tcase_add_test (tc, test_seed_lab);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
