/* kube-proxy's resync (plan/kube_proxy_sync.c): the --noflush restore input
 * taking a node from one plan's iptables payload to another's. The payload
 * tests read the output; the kernel tests (root) are the oracle: OLD
 * restored then the sync applied must give, rule for rule, what NEW
 * restored into a fresh namespace gives (iptables-save, counters stripped). */
#include <errno.h>
#include <sched.h>
#include <sys/mount.h>

#include "unit.h"

#include "k8s/model.h"
#include "kernel/iptables.h"
#include "kernel/netns.h"
#include "plan/kube_proxy_sync.h"
#include "plan/plan.h"
#include "scenario/scenario.h"

#define SEED_LAB NSLAB_SRCDIR "/labs/k3s-virtualbox.ini"
#define WEAVE_LAB NSLAB_SRCDIR "/labs/kubeadm-weave-vmware.ini"
#define KUBEADM_LAB NSLAB_SRCDIR "/labs/kubeadm-flannel.ini"

static struct scenario *
load (const char *path)
{
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  if (scenario_load (path, &sc, &err) < 0)
    ck_abort_msg ("scenario_load %s: %s", path, err->msg);
  return sc;
}

static struct workload_def *
workload (struct scenario *sc, const char *ns, const char *name)
{
  for (size_t i = 0; i < sc->n_workloads; i++)
    if (strcmp (sc->workloads[i].ns, ns) == 0 && strcmp (sc->workloads[i].name, name) == 0)
      return &sc->workloads[i];
  ck_abort_msg ("no workload %s/%s", ns, name);
  return NULL;
}

/* Take service ns/name out of the scenario (moved past the end, so
   scenario_free still frees it once n_services is put back). */
static void
drop_service (struct scenario *sc, const char *ns, const char *name)
{
  for (size_t i = 0; i < sc->n_services; i++)
    if (strcmp (sc->services[i].ns, ns) == 0 && strcmp (sc->services[i].name, name) == 0)
      {
        struct service_def keep = sc->services[i];
        memmove (&sc->services[i], &sc->services[i + 1], (sc->n_services - i - 1) * sizeof keep);
        sc->services[--sc->n_services] = keep;
        return;
      }
  ck_abort_msg ("no service %s/%s", ns, name);
}

/* The OP_IPTABLES payload of every node of the scenario as planned now. */
struct payloads {
  size_t n;
  char **node;     /* payloads, by node index */
  char **ns;       /* the node's namespace name */
};

static struct payloads
plan_payloads (const struct scenario *sc)
{
  struct model *m = NULL;
  nslab_error_t err = NULL;
  if (model_build (sc, &m, &err) < 0)
    ck_abort_msg ("model_build: %s", err->msg);
  struct plan *p = plan_from_model (m);
  struct payloads out = { .n = m->n_nodes };
  out.node = xcalloc (m->n_nodes, sizeof *out.node);
  out.ns = xcalloc (m->n_nodes, sizeof *out.ns);
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const char *ns = m->netns[m->nodes[i].netns].name;
      const char *pl = kube_proxy_plan_payload (p, ns);
      ck_assert_msg (pl != NULL, "no iptables op for %s", ns);
      out.node[i] = xstrdup (pl);
      out.ns[i] = xstrdup (ns);
    }
  plan_free (p);
  model_free (m);
  return out;
}

static void
payloads_free (struct payloads *p)
{
  for (size_t i = 0; i < p->n; i++)
    {
      free (p->node[i]);
      free (p->ns[i]);
    }
  free (p->node);
  free (p->ns);
}

/* The sync from OLD's text, checked against the sync from OLD's digest
 * (what the control loop keeps between rounds) and the digest of NEW's
 * digest's next sync: byte for byte the same. */
static char *
sync_ok (const char *old, const char *new, bool full)
{
  char *out = NULL;
  nslab_error_t err = NULL;
  if (kube_proxy_sync_payload (old, new, full, &out, &err) < 0)
    ck_abort_msg ("kube_proxy_sync_payload: %s", err->msg);
  struct kube_proxy_digest *od = NULL, *nd = NULL;
  if (kube_proxy_digest_new (old, &od, &err) < 0)
    ck_abort_msg ("kube_proxy_digest_new: %s", err->msg);
  cleanup_free char *via = NULL, *back = NULL, *back_text = NULL;
  if (kube_proxy_sync_digest (od, new, full, &via, &nd, &err) < 0)
    ck_abort_msg ("kube_proxy_sync_digest: %s", err->msg);
  ck_assert_msg ((out == NULL) == (via == NULL) && (out == NULL || strcmp (out, via) == 0),
                 "from the digest:\n%s\nfrom the text:\n%s", via ? via : "(none)", out ? out : "(none)");
  /* and back from NEW's digest to OLD */
  ck_assert_int_eq (kube_proxy_sync_digest (nd, old, full, &back, NULL, &err), 0);
  ck_assert_int_eq (kube_proxy_sync_payload (new, old, full, &back_text, &err), 0);
  ck_assert_msg ((back == NULL) == (back_text == NULL) && (back == NULL || strcmp (back, back_text) == 0),
                 "back from the digest:\n%s\nfrom the text:\n%s", back ? back : "(none)",
                 back_text ? back_text : "(none)");
  kube_proxy_digest_free (od);
  kube_proxy_digest_free (nd);
  return out;
}

/* The KUBE-SVC- chain the KUBE-SERVICES rule of "comment cluster IP" jumps to. */
static char *
svc_chain_of (const char *payload, const char *svc_port)
{
  cleanup_free char *needle = xasprintf ("--comment \"%s cluster IP\"", svc_port);
  const char *l = strstr (payload, needle);
  ck_assert_msg (l != NULL, "no rule for %s", svc_port);
  const char *j = strstr (l, "-j KUBE-SVC-");
  ck_assert (j != NULL);
  return xstrndup (j + 3, strcspn (j + 3, " \n"));
}

/* Chains declared in a payload (":NAME"), as a newline-separated list. */
static bool
declares (const char *payload, const char *chain)
{
  cleanup_free char *line = xasprintf ("\n:%s - [0:0]\n", chain);
  return strstr (payload, line) != NULL;
}

static bool
has_line (const char *payload, const char *line)
{
  cleanup_free char *l = xasprintf ("\n%s\n", line);
  return strstr (payload, l) != NULL;
}

/* Every chain NEW declares and OLD does not is declared by the sync; every
   chain OLD declares and NEW does not is deleted. */
static void
assert_adds_and_deletes (const char *old, const char *new, const char *sync)
{
  cleanup_free char *o = xstrdup (old), *n = xstrdup (new);
  char *save = NULL;
  for (char *l = strtok_r (n, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    if (l[0] == ':')
      {
        cleanup_free char *name = xstrndup (l + 1, strcspn (l + 1, " "));
        if (!declares (old, name))
          ck_assert_msg (declares (sync, name), "new chain %s not declared in:\n%s", name, sync);
      }
  for (char *l = strtok_r (o, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    if (l[0] == ':')
      {
        cleanup_free char *name = xstrndup (l + 1, strcspn (l + 1, " "));
        cleanup_free char *x = xasprintf ("-X %s", name);
        if (!declares (new, name))
          ck_assert_msg (declares (sync, name) && has_line (sync, x), "stale chain %s not deleted in:\n%s", name,
                         sync);
      }
}

/* ---- payloads ------------------------------------------------------------ */

/* The model re-plans from scratch: scaling the first workload moves the
   addresses of the pods planned after it. The ReplicaSet is planned last,
   so scaling it changes its own service only. */
#define HELLO_SVC "default/my-helloworld-rs-service"

START_TEST (test_add_endpoint)
{
  struct scenario *sc = load (SEED_LAB);
  struct payloads a = plan_payloads (sc);
  workload (sc, "default", "my-helloworld-rs")->replicas = 7;
  struct payloads b = plan_payloads (sc);
  for (size_t i = 0; i < a.n; i++)
    {
      cleanup_free char *out = sync_ok (a.node[i], b.node[i], false);
      ck_assert_ptr_nonnull (out);
      assert_adds_and_deletes (a.node[i], b.node[i], out);
      cleanup_free char *web = svc_chain_of (b.node[i], "demo/web-svc");
      cleanup_free char *hello = svc_chain_of (b.node[i], HELLO_SVC);
      /* The changed service's chains are rewritten, 1/7 first. */
      ck_assert (declares (out, hello));
      cleanup_free char *p7 = xasprintf ("-A %s -m comment --comment \"" HELLO_SVC " -> ", hello);
      const char *r = strstr (out, p7);
      ck_assert (r != NULL);
      ck_assert (strstr (r, "--probability 0.1428571429 -j KUBE-SEP-") != NULL);
      ck_assert (strstr (out, "\n:KUBE-EXT-") != NULL);
      /* The other service is left alone; its KUBE-SERVICES rule is in the
         rewritten top-level chain, as kube-proxy writes it every time. */
      ck_assert (!declares (out, web));
      cleanup_free char *web_rule = xasprintf ("-A %s ", web);
      ck_assert (strstr (out, web_rule) == NULL);
      ck_assert (strstr (out, "demo/web-svc -> ") == NULL);
      ck_assert (strstr (out, "\"demo/web-svc cluster IP\" -m tcp -p tcp -d 10.43.31.179 --dport 80 -j KUBE-SVC-") != NULL);
      /* Top-level chains always; mangle, flannel, built-ins untouched. */
      ck_assert (strstr (out, "*filter\n:KUBE-FIREWALL - [0:0]\n") != NULL);
      ck_assert (declares (out, "KUBE-MARK-MASQ") && declares (out, "KUBE-POSTROUTING"));
      ck_assert (strstr (out, "*mangle") == NULL);
      ck_assert (strstr (out, "FLANNEL") == NULL);
      ck_assert (strstr (out, "-A INPUT") == NULL && strstr (out, "-F ") == NULL);
    }
  payloads_free (&a);
  payloads_free (&b);
  scenario_free (sc);
}
END_TEST

START_TEST (test_remove_endpoint)
{
  struct scenario *sc = load (SEED_LAB);
  struct payloads a = plan_payloads (sc);
  workload (sc, "default", "my-helloworld-rs")->replicas = 5;
  struct payloads b = plan_payloads (sc);
  cleanup_free char *out = sync_ok (a.node[0], b.node[0], false);
  ck_assert_ptr_nonnull (out);
  assert_adds_and_deletes (a.node[0], b.node[0], out);
  /* A SEP gone: declared (flushed) then -X, after every rule. */
  const char *x = strstr (out, "\n-X KUBE-SEP-");
  ck_assert (x != NULL);
  ck_assert (strstr (x + 1, "\n-A ") == NULL);
  /* The SVC chain: masquerade rule and five jumps, 1/5 first. */
  cleanup_free char *hello = svc_chain_of (b.node[0], HELLO_SVC);
  cleanup_free char *rule = xasprintf ("\n-A %s ", hello);
  size_t n = 0;
  for (const char *p = out; (p = strstr (p, rule)); p++)
    n++;
  ck_assert_uint_eq (n, 6);
  ck_assert (strstr (out, "--probability 0.2000000000 -j KUBE-SEP-") != NULL);
  ck_assert (strstr (out, "--probability 0.1666666667") == NULL);
  cleanup_free char *web = svc_chain_of (b.node[0], "demo/web-svc");
  ck_assert (!declares (out, web));
  payloads_free (&a);
  payloads_free (&b);
  scenario_free (sc);
}
END_TEST

START_TEST (test_remove_service)
{
  struct scenario *sc = load (SEED_LAB);
  struct payloads a = plan_payloads (sc);
  cleanup_free char *hello = svc_chain_of (a.node[1], HELLO_SVC);
  size_t n = sc->n_services;
  drop_service (sc, "default", "my-helloworld-rs-service");
  struct payloads b = plan_payloads (sc);
  sc->n_services = n;
  cleanup_free char *out = sync_ok (a.node[1], b.node[1], false);
  ck_assert_ptr_nonnull (out);
  assert_adds_and_deletes (a.node[1], b.node[1], out);
  cleanup_free char *x = xasprintf ("-X %s", hello);
  ck_assert (has_line (out, x));
  ck_assert (strstr (out, "\n-X KUBE-EXT-") != NULL); /* NodePort: its EXT chain too */
  /* Six endpoints, six SEP chains deleted; no -A into any of them. */
  size_t seps = 0;
  for (const char *p = out; (p = strstr (p, "\n-X KUBE-SEP-")); p++)
    seps++;
  ck_assert_uint_eq (seps, 6);
  ck_assert (strstr (out, "-A KUBE-SEP-") == NULL);
  ck_assert (strstr (out, "my-helloworld") == NULL);
  /* web's chains were not touched. */
  cleanup_free char *web = svc_chain_of (b.node[1], "demo/web-svc");
  ck_assert (!declares (out, web));
  payloads_free (&a);
  payloads_free (&b);
  scenario_free (sc);
}
END_TEST

START_TEST (test_no_change_is_null)
{
  struct scenario *sc = load (SEED_LAB);
  struct payloads a = plan_payloads (sc);
  struct payloads b = plan_payloads (sc);
  for (size_t i = 0; i < a.n; i++)
    ck_assert_ptr_null (sync_ok (a.node[i], b.node[i], false));
  payloads_free (&a);
  payloads_free (&b);
  scenario_free (sc);
}
END_TEST

START_TEST (test_full_sync)
{
  struct scenario *sc = load (SEED_LAB);
  struct payloads a = plan_payloads (sc);
  cleanup_free char *out = sync_ok (a.node[0], a.node[0], true);
  ck_assert_ptr_nonnull (out);
  /* Every chain kube-proxy owns, every rule of its chains; nothing of
     kubelet's canaries or flannel's, nothing deleted. */
  cleanup_free char *copy = xstrdup (a.node[0]);
  char *save = NULL, *table = NULL;
  size_t n_kp = 0;
  for (char *l = strtok_r (copy, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      if (l[0] == '*')
        table = l + 1;
      bool kp_rule = str_has_prefix (l, "-A KUBE-") && !str_has_prefix (l, "-A KUBE-KUBELET")
                     && !str_has_prefix (l, "-A KUBE-PROXY-CANARY");
      if (kp_rule)
        {
          ck_assert_msg (has_line (out, l), "full sync lacks %s (table %s)", l, table);
          n_kp++;
        }
      if (str_has_prefix (l, "-A FLANNEL") || str_has_prefix (l, "-A INPUT"))
        ck_assert (!has_line (out, l));
    }
  ck_assert_uint_gt (n_kp, 20);
  ck_assert (strstr (out, "*mangle") == NULL && strstr (out, "CANARY") == NULL && strstr (out, "-X") == NULL);
  ck_assert (strstr (out, "KUBE-SEP-") != NULL);
  payloads_free (&a);
  scenario_free (sc);
}
END_TEST

START_TEST (test_other_chains_only_when_different)
{
  /* A pod more changes Weave's per-pod rules on every node; those chains
     are rewritten, and kube-proxy's only where its endpoints changed. */
  struct scenario *sc = load (WEAVE_LAB);
  struct payloads a = plan_payloads (sc);
  struct workload_def *w = NULL;
  for (size_t i = 0; i < sc->n_workloads; i++)
    if (sc->workloads[i].kind == WL_DEPLOYMENT)
      w = &sc->workloads[i];
  ck_assert_ptr_nonnull (w);
  w->replicas++;
  struct payloads b = plan_payloads (sc);
  cleanup_free char *out = sync_ok (a.node[0], b.node[0], false);
  ck_assert_ptr_nonnull (out);
  ck_assert_msg (declares (out, "WEAVE-NPC-DEFAULT") && declares (out, "WEAVE-NPC-EGRESS-DEFAULT"), "%s", out);
  ck_assert (!declares (out, "WEAVE-NPC") && !declares (out, "WEAVE"));
  assert_adds_and_deletes (a.node[0], b.node[0], out);
  payloads_free (&a);
  payloads_free (&b);
  scenario_free (sc);
}
END_TEST

START_TEST (test_builtin_and_stale_other_chains)
{
  const char *old = "*filter\n:FOO - [0:0]\n:BAR - [0:0]\n-A INPUT -j FOO\n-A FOO -j ACCEPT\n-A BAR -j DROP\nCOMMIT\n";
  const char *new = "*filter\n:FOO - [0:0]\n-A INPUT -j FOO\n-A INPUT -p tcp -j FOO\n-A FOO -j ACCEPT\nCOMMIT\n";
  cleanup_free char *out = sync_ok (old, new, false);
  ck_assert_str_eq (out, "*filter\n:BAR - [0:0]\n-F INPUT\n-A INPUT -j FOO\n-A INPUT -p tcp -j FOO\n-X BAR\nCOMMIT\n");
  /* No kube-proxy in either: full changes nothing more. */
  cleanup_free char *full = sync_ok (old, old, true);
  ck_assert_ptr_null (full);
  /* A table only OLD has: its built-ins emptied, its chains deleted. */
  cleanup_free char *gone = sync_ok ("*nat\n:X - [0:0]\n-A POSTROUTING -j X\nCOMMIT\n", "", false);
  ck_assert_str_eq (gone, "*nat\n:X - [0:0]\n-F POSTROUTING\n-X X\nCOMMIT\n");
}
END_TEST

/* A service that loses its node port (NodePort -> ClusterIP): its KUBE-EXT-
 * chain goes, its KUBE-SVC- and KUBE-SEP- chains stay as they were. The
 * service changed, so kube-proxy writes all of its chains again; only the
 * old payload's jumps (KUBE-NODEPORTS -> KUBE-EXT- -> KUBE-SVC-) tie the
 * gone chain to the service, so a digest must keep them. */
START_TEST (test_service_loses_a_chain)
{
  const char *old = "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-SVC-A - [0:0]\n"
                    ":KUBE-EXT-A - [0:0]\n:KUBE-SEP-1 - [0:0]\n"
                    "-A KUBE-SERVICES -m comment --comment \"default/a:http cluster IP\" -d 10.43.0.10/32 -p tcp "
                    "--dport 80 -j KUBE-SVC-A\n"
                    "-A KUBE-NODEPORTS -m comment --comment \"default/a:http\" -p tcp --dport 30080 -j KUBE-EXT-A\n"
                    "-A KUBE-EXT-A -j KUBE-SVC-A\n-A KUBE-SVC-A -j KUBE-SEP-1\n"
                    "-A KUBE-SEP-1 -p tcp -j DNAT --to-destination 10.42.0.5:80\nCOMMIT\n";
  const char *new = "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-SVC-A - [0:0]\n"
                    ":KUBE-SEP-1 - [0:0]\n"
                    "-A KUBE-SERVICES -m comment --comment \"default/a:http cluster IP\" -d 10.43.0.10/32 -p tcp "
                    "--dport 80 -j KUBE-SVC-A\n"
                    "-A KUBE-SVC-A -j KUBE-SEP-1\n"
                    "-A KUBE-SEP-1 -p tcp -j DNAT --to-destination 10.42.0.5:80\nCOMMIT\n";
  cleanup_free char *out = sync_ok (old, new, false);
  ck_assert_ptr_nonnull (out);
  ck_assert_msg (strstr (out, "-A KUBE-SVC-A -j KUBE-SEP-1\n") && strstr (out, "-A KUBE-SEP-1 -p tcp"), "%s", out);
  ck_assert_msg (strstr (out, ":KUBE-EXT-A - [0:0]\n") && strstr (out, "-X KUBE-EXT-A\n"), "%s", out);
}
END_TEST

START_TEST (test_unreadable_payload)
{
  char *out = (char *) 1;
  nslab_error_t err = NULL;
  ck_assert_int_eq (kube_proxy_sync_payload ("*nat\n-I PREROUTING -j X\nCOMMIT\n", "", false, &out, &err), -1);
  ck_assert_ptr_null (out);
  ck_assert_str_eq (err->msg, "old payload: line 2: only chain lines and -A rules are understood: -I PREROUTING -j X");
  nslab_error_free (&err);
  ck_assert_int_eq (kube_proxy_sync_payload ("", "*nat\n:A - [0:0]\n", false, &out, &err), -1);
  ck_assert_str_eq (err->msg, "new payload: table nat has no COMMIT");
  nslab_error_free (&err);
  ck_assert_int_eq (kube_proxy_sync_payload ("-A X\n", "", false, &out, &err), -1);
  ck_assert_str_eq (err->msg, "old payload: line 1: outside a table: -A X");
  nslab_error_free (&err);
}
END_TEST

/* ---- the kernel oracle (root) --------------------------------------------- */

/* iptables-save of ns without comments and counters. */
static char *
saved (const char *ns)
{
  cleanup_free char *text = NULL;
  nslab_error_t err = NULL;
  if (iptables_save (ns, NULL, &text, &err) < 0)
    ck_abort_msg ("iptables_save: %s", err->msg);
  struct strbuf sb;
  sb_init (&sb);
  char *save = NULL;
  for (char *l = strtok_r (text, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      if (l[0] == '#')
        continue;
      if (l[0] == ':')
        {
          char *br = strrchr (l, '[');
          if (br)
            *br = '\0';
        }
      sb_add (&sb, l);
      sb_add (&sb, "\n");
    }
  return sb_steal (&sb);
}

static void
restore (const char *ns, const char *payload)
{
  nslab_error_t err = NULL;
  if (iptables_restore (ns, payload, &err) < 0)
    ck_abort_msg ("restore in %s: %s\n%.1000s", ns, err->msg, payload);
}

static bool
sandbox (void)
{
  if (!unit_have_root ("kernel oracle"))
    return false;
  ck_assert_int_eq (unshare (CLONE_NEWNET | CLONE_NEWNS), 0);
  ck_assert_int_eq (mount ("", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
  ck_assert_int_eq (mount ("tmpfs", "/run", "tmpfs", 0, "mode=0755"), 0);
  return true;
}

/* For every node: OLD, then the sync, in one namespace; NEW alone in
   another; the two saves must be equal. */
static void
oracle (const struct payloads *a, const struct payloads *b, bool full)
{
  nslab_error_t err = NULL;
  for (size_t i = 0; i < a->n; i++)
    {
      cleanup_free char *out = sync_ok (a->node[i], b->node[i], full);
      if (netns_create ("sync", &err) < 0 || netns_create ("fresh", &err) < 0)
        ck_abort_msg ("netns_create: %s", err->msg);
      restore ("sync", a->node[i]);
      cleanup_free char *before = saved ("sync");
      if (out)
        restore ("sync", out);
      restore ("fresh", b->node[i]);
      cleanup_free char *got = saved ("sync");
      cleanup_free char *want = saved ("fresh");
      if (strcmp (got, want) != 0)
        {
          size_t line = 1, k = 0;
          for (; got[k] && got[k] == want[k]; k++)
            line += got[k] == '\n';
          size_t start = k;
          while (start > 0 && got[start - 1] != '\n')
            start--;
          ck_abort_msg ("%s: iptables-save after the sync differs from NEW's at line %zu:\n got: %.300s\nwant: %.300s",
                        a->ns[i], line, got + start, want + start);
        }
      /* The change is visible in the kernel, so the comparison can fail. */
      if (strcmp (a->node[i], b->node[i]) != 0)
        ck_assert_msg (strcmp (before, want) != 0, "%s: OLD and NEW save alike", a->ns[i]);
      if (netns_delete ("sync", &err) < 0 || netns_delete ("fresh", &err) < 0)
        ck_abort_msg ("netns_delete: %s", err->msg);
    }
}

START_TEST (test_oracle_seed_scale)
{
  if (!sandbox ())
    return;
  struct scenario *sc = load (SEED_LAB);
  struct workload_def *web = workload (sc, "demo", "web");
  struct payloads p2 = plan_payloads (sc);
  web->replicas = 3;
  struct payloads p3 = plan_payloads (sc);
  web->replicas = 1;
  struct payloads p1 = plan_payloads (sc);
  web->replicas = 0;
  struct payloads p0 = plan_payloads (sc);
  oracle (&p2, &p3, false); /* add an endpoint */
  oracle (&p3, &p1, false); /* remove two */
  oracle (&p1, &p0, false); /* the last one: no nat chains, a REJECT */
  oracle (&p0, &p2, false); /* back */
  oracle (&p2, &p2, false); /* nothing */
  oracle (&p3, &p2, true);  /* full */
  oracle (&p2, &p2, true);
  payloads_free (&p0);
  payloads_free (&p1);
  payloads_free (&p2);
  payloads_free (&p3);
  scenario_free (sc);
}
END_TEST

START_TEST (test_oracle_remove_service_and_weave)
{
  if (!sandbox ())
    return;
  struct scenario *sc = load (SEED_LAB);
  struct payloads a = plan_payloads (sc);
  size_t n = sc->n_services;
  drop_service (sc, "default", "my-helloworld-rs-service");
  struct payloads b = plan_payloads (sc);
  sc->n_services = n;
  oracle (&a, &b, false);
  oracle (&b, &a, false);
  payloads_free (&a);
  payloads_free (&b);
  scenario_free (sc);

  sc = load (WEAVE_LAB);
  a = plan_payloads (sc);
  for (size_t i = 0; i < sc->n_workloads; i++)
    if (sc->workloads[i].kind == WL_DEPLOYMENT)
      sc->workloads[i].replicas += 2;
  b = plan_payloads (sc);
  oracle (&a, &b, false);
  oracle (&b, &a, true);
  payloads_free (&a);
  payloads_free (&b);
  scenario_free (sc);

  sc = load (KUBEADM_LAB);
  a = plan_payloads (sc);
  for (size_t i = 0; i < sc->n_workloads; i++)
    sc->workloads[i].replicas = sc->workloads[i].kind == WL_POD ? 1 : sc->workloads[i].replicas + 1;
  b = plan_payloads (sc);
  oracle (&a, &b, false);
  oracle (&b, &a, false);
  payloads_free (&a);
  payloads_free (&b);
  scenario_free (sc);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("kube_proxy_sync");
  TCase *tc = tcase_create ("payload");
  tcase_add_test (tc, test_add_endpoint);
  tcase_add_test (tc, test_remove_endpoint);
  tcase_add_test (tc, test_remove_service);
  tcase_add_test (tc, test_no_change_is_null);
  tcase_add_test (tc, test_full_sync);
  tcase_add_test (tc, test_other_chains_only_when_different);
  tcase_add_test (tc, test_builtin_and_stale_other_chains);
  tcase_add_test (tc, test_unreadable_payload);
  tcase_add_test (tc, test_service_loses_a_chain);
  suite_add_tcase (s, tc);

  TCase *k = tcase_create ("kernel");
  tcase_set_timeout (k, 60);
  tcase_add_test (k, test_oracle_seed_scale);
  tcase_add_test (k, test_oracle_remove_service_and_weave);
  suite_add_tcase (s, k);
  return s;
}

UNIT_MAIN (make_suite)
