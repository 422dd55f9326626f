/* The running lab against its plan (see verify.h). */
#include "apply/verify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "kernel/iptables.h"
#include "kernel/link.h"
#include "kernel/netns.h"
#include "kernel/nftables.h"
#include "kernel/rtnl.h"

static void
add (struct verify_finding **f, size_t *n, const char *ns, char *what)
{
  struct verify_finding *x = VEC_PUSH (*f, *n);
  x->netns = xstrdup (ns);
  x->what = what;
}

/* Is the link there? Only "no such device" is a finding; any other failure
 * to ask is an error. */
static int
check_link (const char *ns, const char *name, struct verify_finding **f, size_t *n, nslab_error_t *err)
{
  nslab_error_t e = NULL;
  if (link_sync (ns, name, &e) == 0)
    return 0;
  if (e->status == ENODEV)
    {
      nslab_error_free (&e);
      add (f, n, ns, xasprintf ("link %s is missing", name));
      return 0;
    }
  nslab_error_keep_first (err, &e);
  return nslab_error_wrap (err, "%s", ns);
}

static bool
declared (const char *saved, const char *chain)
{
  size_t len = strlen (chain);
  for (const char *l = saved; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    if (l[0] == ':' && strncmp (l + 1, chain, len) == 0 && l[1 + len] == ' ')
      return true;
  return false;
}

static size_t
count_rules (const char *text)
{
  size_t n = 0;
  for (const char *l = text; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    n += strncmp (l, "-A ", 3) == 0;
  return n;
}

/* One table of a payload ("*nat" up to its COMMIT) against iptables-save. */
static int
check_table (const char *ns, const char *table, const char *section, struct verify_finding **f, size_t *n,
             nslab_error_t *err)
{
  cleanup_free char *saved = NULL;
  if (iptables_save (ns, table, &saved, err) < 0)
    return -1;
  size_t missing = 0;
  cleanup_free char *first = NULL;
  for (const char *l = section; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    {
      if (l[0] != ':')
        continue;
      cleanup_free char *chain = xstrndup (l + 1, strcspn (l + 1, " \n"));
      if (declared (saved, chain))
        continue;
      if (missing++ == 0)
        first = xstrdup (chain);
    }
  if (missing)
    add (f, n, ns, missing == 1 ? xasprintf ("%s table: chain %s is missing", table, first)
                                : xasprintf ("%s table: chain %s and %zu more are missing", table, first, missing - 1));
  /* Others may add rules (a learner's, a tool's); none of ours may go. */
  size_t want = count_rules (section), have = count_rules (saved);
  if (have < want)
    add (f, n, ns, xasprintf ("%s table: %zu of its %zu rules are missing", table, want - have, want));
  return 0;
}

static int
check_payload (const char *ns, const char *payload, struct verify_finding **f, size_t *n, nslab_error_t *err)
{
  for (const char *t = strchr (payload, '*'); t; t = strstr (t + 1, "\n*"))
    {
      if (*t == '\n')
        t++;
      cleanup_free char *table = xstrndup (t + 1, strcspn (t + 1, "\n"));
      const char *end = strstr (t, "\nCOMMIT");
      cleanup_free char *section = xstrndup (t, end ? (size_t) (end - t) : strlen (t));
      if (check_table (ns, table, section, f, n, err) < 0)
        return -1;
    }
  return 0;
}

/* kube-proxy's nftables table: there, with every chain the payload adds. */
static int
check_nft_payload (const char *ns, const char *payload, struct verify_finding **f, size_t *n, nslab_error_t *err)
{
  static const char add_chain[] = "add chain ip kube-proxy ";
  cleanup_free char *listed_table = NULL;
  nslab_error_t e = NULL;
  if (nftables_list (ns, "list table ip kube-proxy", &listed_table, &e) < 0)
    {
      /* Only "no such table" is a finding; failing to ask is an error. */
      if (!netns_exists (ns))
        {
          nslab_error_keep_first (err, &e);
          return nslab_error_wrap (err, "%s", ns);
        }
      nslab_error_free (&e);
      add (f, n, ns, xstrdup ("nftables table ip kube-proxy is missing"));
      return 0;
    }
  size_t missing = 0;
  cleanup_free char *first = NULL;
  for (const char *l = payload; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    {
      if (strncmp (l, add_chain, sizeof add_chain - 1) != 0)
        continue;
      const char *name = l + sizeof add_chain - 1;
      cleanup_free char *chain = xstrndup (name, strcspn (name, " \n"));
      cleanup_free char *want = xasprintf ("\tchain %s {\n", chain);
      if (strstr (listed_table, want))
        continue;
      if (missing++ == 0)
        first = xstrdup (chain);
    }
  if (missing)
    add (f, n, ns, missing == 1 ? xasprintf ("nftables: chain %s is missing", first)
                                : xasprintf ("nftables: chain %s and %zu more are missing", first, missing - 1));
  return 0;
}

static bool
listed (char **v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

int
verify_plan (const struct plan *p, struct verify_finding **out, size_t *n, nslab_error_t *err)
{
  struct verify_finding *f = NULL;
  size_t nf = 0;
  char **gone = NULL;
  size_t n_gone = 0;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < p->n_ops; i++)
    {
      const struct plan_op *op = &p->ops[i];
      if (op->kind == OP_NETNS)
        {
          if (!netns_exists (op->ns))
            {
              add (&f, &nf, op->ns, xstrdup ("namespace is missing"));
              *VEC_PUSH (gone, n_gone) = op->ns;
            }
          continue;
        }
      /* Nothing more to say about what lived in a missing namespace. */
      if (listed (gone, n_gone, op->ns))
        continue;
      if (op->kind == OP_LINK)
        {
          rc = check_link (op->ns, op->u.link.name, &f, &nf, err);
          if (rc == 0 && op->u.link.kind == LINK_VETH && !listed (gone, n_gone, op->u.link.peer_ns))
            rc = check_link (op->u.link.peer_ns, op->u.link.peer_name, &f, &nf, err);
        }
      else if (op->kind == OP_IPTABLES)
        rc = check_payload (op->ns, op->u.ipt.payload, &f, &nf, err);
      else if (op->kind == OP_NFTABLES)
        rc = check_nft_payload (op->ns, op->u.nft.payload, &f, &nf, err);
    }
  free (gone);
  rtnl_close_all ();
  if (rc < 0)
    {
      verify_findings_free (f, nf);
      return -1;
    }
  *out = f;
  *n = nf;
  return 0;
}

void
verify_findings_free (struct verify_finding *f, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (f[i].netns);
      free (f[i].what);
    }
  free (f);
}
