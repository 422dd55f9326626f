/* scenario_running_change: what `nslab apply` may change in a running lab,
 * and the one line it refuses the rest with. */
#include "unit.h"

#include "scenario/scenario.h"

/* The running lab, with a hole for extra sections and the parts a case
 * replaces: lab name, template, w1's nics, cluster section. */
static struct scenario *
load_lab (const char *file, const char *name, const char *tpl, const char *w1_nics, const char *extra)
{
  cleanup_free char *text
      = xasprintf ("[lab]\nname = %s\ntemplate = %s\n"
                   "[node cp1]\nrole = control-plane\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n"
                   "[node w1]\nnics = %s\n"
                   "%s",
                   name, tpl, w1_nics, extra);
  cleanup_free char *path = unit_write_file (file, text);
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  if (scenario_load (path, &sc, &err) < 0)
    ck_abort_msg ("scenario_load: %s", err->msg);
  return sc;
}

#define W1 "enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11"
#define APPS "[deployment demo/web]\nlabels = app=web\nreplicas = 2\napp = http:80\n" \
             "[service demo/web]\nselector = app=web\nports = 80\n"

static struct scenario *running;

static void
setup (void)
{
  running = load_lab ("running.ini", "x", "k3s", W1, APPS);
}

static void
teardown (void)
{
  scenario_free (running);
}

/* The message for NEW, with the file's directory cut off. */
static char *
refusal (struct scenario *new)
{
  nslab_error_t err = NULL;
  int rc = scenario_running_change (running, new, &err);
  scenario_free (new);
  if (rc == 0)
    return xstrdup ("ok");
  ck_assert_int_eq (rc, -1);
  ck_assert_int_eq (err->exit_code, NSLAB_EXIT_INVALID);
  const char *slash = strrchr (err->msg, '/');
  char *msg = xstrdup (slash && slash < strchr (err->msg, ':') ? slash + 1 : err->msg);
  nslab_error_free (&err);
  return msg;
}

#define CHECK(new, want)                                                       \
  do                                                                           \
    {                                                                          \
      cleanup_free char *got_ = refusal (new);                                 \
      ck_assert_str_eq (got_, want);                                           \
    }                                                                          \
  while (0)

START_TEST (test_change_workloads_and_services)
{
  CHECK (load_lab ("same.ini", "x", "k3s", W1, APPS), "ok");
  /* replicas, labels, app, a new deployment, a removed one, a service's
   * selector and ports, a new service, a bare pod: all the controllers'. */
  CHECK (load_lab ("apps.ini", "x", "k3s", W1,
                   "[deployment demo/web]\nlabels = app=web, v=2\nreplicas = 5\napp = http:8080\n"
                   "[deployment demo/api]\nlabels = app=api\n"
                   "[pod demo/solo]\nlabels = app=solo\nport = 9000\n"
                   "[service demo/web]\ntype = NodePort\nselector = app=api\nports = http:80->8080, https:443\n"
                   "[service demo/more]\nselector = app=solo\nports = 9000\n"),
         "ok");
  CHECK (load_lab ("none.ini", "x", "k3s", W1, ""), "ok");
}
END_TEST

START_TEST (test_change_refused)
{
  CHECK (load_lab ("name.ini", "y", "k3s", W1, APPS), "name.ini: [lab] name: this is lab y, not the running lab x");
  CHECK (load_lab ("tpl.ini", "x", "kubeadm-flannel", W1, APPS),
         "tpl.ini: [lab] template: changing the template of a running lab is not supported yet");
  CHECK (load_lab ("cl.ini", "x", "k3s", W1, APPS "[cluster]\npod_cidr = 10.50.0.0/16\n"),
         "cl.ini: [cluster] pod_cidr: changing the cluster of a running lab is not supported yet");
  CHECK (load_lab ("mtu.ini", "x", "k3s", W1, APPS "[cluster]\nmtu = 1450\n"),
         "mtu.ini: [cluster] mtu: changing the cluster of a running lab is not supported yet");
  CHECK (load_lab ("add.ini", "x", "k3s", W1, APPS "[node w3]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.13\n"),
         "add.ini: [node w3]: adding nodes to a running lab is not supported yet");
  CHECK (load_lab ("nic.ini", "x", "k3s", "enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.21", APPS),
         "nic.ini: [node w1] nics: changing the nodes of a running lab is not supported yet");
  CHECK (load_lab ("net.ini", "x", "k3s", W1, APPS "[network lab2]\ntype = hostonly\ncidr = 192.168.60.0/24\n"),
         "net.ini: [network lab2]: adding networks to a running lab is not supported yet");
  CHECK (load_lab ("netch.ini", "x", "k3s", W1, APPS "[network hostonly]\ntype = hostonly\ncidr = 192.168.56.0/24\nbridge = br-lab\n"),
         "netch.ini: [network hostonly]: changing the networks of a running lab is not supported yet");
}
END_TEST

/* Removing and reordering nodes: the running lab has a third node. */
START_TEST (test_change_nodes_removed)
{
  scenario_free (running);
  running = load_lab ("three.ini", "x", "k3s", W1,
                      "[node w2]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.12\n" APPS);
  CHECK (load_lab ("two.ini", "x", "k3s", W1, APPS),
         "two.ini: [node w2]: removing nodes from a running lab is not supported yet");
  CHECK (load_lab ("w2w1.ini", "x", "k3s", "enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.12",
                   "[node w2]\nnics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11\n" APPS),
         "w2w1.ini: [node w1] nics: changing the nodes of a running lab is not supported yet");
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("change");
  TCase *tc = tcase_create ("core");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_change_workloads_and_services);
  tcase_add_test (tc, test_change_refused);
  tcase_add_test (tc, test_change_nodes_removed);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
