/* kube-proxy's nftables resync of a running node (see kube_proxy_nftables.h):
 * the one transaction that takes the table from OLD to NEW, the way
 * syncProxyRules' partial sync does it: chains of changed services are
 * (created or) flushed and rewritten, map and set elements are added and
 * deleted one by one (nftElementStorage.ensureElem / cleanupLeftoverKeys),
 * stale service chains are flushed and deleted, stale affinity sets
 * deleted. Everything else stays, affinity sets' contents included.
 *
 * kube-proxy deletes stale chains one sync later, because kernels before 6.2
 * notice only after a while that a deleted map element no longer points at a
 * chain; nslab deletes them in the same transaction, after the elements,
 * which current kernels accept, so the node ends up holding exactly NEW. */
#include "plan/kube_proxy_nftables.h"

#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"
#include "plan/plan.h"
#include "base/util.h"

#define ADD "add "
#define TABLE_WORDS "ip kube-proxy "

struct nft_obj {
  char kind;           /* 'c' chain, 's' set, 'm' map */
  char *name;
  char *def;           /* what follows the name on its add line ("" if nothing) */
  struct strbuf rules; /* chains: "add rule" lines, in order */
};

struct nft_elem {
  char *container;
  char *key;   /* the element's key ("10.43.0.1 . tcp . 443") */
  char *line;  /* the whole add line */
};

struct nft_table {
  char *table_line; /* "add table ..." */
  struct nft_obj *objs;
  size_t n_objs;
  struct strmap by_name; /* "c:NAME" -> index + 1 */
  struct nft_elem *elems;
  size_t n_elems;
  struct strmap elem_by_key; /* "CONTAINER\tKEY" -> index + 1 */
};

static void
table_free (struct nft_table *t)
{
  free (t->table_line);
  for (size_t i = 0; i < t->n_objs; i++)
    {
      free (t->objs[i].name);
      free (t->objs[i].def);
      sb_free (&t->objs[i].rules);
    }
  free (t->objs);
  for (size_t i = 0; i < t->n_elems; i++)
    {
      free (t->elems[i].container);
      free (t->elems[i].key);
      free (t->elems[i].line);
    }
  free (t->elems);
  strmap_free (&t->by_name);
  strmap_free (&t->elem_by_key);
}

static struct nft_obj *
find_obj (const struct nft_table *t, char kind, const char *name)
{
  cleanup_free char *k = xasprintf ("%c:%s", kind, name);
  size_t i = (size_t) (uintptr_t) strmap_get (&t->by_name, k);
  return i ? &t->objs[i - 1] : NULL;
}

static const struct nft_elem *
find_elem (const struct nft_table *t, const char *container, const char *key)
{
  cleanup_free char *k = xasprintf ("%s\t%s", container, key);
  size_t i = (size_t) (uintptr_t) strmap_get (&t->elem_by_key, k);
  return i ? &t->elems[i - 1] : NULL;
}

static int
bad_line (const char *what, size_t lineno, const char *line, size_t len, nslab_error_t *err)
{
  cleanup_free char *l = xstrndup (line, len > 80 ? 80 : len);
  return nslab_error_invalid (err, "%s payload line %zu: cannot read \"%s\"", what, lineno, l);
}

/* "WORD ip kube-proxy NAME[ REST]": NAME and REST of an add line. */
static bool
split_object (const char *s, size_t len, char **name, char **rest)
{
  if (len < sizeof TABLE_WORDS - 1 || strncmp (s, TABLE_WORDS, sizeof TABLE_WORDS - 1) != 0)
    return false;
  s += sizeof TABLE_WORDS - 1;
  len -= sizeof TABLE_WORDS - 1;
  size_t n = 0;
  while (n < len && s[n] != ' ')
    n++;
  if (n == 0)
    return false;
  *name = xstrndup (s, n);
  *rest = n < len ? xstrndup (s + n + 1, len - n - 1) : xstrdup ("");
  return true;
}

static int
parse (const char *what, const char *payload, struct nft_table *t, nslab_error_t *err)
{
  memset (t, 0, sizeof *t);
  strmap_init (&t->by_name);
  strmap_init (&t->elem_by_key);
  size_t lineno = 0;
  for (const char *l = payload; l && *l;)
    {
      const char *nl = strchr (l, '\n');
      size_t len = nl ? (size_t) (nl - l) : strlen (l);
      const char *next = nl ? nl + 1 : l + len;
      lineno++;
      if (len == 0 || l[0] == '#')
        {
          l = next;
          continue;
        }
      if (len < sizeof ADD || strncmp (l, ADD, sizeof ADD - 1) != 0)
        return bad_line (what, lineno, l, len, err);
      const char *w = l + sizeof ADD - 1;
      size_t wl = len - (sizeof ADD - 1);
      char *name = NULL, *rest = NULL;
      if (strncmp (w, "table ", 6) == 0)
        {
          free (t->table_line);
          t->table_line = xstrndup (l, len);
        }
      else if ((strncmp (w, "chain ", 6) == 0 || strncmp (w, "set ", 4) == 0 || strncmp (w, "map ", 4) == 0)
               && split_object (w + (w[0] == 'c' ? 6 : 4), wl - (w[0] == 'c' ? 6 : 4), &name, &rest))
        {
          char kind = w[0] == 'c' ? 'c' : w[0] == 's' ? 's' : 'm';
          cleanup_free char *k = xasprintf ("%c:%s", kind, name);
          const struct nft_obj *had = find_obj (t, kind, name);
          if (had)
            {
              /* "add" of an existing object is a no-op in nft, unless it
                 says something else. */
              bool same = strcmp (had->def, rest) == 0;
              free (name);
              free (rest);
              if (!same)
                return bad_line (what, lineno, l, len, err);
              l = next;
              continue;
            }
          struct nft_obj *o = VEC_PUSH (t->objs, t->n_objs);
          o->kind = kind;
          o->name = name;
          o->def = rest;
          sb_init (&o->rules);
          strmap_put (&t->by_name, k, (void *) (uintptr_t) t->n_objs);
        }
      else if (strncmp (w, "rule ", 5) == 0 && split_object (w + 5, wl - 5, &name, &rest))
        {
          struct nft_obj *o = find_obj (t, 'c', name);
          free (name);
          free (rest);
          if (o == NULL)
            return bad_line (what, lineno, l, len, err);
          sb_addn (&o->rules, l, len);
          sb_add (&o->rules, "\n");
        }
      else if (strncmp (w, "element ", 8) == 0 && split_object (w + 8, wl - 8, &name, &rest) && rest[0] == '{')
        {
          /* "{ KEY[ comment "..."][ : VERDICT] }" */
          const char *k = rest + 1;
          while (*k == ' ')
            k++;
          const char *c = strstr (k, " comment \""), *v = strstr (k, " : "), *end = strrchr (k, '}');
          const char *stop = end;
          if (c && c < stop)
            stop = c;
          if (v && v < stop)
            stop = v;
          while (stop > k && stop[-1] == ' ')
            stop--;
          cleanup_free char *key = xstrndup (k, (size_t) (stop - k));
          cleanup_free char *line = xstrndup (l, len);
          const struct nft_elem *had = find_elem (t, name, key);
          free (rest);
          if (had)
            {
              /* The same element again is a no-op; another value for its
                 key is not something a payload may say. */
              bool same = strcmp (had->line, line) == 0;
              free (name);
              if (!same)
                return bad_line (what, lineno, l, len, err);
              l = next;
              continue;
            }
          struct nft_elem *e = VEC_PUSH (t->elems, t->n_elems);
          e->container = name;
          e->key = key;
          e->line = line;
          key = line = NULL;
          cleanup_free char *ek = xasprintf ("%s\t%s", e->container, e->key);
          strmap_put (&t->elem_by_key, ek, (void *) (uintptr_t) t->n_elems);
        }
      else
        {
          free (name);
          free (rest);
          return bad_line (what, lineno, l, len, err);
        }
      l = next;
    }
  return 0;
}

static bool
is_service_chain (const char *name)
{
  /* kube-proxy's isServiceChainName: only per-service chains have a '/'. */
  return strchr (name, '/') != NULL;
}

static const char *
kind_word (char kind)
{
  return kind == 'c' ? "chain" : kind == 's' ? "set" : "map";
}

static bool
is_affinity_set (const struct nft_obj *o)
{
  return o->kind == 's' && str_has_prefix (o->name, "affinity-");
}

static bool
same_rules (const struct nft_obj *a, const struct nft_obj *b)
{
  return a && b && a->rules.len == b->rules.len
         && (b->rules.len == 0 || memcmp (a->rules.buf, b->rules.buf, b->rules.len) == 0);
}

static void
add_def (struct strbuf *sb, const struct nft_obj *o)
{
  sb_addf (sb, "add %s " TABLE_WORDS "%s%s%s\n", kind_word (o->kind), o->name, *o->def ? " " : "", o->def);
}

/* The transaction OLD -> NEW, or NULL for "start over" (a fixed object's
   definition changed, which no partial update can express).
   Partial (kube-proxy without needFullSync): only what differs.
   Full (setupNFTables + every service): the table, every object added
   (a no-op where it exists), every chain flushed and rewritten, every map
   and set but the affinity sets flushed and refilled; so a full sync also
   repairs what was changed by hand. */
static char *
diff (const struct nft_table *o, const struct nft_table *n, bool full)
{
  struct strbuf sb;
  sb_init (&sb);
  if (full && n->table_line)
    sb_addf (&sb, "%s\n", n->table_line);
  /* Definitions: new sets, maps and chains, each before anything uses it. */
  for (size_t i = 0; i < n->n_objs; i++)
    {
      const struct nft_obj *no = &n->objs[i];
      const struct nft_obj *oo = find_obj (o, no->kind, no->name);
      if (oo && strcmp (oo->def, no->def) != 0)
        {
          sb_free (&sb);
          return NULL;
        }
      if (oo == NULL || full)
        add_def (&sb, no);
    }
  /* Changed chains: flushed and written again (full sync: all of them). */
  for (size_t i = 0; i < n->n_objs; i++)
    {
      const struct nft_obj *no = &n->objs[i];
      if (no->kind != 'c')
        continue;
      const struct nft_obj *oo = find_obj (o, 'c', no->name);
      if (!full && same_rules (oo, no))
        continue;
      if (oo || full)
        sb_addf (&sb, "flush chain " TABLE_WORDS "%s\n", no->name);
      if (no->rules.len)
        sb_addn (&sb, no->rules.buf, no->rules.len);
    }
  if (full)
    {
      /* nftElementStorage.reset: flush, then every element again. */
      for (size_t i = 0; i < n->n_objs; i++)
        if (n->objs[i].kind != 'c' && !is_affinity_set (&n->objs[i]))
          sb_addf (&sb, "flush %s " TABLE_WORDS "%s\n", kind_word (n->objs[i].kind), n->objs[i].name);
      for (size_t i = 0; i < n->n_elems; i++)
        sb_addf (&sb, "%s\n", n->elems[i].line);
    }
  else
    {
      /* Elements: gone or changed ones deleted, then new or changed ones
         added. */
      for (size_t i = 0; i < o->n_elems; i++)
        {
          const struct nft_elem *oe = &o->elems[i];
          const struct nft_elem *ne = find_elem (n, oe->container, oe->key);
          if (ne == NULL || strcmp (ne->line, oe->line) != 0)
            sb_addf (&sb, "delete element " TABLE_WORDS "%s { %s }\n", oe->container, oe->key);
        }
      for (size_t i = 0; i < n->n_elems; i++)
        {
          const struct nft_elem *ne = &n->elems[i];
          const struct nft_elem *oe = find_elem (o, ne->container, ne->key);
          if (oe == NULL || strcmp (ne->line, oe->line) != 0)
            sb_addf (&sb, "%s\n", ne->line);
        }
    }
  /* Stale objects: chains flushed first (they may point at each other and
     at affinity sets), then deleted, then the sets; each added first, so a
     hand-deleted one does not fail the transaction. */
  for (int pass = 0; pass < 3; pass++)
    for (size_t i = 0; i < o->n_objs; i++)
      {
        const struct nft_obj *oo = &o->objs[i];
        if (find_obj (n, oo->kind, oo->name))
          continue;
        if (oo->kind == 'c' && !is_service_chain (oo->name))
          {
            /* A fixed chain NEW lacks: nothing partial can say that. */
            sb_free (&sb);
            return NULL;
          }
        if (pass == 0 && oo->kind == 'c')
          sb_addf (&sb, "add chain " TABLE_WORDS "%s\nflush chain " TABLE_WORDS "%s\n", oo->name, oo->name);
        else if (pass == 1 && oo->kind == 'c')
          sb_addf (&sb, "delete chain " TABLE_WORDS "%s\n", oo->name);
        else if (pass == 2 && oo->kind != 'c')
          {
            add_def (&sb, oo);
            sb_addf (&sb, "delete %s " TABLE_WORDS "%s\n", kind_word (oo->kind), oo->name);
          }
      }
  return sb_steal (&sb);
}

int
kube_proxy_nft_sync_payload (const char *old_payload, const char *new_payload, bool full, char **out,
                             nslab_error_t *err)
{
  *out = NULL;
  struct nft_table o, n;
  if (parse ("old", old_payload, &o, err) < 0)
    {
      table_free (&o);
      return -1;
    }
  if (parse ("new", new_payload, &n, err) < 0)
    {
      table_free (&o);
      table_free (&n);
      return -1;
    }
  char *tx = diff (&o, &n, full);
  table_free (&o);
  table_free (&n);
  if (tx == NULL)
    /* Start over in one transaction: the add makes the delete safe when
       the table is already gone. */
    *out = xasprintf ("add table ip kube-proxy\ndelete table ip kube-proxy\n%s", new_payload);
  else if (*tx == '\0')
    free (tx);
  else
    *out = tx;
  return 0;
}

const char *
kube_proxy_nft_plan_payload (const struct plan *p, const char *ns)
{
  for (size_t i = 0; i < p->n_ops; i++)
    if (p->ops[i].kind == OP_NFTABLES && p->ops[i].ns && strcmp (p->ops[i].ns, ns) == 0)
      return p->ops[i].u.nft.payload;
  return NULL;
}
