#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "cmd.h"

const struct cli_verb cli_verbs[] = {
  { "validate", "validate FILE", "check a scenario; print warnings",
    "Parse, validate and resolve FILE (pod CIDRs, placement, addresses). Prints the warnings and\n"
    "\"FILE: ok (...)\"; on invalid input one line naming file, section and key, exit 2.\n",
    cmd_validate },
  { "plan", "plan [-o text|json] FILE",
    "print every namespace, link, address, route, rule and process (no root needed)",
    "Print the kubectl-like summary, then per namespace the commands that build it.\n"
    "  -o, --output text|json   output format (default text)\n",
    cmd_plan },
  { "up", "up [--wait [--timeout 60s]] FILE", "build the lab (root)",
    "Build the lab FILE describes; a failure or Ctrl-C rolls back everything. Needs\n"
    "CAP_NET_ADMIN and CAP_SYS_ADMIN. Returns once the control loop has probed every\n"
    "pod once (the ready ones are endpoints; the others join when their probe passes);\n"
    "a TCP probe on the port of an http app or coredns is decided at once: the pod\n"
    "listens before it counts as started, and is ready when up returns.\n"
    "  --wait               return once every pod is ready: its readiness probe passed\n"
    "                       (or, without one, its app accepts on its port)\n"
    "  --timeout DURATION   how long --wait waits (default 60s); then an error naming\n"
    "                       the pods that are not ready\n",
    cmd_up },
  { "down", "down [--ignore-not-found] LAB | --all", "remove exactly what the lab created (root)",
    "Kill the lab's recorded processes and delete its recorded namespaces (--all: every lab).\n"
    "  --ignore-not-found   exit 0 when LAB is not up\n", cmd_down },
  { "ls", "ls [-o text|json]", "labs that are up",
    "List the labs that are up with node, pod and service counts, age and status.\n"
    "  -o, --output text|json   output format (default text)\n",
    cmd_ls },
  { "status", "status [-o text|json] LAB", "health of every node, pod and process",
    "Show every recorded process (alive?) and namespace (present?); exit 1 when unhealthy.\n"
    "  -o, --output text|json   output format (default text)\n",
    cmd_status },
  { "exec", "exec LAB [-n NAMESPACE] [--privileged] TARGET [-- CMD ARGS...]",
    "run CMD (default: a shell) in a node, a pod or the lab host",
    "TARGET: host, node/NAME, pod/NAME, deploy/NAME, rs/NAME (pods in NAMESPACE, default \"default\").\n"
    "In a pod CMD has the pod's capabilities (containerd's default set unless the workload is privileged).\n"
    "Exits with CMD's status; 127 when CMD is not found, 126 when it cannot run.\n"
    "  -n, --namespace NAMESPACE   the pod's namespace\n"
    "  --privileged                keep every capability in a pod (as kubectl debug --profile=sysadmin)\n",
    cmd_exec },
  { "test", "test [-o text|tap] [--junit FILE] [--wait] LAB [FILE]",
    "run the lab's checks (exit 0 only if all pass)",
    "Run the [check NAME] sections of FILE (a scenario or a checks-only file; default: the\n"
    "scenario the lab was brought up from) in parallel, one line per check as it finishes.\n"
    "  -o, --output text|tap    output format (default text)\n"
    "  --junit FILE             also write JUnit XML to FILE\n"
    "  --wait                   first wait until every pod's app accepts connections\n"
    "Kinds and keys: docs/checks.md.\n",
    cmd_test },
  { "export", "export LAB -o FILE.tar.gz", "bundle the lab's state and kernel view for a bug report or CI",
    "Write a gzip'd tar: the lab's state directory (plan.json, journal, app logs) and, per namespace,\n"
    "ip -d addr/link, routes, rules, neighbours, FDB, iptables-save and the main sysctls.\n"
    "  -o, --output FILE   the archive to write\n",
    cmd_export },
  { "scale", "scale LAB [-n NAMESPACE] deploy/NAME|rs/NAME --replicas N [--timeout 30s]",
    "change a workload's replica count in a running lab",
    "Set the replicas in the lab's store; the lab's control loop adds pods (new names, next addresses)\n"
    "or removes them as the ReplicaSet controller would. Returns once the rules on every node follow.\n"
    "  -n, --namespace NAMESPACE   the workload's namespace (default \"default\")\n"
    "  --timeout DURATION          give up after this long (default 30s)\n",
    cmd_scale },
  { "delete", "delete LAB [-n NAMESPACE] pod/NAME|deploy/NAME|rs/NAME|svc/NAME [--timeout 30s]",
    "delete an object of a running lab",
    "A deployment's pod is replaced by a new one (new name and address); a bare pod is gone; a\n"
    "deployment or replicaset takes its pods; a service its rules on every node.\n"
    "  -n, --namespace NAMESPACE   the object's namespace (default \"default\")\n"
    "  --timeout DURATION          give up after this long (default 30s)\n",
    cmd_delete },
  { "apply", "apply FILE [--timeout 30s]", "converge a running lab to its edited scenario",
    "Workloads and services added, removed or changed in FILE take effect in the running lab FILE names;\n"
    "a change that needs nodes or networks rebuilt is refused with one line naming the key.\n"
    "  --timeout DURATION          give up after this long (default 30s)\n",
    cmd_apply },
  { "get", "get LAB [-n NAMESPACE | -A] [-l SELECTOR] [-o wide|json] TYPE[,TYPE...] [NAME] | TYPE/NAME",
    "the tables kubectl get prints, without kubectl",
    "TYPE: pods (po), services (svc), endpoints (ep), endpointslices, deployments (deploy),\n"
    "replicasets (rs), nodes (no), namespaces (ns), events (ev). Answered by the lab's API code.\n"
    "  -n, --namespace NAMESPACE   the namespace (default \"default\")\n"
    "  -A, --all-namespaces        every namespace, with a NAMESPACE column\n"
    "  -l, --selector SELECTOR     a label selector (app=web, tier!=db, env in (a,b))\n"
    "  -o, --output wide|json      the wide columns, or the objects as the API serves them\n",
    cmd_get },
  { "describe", "describe LAB [-n NAMESPACE] TYPE/NAME | TYPE [NAME_PREFIX]",
    "what kubectl describe prints, without kubectl",
    "TYPE: pods (po), services (svc), endpoints (ep), deployments (deploy), replicasets (rs),\n"
    "nodes (no), namespaces (ns). The object, its events, a service's endpoints, a deployment's\n"
    "ReplicaSets, a ReplicaSet's pods, a node's lease and pods, read through the lab's API code and\n"
    "printed as kubectl describe (v1.32) prints them. As kubectl: TYPE alone describes every object\n"
    "of the type; TYPE NAME, when there is no NAME, every one whose name starts with NAME.\n"
    "  -n, --namespace NAMESPACE   the namespace (default \"default\")\n",
    cmd_describe },
  { "kubectl", "kubectl LAB ARGS...", "run kubectl against the lab's API server",
    "Run the machine's kubectl (or $NSLAB_KUBECTL) in the lab host namespace with KUBECONFIG set\n"
    "to the lab's kubeconfig (/run/nslab/LAB/kubeconfig.yaml). Exits with kubectl's status.\n",
    cmd_kubectl },
  { NULL, NULL, NULL, NULL, NULL },
};

const struct cli_verb *
cli_find_verb (const char *name)
{
  for (const struct cli_verb *v = cli_verbs; v->name; v++)
    if (strcmp (v->name, name) == 0)
      return v;
  return NULL;
}

bool
cli_is_help (const char *arg)
{
  return strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0;
}

void
cli_print_usage (FILE *out)
{
  fputs ("usage: nslab COMMAND [ARGS]\n"
         "       nslab help [COMMAND] | --help | --version\n"
         "\n"
         "Kubernetes-style clusters out of Linux namespaces, for learning cluster networking.\n"
         "\n"
         "commands:\n",
         out);
  for (const struct cli_verb *v = cli_verbs; v->name; v++)
    {
      if (strlen (v->synopsis) <= 28)
        fprintf (out, "  %-28s  %s\n", v->synopsis, v->summary);
      else
        fprintf (out, "  %s\n  %-28s  %s\n", v->synopsis, "", v->summary);
    }
  fputs ("\n"
         "Every command takes -h/--help. Exit status: 0 ok, 1 failure, 2 usage or invalid input;\n"
         "exec: the command's. See nslab(1), docs/guide.md and docs/scenario.md.\n",
         out);
}

int
cli_help (const char *verb)
{
  const struct cli_verb *v = cli_find_verb (verb);
  if (v == NULL)
    return cli_usage (verb);
  printf ("usage: nslab %s\n\n%s\n%s", v->synopsis, v->summary, v->details ? v->details : "");
  return 0;
}

int
cli_usage (const char *verb)
{
  const struct cli_verb *v = cli_find_verb (verb);
  if (v)
    fprintf (stderr, "usage: nslab %s\n(nslab help %s for more)\n", v->synopsis, v->name);
  else
    cli_print_usage (stderr);
  return NSLAB_EXIT_INVALID;
}

int
cli_output_options (const char *verb, int argc, char **argv, bool *json, nslab_error_t *err)
{
  static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  int c;
  *json = false;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+ho:", opts, NULL)) != -1)
    {
      if (c == 'h')
        return cli_help (verb);
      if (c != 'o')
        return cli_usage (verb);
      if (strcmp (optarg, "text") != 0 && strcmp (optarg, "json") != 0)
        return nslab_error_invalid (err, "%s: unknown output format \"%s\" (text or json)", verb, optarg);
      *json = strcmp (optarg, "json") == 0;
    }
  return CLI_GO_ON;
}

json_t *
cli_json_str (const char *s)
{
  json_t *j = json_string (s ? s : "");
  if (j == NULL)
    {
      cleanup_free char *e = nslab_escape (s, false);
      j = json_string (e);
    }
  return j;
}

void
cli_json_print (json_t *j, FILE *out)
{
  json_dumpf (j, out, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  fputc ('\n', out);
  json_decref (j);
}

void
cli_print_warnings (const struct scenario *sc)
{
  for (size_t i = 0; i < sc->n_warnings; i++)
    {
      cleanup_free char *w = nslab_escape (sc->warnings[i], false);
      fprintf (stderr, "nslab: warning: %s\n", w);
    }
}

static int
load_plan (const char *file, bool starting, struct scenario **sc, struct plan **p, nslab_error_t *err)
{
  *sc = NULL;
  *p = NULL;
  if (scenario_load (file, sc, err) < 0)
    return -1;
  cli_print_warnings (*sc);
  if ((starting ? plan_build_starting : plan_build) (*sc, p, err) < 0)
    {
      scenario_free (*sc);
      *sc = NULL;
      return -1;
    }
  return 0;
}

int
cli_load_plan (const char *file, struct scenario **sc, struct plan **p, nslab_error_t *err)
{
  return load_plan (file, false, sc, p, err);
}

int
cli_load_up_plan (const char *file, struct scenario **sc, struct plan **p, nslab_error_t *err)
{
  return load_plan (file, true, sc, p, err);
}

void
cli_plan_free (struct scenario *sc, struct plan *p)
{
  plan_free (p);
  scenario_free (sc);
}
