/* The op table (see op.h): each kind's text, JSON and free, side by side. */
#include "plan/op.h"

#include <assert.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "k8s/objects.h"

static const char *const netns_kind_names[] = { [PLAN_NETNS_LABHOST] = "lab host", [PLAN_NETNS_NODE] = "node",
                                                [PLAN_NETNS_NATROUTER] = "NAT router", [PLAN_NETNS_POD] = "pod" };
static const char *const link_kind_names[] = { [LINK_BRIDGE] = "bridge", [LINK_VETH] = "veth", [LINK_VXLAN] = "vxlan" };
static const char *const rtprot_names[] = { [RTPROT_UNSPEC] = "unspec", [RTPROT_KERNEL] = "kernel",
                                            [RTPROT_BOOT] = "boot", [RTPROT_STATIC] = "static",
                                            [RTPROT_DHCP] = "dhcp" };
static const char *const app_kind_names[] = { [APP_NONE] = "none", [APP_HTTP] = "http", [APP_COMMAND] = "command",
                                                 [APP_DNS] = "dns", [APP_KUBE_PROXY] = "kube-proxy" };
static const char *const owner_kind_names[] = { [OBJ_NONE] = "none", [OBJ_NODE] = "node", [OBJ_POD] = "pod" };
static const char *const restart_policy_names[]
    = { [RESTART_ALWAYS] = "Always", [RESTART_ON_FAILURE] = "OnFailure", [RESTART_NEVER] = "Never" };

static void
free_strv (char **v)
{
  for (char **e = v; e && *e; e++)
    free (*e);
  free (v);
}

/* ---- netns ------------------------------------------------------------ */

static void
netns_describe (struct strbuf *sb, const struct plan_op *op)
{
  sb_addf (sb, "ip netns add %s", op->ns);
}

/* {kind, namespace, name}: the object a namespace or process belongs to
 * (read back by read_owner). */
static void
owner_to_json (struct json_out *o, const struct obj_ref *ref)
{
  struct json_out sub;
  jo_open_object (o, "owner", true, &sub);
  jo_str (&sub, "kind", ENUM_NAME (owner_kind_names, ref->kind));
  jo_str_or_null (&sub, "namespace", ref->ns);
  jo_str (&sub, "name", ref->name);
  jo_close (&sub);
}

static void
netns_to_json (const struct plan_op *op, struct json_out *o)
{
  const struct plan_netns *n = &op->u.netns;
  jo_str (o, "kind", ENUM_NAME (netns_kind_names, n->kind));
  if (n->owner.kind == OBJ_NONE)
    jo_null (o, "owner");
  else
    owner_to_json (o, &n->owner);
  jo_str_or_null (o, "node", n->node);
}

static int
read_owner (struct json_reader *r, const json_t *o, struct obj_ref *ref)
{
  const json_t *j = json_object_get (o, "owner");
  ref->kind = OBJ_NONE;
  if (j == NULL || json_is_null (j))
    return 0;
  if (!json_is_object (j) || JR_ENUM (r, j, "kind", owner_kind_names, &ref->kind) < 0
      || jr_str (r, j, "namespace", true, &ref->ns) < 0 || jr_str (r, j, "name", false, &ref->name) < 0)
    return jr_bad (r, "owner", "not a {kind, namespace, name} reference");
  return 0;
}

static int
netns_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  struct plan_netns *n = &op->u.netns;
  if (JR_ENUM (&r, o, "kind", netns_kind_names, &n->kind) < 0 || read_owner (&r, o, &n->owner) < 0
      || jr_str (&r, o, "node", true, &n->node) < 0)
    return -1;
  return 0;
}

static void
netns_free (struct plan_op *op)
{
  free (op->u.netns.owner.ns);
  free (op->u.netns.owner.name);
  free (op->u.netns.node);
}

/* ---- sysctl ----------------------------------------------------------- */

static void
sysctl_describe (struct strbuf *sb, const struct plan_op *op)
{
  sb_addf (sb, "sysctl -w %s=%s", op->u.sysctl.key, op->u.sysctl.value);
}

static void
sysctl_to_json (const struct plan_op *op, struct json_out *o)
{
  jo_str (o, "key", op->u.sysctl.key);
  jo_str (o, "value", op->u.sysctl.value);
}

static int
sysctl_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  return jr_str (&r, o, "key", false, &op->u.sysctl.key) < 0 || jr_str (&r, o, "value", false, &op->u.sysctl.value) < 0
             ? -1
             : 0;
}

static void
sysctl_free (struct plan_op *op)
{
  free (op->u.sysctl.key);
  free (op->u.sysctl.value);
}

/* ---- link ------------------------------------------------------------- */

static void
link_describe (struct strbuf *sb, const struct plan_op *op)
{
  const struct plan_link *l = &op->u.link;
  char mac[MAC_STRLEN], ip[IP_STRLEN];
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
      sb_addf (sb, "%s type veth peer name %s", l->no_queue ? " txqueuelen 0" : "", l->peer_name);
      if (l->peer_has_mac)
        sb_addf (sb, " address %s", mac_fmt (l->peer_mac, mac));
      if (l->no_queue)
        sb_add (sb, " txqueuelen 0");
      sb_addf (sb, " netns %s", l->peer_ns);
      break;
    case LINK_VXLAN:
      sb_addf (sb, " type vxlan id %u local %s dev %s dstport %u%s", l->vni, ip_fmt (l->local, ip), l->dev,
               l->dstport, l->learning ? "" : " nolearning");
      break;
    }
}

static void
link_to_json (const struct plan_op *op, struct json_out *o)
{
  const struct plan_link *l = &op->u.link;
  jo_str (o, "name", l->name);
  jo_str (o, "type", ENUM_NAME (link_kind_names, l->kind));
  jo_mac_or_null (o, "address", l->has_mac ? l->mac : NULL);
  jo_int (o, "mtu", l->mtu);
  if (l->kind == LINK_VETH)
    {
      jo_str (o, "peer", l->peer_name);
      jo_str (o, "peer_netns", l->peer_ns);
      jo_mac_or_null (o, "peer_address", l->peer_has_mac ? l->peer_mac : NULL);
      if (l->no_queue)
        jo_int (o, "txqueuelen", 0);
    }
  else if (l->kind == LINK_VXLAN)
    {
      jo_int (o, "vni", l->vni);
      jo_int (o, "dstport", l->dstport);
      jo_ip (o, "local", l->local);
      jo_str (o, "dev", l->dev);
      jo_bool (o, "learning", l->learning);
    }
}

/* An optional MAC: null means the kernel picks one. */
static int
read_opt_mac (struct json_reader *r, const json_t *o, const char *key, uint8_t mac[6], bool *has)
{
  const json_t *v = json_object_get (o, key);
  *has = v != NULL && !json_is_null (v);
  return *has ? jr_mac (r, o, key, mac) : 0;
}

static int
link_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  struct plan_link *l = &op->u.link;
  if (jr_str (&r, o, "name", false, &l->name) < 0 || JR_ENUM (&r, o, "type", link_kind_names, &l->kind) < 0
      || read_opt_mac (&r, o, "address", l->mac, &l->has_mac) < 0 || jr_uint (&r, o, "mtu", 65535, &l->mtu) < 0)
    return -1;
  if (l->kind == LINK_VETH)
    {
      /* txqueuelen: absent = the kernel's default; only 0 is written. */
      uint32_t qlen = 1;
      if (jr_str (&r, o, "peer", false, &l->peer_name) < 0 || jr_str (&r, o, "peer_netns", false, &l->peer_ns) < 0
          || read_opt_mac (&r, o, "peer_address", l->peer_mac, &l->peer_has_mac) < 0
          || (json_object_get (o, "txqueuelen") && jr_uint (&r, o, "txqueuelen", 0, &qlen) < 0))
        return -1;
      l->no_queue = qlen == 0;
      return 0;
    }
  if (l->kind == LINK_VXLAN)
    return jr_uint (&r, o, "vni", 0xffffff, &l->vni) < 0 || jr_u16 (&r, o, "dstport", &l->dstport) < 0
                   || jr_ip (&r, o, "local", &l->local) < 0 || jr_str (&r, o, "dev", false, &l->dev) < 0
                   || jr_bool (&r, o, "learning", &l->learning) < 0
               ? -1
               : 0;
  return 0;
}

static void
link_free (struct plan_op *op)
{
  free (op->u.link.name);
  free (op->u.link.peer_name);
  free (op->u.link.peer_ns);
  free (op->u.link.dev);
}

/* ---- link set ---------------------------------------------------------- */

static void
link_set_describe (struct strbuf *sb, const struct plan_op *op)
{
  const struct plan_link_set *s = &op->u.set;
  sb_addf (sb, "ip link set %s", s->name);
  if (s->master)
    sb_addf (sb, " master %s", s->master);
  if (s->up)
    sb_add (sb, " up");
  if (s->hairpin)
    sb_addf (sb, "\nbridge link set dev %s hairpin on", s->name);
}

static void
link_set_to_json (const struct plan_op *op, struct json_out *o)
{
  const struct plan_link_set *s = &op->u.set;
  jo_str (o, "name", s->name);
  jo_str_or_null (o, "master", s->master);
  jo_bool (o, "hairpin", s->hairpin);
  jo_bool (o, "up", s->up);
}

static int
link_set_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  struct plan_link_set *s = &op->u.set;
  return jr_str (&r, o, "name", false, &s->name) < 0 || jr_str (&r, o, "master", true, &s->master) < 0
                 || jr_bool (&r, o, "hairpin", &s->hairpin) < 0 || jr_bool (&r, o, "up", &s->up) < 0
             ? -1
             : 0;
}

static void
link_set_free (struct plan_op *op)
{
  free (op->u.set.name);
  free (op->u.set.master);
}

/* ---- addr ------------------------------------------------------------- */

static void
addr_describe (struct strbuf *sb, const struct plan_op *op)
{
  char c[CIDR_STRLEN];
  sb_addf (sb, "ip addr add %s dev %s", cidr_fmt (op->u.addr.addr, c), op->u.addr.dev);
  if (op->u.addr.metric)
    sb_addf (sb, " metric %u", op->u.addr.metric);
}

static void
addr_to_json (const struct plan_op *op, struct json_out *o)
{
  jo_str (o, "dev", op->u.addr.dev);
  jo_cidr (o, "address", op->u.addr.addr);
  jo_int (o, "metric", op->u.addr.metric);
}

static int
addr_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  struct plan_addr *a = &op->u.addr;
  return jr_str (&r, o, "dev", false, &a->dev) < 0 || jr_cidr (&r, o, "address", &a->addr) < 0
                 || jr_uint (&r, o, "metric", UINT32_MAX, &a->metric) < 0
             ? -1
             : 0;
}

static void
addr_free (struct plan_op *op)
{
  free (op->u.addr.dev);
}

/* ---- route ------------------------------------------------------------ */

void
op_format_route (struct strbuf *sb, const struct plan_route *r)
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
  /* proto boot is what `ip route add` uses, and ip route omits it. */
  if (r->protocol != RTPROT_BOOT)
    sb_addf (sb, " proto %s", ENUM_NAME (rtprot_names, r->protocol));
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
route_describe (struct strbuf *sb, const struct plan_op *op)
{
  sb_add (sb, "ip route add ");
  op_format_route (sb, &op->u.route);
}

static void
route_to_json (const struct plan_op *op, struct json_out *o)
{
  const struct plan_route *r = &op->u.route;
  if (r->dst.len)
    jo_cidr (o, "dst", r->dst);
  else
    jo_str (o, "dst", "default");
  jo_ip_or_null (o, "via", r->gw);
  jo_str (o, "dev", r->dev);
  jo_ip_or_null (o, "src", r->src);
  jo_str (o, "protocol", ENUM_NAME (rtprot_names, r->protocol));
  jo_str (o, "scope", r->scope_link ? "link" : "global");
  jo_int (o, "metric", r->metric);
  jo_bool (o, "onlink", r->onlink);
}

static int
route_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  struct plan_route *rt = &op->u.route;
  const char *dst = json_string_value (json_object_get (o, "dst"));
  const char *scope = json_string_value (json_object_get (o, "scope"));
  if (dst == NULL || (strcmp (dst, "default") != 0 && !cidr_parse (dst, &rt->dst, false)))
    return jr_bad (&r, "dst", "missing or not \"default\" or an IPv4 CIDR");
  if (scope == NULL || (strcmp (scope, "link") != 0 && strcmp (scope, "global") != 0))
    return jr_bad (&r, "scope", "missing or not \"link\" or \"global\"");
  rt->scope_link = strcmp (scope, "link") == 0;
  return jr_ip_or_null (&r, o, "via", &rt->gw) < 0 || jr_str (&r, o, "dev", false, &rt->dev) < 0
                 || jr_ip_or_null (&r, o, "src", &rt->src) < 0
                 || JR_ENUM (&r, o, "protocol", rtprot_names, &rt->protocol) < 0
                 || jr_uint (&r, o, "metric", UINT32_MAX, &rt->metric) < 0
                 || jr_bool (&r, o, "onlink", &rt->onlink) < 0
             ? -1
             : 0;
}

static void
route_free (struct plan_op *op)
{
  free (op->u.route.dev);
}

/* ---- neigh and fdb ---------------------------------------------------- */

static void
neigh_describe (struct strbuf *sb, const struct plan_op *op)
{
  char mac[MAC_STRLEN], ip[IP_STRLEN];
  sb_addf (sb, "ip neigh add %s lladdr %s dev %s nud permanent", ip_fmt (op->u.neigh.ip, ip),
           mac_fmt (op->u.neigh.lladdr, mac), op->u.neigh.dev);
}

static void
neigh_to_json (const struct plan_op *op, struct json_out *o)
{
  jo_str (o, "dev", op->u.neigh.dev);
  jo_ip (o, "ip", op->u.neigh.ip);
  jo_mac (o, "lladdr", op->u.neigh.lladdr);
}

static int
neigh_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  struct plan_neigh *n = &op->u.neigh;
  return jr_str (&r, o, "dev", false, &n->dev) < 0 || jr_ip (&r, o, "ip", &n->ip) < 0
                 || jr_mac (&r, o, "lladdr", n->lladdr) < 0
             ? -1
             : 0;
}

static void
neigh_free (struct plan_op *op)
{
  free (op->u.neigh.dev);
}

static void
fdb_describe (struct strbuf *sb, const struct plan_op *op)
{
  char mac[MAC_STRLEN], ip[IP_STRLEN];
  sb_addf (sb, "bridge fdb append %s dev %s dst %s self permanent", mac_fmt (op->u.fdb.lladdr, mac), op->u.fdb.dev,
           ip_fmt (op->u.fdb.dst, ip));
}

static void
fdb_to_json (const struct plan_op *op, struct json_out *o)
{
  jo_str (o, "dev", op->u.fdb.dev);
  jo_mac (o, "lladdr", op->u.fdb.lladdr);
  jo_ip (o, "dst", op->u.fdb.dst);
}

static int
fdb_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  struct plan_fdb *f = &op->u.fdb;
  return jr_str (&r, o, "dev", false, &f->dev) < 0 || jr_mac (&r, o, "lladdr", f->lladdr) < 0
                 || jr_ip (&r, o, "dst", &f->dst) < 0
             ? -1
             : 0;
}

static void
fdb_free (struct plan_op *op)
{
  free (op->u.fdb.dev);
}

/* ---- iptables --------------------------------------------------------- */

static void
iptables_describe (struct strbuf *sb, const struct plan_op *op)
{
  sb_addf (sb, "iptables-restore --noflush <<'EOF'\n%sEOF", op->u.ipt.payload);
}

static void
iptables_to_json (const struct plan_op *op, struct json_out *o)
{
  jo_str (o, "payload", op->u.ipt.payload);
}

static int
iptables_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  return jr_str (&r, o, "payload", false, &op->u.ipt.payload);
}

static void
iptables_free (struct plan_op *op)
{
  free (op->u.ipt.payload);
}

/* ---- nftables --------------------------------------------------------- */

static void
nftables_describe (struct strbuf *sb, const struct plan_op *op)
{
  sb_addf (sb, "nft -f - <<'EOF'\n%sEOF", op->u.nft.payload);
}

static void
nftables_to_json (const struct plan_op *op, struct json_out *o)
{
  jo_str (o, "payload", op->u.nft.payload);
}

static int
nftables_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  return jr_str (&r, o, "payload", false, &op->u.nft.payload);
}

static void
nftables_free (struct plan_op *op)
{
  free (op->u.nft.payload);
}

/* ---- process ---------------------------------------------------------- */

static void
process_describe (struct strbuf *sb, const struct plan_op *op)
{
  const struct plan_process *pr = &op->u.proc;
  sb_addf (sb, "# process: %s (hostname %s", pr->title, pr->hostname);
  if (pr->app.kind == APP_HTTP)
    sb_addf (sb, ", app: HTTP echo on port %u", pr->app.port);
  else if (pr->app.kind == APP_COMMAND)
    sb_addf (sb, ", app: %s", pr->app.command);
  else if (pr->app.kind == APP_DNS)
    sb_addf (sb, ", app: cluster DNS on port %u", pr->app.port);
  else if (pr->app.kind == APP_KUBE_PROXY)
    sb_addf (sb, ", app: kube-proxy health servers: %s", pr->app.command);
  if (pr->privileged)
    sb_add (sb, ", privileged");
  for (unsigned n = 0; n < 64; n++)
    if ((pr->cap_add >> n) & 1 && capability_name (n))
      sb_addf (sb, ", +%s", capability_name (n));
  if (pr->restart_policy != RESTART_ALWAYS)
    sb_addf (sb, ", restart %s", ENUM_NAME (restart_policy_names, pr->restart_policy));
  sb_add (sb, ")");
  if (pr->node_netns)
    sb_addf (sb, "\n#   on node %s: /run/netns/%s, in its mount namespace only", pr->node, pr->node_netns);
  /* Comments, as the process line is: the files exist in the process's
   * mount namespace only, so the plan must not read as writing them. */
  for (char *const *f = pr->files; f && f[0] && f[1]; f += 2)
    {
      sb_addf (sb, "\n#   in its mount namespace only, %s:", f[0]);
      for (const char *line = f[1]; *line;)
        {
          size_t len = strcspn (line, "\n");
          sb_add (sb, "\n#     ");
          sb_addn (sb, line, len);
          line += len + (line[len] == '\n');
        }
    }
}

static void
files_to_json (struct json_out *o, char *const *files)
{
  if (files == NULL)
    {
      jo_null (o, "files");
      return;
    }
  struct json_out a, f;
  jo_open_array (o, "files", &a);
  for (char *const *pc = files; pc[0] && pc[1]; pc += 2)
    {
      jo_open_object (&a, NULL, true, &f);
      jo_str (&f, "path", pc[0]);
      jo_str (&f, "content", pc[1]);
      jo_close (&f);
    }
  jo_close (&a);
}

/* [{"path": "/etc/...", "content": "..."}] back into path, content pairs. */
static int
files_from_json (struct json_reader *r, const json_t *o, char ***out)
{
  *out = NULL;
  const json_t *a = json_object_get (o, "files");
  if (a == NULL || json_is_null (a))
    return 0;
  if (!json_is_array (a))
    return jr_bad (r, "files", "not an array");
  size_t n = json_array_size (a);
  char **v = xcalloc (2 * n + 1, sizeof *v);
  *out = v;
  for (size_t i = 0; i < n; i++)
    {
      const json_t *f = json_array_get (a, i);
      jr_at (r, "files", i);
      if (!json_is_object (f))
        return jr_bad (r, "path", "missing");
      if (jr_str (r, f, "path", false, &v[2 * i]) < 0 || jr_str (r, f, "content", false, &v[2 * i + 1]) < 0)
        return -1;
      if (v[2 * i][0] != '/')
        return jr_bad (r, "path", "not absolute");
    }
  jr_at (r, NULL, 0);
  return 0;
}

static void
process_to_json (const struct plan_op *op, struct json_out *o)
{
  const struct plan_process *pr = &op->u.proc;
  owner_to_json (o, &pr->owner);
  jo_str (o, "node", pr->node);
  jo_str (o, "title", pr->title);
  jo_str (o, "hostname", pr->hostname);
  if (pr->app.kind == APP_HTTP || pr->app.kind == APP_DNS || pr->app.kind == APP_COMMAND
      || pr->app.kind == APP_KUBE_PROXY)
    {
      struct json_out app;
      jo_open_object (o, "app", true, &app);
      jo_str (&app, "type", app_kind_names[pr->app.kind]);
      if (pr->app.kind == APP_HTTP || pr->app.kind == APP_DNS)
        {
          jo_int (&app, "port", (json_int_t) pr->app.port);
          if (pr->app.dns_domain)
            jo_str (&app, "domain", pr->app.dns_domain);
        }
      else
        {
          jo_str (&app, "command", pr->app.command);
          jo_strv (&app, "argv", pr->app.argv);
          if (pr->app.ready_fd)
            jo_bool (&app, "ready_fd", true);
        }
      jo_close (&app);
    }
  else
    jo_null (o, "app");
  jo_strv (o, "env", pr->env);
  jo_str_or_null (o, "etc_hosts", pr->etc_hosts);
  jo_str_or_null (o, "resolv_conf", pr->resolv_conf);
  files_to_json (o, pr->files);
  jo_bool (o, "privileged", pr->privileged);
  if (pr->cap_add)
    capabilities_member (o, pr->cap_add);
  jo_str (o, "restart_policy", ENUM_NAME (restart_policy_names, pr->restart_policy));
  jo_str_or_null (o, "node_netns", pr->node_netns);
}

/* A path component under the node's /run/netns, never a way out of it. */
static bool
node_netns_name_ok (const char *name)
{
  return strncmp (name, "cni-", 4) == 0 && strchr (name, '/') == NULL && strcmp (name, "cni-") != 0;
}

static int
process_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  struct plan_process *pr = &op->u.proc;
  if (read_owner (&r, o, &pr->owner) < 0 || jr_str (&r, o, "node", false, &pr->node) < 0
      || jr_str (&r, o, "title", false, &pr->title) < 0 || jr_str (&r, o, "hostname", false, &pr->hostname) < 0
      || jr_strv (&r, o, "env", true, &pr->env) < 0 || jr_str (&r, o, "etc_hosts", true, &pr->etc_hosts) < 0
      || jr_str (&r, o, "resolv_conf", true, &pr->resolv_conf) < 0 || files_from_json (&r, o, &pr->files) < 0
      || jr_bool (&r, o, "privileged", &pr->privileged) < 0
      || JR_ENUM (&r, o, "restart_policy", restart_policy_names, &pr->restart_policy) < 0
      || (json_object_get (o, "node_netns") && jr_str (&r, o, "node_netns", true, &pr->node_netns) < 0)
      || capabilities_from_json (json_object_get (o, "capabilities"), &pr->cap_add, err) < 0)
    return -1;
  if (pr->node_netns && !node_netns_name_ok (pr->node_netns))
    return jr_bad (&r, "node_netns", "not a cni-... name");
  if (pr->owner.kind != OBJ_NODE && pr->owner.kind != OBJ_POD)
    return jr_bad (&r, "owner", "not a node or a pod");
  const json_t *app = json_object_get (o, "app");
  if (app == NULL || json_is_null (app))
    return 0;
  snprintf (r.where, sizeof r.where, "app");
  if (!json_is_object (app) || JR_ENUM (&r, app, "type", app_kind_names, &pr->app.kind) < 0)
    return -1;
  if (pr->app.kind == APP_DNS && json_object_get (app, "domain")
      && jr_str (&r, app, "domain", false, &pr->app.dns_domain) < 0)
    return -1;
  if (pr->app.kind == APP_HTTP || pr->app.kind == APP_DNS)
    return jr_u16 (&r, app, "port", &pr->app.port);
  if (pr->app.kind == APP_COMMAND || pr->app.kind == APP_KUBE_PROXY)
    {
      if (jr_str (&r, app, "command", false, &pr->app.command) < 0 || jr_strv (&r, app, "argv", false, &pr->app.argv) < 0)
        return -1;
      if (pr->app.argv[0] == NULL)
        return jr_bad (&r, "argv", "empty");
      if (pr->app.kind == APP_COMMAND && json_object_get (app, "ready_fd")
          && jr_bool (&r, app, "ready_fd", &pr->app.ready_fd) < 0)
        return -1;
    }
  return 0;
}

static void
process_free (struct plan_op *op)
{
  struct plan_process *pr = &op->u.proc;
  free (pr->owner.ns);
  free (pr->owner.name);
  free (pr->node);
  free (pr->title);
  free (pr->hostname);
  free (pr->app.command);
  free (pr->app.dns_domain);
  free_strv (pr->app.argv);
  free_strv (pr->env);
  free (pr->etc_hosts);
  free (pr->resolv_conf);
  free_strv (pr->files);
  free (pr->node_netns);
}

/* ---- cni -------------------------------------------------------------- */

static void
cni_describe (struct strbuf *sb, const struct plan_op *op)
{
  const struct plan_cni *c = &op->u.cni;
  sb_addf (sb, "CNI_COMMAND=ADD CNI_CONTAINERID=%s CNI_NETNS=%s/%s CNI_IFNAME=%s CNI_ARGS='%s' "
               "CNI_PATH=" PLAN_CNI_PATH " " PLAN_CNI_PATH "/%s <<<'%s'",
           c->container_id, c->node_netns ? PLAN_NODE_NETNS_DIR : "/run/netns",
           c->node_netns ? c->node_netns : c->pod_ns, c->ifname, c->args, c->type, c->config);
}

static void
cni_to_json (const struct plan_op *op, struct json_out *o)
{
  const struct plan_cni *c = &op->u.cni;
  jo_str (o, "pod_netns", c->pod_ns);
  jo_str_or_null (o, "node_netns", c->node_netns);
  jo_str (o, "container_id", c->container_id);
  jo_str (o, "ifname", c->ifname);
  jo_str (o, "args", c->args);
  jo_str (o, "type", c->type);
  jo_str (o, "network", c->network);
  jo_str (o, "config", c->config);
  jo_ip_or_null (o, "expect_ip", c->expect_ip);
}

static int
cni_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  struct plan_cni *c = &op->u.cni;
  return jr_str (&r, o, "pod_netns", false, &c->pod_ns) < 0
                 || jr_str (&r, o, "container_id", false, &c->container_id) < 0
                 || jr_str (&r, o, "ifname", false, &c->ifname) < 0 || jr_str (&r, o, "args", false, &c->args) < 0
                 || jr_str (&r, o, "type", false, &c->type) < 0 || jr_str (&r, o, "network", false, &c->network) < 0
                 || jr_str (&r, o, "config", false, &c->config) < 0
                 || jr_ip_or_null (&r, o, "expect_ip", &c->expect_ip) < 0
                 || (json_object_get (o, "node_netns") && jr_str (&r, o, "node_netns", true, &c->node_netns) < 0)
                 || (c->node_netns && !node_netns_name_ok (c->node_netns)
                     && jr_bad (&r, "node_netns", "not a cni-... name") < 0)
             ? -1
             : 0;
}

static void
cni_free (struct plan_op *op)
{
  struct plan_cni *c = &op->u.cni;
  free (c->pod_ns);
  free (c->node_netns);
  free (c->container_id);
  free (c->ifname);
  free (c->args);
  free (c->type);
  free (c->network);
  free (c->config);
}

/* ---- nfacct ----------------------------------------------------------- */

static void
nfacct_describe (struct strbuf *sb, const struct plan_op *op)
{
  sb_addf (sb, "nfacct add %s", op->u.nfacct.name);
}

static void
nfacct_to_json (const struct plan_op *op, struct json_out *o)
{
  jo_str (o, "name", op->u.nfacct.name);
}

static int
nfacct_from_json (const json_t *o, struct plan_op *op, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  return jr_str (&r, o, "name", false, &op->u.nfacct.name) < 0 ? -1 : 0;
}

static void
nfacct_free (struct plan_op *op)
{
  free (op->u.nfacct.name);
}

/* ---- the table -------------------------------------------------------- */

#define OP_ROW(kind, name, prefix) \
  [kind] = { name, prefix##_describe, prefix##_to_json, prefix##_from_json, prefix##_free }

static const struct op_type op_types[] = {
  OP_ROW (OP_NETNS, "netns", netns),
  OP_ROW (OP_SYSCTL, "sysctl", sysctl),
  OP_ROW (OP_LINK, "link", link),
  OP_ROW (OP_LINK_SET, "link_set", link_set),
  OP_ROW (OP_ADDR, "addr", addr),
  OP_ROW (OP_ROUTE, "route", route),
  OP_ROW (OP_NEIGH, "neigh", neigh),
  OP_ROW (OP_FDB, "fdb", fdb),
  OP_ROW (OP_IPTABLES, "iptables", iptables),
  OP_ROW (OP_NFTABLES, "nftables", nftables),
  OP_ROW (OP_PROCESS, "process", process),
  OP_ROW (OP_CNI, "cni", cni),
  OP_ROW (OP_NFACCT, "nfacct", nfacct),
};
static_assert (sizeof op_types / sizeof op_types[0] == OP__COUNT, "one op_types row per enum plan_op_kind");

const struct op_type *
op_type (enum plan_op_kind kind)
{
  return (size_t) kind < OP__COUNT ? &op_types[kind] : NULL;
}

char *
op_describe (const struct plan_op *op)
{
  struct strbuf sb;
  sb_init (&sb);
  op_describe_to (&sb, op);
  return sb_steal (&sb);
}

void
op_describe_to (struct strbuf *sb, const struct plan_op *op)
{
  op_types[op->kind].describe (sb, op);
}

void
op_free (struct plan_op *op)
{
  op_types[op->kind].free (op);
  free (op->ns);
}
