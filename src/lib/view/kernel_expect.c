/* The kernel's view of an applied plan (see kernel_expect.h). */
#include "view/kernel_expect.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "plan/op.h"

/* One line of the expected `ip -br addr` view of a namespace. */
struct view_link {
  const char *name;
  const char *state;
  int peer_pos;          /* veth: the other end's ifindex in its namespace (0 if none) */
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

/* ifindex the kernel gives the link that op upto_op creates in namespace ns
 * (peer_end: the veth's peer end): every namespace numbers its links on its
 * own, lo first. */
static int
ifindex_in_ns (const struct plan *p, const char *ns, size_t upto_op, bool peer_end)
{
  int idx = 1;
  for (size_t i = 0; i < p->n_ops && i <= upto_op; i++)
    {
      const struct plan_op *op = &p->ops[i];
      if (op->kind != OP_LINK)
        continue;
      /* veth_newlink registers the peer before the device itself. */
      bool here_peer = op->u.link.kind == LINK_VETH && strcmp (op->u.link.peer_ns, ns) == 0;
      bool here_dev = strcmp (op->ns, ns) == 0;
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

static void
collect_links (const struct plan *p, const char *ns, struct view_link **links, size_t *n_links)
{
  struct view_link *lo = VEC_PUSH (*links, *n_links);
  lo->name = "lo";
  lo->state = "UNKNOWN";
  snprintf (lo->addrs, sizeof lo->addrs, "127.0.0.1/8 ::1/128");
  for (size_t i = 0; i < p->n_ops; i++)
    {
      const struct plan_op *op = &p->ops[i];
      if (op->kind != OP_LINK)
        continue;
      const struct plan_link *pl = &op->u.link;
      /* The peer end registers first; list in ifindex order. */
      if (pl->kind == LINK_VETH && strcmp (pl->peer_ns, ns) == 0)
        {
          struct view_link *l = VEC_PUSH (*links, *n_links);
          l->name = pl->peer_name;
          l->state = "UP";
          l->peer_pos = ifindex_in_ns (p, op->ns, i, false);
          l->mac = pl->peer_has_mac ? pl->peer_mac : NULL;
        }
      if (strcmp (op->ns, ns) == 0)
        {
          struct view_link *l = VEC_PUSH (*links, *n_links);
          l->name = pl->name;
          l->state = pl->kind == LINK_VXLAN ? "UNKNOWN" : "UP";
          l->peer_pos = pl->kind == LINK_VETH ? ifindex_in_ns (p, pl->peer_ns, i, true) : 0;
          l->mac = pl->has_mac ? pl->mac : NULL;
        }
    }
}

void
kernel_expect_print (FILE *out, const struct plan *p, const char *ns)
{
  struct view_link *links = NULL;
  size_t n_links = 0;
  struct plan_route *kernel_routes = NULL;
  size_t n_kernel = 0;
  const struct plan_route **routes = NULL;
  size_t n_routes = 0;

  collect_links (p, ns, &links, &n_links);
  for (size_t i = 0; i < p->n_ops; i++)
    {
      const struct plan_op *op = &p->ops[i];
      if (op->kind != OP_ADDR || strcmp (op->ns, ns) != 0)
        continue;
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
      /* The kernel's connected route for the address's subnet. */
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
  for (size_t i = 0; i < p->n_ops; i++)
    if (p->ops[i].kind == OP_ROUTE && strcmp (p->ops[i].ns, ns) == 0)
      *VEC_PUSH (routes, n_routes) = &p->ops[i].u.route;
  for (size_t i = 0; i < n_kernel; i++)
    *VEC_PUSH (routes, n_routes) = &kernel_routes[i];
  if (n_routes)
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
      op_format_route (&sb, routes[i]);
      fprintf (out, "#   %s\n", sb.buf);
      sb_free (&sb);
    }
  /* cni_runtime = plugins: the plugins' part is their result, not the plan's. */
  for (size_t i = 0; i < p->n_ops; i++)
    {
      const struct plan_op *op = &p->ops[i];
      if (op->kind != OP_CNI || strcmp (op->u.cni.type, "bridge") != 0)
        continue;
      if (strcmp (op->ns, ns) == 0)
        {
          fprintf (out, "#   and what the bridge plugin's ADDs add: cni0 with the subnet's .1, a vethXXXXXXXX per pod\n");
          break;
        }
      if (strcmp (op->u.cni.pod_ns, ns) == 0)
        {
          char ip[IP_STRLEN];
          fprintf (out, "#   and what the bridge plugin's ADD adds: eth0 with %s, host-local's routes\n",
                   ip_fmt (op->u.cni.expect_ip, ip));
          break;
        }
    }
  free (links);
  free (kernel_routes);
  free (routes);
}
