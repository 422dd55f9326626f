/* kubectl get -o wide tables of a lab's objects (see kubectl.h). */
#include "view/kubectl.h"

#include <stdlib.h>
#include <string.h>

#include "base/table.h"
#include "base/util.h"

static void
format_ports (struct strbuf *sb, const struct lab_service *s)
{
  for (size_t k = 0; k < s->n_ports; k++)
    {
      const struct lab_svc_port *sp = &s->ports[k];
      if (k)
        sb_add (sb, ",");
      if (sp->node_port)
        sb_addf (sb, "%u:%u/%s", sp->port, sp->node_port, proto_name (sp->protocol));
      else
        sb_addf (sb, "%u/%s", sp->port, proto_name (sp->protocol));
    }
}

/* kubectl's getServiceExternalIP: the load balancer's ingress, then the
   spec's externalIPs; "<pending>" for a LoadBalancer with neither. */
static void
format_external_ip (struct strbuf *sb, const struct lab_service *s)
{
  char ip[IP_STRLEN];
  size_t n = 0;
  for (size_t i = 0; s->type == SVC_LOAD_BALANCER && i < s->n_lb_ips; i++)
    sb_addf (sb, "%s%s", n++ ? "," : "", ip_fmt (s->lb_ips[i], ip));
  for (size_t i = 0; i < s->n_external_ips; i++)
    sb_addf (sb, "%s%s", n++ ? "," : "", ip_fmt (s->external_ips[i], ip));
  if (n == 0)
    sb_add (sb, s->type == SVC_LOAD_BALANCER ? "<pending>" : "<none>");
}

static void
format_selector (struct strbuf *sb, const struct lab_service *s)
{
  if (s->n_selector == 0)
    sb_add (sb, "<none>");
  for (size_t i = 0; i < s->n_selector; i++)
    sb_addf (sb, "%s%s=%s", i ? "," : "", s->selector[i].key, s->selector[i].value);
}

/* kubectl get -A lists objects sorted by namespace, then name. */
static int
compare_pods (const void *a, const void *b)
{
  const struct lab_pod *x = *(const struct lab_pod *const *) a, *y = *(const struct lab_pod *const *) b;
  int c = strcmp (x->ns, y->ns);
  return c ? c : strcmp (x->name, y->name);
}

static int
compare_services (const void *a, const void *b)
{
  const struct lab_service *x = *(const struct lab_service *const *) a, *y = *(const struct lab_service *const *) b;
  int c = strcmp (x->ns, y->ns);
  return c ? c : strcmp (x->name, y->name);
}

static const void **
sorted (const void *items, size_t n, size_t size, int (*cmp) (const void *, const void *))
{
  const void **v = xcalloc (n ? n : 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = (const char *) items + i * size;
  if (n)
    qsort (v, n, sizeof *v, cmp);
  return v;
}

static void
print_nodes (const struct lab_objects *o, bool running, FILE *out)
{
  char ip[IP_STRLEN], c[CIDR_STRLEN];
  struct table t;
  /* Columns as kubectl get -o wide names them; STATUS only once up. */
  if (running)
    table_init (&t, (const char *[]) { "NAME", "STATUS", "ROLES", "INTERNAL-IP", "POD-CIDR", "NETNS", NULL });
  else
    table_init (&t, (const char *[]) { "NAME", "ROLES", "INTERNAL-IP", "POD-CIDR", "NETNS", NULL });
  for (size_t i = 0; i < o->n_nodes; i++)
    {
      const struct lab_node *n = &o->nodes[i];
      const char *role = n->role == ROLE_CONTROL_PLANE ? "control-plane" : "<none>";
      ip_fmt (n->internal_ip, ip);
      cidr_fmt (n->pod_cidr, c);
      if (running)
        table_row (&t, (const char *[]) { n->name, "Ready", role, ip, c, n->netns });
      else
        table_row (&t, (const char *[]) { n->name, role, ip, c, n->netns });
    }
  table_print (&t, out);
  table_free (&t);
}

static void
print_pods (const struct lab_objects *o, bool running, FILE *out)
{
  cleanup_free const void **pods = sorted (o->pods, o->n_pods, sizeof *o->pods, compare_pods);
  char ip[IP_STRLEN];
  struct table t;
  if (running)
    table_init (&t, (const char *[]) { "NAMESPACE", "NAME", "READY", "STATUS", "IP", "NODE", "APP", NULL });
  else
    table_init (&t, (const char *[]) { "NAMESPACE", "NAME", "IP", "NODE", "APP", NULL });
  for (size_t i = 0; i < o->n_pods; i++)
    {
      const struct lab_pod *pod = pods[i];
      char appdesc[64];
      if (pod->app.kind == APP_HTTP)
        snprintf (appdesc, sizeof appdesc, "http-echo:%u", pod->app.port);
      else if (pod->app.kind == APP_COMMAND)
        snprintf (appdesc, sizeof appdesc, "command");
      else if (pod->app.kind == APP_DNS)
        snprintf (appdesc, sizeof appdesc, "coredns:%u", pod->app.port);
      else if (pod->app.kind == APP_SVCLB)
        snprintf (appdesc, sizeof appdesc, "klipper-lb");
      else
        snprintf (appdesc, sizeof appdesc, "<none>");
      ip_fmt (pod->ip, ip);
      if (running)
        table_row (&t, (const char *[]) { pod->ns, pod->name, pod->ready ? "1/1" : "0/1", "Running", ip, pod->node,
                                          appdesc });
      else
        table_row (&t, (const char *[]) { pod->ns, pod->name, ip, pod->node, appdesc });
    }
  table_print (&t, out);
  table_free (&t);
}

static void
print_services (const struct lab_objects *o, FILE *out)
{
  cleanup_free const void **svcs = sorted (o->services, o->n_services, sizeof *o->services, compare_services);
  char ip[IP_STRLEN];
  struct table t;
  table_init (&t, (const char *[]) { "NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "SELECTOR",
                                     NULL });
  for (size_t i = 0; i < o->n_services; i++)
    {
      const struct lab_service *s = svcs[i];
      struct strbuf ports, ext, sel;
      sb_init (&ports);
      sb_init (&ext);
      sb_init (&sel);
      format_ports (&ports, s);
      format_external_ip (&ext, s);
      format_selector (&sel, s);
      table_row (&t, (const char *[]) { s->ns, s->name, svc_type_name (s->type),
                                        s->cluster_ip ? ip_fmt (s->cluster_ip, ip) : "None", ext.buf,
                                        ports.buf, sel.buf });
      sb_free (&ports);
      sb_free (&ext);
      sb_free (&sel);
    }
  table_print (&t, out);
  table_free (&t);
}

void
kubectl_print_summary (const struct lab_objects *o, bool running, FILE *out)
{
  print_nodes (o, running, out);
  if (o->n_pods)
    {
      fputc ('\n', out);
      print_pods (o, running, out);
    }
  fputc ('\n', out);
  print_services (o, out);
}
