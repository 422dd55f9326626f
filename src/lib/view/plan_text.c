/* Printing a plan (see plan_text.h). */
#include "view/plan_text.h"

#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/util.h"
#include "plan/op.h"
#include "view/kernel_expect.h"
#include "view/kubectl.h"

static const char *
netns_kind_name (enum plan_netns_kind k)
{
  switch (k)
    {
    case PLAN_NETNS_LABHOST:
      return "lab host";
    case PLAN_NETNS_NODE:
      return "node";
    case PLAN_NETNS_NATROUTER:
      return "NAT router";
    case PLAN_NETNS_POD:
      return "pod";
    }
  return "?";
}

static void
print_op (const struct plan_op *op, bool digest, FILE *out)
{
  if (digest && (op->kind == OP_IPTABLES || op->kind == OP_NFTABLES))
    {
      const char *payload = op->kind == OP_IPTABLES ? op->u.ipt.payload : op->u.nft.payload;
      size_t lines = 0;
      for (const char *c = payload; *c; c++)
        lines += *c == '\n';
      fprintf (out, "%s  # %zu lines, fnv1a64 %016llx\n",
               op->kind == OP_IPTABLES ? "iptables-restore --noflush" : "nft -f -", lines,
               (unsigned long long) fnv1a64 (payload));
      return;
    }
  cleanup_free char *line = op_describe (op);
  /* Commands and names come from the scenario: no terminal escape gets through. */
  cleanup_free char *shown = nslab_escape (line, true);
  fprintf (out, "%s\n", shown);
}

static void
print_namespace (const struct plan *p, const struct plan_op *nsop, bool digest, FILE *out)
{
  const struct plan_netns *n = &nsop->u.netns;
  fprintf (out, "\n## netns %s (%s", nsop->ns, netns_kind_name (n->kind));
  if (n->kind == PLAN_NETNS_NODE || n->kind == PLAN_NETNS_NATROUTER)
    fprintf (out, " %s", n->owner.name);
  else if (n->kind == PLAN_NETNS_POD)
    fprintf (out, " %s/%s on %s", n->owner.ns, n->owner.name, n->node);
  fprintf (out, ")\n");
  for (size_t i = 0; i < p->n_ops; i++)
    {
      const struct plan_op *op = &p->ops[i];
      if (op->kind == OP_NETNS || strcmp (op->ns, nsop->ns) != 0)
        continue;
      print_op (op, digest, out);
    }
  if (n->kind != PLAN_NETNS_NATROUTER)
    kernel_expect_print (out, p, nsop->ns);
}

static void
print_text (const struct plan *p, bool digest, FILE *out)
{
  const struct lab_objects *o = p->objects;
  char a[CIDR_STRLEN], b[CIDR_STRLEN], ip[IP_STRLEN];
  cleanup_free char *scenario = nslab_escape (o->scenario, false);
  fprintf (out, "# nslab plan: lab %s from %s\n", o->lab, scenario);
  fprintf (out, "# flavor %s, pod CIDR %s, service CIDR %s, cluster DNS %s (%s)\n\n", flavor_name (o->flavor),
           cidr_fmt (o->pod_cidr, a), cidr_fmt (o->service_cidr, b), ip_fmt (o->dns_ip, ip), o->dns_domain);
  kubectl_print_summary (o, false, out);

  fprintf (out, "\n## namespaces\n");
  for (size_t i = 0; i < p->n_ops; i++)
    if (p->ops[i].kind == OP_NETNS)
      fprintf (out, "ip netns add %s\n", p->ops[i].ns);
  for (size_t i = 0; i < p->n_ops; i++)
    if (p->ops[i].kind == OP_NETNS)
      print_namespace (p, &p->ops[i], digest, out);
}

void
plan_print_text (const struct plan *p, FILE *out)
{
  print_text (p, false, out);
}

void
plan_print_text_digested (const struct plan *p, FILE *out)
{
  print_text (p, true, out);
}

void
plan_print_json (const struct plan *p, FILE *out)
{
  json_t *j = plan_to_json (p);
  json_dumpf (j, out, JSON_INDENT (1) | JSON_PRESERVE_ORDER);
  fputc ('\n', out);
  json_decref (j);
}
