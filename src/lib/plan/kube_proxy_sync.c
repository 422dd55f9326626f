/* kube-proxy's partial and full resync as a difference of two payloads
 * (see kube_proxy_sync.h for who owns which chain and why). */
#include "plan/kube_proxy_sync.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/strmap.h"
#include "base/util.h"
#include "plan/plan.h"

/* iptables limits chain names to 28 characters; leave room for the
   service keys of the grouping (" " + "namespace/name"). */
#define NAME_MAX_LEN 512

struct chain {
  char *name;          /* owned */
  char *policy;        /* owned: declared policy ("-" for user chains), NULL if not declared */
  size_t n_rules;
  size_t *rules;       /* indexes into table.lines (NULL in a digest) */
  uint64_t hash;       /* of its rules, each with its terminating NUL */
};

/* A rule of a table that jumps to a service chain: what groups service
 * chains into services (see uf_add_doc). */
struct jump {
  size_t from;         /* the chain it is in */
  char *key;           /* from a top-level chain: the " ns/name" of its comment (owned), else NULL */
  char *to;            /* the service chain (owned) */
};

struct table {
  char *name;          /* owned */
  struct chain *chains; /* in order of first appearance */
  size_t n_chains;
  struct strmap index;  /* chain name -> index */
  size_t last_chain;    /* the chain table_get_chain gave last (a chain's rules come one after another) */
  const char **lines;   /* the -A lines in text order (none in a digest) */
  size_t *line_chain;   /* and the chain each belongs to */
  size_t n_lines;
  struct jump *jumps;   /* a digest's: its lines' jumps to service chains */
  size_t n_jumps;
};

struct doc {
  const char *what;    /* "old payload", "new payload" */
  char *text;          /* our copy, cut into lines (NULL in a digest) */
  struct table *tables;
  size_t n_tables;
  bool digest;         /* kube_proxy_digest: no lines, jumps instead */
};

static const char *const builtin_chains[] = { "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING" };

static const char *const kp_filter_top[] = { "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD",
                                             "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL", "KUBE-FIREWALL" };
static const char *const kp_nat_top[] = { "KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ" };

static bool
in_list (const char *s, const char *const *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (s, list[i]) == 0)
      return true;
  return false;
}

static bool
is_builtin (const struct chain *c)
{
  /* (the built-in names start with one of these: most chains are
   * kube-proxy's thousands, and need no comparison) */
  return (c->name[0] != '\0' && strchr ("PIFO", c->name[0])
          && in_list (c->name, builtin_chains, sizeof builtin_chains / sizeof *builtin_chains))
         || (c->policy != NULL && strcmp (c->policy, "-") != 0);
}

bool
kube_proxy_is_service_chain (const char *chain)
{
  /* KUBE-SVC-, KUBE-SVL-, KUBE-EXT-, KUBE-SEP-, KUBE-FW-: asked of every
   * chain and every jump of a payload */
  if (strncmp (chain, "KUBE-", 5) != 0)
    return false;
  const char *r = chain + 5;
  if (r[0] == 'F' && r[1] == 'W' && r[2] == '-')
    return true;
  if (r[0] == '\0' || r[1] == '\0' || r[2] == '\0' || r[3] != '-')
    return false;
  return memcmp (r, "SVC", 3) == 0 || memcmp (r, "SVL", 3) == 0 || memcmp (r, "EXT", 3) == 0
         || memcmp (r, "SEP", 3) == 0;
}

static bool
is_kp_top (const char *table, const char *chain)
{
  if (strcmp (table, "filter") == 0)
    return in_list (chain, kp_filter_top, sizeof kp_filter_top / sizeof *kp_filter_top);
  if (strcmp (table, "nat") == 0)
    return in_list (chain, kp_nat_top, sizeof kp_nat_top / sizeof *kp_nat_top);
  return false;
}

static void
doc_free (struct doc *d)
{
  for (size_t t = 0; t < d->n_tables; t++)
    {
      struct table *tb = &d->tables[t];
      for (size_t c = 0; c < tb->n_chains; c++)
        {
          free (tb->chains[c].name);
          free (tb->chains[c].policy);
          free (tb->chains[c].rules);
        }
      for (size_t j = 0; j < tb->n_jumps; j++)
        {
          free (tb->jumps[j].key);
          free (tb->jumps[j].to);
        }
      free (tb->jumps);
      free (tb->name);
      free (tb->chains);
      strmap_free (&tb->index);
      free (tb->lines);
      free (tb->line_chain);
    }
  free (d->tables);
  free (d->text);
  memset (d, 0, sizeof *d);
}

static const struct table *
doc_table (const struct doc *d, const char *name)
{
  for (size_t t = 0; t < d->n_tables; t++)
    if (strcmp (d->tables[t].name, name) == 0)
      return &d->tables[t];
  return NULL;
}

static const struct chain *
table_chain (const struct table *tb, const char *name, size_t *idx)
{
  size_t i;
  if (tb == NULL || !strmap_owner (&tb->index, name, &i))
    return NULL;
  if (idx)
    *idx = i;
  return &tb->chains[i];
}

/* The chain NAME (n bytes) of tb, created (undeclared, no rules) when new. */
static size_t
table_get_chain (struct table *tb, const char *name, size_t n)
{
  const struct chain *last = tb->last_chain < tb->n_chains ? &tb->chains[tb->last_chain] : NULL;
  if (last && strncmp (last->name, name, n) == 0 && last->name[n] == '\0')
    return tb->last_chain;
  char buf[NAME_MAX_LEN];
  size_t idx;
  memcpy (buf, name, n);
  buf[n] = '\0';
  if (strmap_owner (&tb->index, buf, &idx))
    return tb->last_chain = idx;
  struct chain *c = VEC_PUSH (tb->chains, tb->n_chains);
  c->name = xstrdup (buf);
  c->hash = 0;
  strmap_claim (&tb->index, buf, tb->n_chains - 1);
  return tb->last_chain = tb->n_chains - 1;
}

static int
parse (struct doc *d, const char *what, const char *payload, nslab_error_t *err)
{
  memset (d, 0, sizeof *d);
  d->what = what;
  d->text = xstrdup (payload ? payload : "");
  struct table *cur = NULL;
  size_t lineno = 0;
  char *p = d->text;
  while (p && *p)
    {
      char *line = p;
      char *nl = strchr (p, '\n');
      if (nl)
        {
          *nl = '\0';
          p = nl + 1;
        }
      else
        p = NULL;
      lineno++;
      size_t len = strlen (line);
      while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\r' || line[len - 1] == '\t'))
        line[--len] = '\0';
      if (len == 0 || line[0] == '#')
        continue;
      if (line[0] == '*')
        {
          if (cur != NULL)
            return nslab_error (err, EINVAL, "%s: line %zu: table %s starts before the COMMIT of %s", what,
                                lineno, line + 1, cur->name);
          if (doc_table (d, line + 1))
            return nslab_error (err, EINVAL, "%s: line %zu: table %s appears twice", what, lineno, line + 1);
          cur = VEC_PUSH (d->tables, d->n_tables);
          cur->name = xstrdup (line + 1);
          strmap_init (&cur->index);
          continue;
        }
      if (cur == NULL)
        return nslab_error (err, EINVAL, "%s: line %zu: outside a table: %s", what, lineno, line);
      if (strcmp (line, "COMMIT") == 0)
        {
          cur = NULL;
          continue;
        }
      if (line[0] == ':' || str_has_prefix (line, "-A "))
        {
          const char *name = line + (line[0] == ':' ? 1 : 3);
          size_t n = strcspn (name, " \t");
          const char *after = name + n + strspn (name + n, " \t");
          if (n == 0 || n >= NAME_MAX_LEN || (line[0] == ':' && *after == '\0'))
            return nslab_error (err, EINVAL, "%s: line %zu: cannot read: %s", what, lineno, line);
          size_t idx = table_get_chain (cur, name, n);
          struct chain *c = &cur->chains[idx];
          if (line[0] == ':')
            {
              /* ":NAME POLICY [p:b]": keep the policy word. */
              free (c->policy);
              c->policy = xstrndup (after, strcspn (after, " \t"));
              continue;
            }
          *VEC_PUSH (c->rules, c->n_rules) = cur->n_lines;
          c->hash = hash64_mem (line, len + 1, c->hash);
          cur->lines = vec_grow (cur->lines, cur->n_lines, sizeof *cur->lines);
          cur->lines[cur->n_lines] = line;
          *VEC_PUSH (cur->line_chain, cur->n_lines) = idx;
          continue;
        }
      return nslab_error (err, EINVAL, "%s: line %zu: only chain lines and -A rules are understood: %s", what,
                          lineno, line);
    }
  if (cur != NULL)
    return nslab_error (err, EINVAL, "%s: table %s has no COMMIT", what, cur->name);
  return 0;
}

/* ---- grouping service chains into services ------------------------------ */

/* Union-find over names (service chains and " ns/name" service keys). */
struct uf {
  struct strmap ids;
  size_t *parent;
  size_t n;
};

static size_t
uf_id (struct uf *u, const char *key)
{
  size_t id;
  if (strmap_owner (&u->ids, key, &id))
    return id;
  strmap_claim (&u->ids, key, u->n);
  size_t *slot = VEC_PUSH (u->parent, u->n);
  *slot = u->n - 1;
  return u->n - 1;
}

static size_t
uf_find (struct uf *u, size_t x)
{
  while (u->parent[x] != x)
    {
      u->parent[x] = u->parent[u->parent[x]];
      x = u->parent[x];
    }
  return x;
}

static void
uf_union (struct uf *u, size_t a, size_t b)
{
  a = uf_find (u, a);
  b = uf_find (u, b);
  if (a != b)
    u->parent[a < b ? b : a] = a < b ? a : b;
}

static void
uf_free (struct uf *u)
{
  strmap_free (&u->ids);
  free (u->parent);
  memset (u, 0, sizeof *u);
}

/* The chain a rule jumps to (-j / -g), copied into buf; false if none. */
static bool
rule_target (const char *line, char *buf, size_t size)
{
  const char *j = strstr (line, " -j ");
  if (j == NULL)
    j = strstr (line, " -g ");
  if (j == NULL)
    return false;
  j += 4;
  size_t n = strcspn (j, " \t");
  if (n == 0 || n >= size)
    return false;
  memcpy (buf, j, n);
  buf[n] = '\0';
  return true;
}

/* " ns/name" from a rule's comment ("ns/name:port cluster IP", quoted or
   not): the Service kube-proxy tracks changes by. */
static bool
rule_service_key (const char *line, char *buf, size_t size)
{
  const char *c = strstr (line, "--comment ");
  if (c == NULL)
    return false;
  c += strlen ("--comment ");
  if (*c == '"')
    c++;
  size_t n = strcspn (c, " \t\":");
  if (n == 0 || n + 2 > size || memchr (c, '/', n) == NULL)
    return false;
  buf[0] = ' ';
  memcpy (buf + 1, c, n);
  buf[n + 1] = '\0';
  return true;
}

/* The jump of line L of TB to a service chain, if it is one: *key the
 * " ns/name" of its comment when it is in a chain that is not a service's
 * (empty when it has none). */
static bool
line_jump (const struct table *tb, size_t l, char *target, char *key)
{
  key[0] = '\0';
  if (!rule_target (tb->lines[l], target, NAME_MAX_LEN) || !kube_proxy_is_service_chain (target))
    return false;
  if (!kube_proxy_is_service_chain (tb->chains[tb->line_chain[l]].name)
      && !rule_service_key (tb->lines[l], key, NAME_MAX_LEN))
    key[0] = '\0';
  return true;
}

static void
uf_add_jump (struct uf *u, const struct table *tb, size_t from, const char *key, const char *to)
{
  size_t t = uf_id (u, to);
  if (kube_proxy_is_service_chain (tb->chains[from].name))
    uf_union (u, uf_id (u, tb->chains[from].name), t);
  else if (key && key[0])
    uf_union (u, uf_id (u, key), t);
}

static void
uf_add_doc (struct uf *u, const struct table *tb)
{
  if (tb == NULL)
    return;
  char target[NAME_MAX_LEN], key[NAME_MAX_LEN];
  for (size_t i = 0; i < tb->n_chains; i++)
    if (kube_proxy_is_service_chain (tb->chains[i].name))
      uf_id (u, tb->chains[i].name);
  for (size_t l = 0; l < tb->n_lines; l++)
    if (line_jump (tb, l, target, key))
      uf_add_jump (u, tb, tb->line_chain[l], key, target);
  for (size_t j = 0; j < tb->n_jumps; j++)
    uf_add_jump (u, tb, tb->jumps[j].from, tb->jumps[j].key, tb->jumps[j].to);
}

/* ---- the difference ---------------------------------------------------- */

static bool
chains_equal (const struct table *ta, const struct chain *a, const struct table *tb, const struct chain *b)
{
  if (a->n_rules != b->n_rules || a->hash != b->hash)
    return false;
  /* A digest has the hash only (two different rule lists of one chain
   * colliding in 64 bits is not a practical concern). */
  if (a->rules == NULL || b->rules == NULL)
    return true;
  for (size_t i = 0; i < a->n_rules; i++)
    if (strcmp (ta->lines[a->rules[i]], tb->lines[b->rules[i]]) != 0)
      return false;
  return true;
}

static bool
user_policy (const struct chain *c)
{
  return c->policy != NULL && strcmp (c->policy, "-") != 0;
}

enum kind { K_BUILTIN, K_TOP, K_SERVICE, K_OTHER };

/* One table name, as held in OLD (to) and wanted in NEW (tn). */
struct tdiff {
  const char *name;
  const struct table *to, *tn;
  enum kind *kind_new;    /* per chain of tn */
  bool *changed;          /* per chain of tn: new, or other rules */
  bool *policy_changed;   /* per chain of tn: a built-in's policy NEW sets */
  bool *write;            /* per chain of tn: in the output */
  struct uf uf;
  bool *dirty;            /* per uf component root */
};

static enum kind
chain_kind (bool kp, const char *table, const struct chain *c)
{
  if (is_builtin (c))
    return K_BUILTIN;
  /* (no top-level name has a service chain's prefix: the thousands of
   * service chains are told first) */
  if (kp && kube_proxy_is_service_chain (c->name))
    return K_SERVICE;
  if (kp && is_kp_top (table, c->name))
    return K_TOP;
  return K_OTHER;
}

static void
tdiff_free (struct tdiff *d)
{
  free (d->kind_new);
  free (d->changed);
  free (d->policy_changed);
  free (d->write);
  free (d->dirty);
  uf_free (&d->uf);
}

static void
write_table (struct strbuf *sb, const struct tdiff *d)
{
  const struct table *tn = d->tn, *to = d->to;
  struct strbuf chains, flush, rules, del;
  sb_init (&chains);
  sb_init (&flush);
  sb_init (&rules);
  sb_init (&del);

  size_t n_new = tn ? tn->n_chains : 0;
  for (size_t i = 0; i < n_new; i++)
    {
      const struct chain *c = &tn->chains[i];
      if (d->kind_new[i] == K_BUILTIN)
        {
          if (d->policy_changed[i])
            sb_addf (&chains, ":%s %s [0:0]\n", c->name, c->policy);
          if (d->write[i])
            sb_addf (&flush, "-F %s\n", c->name);
        }
      else if (d->write[i])
        sb_addf (&chains, ":%s - [0:0]\n", c->name);
    }
  /* What NEW no longer has: built-in chains are emptied, others declared
     (which flushes them) and deleted once every rule is written. */
  for (size_t i = 0; to && i < to->n_chains; i++)
    {
      const struct chain *c = &to->chains[i];
      if (table_chain (tn, c->name, NULL) != NULL)
        continue;
      if (is_builtin (c))
        {
          if (c->n_rules > 0)
            sb_addf (&flush, "-F %s\n", c->name);
          continue;
        }
      sb_addf (&chains, ":%s - [0:0]\n", c->name);
      sb_addf (&del, "-X %s\n", c->name);
    }
  for (size_t l = 0; tn && l < tn->n_lines; l++)
    if (d->write[tn->line_chain[l]])
      {
        sb_add (&rules, tn->lines[l]);
        sb_add (&rules, "\n");
      }

  if (chains.len + flush.len + rules.len + del.len > 0)
    {
      sb_addf (sb, "*%s\n", d->name);
      if (chains.len)
        sb_addn (sb, chains.buf, chains.len);
      if (flush.len)
        sb_addn (sb, flush.buf, flush.len);
      if (rules.len)
        sb_addn (sb, rules.buf, rules.len);
      if (del.len)
        sb_addn (sb, del.buf, del.len);
      sb_add (sb, "COMMIT\n");
    }
  sb_free (&chains);
  sb_free (&flush);
  sb_free (&rules);
  sb_free (&del);
}

static bool
doc_has_chain (const struct doc *d, const char *table, const char *chain)
{
  return table_chain (doc_table (d, table), chain, NULL) != NULL;
}

/* Make D a digest: each table's jumps to service chains kept, its lines
 * and the text dropped. */
static void
doc_digest (struct doc *d)
{
  char target[NAME_MAX_LEN], key[NAME_MAX_LEN];
  for (size_t t = 0; t < d->n_tables; t++)
    {
      struct table *tb = &d->tables[t];
      for (size_t l = 0; l < tb->n_lines; l++)
        if (line_jump (tb, l, target, key))
          *VEC_PUSH (tb->jumps, tb->n_jumps) = (struct jump) { .from = tb->line_chain[l],
                                                               .key = key[0] ? xstrdup (key) : NULL,
                                                               .to = xstrdup (target) };
      for (size_t c = 0; c < tb->n_chains; c++)
        {
          free (tb->chains[c].rules);
          tb->chains[c].rules = NULL;
        }
      free (tb->lines);
      free (tb->line_chain);
      tb->lines = NULL;
      tb->line_chain = NULL;
      tb->n_lines = 0;
      if (tb->jumps)
        tb->jumps = xrealloc (tb->jumps, tb->n_jumps * sizeof *tb->jumps);
    }
  free (d->text);
  d->text = NULL;
  d->what = "old payload";
  d->digest = true;
}

/* A digest at rest, packed: one block of strings per table (each chain's
 * name, then its declared policy, "" when undeclared; the jumps' keys and
 * targets) and arrays of numbers, a fraction of the text's size; unpacked
 * into a doc (its lines left out) for each sync. */
struct packed_jump {
  uint32_t from, key, to; /* chain index; offsets into strs (key: UINT32_MAX for none) */
};

struct packed_table {
  char *name;
  size_t n_chains, n_jumps;
  uint32_t *name_at; /* per chain, into strs */
  uint32_t *n_rules;
  uint64_t *hash;
  struct packed_jump *jumps;
  char *strs;
  size_t strs_len;
};

struct kube_proxy_digest {
  struct packed_table *tables;
  size_t n_tables;
};

static uint32_t
strs_add (struct packed_table *pt, size_t *cap, const char *s)
{
  size_t n = strlen (s) + 1;
  while (pt->strs_len + n > *cap)
    {
      *cap = *cap ? *cap * 2 : 4096;
      pt->strs = xrealloc (pt->strs, *cap);
    }
  memcpy (pt->strs + pt->strs_len, s, n);
  pt->strs_len += n;
  return (uint32_t) (pt->strs_len - n);
}

/* D: after doc_digest. */
static struct kube_proxy_digest *
pack (const struct doc *d)
{
  struct kube_proxy_digest *k = xcalloc (1, sizeof *k);
  k->n_tables = d->n_tables;
  k->tables = xcalloc (d->n_tables + 1, sizeof *k->tables);
  for (size_t t = 0; t < d->n_tables; t++)
    {
      const struct table *tb = &d->tables[t];
      struct packed_table *pt = &k->tables[t];
      size_t cap = 0;
      pt->name = xstrdup (tb->name);
      pt->n_chains = tb->n_chains;
      pt->name_at = xcalloc (tb->n_chains + 1, sizeof *pt->name_at);
      pt->n_rules = xcalloc (tb->n_chains + 1, sizeof *pt->n_rules);
      pt->hash = xcalloc (tb->n_chains + 1, sizeof *pt->hash);
      for (size_t c = 0; c < tb->n_chains; c++)
        {
          const struct chain *ch = &tb->chains[c];
          pt->name_at[c] = strs_add (pt, &cap, ch->name);
          strs_add (pt, &cap, ch->policy ? ch->policy : "");
          pt->n_rules[c] = (uint32_t) ch->n_rules;
          pt->hash[c] = ch->hash;
        }
      pt->n_jumps = tb->n_jumps;
      pt->jumps = xcalloc (tb->n_jumps + 1, sizeof *pt->jumps);
      for (size_t j = 0; j < tb->n_jumps; j++)
        {
          const struct jump *jp = &tb->jumps[j];
          size_t to;
          pt->jumps[j] = (struct packed_jump) {
            .from = (uint32_t) jp->from,
            .key = jp->key ? strs_add (pt, &cap, jp->key) : UINT32_MAX,
            .to = strmap_owner (&tb->index, jp->to, &to) ? pt->name_at[to] : strs_add (pt, &cap, jp->to),
          };
        }
      pt->strs = xrealloc (pt->strs, pt->strs_len + 1);
    }
  return k;
}

static void
unpack (const struct kube_proxy_digest *k, struct doc *d)
{
  memset (d, 0, sizeof *d);
  d->what = "old payload";
  d->digest = true;
  d->n_tables = k->n_tables;
  d->tables = xcalloc (k->n_tables + 1, sizeof *d->tables);
  for (size_t t = 0; t < k->n_tables; t++)
    {
      const struct packed_table *pt = &k->tables[t];
      struct table *tb = &d->tables[t];
      tb->name = xstrdup (pt->name);
      strmap_init (&tb->index);
      for (size_t c = 0; c < pt->n_chains; c++)
        {
          const char *name = pt->strs + pt->name_at[c], *policy = name + strlen (name) + 1;
          size_t at = table_get_chain (tb, name, strlen (name)); /* (may move tb->chains) */
          struct chain *ch = &tb->chains[at];
          ch->policy = *policy ? xstrdup (policy) : NULL;
          ch->n_rules = pt->n_rules[c];
          ch->hash = pt->hash[c];
        }
      tb->n_jumps = pt->n_jumps;
      tb->jumps = xcalloc (pt->n_jumps + 1, sizeof *tb->jumps);
      for (size_t j = 0; j < pt->n_jumps; j++)
        tb->jumps[j] = (struct jump) { .from = pt->jumps[j].from,
                                       .key = pt->jumps[j].key == UINT32_MAX ? NULL
                                                                             : xstrdup (pt->strs + pt->jumps[j].key),
                                       .to = xstrdup (pt->strs + pt->jumps[j].to) };
    }
}

int
kube_proxy_digest_new (const char *payload, struct kube_proxy_digest **out, nslab_error_t *err)
{
  struct doc d;
  if (parse (&d, "payload", payload, err) < 0)
    {
      doc_free (&d);
      return -1;
    }
  doc_digest (&d);
  *out = pack (&d);
  doc_free (&d);
  return 0;
}

void
kube_proxy_digest_free (struct kube_proxy_digest *k)
{
  if (k == NULL)
    return;
  for (size_t t = 0; t < k->n_tables; t++)
    {
      struct packed_table *pt = &k->tables[t];
      free (pt->name);
      free (pt->name_at);
      free (pt->n_rules);
      free (pt->hash);
      free (pt->jumps);
      free (pt->strs);
    }
  free (k->tables);
  free (k);
}

static int sync_docs (const struct doc *od, const struct doc *nd, bool full, char **out);

int
kube_proxy_sync_payload (const char *old_payload, const char *new_payload, bool full, char **out,
                         nslab_error_t *err)
{
  *out = NULL;
  struct doc od, nd;
  if (parse (&od, "old payload", old_payload, err) < 0)
    {
      doc_free (&od);
      return -1;
    }
  if (parse (&nd, "new payload", new_payload, err) < 0)
    {
      doc_free (&od);
      doc_free (&nd);
      return -1;
    }
  int rc = sync_docs (&od, &nd, full, out);
  doc_free (&od);
  doc_free (&nd);
  return rc;
}

int
kube_proxy_sync_digest (const struct kube_proxy_digest *old, const char *new_payload, bool full, char **out,
                        struct kube_proxy_digest **new_digest, nslab_error_t *err)
{
  *out = NULL;
  if (new_digest)
    *new_digest = NULL;
  struct doc od, nd;
  if (parse (&nd, "new payload", new_payload, err) < 0)
    {
      doc_free (&nd);
      return -1;
    }
  unpack (old, &od);
  int rc = sync_docs (&od, &nd, full, out);
  doc_free (&od);
  if (rc == 0 && new_digest)
    {
      doc_digest (&nd);
      *new_digest = pack (&nd);
    }
  doc_free (&nd);
  return rc;
}

/* The restore input from OD to ND (see kube_proxy_sync_payload). */
static int
sync_docs (const struct doc *od_, const struct doc *nd_, bool full, char **out)
{
  const struct doc od = *od_, nd = *nd_;
  *out = NULL;

  /* kube-proxy (iptables mode) is on the node when its nat KUBE-SERVICES is. */
  bool kp = doc_has_chain (&nd, "nat", "KUBE-SERVICES") || doc_has_chain (&od, "nat", "KUBE-SERVICES");

  /* Tables in NEW's order, then those only OLD has. */
  struct tdiff *td = NULL;
  size_t n_td = 0;
  for (size_t t = 0; t < nd.n_tables; t++)
    {
      struct tdiff *d = VEC_PUSH (td, n_td);
      d->name = nd.tables[t].name;
      d->tn = &nd.tables[t];
      d->to = doc_table (&od, d->name);
    }
  for (size_t t = 0; t < od.n_tables; t++)
    if (doc_table (&nd, od.tables[t].name) == NULL)
      {
        struct tdiff *d = VEC_PUSH (td, n_td);
        d->name = od.tables[t].name;
        d->to = &od.tables[t];
      }

  /* What changed, chain by chain; whether any of kube-proxy's did. */
  bool kp_changed = false;
  for (size_t t = 0; t < n_td; t++)
    {
      struct tdiff *d = &td[t];
      size_t n = d->tn ? d->tn->n_chains : 0;
      d->kind_new = xcalloc (n + 1, sizeof *d->kind_new);
      d->changed = xcalloc (n + 1, sizeof *d->changed);
      d->policy_changed = xcalloc (n + 1, sizeof *d->policy_changed);
      d->write = xcalloc (n + 1, sizeof *d->write);
      strmap_init (&d->uf.ids);
      for (size_t i = 0; i < n; i++)
        {
          const struct chain *c = &d->tn->chains[i];
          const struct chain *oc = table_chain (d->to, c->name, NULL);
          d->kind_new[i] = chain_kind (kp, d->name, c);
          d->changed[i] = oc == NULL || !chains_equal (d->tn, c, d->to, oc);
          d->policy_changed[i] = d->kind_new[i] == K_BUILTIN && user_policy (c)
                                 && (oc == NULL || oc->policy == NULL || strcmp (oc->policy, c->policy) != 0);
          if (d->changed[i] && (d->kind_new[i] == K_TOP || d->kind_new[i] == K_SERVICE))
            kp_changed = true;
        }
      for (size_t i = 0; d->to && i < d->to->n_chains; i++)
        {
          const struct chain *oc = &d->to->chains[i];
          enum kind k = chain_kind (kp, d->name, oc);
          if ((k == K_TOP || k == K_SERVICE) && table_chain (d->tn, oc->name, NULL) == NULL)
            kp_changed = true;
        }
    }

  /* Which services changed: group the service chains of both payloads and
     mark the groups holding a new, changed or removed chain. */
  for (size_t t = 0; kp && !full && t < n_td; t++)
    {
      struct tdiff *d = &td[t];
      uf_add_doc (&d->uf, d->to);
      uf_add_doc (&d->uf, d->tn);
      d->dirty = xcalloc (d->uf.n + 1, sizeof *d->dirty);
      for (size_t i = 0; d->tn && i < d->tn->n_chains; i++)
        if (d->kind_new[i] == K_SERVICE && d->changed[i])
          d->dirty[uf_find (&d->uf, uf_id (&d->uf, d->tn->chains[i].name))] = true;
      for (size_t i = 0; d->to && i < d->to->n_chains; i++)
        {
          const char *name = d->to->chains[i].name;
          if (kube_proxy_is_service_chain (name) && table_chain (d->tn, name, NULL) == NULL)
            d->dirty[uf_find (&d->uf, uf_id (&d->uf, name))] = true;
        }
    }

  struct strbuf sb;
  sb_init (&sb);
  for (size_t t = 0; t < n_td; t++)
    {
      struct tdiff *d = &td[t];
      for (size_t i = 0; d->tn && i < d->tn->n_chains; i++)
        switch (d->kind_new[i])
          {
          case K_BUILTIN:
          case K_OTHER:
            d->write[i] = d->changed[i];
            break;
          case K_TOP:
            d->write[i] = full || kp_changed;
            break;
          case K_SERVICE:
            d->write[i] = full || d->dirty[uf_find (&d->uf, uf_id (&d->uf, d->tn->chains[i].name))];
            break;
          }
      write_table (&sb, d);
    }

  for (size_t t = 0; t < n_td; t++)
    tdiff_free (&td[t]);
  free (td);
  if (sb.len == 0)
    {
      sb_free (&sb);
      return 0;
    }
  *out = sb_steal (&sb);
  return 0;
}

const char *
kube_proxy_plan_payload (const struct plan *p, const char *ns)
{
  for (size_t i = 0; p && i < p->n_ops; i++)
    if (p->ops[i].kind == OP_IPTABLES && p->ops[i].ns && strcmp (p->ops[i].ns, ns) == 0)
      return p->ops[i].u.ipt.payload;
  return NULL;
}
