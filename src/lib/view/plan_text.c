/* Printing a plan: as the commands a person would type (ip, bridge, sysctl,
 * iptables-restore), grouped by namespace, with the `ip -br addr` and
 * `ip route` a learner should then see on each node; and as JSON. */
#include "plan/plan.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/names.h"
#include "base/table.h"
#include "base/util.h"

static const char *
netns_kind_name (enum netns_kind k)
{
  switch (k)
    {
    case NETNS_LABHOST:
      return "lab host";
    case NETNS_NODE:
      return "node";
    case NETNS_NATROUTER:
      return "NAT router";
    case NETNS_POD:
      return "pod";
    }
  return "?";
}

static const char *
rtprot_name (uint8_t proto)
{
  switch (proto)
    {
    case RTPROT_KERNEL:
      return "kernel";
    case RTPROT_BOOT:
      return "boot";
    case RTPROT_STATIC:
      return "static";
    case RTPROT_DHCP:
      return "dhcp";
    }
  return "unspec";
}

/* The route as `ip route` prints it (proto boot is the default and omitted). */
static void
format_route (struct strbuf *sb, const struct plan_route *r)
{
  char a[CIDR_STRLEN], b[IP_STRLEN];
  if (r->dst.len == 0)
    sb_add (sb, "default");
  else if (r->dst.len == 32)
    sb_add (sb, ip_fmt (r->dst.addr, b));
  else
    sb_add (sb, cidr_fmt (r->dst, a));
  if (r->gw)
    sb_addf (sb, " via %s", ip_fmt (r->gw, b));
  sb_addf (sb, " dev %s", r->dev);
  if (r->protocol != RTPROT_BOOT)
    sb_addf (sb, " proto %s", rtprot_name (r->protocol));
  if (r->scope_link)
    sb_add (sb, " scope link");
  if (r->src)
    sb_addf (sb, " src %s", ip_fmt (r->src, b));
  if (r->metric)
    sb_addf (sb, " metric %u", r->metric);
  if (r->onlink)
    sb_add (sb, " onlink");
}

static void
format_op (struct strbuf *sb, const struct model *m, const struct plan_op *op)
{
  char mac[18], ip[IP_STRLEN], c[CIDR_STRLEN];
  switch (op->kind)
    {
    case OP_NETNS:
      sb_addf (sb, "ip netns add %s", m->netns[op->ns].name);
      break;
    case OP_SYSCTL:
      sb_addf (sb, "sysctl -w %s=%s", op->u.sysctl.key, op->u.sysctl.value);
      break;
    case OP_LINK:
      {
        const struct plan_link *l = &op->u.link;
        sb_addf (sb, "ip link add %s", l->name);
        if (l->has_mac)
          sb_addf (sb, " address %s", mac_fmt (l->mac, mac));
        if (l->mtu)
          sb_addf (sb, " mtu %u", l->mtu);
        switch (l->kind)
          {
          case LINK_BRIDGE:
            sb_add (sb, " type bridge");
            break;
          case LINK_VETH:
            sb_addf (sb, " type veth peer name %s", l->peer_name);
            if (l->peer_has_mac)
              sb_addf (sb, " address %s", mac_fmt (l->peer_mac, mac));
            sb_addf (sb, " netns %s", m->netns[l->peer_ns].name);
            break;
          case LINK_VXLAN:
            sb_addf (sb, " type vxlan id %u local %s dev %s dstport %u%s", l->vni, ip_fmt (l->local, ip), l->dev,
                     l->dstport, l->learning ? "" : " nolearning");
            break;
          }
        break;
      }
    case OP_LINK_SET:
      sb_addf (sb, "ip link set %s", op->u.set.name);
      if (op->u.set.master)
        sb_addf (sb, " master %s", op->u.set.master);
      if (op->u.set.up)
        sb_add (sb, " up");
      if (op->u.set.hairpin)
        sb_addf (sb, "\nbridge link set dev %s hairpin on", op->u.set.name);
      break;
    case OP_ADDR:
      sb_addf (sb, "ip addr add %s dev %s", cidr_fmt (op->u.addr.addr, c), op->u.addr.dev);
      if (op->u.addr.metric)
        sb_addf (sb, " metric %u", op->u.addr.metric);
      break;
    case OP_ROUTE:
      sb_add (sb, "ip route add ");
      format_route (sb, &op->u.route);
      break;
    case OP_NEIGH:
      sb_addf (sb, "ip neigh add %s lladdr %s dev %s nud permanent", ip_fmt (op->u.neigh.ip, ip),
               mac_fmt (op->u.neigh.lladdr, mac), op->u.neigh.dev);
      break;
    case OP_FDB:
      sb_addf (sb, "bridge fdb append %s dev %s dst %s self permanent", mac_fmt (op->u.fdb.lladdr, mac),
               op->u.fdb.dev, ip_fmt (op->u.fdb.dst, ip));
      break;
    case OP_IPTABLES:
      sb_addf (sb, "iptables-restore --noflush <<'EOF'\n%sEOF", op->u.ipt.payload);
      break;
    case OP_PROCESS:
      {
        const struct plan_process *pr = &op->u.proc;
        sb_addf (sb, "# process: %s (hostname %s", pr->title, pr->hostname);
        if (pr->app && pr->app->kind == APP_HTTP)
          sb_addf (sb, ", app: HTTP echo on port %u", pr->app->port);
        else if (pr->app && pr->app->kind == APP_COMMAND)
          sb_addf (sb, ", app: %s", pr->app->command);
        sb_add (sb, ")");
        break;
      }
    }
}

/* One line of the expected `ip -br addr` view of a namespace. */
struct view_link {
  const char *name;
  const char *state;
  int ifindex;           /* in its namespace: lo is 1, then creation order */
  int peer_ns, peer_pos; /* veth: where the other end is (-1 if none) */
  const uint8_t *mac;    /* NULL when the kernel picks it */
  char addrs[256];
};

/* The link-local address the kernel derives from a MAC (addr_gen_mode
 * eui64, the default): what `ip -br addr` lists after the IPv4 ones. */
static void
append_link_local (struct view_link *l)
{
  uint8_t a[16] = { 0xfe, 0x80 };
  char buf[INET6_ADDRSTRLEN];
  if (l->mac == NULL)
    return;
  a[8] = (uint8_t) (l->mac[0] ^ 0x02);
  a[9] = l->mac[1];
  a[10] = l->mac[2];
  a[11] = 0xff;
  a[12] = 0xfe;
  a[13] = l->mac[3];
  a[14] = l->mac[4];
  a[15] = l->mac[5];
  inet_ntop (AF_INET6, a, buf, sizeof buf);
  size_t len = strlen (l->addrs);
  snprintf (l->addrs + len, sizeof l->addrs - len, "%s%s/64", len ? " " : "", buf);
}

static struct view_link *
view_find (struct view_link *v, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i].name, name) == 0)
      return &v[i];
  return NULL;
}

/* ifindex the kernel gives the n-th link that appears in namespace ns:
 * every namespace numbers its links on its own, lo first. */
static int
ifindex_in_ns (const struct plan *p, int ns, size_t upto_op, bool peer_end)
{
  int idx = 1;
  for (size_t i = 0; i < p->n_ops && i <= upto_op; i++)
    {
      const struct plan_op *op = &p->ops[i];
      if (op->kind != OP_LINK)
        continue;
      /* veth_newlink registers the peer before the device itself. */
      bool here_peer = op->u.link.kind == LINK_VETH && op->u.link.peer_ns == ns;
      bool here_dev = op->ns == ns;
      if (i == upto_op)
        {
          if (peer_end)
            return idx + 1;
          return idx + (here_peer ? 1 : 0) + 1;
        }
      idx += (here_peer ? 1 : 0) + (here_dev ? 1 : 0);
    }
  return idx;
}

static int
compare_route_lines (const void *a, const void *b)
{
  const struct plan_route *x = *(const struct plan_route *const *) a, *y = *(const struct plan_route *const *) b;
  if (x->dst.addr != y->dst.addr)
    return x->dst.addr < y->dst.addr ? -1 : 1;
  return (int) x->dst.len - (int) y->dst.len;
}

/* What `ip -br addr` and `ip route` show in the namespace once applied:
 * the links created in it or moved into it, their addresses, and the
 * routes, including the kernel's connected routes for each address. */
static void
print_expected_views (FILE *out, const struct plan *p, int ns)
{
  struct view_link *links = NULL;
  size_t n_links = 0;
  struct plan_route *kernel_routes = NULL;
  size_t n_kernel = 0;
  const struct plan_route **routes = NULL;
  size_t n_routes = 0;

  struct view_link *lo = VEC_PUSH (links, n_links);
  lo->name = "lo";
  lo->state = "UNKNOWN";
  lo->ifindex = 1;
  snprintf (lo->addrs, sizeof lo->addrs, "127.0.0.1/8 ::1/128");
  for (size_t i = 0; i < p->n_ops; i++)
    {
      const struct plan_op *op = &p->ops[i];
      if (op->kind != OP_LINK)
        continue;
      const struct plan_link *pl = &op->u.link;
      /* The peer end registers first; list in ifindex order. */
      if (pl->kind == LINK_VETH && pl->peer_ns == ns)
        {
          struct view_link *l = VEC_PUSH (links, n_links);
          l->name = pl->peer_name;
          l->state = "UP";
          l->ifindex = ifindex_in_ns (p, ns, i, true);
          l->peer_ns = op->ns;
          l->peer_pos = ifindex_in_ns (p, op->ns, i, false);
          l->mac = pl->peer_has_mac ? pl->peer_mac : NULL;
        }
      if (op->ns == ns)
        {
          struct view_link *l = VEC_PUSH (links, n_links);
          l->name = pl->name;
          l->state = pl->kind == LINK_VXLAN ? "UNKNOWN" : "UP";
          l->ifindex = ifindex_in_ns (p, ns, i, false);
          l->peer_ns = pl->kind == LINK_VETH ? pl->peer_ns : -1;
          l->peer_pos = pl->kind == LINK_VETH ? ifindex_in_ns (p, pl->peer_ns, i, true) : 0;
          l->mac = pl->has_mac ? pl->mac : NULL;
        }
    }
  for (size_t i = 0; i < p->n_ops; i++)
    {
      const struct plan_op *op = &p->ops[i];
      if (op->ns != ns)
        continue;
      if (op->kind == OP_ADDR)
        {
          struct view_link *l = view_find (links, n_links, op->u.addr.dev);
          char c[CIDR_STRLEN];
          if (l)
            {
              size_t len = strlen (l->addrs);
              snprintf (l->addrs + len, sizeof l->addrs - len, "%s%s", len ? " " : "", cidr_fmt (op->u.addr.addr, c));
              if (op->u.addr.metric)
                {
                  len = strlen (l->addrs);
                  snprintf (l->addrs + len, sizeof l->addrs - len, " metric %u", op->u.addr.metric);
                }
            }
          if (op->u.addr.addr.len < 32)
            {
              struct plan_route *r = VEC_PUSH (kernel_routes, n_kernel);
              r->dst.addr = cidr_network (op->u.addr.addr);
              r->dst.len = op->u.addr.addr.len;
              r->dev = op->u.addr.dev;
              r->protocol = RTPROT_KERNEL;
              r->scope_link = true;
              r->src = op->u.addr.addr.addr;
              r->metric = op->u.addr.metric;
            }
        }
    }
  for (size_t i = 0; i < p->n_ops; i++)
    if (p->ops[i].kind == OP_ROUTE && p->ops[i].ns == ns)
      *VEC_PUSH (routes, n_routes) = &p->ops[i].u.route;
  for (size_t i = 0; i < n_kernel; i++)
    *VEC_PUSH (routes, n_routes) = &kernel_routes[i];
  qsort (routes, n_routes, sizeof *routes, compare_route_lines);

  for (size_t i = 1; i < n_links; i++)
    append_link_local (&links[i]);
  fprintf (out, "# expected `ip -br addr`:\n");
  for (size_t i = 0; i < n_links; i++)
    {
      char name[64];
      if (links[i].peer_pos > 0)
        snprintf (name, sizeof name, "%s@if%d", links[i].name, links[i].peer_pos);
      else
        snprintf (name, sizeof name, "%s", links[i].name);
      if (links[i].addrs[0])
        fprintf (out, "#   %-16s %-14s %s\n", name, links[i].state, links[i].addrs);
      else
        fprintf (out, "#   %-16s %s\n", name, links[i].state);
    }
  fprintf (out, "# expected `ip route`:\n");
  for (size_t i = 0; i < n_routes; i++)
    {
      struct strbuf sb;
      sb_init (&sb);
      format_route (&sb, routes[i]);
      fprintf (out, "#   %s\n", sb.buf);
      sb_free (&sb);
    }
  free (links);
  free (kernel_routes);
  free (routes);
}

static void
format_ports (struct strbuf *sb, const struct model_service *s)
{
  for (size_t k = 0; k < s->n_ports; k++)
    {
      const struct model_svc_port *sp = &s->ports[k];
      if (k)
        sb_add (sb, ",");
      if (sp->node_port)
        sb_addf (sb, "%u:%u/%s", sp->port, sp->node_port, proto_name (sp->protocol));
      else
        sb_addf (sb, "%u/%s", sp->port, proto_name (sp->protocol));
    }
}

static void
format_external_ip (struct strbuf *sb, const struct model_service *s)
{
  char ip[IP_STRLEN];
  if (s->type != SVC_LOAD_BALANCER)
    sb_add (sb, "<none>");
  else if (s->n_lb_ips == 0)
    sb_add (sb, "<pending>");
  for (size_t i = 0; i < s->n_lb_ips; i++)
    sb_addf (sb, "%s%s", i ? "," : "", ip_fmt (s->lb_ips[i], ip));
}

static void
format_selector (struct strbuf *sb, const struct service_def *d)
{
  if (d->n_selector == 0)
    sb_add (sb, "<none>");
  for (size_t i = 0; i < d->n_selector; i++)
    sb_addf (sb, "%s%s=%s", i ? "," : "", d->selector[i].key, d->selector[i].value);
}

/* kubectl get -A lists objects sorted by namespace, then name. */
static const struct model *sort_model;

static int
compare_pod_index (const void *a, const void *b)
{
  const struct model_pod *x = &sort_model->pods[*(const size_t *) a], *y = &sort_model->pods[*(const size_t *) b];
  int c = strcmp (x->ns, y->ns);
  return c ? c : strcmp (x->name, y->name);
}

static int
compare_service_index (const void *a, const void *b)
{
  const struct model_service *x = &sort_model->services[*(const size_t *) a];
  const struct model_service *y = &sort_model->services[*(const size_t *) b];
  int c = strcmp (x->ns, y->ns);
  return c ? c : strcmp (x->name, y->name);
}

static size_t *
sorted_indexes (const struct model *m, size_t n, int (*cmp) (const void *, const void *))
{
  size_t *idx = xcalloc (n, sizeof *idx);
  for (size_t i = 0; i < n; i++)
    idx[i] = i;
  sort_model = m;
  qsort (idx, n, sizeof *idx, cmp);
  sort_model = NULL;
  return idx;
}

void
plan_print_summary (const struct model *m, bool running, FILE *out)
{
  cleanup_free size_t *pods = sorted_indexes (m, m->n_pods, compare_pod_index);
  cleanup_free size_t *svcs = sorted_indexes (m, m->n_services, compare_service_index);
  char ip[IP_STRLEN], c[CIDR_STRLEN];
  struct table t;

  /* Columns as kubectl get -o wide names them; READY/STATUS only once the
   * lab is up. */
  if (running)
    table_init (&t, (const char *[]) { "NAME", "STATUS", "ROLES", "INTERNAL-IP", "POD-CIDR", "NETNS", NULL });
  else
    table_init (&t, (const char *[]) { "NAME", "ROLES", "INTERNAL-IP", "POD-CIDR", "NETNS", NULL });
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const struct model_node *n = &m->nodes[i];
      const char *role = n->role == ROLE_CONTROL_PLANE ? "control-plane" : "<none>";
      ip_fmt (n->internal_ip, ip);
      cidr_fmt (n->pod_cidr, c);
      if (running)
        table_row (&t, (const char *[]) { n->name, "Ready", role, ip, c, m->netns[n->netns].name });
      else
        table_row (&t, (const char *[]) { n->name, role, ip, c, m->netns[n->netns].name });
    }
  table_print (&t, out);
  table_free (&t);

  if (m->n_pods)
    {
      fputc ('\n', out);
      if (running)
        table_init (&t, (const char *[]) { "NAMESPACE", "NAME", "READY", "STATUS", "IP", "NODE", "APP", NULL });
      else
        table_init (&t, (const char *[]) { "NAMESPACE", "NAME", "IP", "NODE", "APP", NULL });
      for (size_t i = 0; i < m->n_pods; i++)
        {
          const struct model_pod *pod = &m->pods[pods[i]];
          const struct app_def *app = &pod->wl->app;
          char appdesc[64];
          if (app->kind == APP_HTTP)
            snprintf (appdesc, sizeof appdesc, "http-echo:%u", app->port);
          else if (app->kind == APP_COMMAND)
            snprintf (appdesc, sizeof appdesc, "command");
          else
            snprintf (appdesc, sizeof appdesc, "<none>");
          ip_fmt (pod->ip, ip);
          const char *node = m->nodes[pod->node].name;
          if (running)
            table_row (&t, (const char *[]) { pod->ns, pod->name, "1/1", "Running", ip, node, appdesc });
          else
            table_row (&t, (const char *[]) { pod->ns, pod->name, ip, node, appdesc });
        }
      table_print (&t, out);
      table_free (&t);
    }

  fputc ('\n', out);
  table_init (&t, (const char *[]) { "NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "SELECTOR",
                                     NULL });
  for (size_t i = 0; i < m->n_services; i++)
    {
      const struct model_service *s = &m->services[svcs[i]];
      struct strbuf ports, ext, sel;
      sb_init (&ports);
      sb_init (&ext);
      sb_init (&sel);
      format_ports (&ports, s);
      format_external_ip (&ext, s);
      format_selector (&sel, s->def);
      table_row (&t, (const char *[]) { s->ns, s->name, svc_type_name (s->type), ip_fmt (s->cluster_ip, ip), ext.buf,
                                        ports.buf, sel.buf });
      sb_free (&ports);
      sb_free (&ext);
      sb_free (&sel);
    }
  table_print (&t, out);
  table_free (&t);
}

void
plan_print_text (const struct plan *p, FILE *out)
{
  const struct model *m = p->model;
  const struct cluster_def *c = &m->sc->cluster;
  char a[CIDR_STRLEN], b[CIDR_STRLEN], ip[IP_STRLEN];
  fprintf (out, "# nslab plan: lab %s from %s\n", m->lab, m->sc->files[0]);
  fprintf (out, "# flavor %s, pod CIDR %s, service CIDR %s, cluster DNS %s (%s)\n\n", flavor_name (c->flavor),
           cidr_fmt (c->pod_cidr, a), cidr_fmt (c->service_cidr, b), ip_fmt (c->dns_ip, ip), c->dns_domain);
  plan_print_summary (m, false, out);

  fprintf (out, "\n## namespaces\n");
  for (size_t i = 0; i < p->n_ops; i++)
    if (p->ops[i].kind == OP_NETNS)
      fprintf (out, "ip netns add %s\n", m->netns[p->ops[i].ns].name);

  for (size_t ns = 0; ns < m->n_netns; ns++)
    {
      const struct model_netns *n = &m->netns[ns];
      fprintf (out, "\n## netns %s (%s", n->name, netns_kind_name (n->kind));
      if (n->kind == NETNS_NODE || n->kind == NETNS_NATROUTER)
        fprintf (out, " %s", m->nodes[n->owner].name);
      else if (n->kind == NETNS_POD)
        fprintf (out, " %s/%s on %s", m->pods[n->owner].ns, m->pods[n->owner].name,
                 m->nodes[m->pods[n->owner].node].name);
      fprintf (out, ")\n");
      for (size_t i = 0; i < p->n_ops; i++)
        {
          const struct plan_op *op = &p->ops[i];
          if (op->ns != (int) ns || op->kind == OP_NETNS)
            continue;
          struct strbuf sb;
          sb_init (&sb);
          format_op (&sb, m, op);
          fprintf (out, "%s\n", sb.buf);
          sb_free (&sb);
        }
      if (n->kind != NETNS_NATROUTER)
        print_expected_views (out, p, (int) ns);
    }
}

static void
json_str (struct strbuf *sb, const char *s)
{
  sb_add (sb, "\"");
  for (; s && *s; s++)
    {
      unsigned char ch = (unsigned char) *s;
      if (ch == '"' || ch == '\\')
        sb_addf (sb, "\\%c", ch);
      else if (ch == '\n')
        sb_add (sb, "\\n");
      else if (ch == '\t')
        sb_add (sb, "\\t");
      else if (ch < 0x20)
        sb_addf (sb, "\\u%04x", ch);
      else
        sb_addn (sb, (const char *) &ch, 1);
    }
  sb_add (sb, "\"");
}

static void
json_kv_str (struct strbuf *sb, const char *key, const char *value, bool comma)
{
  json_str (sb, key);
  sb_add (sb, ":");
  if (value)
    json_str (sb, value);
  else
    sb_add (sb, "null");
  if (comma)
    sb_add (sb, ",");
}

static void
json_op (struct strbuf *sb, const struct model *m, const struct plan_op *op)
{
  static const char *kinds[] = { "netns", "sysctl", "link", "link_set", "addr", "route", "neigh", "fdb", "iptables",
                                 "process" };
  char mac[18], ip[IP_STRLEN], c[CIDR_STRLEN];
  sb_add (sb, "{");
  json_kv_str (sb, "op", kinds[op->kind], true);
  json_kv_str (sb, "netns", m->netns[op->ns].name, true);
  switch (op->kind)
    {
    case OP_NETNS:
      json_kv_str (sb, "kind", netns_kind_name (m->netns[op->ns].kind), false);
      break;
    case OP_SYSCTL:
      json_kv_str (sb, "key", op->u.sysctl.key, true);
      json_kv_str (sb, "value", op->u.sysctl.value, false);
      break;
    case OP_LINK:
      {
        const struct plan_link *l = &op->u.link;
        static const char *lk[] = { "bridge", "veth", "vxlan" };
        json_kv_str (sb, "name", l->name, true);
        json_kv_str (sb, "type", lk[l->kind], true);
        json_kv_str (sb, "address", l->has_mac ? mac_fmt (l->mac, mac) : NULL, true);
        sb_addf (sb, "\"mtu\":%u", l->mtu);
        if (l->kind == LINK_VETH)
          {
            sb_add (sb, ",");
            json_kv_str (sb, "peer", l->peer_name, true);
            json_kv_str (sb, "peer_netns", m->netns[l->peer_ns].name, true);
            json_kv_str (sb, "peer_address", l->peer_has_mac ? mac_fmt (l->peer_mac, mac) : NULL, false);
          }
        else if (l->kind == LINK_VXLAN)
          {
            sb_addf (sb, ",\"vni\":%u,\"dstport\":%u,", l->vni, l->dstport);
            json_kv_str (sb, "local", ip_fmt (l->local, ip), true);
            json_kv_str (sb, "dev", l->dev, true);
            sb_addf (sb, "\"learning\":%s", l->learning ? "true" : "false");
          }
        break;
      }
    case OP_LINK_SET:
      json_kv_str (sb, "name", op->u.set.name, true);
      json_kv_str (sb, "master", op->u.set.master, true);
      sb_addf (sb, "\"hairpin\":%s,\"up\":%s", op->u.set.hairpin ? "true" : "false", op->u.set.up ? "true" : "false");
      break;
    case OP_ADDR:
      json_kv_str (sb, "dev", op->u.addr.dev, true);
      json_kv_str (sb, "address", cidr_fmt (op->u.addr.addr, c), true);
      sb_addf (sb, "\"metric\":%u", op->u.addr.metric);
      break;
    case OP_ROUTE:
      {
        const struct plan_route *r = &op->u.route;
        json_kv_str (sb, "dst", r->dst.len ? cidr_fmt (r->dst, c) : "default", true);
        json_kv_str (sb, "via", r->gw ? ip_fmt (r->gw, ip) : NULL, true);
        json_kv_str (sb, "dev", r->dev, true);
        json_kv_str (sb, "src", r->src ? ip_fmt (r->src, ip) : NULL, true);
        json_kv_str (sb, "protocol", rtprot_name (r->protocol), true);
        json_kv_str (sb, "scope", r->scope_link ? "link" : "global", true);
        sb_addf (sb, "\"metric\":%u,\"onlink\":%s", r->metric, r->onlink ? "true" : "false");
        break;
      }
    case OP_NEIGH:
      json_kv_str (sb, "dev", op->u.neigh.dev, true);
      json_kv_str (sb, "ip", ip_fmt (op->u.neigh.ip, ip), true);
      json_kv_str (sb, "lladdr", mac_fmt (op->u.neigh.lladdr, mac), false);
      break;
    case OP_FDB:
      json_kv_str (sb, "dev", op->u.fdb.dev, true);
      json_kv_str (sb, "lladdr", mac_fmt (op->u.fdb.lladdr, mac), true);
      json_kv_str (sb, "dst", ip_fmt (op->u.fdb.dst, ip), false);
      break;
    case OP_IPTABLES:
      json_kv_str (sb, "payload", op->u.ipt.payload, false);
      break;
    case OP_PROCESS:
      {
        const struct plan_process *pr = &op->u.proc;
        json_kv_str (sb, "title", pr->title, true);
        json_kv_str (sb, "hostname", pr->hostname, true);
        if (pr->app && pr->app->kind == APP_HTTP)
          sb_addf (sb, "\"app\":{\"type\":\"http\",\"port\":%u}", pr->app->port);
        else if (pr->app && pr->app->kind == APP_COMMAND)
          {
            sb_add (sb, "\"app\":{\"type\":\"command\",");
            json_kv_str (sb, "command", pr->app->command, false);
            sb_add (sb, "}");
          }
        else
          sb_add (sb, "\"app\":null");
        break;
      }
    }
  sb_add (sb, "}");
}

void
plan_print_json (const struct plan *p, FILE *out)
{
  const struct model *m = p->model;
  const struct cluster_def *cl = &m->sc->cluster;
  char ip[IP_STRLEN], c[CIDR_STRLEN];
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "{");
  json_kv_str (&sb, "lab", m->lab, true);
  json_kv_str (&sb, "scenario", m->sc->files[0], true);
  sb_add (&sb, "\"cluster\":{");
  json_kv_str (&sb, "flavor", flavor_name (cl->flavor), true);
  json_kv_str (&sb, "pod_cidr", cidr_fmt (cl->pod_cidr, c), true);
  json_kv_str (&sb, "service_cidr", cidr_fmt (cl->service_cidr, c), true);
  json_kv_str (&sb, "dns_ip", ip_fmt (cl->dns_ip, ip), true);
  json_kv_str (&sb, "dns_domain", cl->dns_domain, false);
  sb_add (&sb, "},\"nodes\":[");
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const struct model_node *n = &m->nodes[i];
      char mac[18];
      sb_add (&sb, i ? ",{" : "{");
      json_kv_str (&sb, "name", n->name, true);
      json_kv_str (&sb, "role", n->role == ROLE_CONTROL_PLANE ? "control-plane" : "worker", true);
      json_kv_str (&sb, "internal_ip", ip_fmt (n->internal_ip, ip), true);
      json_kv_str (&sb, "pod_cidr", cidr_fmt (n->pod_cidr, c), true);
      json_kv_str (&sb, "vtep_mac", mac_fmt (n->vtep_mac, mac), true);
      json_kv_str (&sb, "netns", m->netns[n->netns].name, true);
      sb_addf (&sb, "\"schedulable\":%s}", n->schedulable ? "true" : "false");
    }
  sb_add (&sb, "],\"pods\":[");
  for (size_t i = 0; i < m->n_pods; i++)
    {
      const struct model_pod *pod = &m->pods[i];
      sb_add (&sb, i ? ",{" : "{");
      json_kv_str (&sb, "namespace", pod->ns, true);
      json_kv_str (&sb, "name", pod->name, true);
      json_kv_str (&sb, "owner", workload_kind_name (pod->wl->kind), false);
      sb_add (&sb, ",");
      json_kv_str (&sb, "owner_name", pod->wl->name, true);
      json_kv_str (&sb, "ip", ip_fmt (pod->ip, ip), true);
      json_kv_str (&sb, "node", m->nodes[pod->node].name, true);
      json_kv_str (&sb, "host_veth", pod->host_veth, true);
      json_kv_str (&sb, "netns", m->netns[pod->netns].name, false);
      sb_add (&sb, "}");
    }
  sb_add (&sb, "],\"services\":[");
  for (size_t i = 0; i < m->n_services; i++)
    {
      const struct model_service *s = &m->services[i];
      sb_add (&sb, i ? ",{" : "{");
      json_kv_str (&sb, "namespace", s->ns, true);
      json_kv_str (&sb, "name", s->name, true);
      json_kv_str (&sb, "type", svc_type_name (s->type), true);
      json_kv_str (&sb, "cluster_ip", ip_fmt (s->cluster_ip, ip), true);
      sb_add (&sb, "\"ports\":[");
      for (size_t k = 0; k < s->n_ports; k++)
        {
          const struct model_svc_port *sp = &s->ports[k];
          sb_add (&sb, k ? ",{" : "{");
          json_kv_str (&sb, "name", sp->name, true);
          json_kv_str (&sb, "protocol", proto_name (sp->protocol), true);
          sb_addf (&sb, "\"port\":%u,\"target_port\":%u,\"node_port\":%u,\"endpoints\":[", sp->port, sp->target_port,
                   sp->node_port);
          for (size_t e = 0; e < sp->n_endpoints; e++)
            {
              char ep[32];
              snprintf (ep, sizeof ep, "%s:%u", ip_fmt (sp->endpoints[e].ip, ip), sp->endpoints[e].port);
              if (e)
                sb_add (&sb, ",");
              json_str (&sb, ep);
            }
          sb_add (&sb, "]}");
        }
      sb_add (&sb, "],\"load_balancer_ips\":[");
      for (size_t k = 0; k < s->n_lb_ips; k++)
        {
          if (k)
            sb_add (&sb, ",");
          json_str (&sb, ip_fmt (s->lb_ips[k], ip));
        }
      sb_add (&sb, "]}");
    }
  sb_add (&sb, "],\"namespaces\":[");
  for (size_t i = 0; i < m->n_netns; i++)
    {
      if (i)
        sb_add (&sb, ",");
      json_str (&sb, m->netns[i].name);
    }
  sb_add (&sb, "],\"ops\":[");
  for (size_t i = 0; i < p->n_ops; i++)
    {
      if (i)
        sb_add (&sb, ",\n");
      json_op (&sb, m, &p->ops[i]);
    }
  sb_add (&sb, "]}\n");
  fputs (sb.buf, out);
  sb_free (&sb);
}
