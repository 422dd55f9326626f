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

#include "base/hash.h"
#include "base/util.h"
#include "plan/plan.h"

#define ADD "add "
#define TABLE_WORDS "ip kube-proxy "

/* The two payloads are read where they lie: every name, definition, rule
 * and element is a span of its payload's text, not a copy (a 1000-service
 * node's payload is ~10000 lines, read twice a round for every node). */
struct span {
  const char *s;
  size_t len;
};

static bool
span_eq (struct span a, struct span b)
{
  return a.len == b.len && memcmp (a.s, b.s, a.len) == 0;
}

static bool
span_has_prefix (struct span a, const char *prefix)
{
  size_t n = strlen (prefix);
  return a.len >= n && memcmp (a.s, prefix, n) == 0;
}

#define NO_RULE SIZE_MAX

struct nft_obj {
  char kind;        /* 'c' chain, 's' set, 'm' map */
  struct span name;
  struct span def;  /* what follows the name on its add line (empty if nothing) */
  size_t first_rule, last_rule; /* chains: their "add rule" lines, a list through nft_rule.next */
  uint64_t rules_hash; /* chains: a hash of those lines, in order */
};

struct nft_rule {
  struct span line;
  size_t next;
};

struct nft_elem {
  struct span container;
  struct span key;  /* the element's key ("10.43.0.1 . tcp . 443") */
  struct span line; /* the whole add line (none in a digest) */
  uint64_t line_hash;
};

/* Open addressing over the objects' or elements' indexes, by a hash of
 * their key; the table's own entries tell keys apart. */
struct slot {
  uint64_t hash;
  size_t at; /* index + 1; 0: empty */
};
struct index {
  struct slot *slots;
  size_t cap, n;
};

struct nft_table {
  bool digest; /* unpacked from a digest: hashes for the rules and element lines */
  struct span table_line; /* "add table ..." (s NULL: none) */
  struct nft_obj *objs;
  size_t n_objs;
  struct index objs_by_name;
  struct nft_rule *rules;
  size_t n_rules;
  struct nft_elem *elems;
  size_t n_elems;
  struct index elems_by_key;
};

static void
table_free (struct nft_table *t)
{
  free (t->objs);
  free (t->rules);
  free (t->elems);
  free (t->objs_by_name.slots);
  free (t->elems_by_key.slots);
}

static void
index_add (struct index *x, uint64_t hash, size_t at)
{
  if (2 * (x->n + 1) > x->cap)
    {
      struct index bigger = { .cap = x->cap ? 2 * x->cap : 64 };
      bigger.slots = xcalloc (bigger.cap, sizeof *bigger.slots);
      for (size_t i = 0; i < x->cap; i++)
        if (x->slots[i].at)
          index_add (&bigger, x->slots[i].hash, x->slots[i].at);
      free (x->slots);
      *x = bigger;
    }
  size_t i = hash & (x->cap - 1);
  while (x->slots[i].at)
    i = (i + 1) & (x->cap - 1);
  x->slots[i] = (struct slot) { .hash = hash, .at = at };
  x->n++;
}

static uint64_t
obj_hash (char kind, struct span name)
{
  return hash64_mem (name.s, name.len, (uint64_t) (unsigned char) kind);
}

static uint64_t
elem_hash (struct span container, struct span key)
{
  return hash64_mem (key.s, key.len, hash64_mem (container.s, container.len, 0));
}

/* The entries of X whose keys hash to H, one a call (their index + 1; 0
 * when there are no more): *I starts at SIZE_MAX. */
static size_t
index_next (const struct index *x, uint64_t h, size_t *i)
{
  if (x->cap == 0)
    return 0;
  for (*i = *i == SIZE_MAX ? h & (x->cap - 1) : (*i + 1) & (x->cap - 1); x->slots[*i].at;
       *i = (*i + 1) & (x->cap - 1))
    if (x->slots[*i].hash == h)
      return x->slots[*i].at;
  return 0;
}

/* Where T has object NAME of KIND: its index + 1, or 0. */
static size_t
obj_at (const struct nft_table *t, char kind, struct span name)
{
  uint64_t h = obj_hash (kind, name);
  size_t i = SIZE_MAX, at;
  while ((at = index_next (&t->objs_by_name, h, &i)))
    if (t->objs[at - 1].kind == kind && span_eq (t->objs[at - 1].name, name))
      return at;
  return 0;
}

static const struct nft_obj *
find_obj (const struct nft_table *t, char kind, struct span name)
{
  size_t at = obj_at (t, kind, name);
  return at ? &t->objs[at - 1] : NULL;
}

static const struct nft_elem *
find_elem (const struct nft_table *t, struct span container, struct span key)
{
  uint64_t h = elem_hash (container, key);
  size_t i = SIZE_MAX, at;
  while ((at = index_next (&t->elems_by_key, h, &i)))
    if (span_eq (t->elems[at - 1].container, container) && span_eq (t->elems[at - 1].key, key))
      return &t->elems[at - 1];
  return NULL;
}

static int
bad_line (const char *what, size_t lineno, struct span line, nslab_error_t *err)
{
  return nslab_error_invalid (err, "%s payload line %zu: cannot read \"%.*s\"", what, lineno,
                              (int) (line.len > 80 ? 80 : line.len), line.s);
}

/* "WORD ip kube-proxy NAME[ REST]" (S, after the WORD): NAME and REST. */
static bool
split_object (struct span s, struct span *name, struct span *rest)
{
  if (!span_has_prefix (s, TABLE_WORDS))
    return false;
  s.s += sizeof TABLE_WORDS - 1;
  s.len -= sizeof TABLE_WORDS - 1;
  size_t n = 0;
  while (n < s.len && s.s[n] != ' ')
    n++;
  if (n == 0)
    return false;
  *name = (struct span) { s.s, n };
  *rest = n < s.len ? (struct span) { s.s + n + 1, s.len - n - 1 } : (struct span) { s.s + n, 0 };
  return true;
}

/* The first NEEDLE in S, or NULL. */
static const char *
span_find (struct span s, const char *needle)
{
  return memmem (s.s, s.len, needle, strlen (needle));
}

/* "{ KEY[ comment "..."][ : VERDICT] }": the KEY of an element's REST. */
static bool
element_key (struct span rest, struct span *key)
{
  if (rest.len == 0 || rest.s[0] != '{')
    return false;
  struct span k = { rest.s + 1, rest.len - 1 };
  while (k.len && k.s[0] == ' ')
    k.s++, k.len--;
  const char *end = memrchr (k.s, '}', k.len);
  if (end == NULL)
    return false;
  const char *c = span_find (k, " comment \""), *v = span_find (k, " : "), *stop = end;
  if (c && c < stop)
    stop = c;
  if (v && v < stop)
    stop = v;
  while (stop > k.s && stop[-1] == ' ')
    stop--;
  *key = (struct span) { k.s, (size_t) (stop - k.s) };
  return true;
}

static int
parse (const char *what, const char *payload, struct nft_table *t, nslab_error_t *err)
{
  memset (t, 0, sizeof *t);
  size_t lineno = 0;
  for (const char *l = payload; l && *l;)
    {
      const char *nl = strchr (l, '\n');
      struct span line = { l, nl ? (size_t) (nl - l) : strlen (l) };
      l = nl ? nl + 1 : l + line.len;
      lineno++;
      if (line.len == 0 || line.s[0] == '#')
        continue;
      if (line.len < sizeof ADD || !span_has_prefix (line, ADD))
        return bad_line (what, lineno, line, err);
      struct span w = { line.s + sizeof ADD - 1, line.len - (sizeof ADD - 1) };
      struct span name, rest;
      if (span_has_prefix (w, "table "))
        t->table_line = line;
      else if ((span_has_prefix (w, "chain ") || span_has_prefix (w, "set ") || span_has_prefix (w, "map "))
               && split_object ((struct span) { w.s + (w.s[0] == 'c' ? 6 : 4), w.len - (w.s[0] == 'c' ? 6 : 4) },
                                &name, &rest))
        {
          char kind = w.s[0] == 'c' ? 'c' : w.s[0] == 's' ? 's' : 'm';
          const struct nft_obj *had = find_obj (t, kind, name);
          if (had)
            {
              /* "add" of an existing object is a no-op in nft, unless it
                 says something else. */
              if (!span_eq (had->def, rest))
                return bad_line (what, lineno, line, err);
              continue;
            }
          *VEC_PUSH (t->objs, t->n_objs)
              = (struct nft_obj) { .kind = kind, .name = name, .def = rest, .first_rule = NO_RULE, .last_rule = NO_RULE };
          index_add (&t->objs_by_name, obj_hash (kind, name), t->n_objs);
        }
      else if (span_has_prefix (w, "rule ") && split_object ((struct span) { w.s + 5, w.len - 5 }, &name, &rest))
        {
          size_t at = obj_at (t, 'c', name);
          if (at == 0)
            return bad_line (what, lineno, line, err);
          struct nft_obj *o = &t->objs[at - 1];
          *VEC_PUSH (t->rules, t->n_rules) = (struct nft_rule) { .line = line, .next = NO_RULE };
          if (o->last_rule == NO_RULE)
            o->first_rule = t->n_rules - 1;
          else
            t->rules[o->last_rule].next = t->n_rules - 1;
          o->last_rule = t->n_rules - 1;
        }
      else if (span_has_prefix (w, "element ") && split_object ((struct span) { w.s + 8, w.len - 8 }, &name, &rest))
        {
          struct span key;
          if (!element_key (rest, &key))
            return bad_line (what, lineno, line, err);
          const struct nft_elem *had = find_elem (t, name, key);
          if (had)
            {
              /* The same element again is a no-op; another value for its
                 key is not something a payload may say. */
              if (!span_eq (had->line, line))
                return bad_line (what, lineno, line, err);
              continue;
            }
          *VEC_PUSH (t->elems, t->n_elems) = (struct nft_elem) { .container = name, .key = key, .line = line,
                                                                 .line_hash = hash64_mem (line.s, line.len, 0) };
          index_add (&t->elems_by_key, elem_hash (name, key), t->n_elems);
        }
      else
        return bad_line (what, lineno, line, err);
    }
  for (size_t i = 0; i < t->n_objs; i++)
    {
      /* each line's length goes in too: lines do not run into each other */
      uint64_t h = 0;
      for (size_t r = t->objs[i].first_rule; r != NO_RULE; r = t->rules[r].next)
        h = hash64_mem (t->rules[r].line.s, t->rules[r].line.len, h + t->rules[r].line.len + 1);
      t->objs[i].rules_hash = h;
    }
  return 0;
}

static bool
is_service_chain (struct span name)
{
  /* kube-proxy's isServiceChainName: only per-service chains have a '/'. */
  return memchr (name.s, '/', name.len) != NULL;
}

static const char *
kind_word (char kind)
{
  return kind == 'c' ? "chain" : kind == 's' ? "set" : "map";
}

static bool
is_affinity_set (const struct nft_obj *o)
{
  return o->kind == 's' && span_has_prefix (o->name, "affinity-");
}

/* Whether chain A of table TA has the same rules, line for line, as chain
 * B of TB. */
static bool
same_rules (const struct nft_table *ta, const struct nft_obj *a, const struct nft_table *tb, const struct nft_obj *b)
{
  if (a == NULL || b == NULL)
    return false;
  if (ta->digest || tb->digest)
    return a->rules_hash == b->rules_hash;
  size_t i = a->first_rule, j = b->first_rule;
  for (; i != NO_RULE && j != NO_RULE; i = ta->rules[i].next, j = tb->rules[j].next)
    if (!span_eq (ta->rules[i].line, tb->rules[j].line))
      return false;
  return i == NO_RULE && j == NO_RULE;
}

/* Whether two elements of one key are the same line (a digest's by hash). */
static bool
same_line (const struct nft_elem *a, const struct nft_elem *b)
{
  if (a->line.s == NULL || b->line.s == NULL)
    return a->line_hash == b->line_hash;
  return span_eq (a->line, b->line);
}

static void
add_span_line (struct strbuf *sb, struct span s)
{
  sb_addn (sb, s.s, s.len);
  sb_addn (sb, "\n", 1);
}

static void
add_def (struct strbuf *sb, const struct nft_obj *o)
{
  sb_addf (sb, "add %s " TABLE_WORDS "%.*s%s%.*s\n", kind_word (o->kind), (int) o->name.len, o->name.s,
           o->def.len ? " " : "", (int) o->def.len, o->def.s);
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
  if (full && n->table_line.s)
    add_span_line (&sb, n->table_line);
  /* Definitions: new sets, maps and chains, each before anything uses it. */
  for (size_t i = 0; i < n->n_objs; i++)
    {
      const struct nft_obj *no = &n->objs[i];
      const struct nft_obj *oo = find_obj (o, no->kind, no->name);
      if (oo && !span_eq (oo->def, no->def))
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
      if (!full && same_rules (o, oo, n, no))
        continue;
      if (oo || full)
        sb_addf (&sb, "flush chain " TABLE_WORDS "%.*s\n", (int) no->name.len, no->name.s);
      for (size_t r = no->first_rule; r != NO_RULE; r = n->rules[r].next)
        add_span_line (&sb, n->rules[r].line);
    }
  if (full)
    {
      /* nftElementStorage.reset: flush, then every element again. */
      for (size_t i = 0; i < n->n_objs; i++)
        if (n->objs[i].kind != 'c' && !is_affinity_set (&n->objs[i]))
          sb_addf (&sb, "flush %s " TABLE_WORDS "%.*s\n", kind_word (n->objs[i].kind), (int) n->objs[i].name.len,
                   n->objs[i].name.s);
      for (size_t i = 0; i < n->n_elems; i++)
        add_span_line (&sb, n->elems[i].line);
    }
  else
    {
      /* Elements: gone or changed ones deleted, then new or changed ones
         added. */
      for (size_t i = 0; i < o->n_elems; i++)
        {
          const struct nft_elem *oe = &o->elems[i];
          const struct nft_elem *ne = find_elem (n, oe->container, oe->key);
          if (ne == NULL || !same_line (ne, oe))
            sb_addf (&sb, "delete element " TABLE_WORDS "%.*s { %.*s }\n", (int) oe->container.len, oe->container.s,
                     (int) oe->key.len, oe->key.s);
        }
      for (size_t i = 0; i < n->n_elems; i++)
        {
          const struct nft_elem *ne = &n->elems[i];
          const struct nft_elem *oe = find_elem (o, ne->container, ne->key);
          if (oe == NULL || !same_line (ne, oe))
            add_span_line (&sb, ne->line);
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
        int nl = (int) oo->name.len;
        if (pass == 0 && oo->kind == 'c')
          sb_addf (&sb, "add chain " TABLE_WORDS "%.*s\nflush chain " TABLE_WORDS "%.*s\n", nl, oo->name.s, nl,
                   oo->name.s);
        else if (pass == 1 && oo->kind == 'c')
          sb_addf (&sb, "delete chain " TABLE_WORDS "%.*s\n", nl, oo->name.s);
        else if (pass == 2 && oo->kind != 'c')
          {
            add_def (&sb, oo);
            sb_addf (&sb, "delete %s " TABLE_WORDS "%.*s\n", kind_word (oo->kind), nl, oo->name.s);
          }
      }
  return sb_steal (&sb);
}

/* The transaction from O to N's NEW_PAYLOAD into *out (see
 * kube_proxy_nft_sync_payload). */
static void
sync_tables (const struct nft_table *o, const struct nft_table *n, const char *new_payload, bool full, char **out)
{
  *out = NULL;
  char *tx = diff (o, n, full);
  if (tx == NULL)
    /* Start over in one transaction: the add makes the delete safe when
       the table is already gone. */
    *out = xasprintf ("add table ip kube-proxy\ndelete table ip kube-proxy\n%s", new_payload);
  else if (*tx == '\0')
    free (tx);
  else
    *out = tx;
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
  sync_tables (&o, &n, new_payload, full, out);
  table_free (&o);
  table_free (&n);
  return 0;
}

/* ---- the digest: what diff reads of the table a node holds ---- */

struct packed_obj {
  uint64_t rules_hash;
  uint32_t name, def; /* offsets in strs */
  uint16_t name_len, def_len;
  char kind;
};

struct packed_elem {
  uint64_t line_hash;
  uint32_t container, key;
  uint16_t container_len, key_len;
};

struct kube_proxy_nft_digest {
  char *strs;
  struct packed_obj *objs;
  size_t n_objs;
  struct packed_elem *elems;
  size_t n_elems;
};

/* S into D's strs (at *LEN, grown to *CAP): its offset. */
static uint32_t
strs_add (struct kube_proxy_nft_digest *d, size_t *len, size_t *cap, struct span s)
{
  if (*len + s.len + 1 > *cap)
    {
      *cap = 2 * (*len + s.len + 1);
      d->strs = xrealloc (d->strs, *cap);
    }
  uint32_t at = (uint32_t) *len;
  memcpy (d->strs + *len, s.s, s.len);
  *len += s.len;
  return at;
}

static bool
fits16 (struct span s)
{
  return s.len <= UINT16_MAX;
}

/* T (parsed) as a digest; NULL when a name, definition or key is too long
 * to pack (the caller keeps the text). */
static struct kube_proxy_nft_digest *
pack (const struct nft_table *t)
{
  struct kube_proxy_nft_digest *d = xcalloc (1, sizeof *d);
  size_t len = 0, cap = 0;
  d->objs = xcalloc (t->n_objs + 1, sizeof *d->objs);
  d->elems = xcalloc (t->n_elems + 1, sizeof *d->elems);
  for (size_t i = 0; i < t->n_objs; i++)
    {
      const struct nft_obj *o = &t->objs[i];
      if (!fits16 (o->name) || !fits16 (o->def) || len > UINT32_MAX / 2)
        goto too_big;
      d->objs[i] = (struct packed_obj) { .rules_hash = o->rules_hash, .kind = o->kind,
                                         .name_len = (uint16_t) o->name.len, .def_len = (uint16_t) o->def.len };
      d->objs[i].name = strs_add (d, &len, &cap, o->name);
      d->objs[i].def = strs_add (d, &len, &cap, o->def);
    }
  d->n_objs = t->n_objs;
  for (size_t i = 0; i < t->n_elems; i++)
    {
      const struct nft_elem *e = &t->elems[i];
      if (!fits16 (e->container) || !fits16 (e->key) || len > UINT32_MAX / 2)
        goto too_big;
      d->elems[i] = (struct packed_elem) { .line_hash = e->line_hash, .container_len = (uint16_t) e->container.len,
                                           .key_len = (uint16_t) e->key.len };
      /* an element's set or map is one of the objects: its name is there */
      const struct nft_obj *c = find_obj (t, 'm', e->container);
      if (c == NULL)
        c = find_obj (t, 's', e->container);
      d->elems[i].container = c ? d->objs[c - t->objs].name : strs_add (d, &len, &cap, e->container);
      d->elems[i].key = strs_add (d, &len, &cap, e->key);
    }
  d->n_elems = t->n_elems;
  d->strs = xrealloc (d->strs, len + 1);
  return d;
too_big:
  kube_proxy_nft_digest_free (d);
  return NULL;
}

/* D as a table diff reads (its spans in D's strs; free with table_free). */
static void
unpack (const struct kube_proxy_nft_digest *d, struct nft_table *t)
{
  memset (t, 0, sizeof *t);
  t->digest = true;
  t->objs = xcalloc (d->n_objs + 1, sizeof *t->objs);
  t->elems = xcalloc (d->n_elems + 1, sizeof *t->elems);
  for (size_t i = 0; i < d->n_objs; i++)
    {
      const struct packed_obj *p = &d->objs[i];
      t->objs[i] = (struct nft_obj) { .kind = p->kind, .name = { d->strs + p->name, p->name_len },
                                      .def = { d->strs + p->def, p->def_len }, .first_rule = NO_RULE,
                                      .last_rule = NO_RULE, .rules_hash = p->rules_hash };
      index_add (&t->objs_by_name, obj_hash (p->kind, t->objs[i].name), i + 1);
    }
  t->n_objs = d->n_objs;
  for (size_t i = 0; i < d->n_elems; i++)
    {
      const struct packed_elem *p = &d->elems[i];
      t->elems[i] = (struct nft_elem) { .container = { d->strs + p->container, p->container_len },
                                        .key = { d->strs + p->key, p->key_len }, .line_hash = p->line_hash };
      index_add (&t->elems_by_key, elem_hash (t->elems[i].container, t->elems[i].key), i + 1);
    }
  t->n_elems = d->n_elems;
}

int
kube_proxy_nft_digest_new (const char *payload, struct kube_proxy_nft_digest **out, nslab_error_t *err)
{
  *out = NULL;
  struct nft_table t;
  int rc = parse ("new", payload, &t, err);
  if (rc == 0 && (*out = pack (&t)) == NULL)
    rc = nslab_error_invalid (err, "nftables payload: a name or key too long to keep as a digest");
  table_free (&t);
  return rc;
}

void
kube_proxy_nft_digest_free (struct kube_proxy_nft_digest *d)
{
  if (d == NULL)
    return;
  free (d->strs);
  free (d->objs);
  free (d->elems);
  free (d);
}

int
kube_proxy_nft_sync_digest (const struct kube_proxy_nft_digest *old, const char *new_payload, bool full, char **out,
                            struct kube_proxy_nft_digest **new_digest, nslab_error_t *err)
{
  *out = NULL;
  if (new_digest)
    *new_digest = NULL;
  struct nft_table o, n;
  if (parse ("new", new_payload, &n, err) < 0)
    {
      table_free (&n);
      return -1;
    }
  unpack (old, &o);
  sync_tables (&o, &n, new_payload, full, out);
  if (new_digest)
    *new_digest = pack (&n);
  table_free (&o);
  table_free (&n);
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
