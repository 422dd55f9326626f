/* [check NAME]: decoding and validation (check.h), for scenarios (called by
 * validate.c after the workloads, so targets can be checked against nodes
 * and workloads) and for checks-only files. */
#include "scenario/check.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "base/shellsplit.h"
#include "base/text.h"
#include "base/util.h"
#include "scenario/decode.h"
#include "scenario/ini.h"

static const char *const kind_names[CHECK_KIND_N] = {
  [CHECK_HTTP] = "http",   [CHECK_TCP] = "tcp",   [CHECK_UDP] = "udp",
  [CHECK_PING] = "ping",   [CHECK_DNS] = "dns",   [CHECK_ROUTE] = "route",
  [CHECK_LINK] = "link",   [CHECK_ADDR] = "addr", [CHECK_IPTABLES] = "iptables",
  [CHECK_NFT] = "nft",     [CHECK_COMMAND] = "command",
};

/* The words of expect = for each kind: [0] passes when true, [1] when false. */
static const char *const expect_words[CHECK_KIND_N][2] = {
  [CHECK_HTTP] = { "success", "failure" },    [CHECK_TCP] = { "reachable", "unreachable" },
  [CHECK_UDP] = { "reachable", "unreachable" }, [CHECK_PING] = { "reachable", "unreachable" },
  [CHECK_DNS] = { "resolves", "fails" },      [CHECK_ROUTE] = { "present", "absent" },
  [CHECK_LINK] = { "present", "absent" },     [CHECK_ADDR] = { "present", "absent" },
  [CHECK_IPTABLES] = { "present", "absent" }, [CHECK_NFT] = { "present", "absent" },
  [CHECK_COMMAND] = { NULL, NULL },
};

/* Which keys each kind takes, besides type, target, namespace. */
static const char *const kind_keys[CHECK_KIND_N][8] = {
  [CHECK_HTTP] = { "url", "count", "status", "body", "backends", "expect", "timeout", NULL },
  [CHECK_TCP] = { "host", "port", "expect", "timeout", NULL },
  [CHECK_UDP] = { "host", "port", "expect", "timeout", NULL },
  [CHECK_PING] = { "host", "expect", "timeout", NULL },
  [CHECK_DNS] = { "host", "addresses", "expect", "timeout", NULL },
  [CHECK_ROUTE] = { "match", "expect", NULL },
  [CHECK_LINK] = { "match", "expect", NULL },
  [CHECK_ADDR] = { "match", "expect", NULL },
  [CHECK_IPTABLES] = { "match", "expect", NULL },
  [CHECK_NFT] = { "match", "expect", NULL },
  [CHECK_COMMAND] = { "command", "exit", "match", "timeout", NULL },
};

static const char *const all_keys[]
    = { "type", "target", "namespace", "expect", "timeout", "url", "count", "status", "body", "backends",
        "host", "port", "addresses", "match", "command", "exit", NULL };

const char *
check_kind_name (enum check_kind k)
{
  return k < CHECK_KIND_N ? kind_names[k] : "?";
}

void
check_defs_free (struct check_def *c, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (c[i].name);
      free (c[i].target);
      free (c[i].ns);
      free (c[i].url);
      free (c[i].body);
      free (c[i].host);
      for (size_t j = 0; j < c[i].n_addresses; j++)
        free (c[i].addresses[j]);
      free (c[i].addresses);
      free (c[i].match);
      free (c[i].command);
      shell_argv_free (c[i].argv);
      free ((char *) c[i].origin.section);
    }
  free (c);
}

void
check_set_free (struct check_set *set)
{
  if (set == NULL)
    return;
  check_defs_free (set->checks, set->n);
  free (set->file);
  free (set);
}

static bool
in_list (const char *const *v, const char *s)
{
  for (; *v; v++)
    if (strcmp (*v, s) == 0)
      return true;
  return false;
}

static int
key_regex (nslab_error_t *err, const struct merged_key *k, char **out)
{
  regex_t re;
  int rc = regcomp (&re, k->value, REG_EXTENDED | REG_NOSUB);
  if (rc != 0)
    {
      char buf[256];
      regerror (rc, &re, buf, sizeof buf);
      return key_err (err, k, "\"%s\" is not a valid regular expression (%s)", k->value, buf);
    }
  regfree (&re);
  *out = xstrdup (k->value);
  return 0;
}

/* TARGET as nslab exec takes it; with SC, nodes and workloads must exist. */
static int
check_target (nslab_error_t *err, const struct merged_key *k, const char *ns, const struct scenario *sc)
{
  const char *t = k->value;
  if (strcmp (t, "host") == 0)
    return 0;
  static const char *const prefixes[] = { "node/", "pod/", "deploy/", "rs/" };
  const char *name = NULL, *prefix = NULL;
  for (size_t i = 0; i < ARRAY_SIZE (prefixes) && name == NULL; i++)
    if (str_has_prefix (t, prefixes[i]))
      {
        prefix = prefixes[i];
        name = t + strlen (prefixes[i]);
      }
  if (name == NULL || !dns_subdomain_valid (name))
    return key_err (err, k, "\"%s\" is not a target (host, node/NAME, pod/NAME, deploy/NAME or rs/NAME)", t);
  if (sc == NULL)
    return 0;
  if (strcmp (prefix, "node/") == 0)
    {
      for (size_t i = 0; i < sc->n_nodes; i++)
        if (strcmp (sc->nodes[i].name, name) == 0)
          return 0;
      return key_err (err, k, "unknown target %s (no [node %s])", t, name);
    }
  /* Pods of deployments get generated names: only named pods and the
   * workloads themselves can be checked here. */
  enum workload_kind want = strcmp (prefix, "deploy/") == 0 ? WL_DEPLOYMENT
                            : strcmp (prefix, "rs/") == 0   ? WL_REPLICASET
                                                            : WL_POD;
  bool any_generated = false;
  for (size_t i = 0; i < sc->n_workloads; i++)
    {
      const struct workload_def *w = &sc->workloads[i];
      if (strcmp (w->ns, ns) != 0)
        continue;
      if (w->kind == want && strcmp (w->name, name) == 0)
        return 0;
      if (want == WL_POD && w->kind != WL_POD && str_has_prefix (name, w->name)
          && name[strlen (w->name)] == '-')
        any_generated = true;
    }
  if (any_generated)
    return 0;
  return key_err (err, k, "unknown target %s (no [%s %s/%s])", t, workload_kind_name (want), ns, name);
}

static int
dup_uint (nslab_error_t *err, const struct merged_key *k, uint64_t lo, uint64_t hi, unsigned *out)
{
  uint64_t v;
  if (key_uint (err, k, lo, hi, &v) < 0)
    return -1;
  *out = (unsigned) v;
  return 0;
}

int
decode_check_section (nslab_error_t *err, const struct merged_section *s, const struct scenario *sc,
                      struct check_def *c)
{
  c->origin.file = s->file;
  c->origin.section = xstrdup (s->name);
  if (*s->arg == '\0')
    return section_err (err, s, "missing name (write [check NAME])");
  for (const char *p = s->arg; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
      return section_err (err, s, "\"%s\" is not a check name (a-z, 0-9, '-', '_', '.')", s->arg);
  c->name = xstrdup (s->arg);
  for (size_t i = 0; i < s->n_keys; i++)
    if (!in_list (all_keys, s->keys[i].name))
      {
        const char *near = text_closest (s->keys[i].name, all_keys, ARRAY_SIZE (all_keys) - 1);
        if (near)
          return key_err (err, &s->keys[i], "unknown key (did you mean %s?)", near);
        return key_err (err, &s->keys[i], "unknown key");
      }
  const struct merged_key *k = find_key (s, "type");
  if (k == NULL)
    return key_missing (err, s->file, s, "type",
                        " (http, tcp, udp, ping, dns, route, link, addr, iptables, nft or command)");
  int kind = -1;
  for (int i = 0; i < CHECK_KIND_N; i++)
    if (strcmp (k->value, kind_names[i]) == 0)
      kind = i;
  if (kind < 0)
    {
      const char *near = text_closest (k->value, kind_names, CHECK_KIND_N);
      return key_err (err, k, "unknown check type \"%s\"%s%s%s", k->value, near ? " (did you mean " : "",
                      near ? near : "",
                      near ? "?)" : " (http, tcp, udp, ping, dns, route, link, addr, iptables, nft or command)");
    }
  c->kind = (enum check_kind) kind;
  for (size_t i = 0; i < s->n_keys; i++)
    {
      const char *n = s->keys[i].name;
      if (strcmp (n, "type") && strcmp (n, "target") && strcmp (n, "namespace")
          && !in_list (kind_keys[kind], n))
        return key_err (err, &s->keys[i], "not used by type = %s", kind_names[kind]);
    }

  c->ns = xstrdup ("default");
  if ((k = find_key (s, "namespace")))
    {
      if (!dns_label_valid (k->value, 63))
        return key_err (err, k, "\"%s\" is not a valid namespace name", k->value);
      free (c->ns);
      c->ns = xstrdup (k->value);
    }
  k = find_key (s, "target");
  c->target = xstrdup (k ? k->value : "host");
  if (k && check_target (err, k, c->ns, sc) < 0)
    return -1;

  c->expect = true;
  if ((k = find_key (s, "expect")))
    {
      if (strcmp (k->value, expect_words[kind][0]) == 0)
        c->expect = true;
      else if (strcmp (k->value, expect_words[kind][1]) == 0)
        c->expect = false;
      else
        return key_err (err, k, "\"%s\" is not %s or %s", k->value, expect_words[kind][0], expect_words[kind][1]);
    }
  c->timeout_ms = 2000;
  if ((k = find_key (s, "timeout")))
    {
      unsigned t;
      if (dup_uint (err, k, 1, 600, &t) < 0)
        return -1;
      c->timeout_ms = t * 1000;
    }

  switch (c->kind)
    {
    case CHECK_HTTP:
      if ((k = find_key (s, "url")) == NULL)
        return key_missing (err, s->file, s, "url", " (e.g. url = http://10.43.0.10:80/)");
      if (!str_has_prefix (k->value, "http://") || k->value[7] == '\0' || k->value[7] == '/')
        return key_err (err, k, "\"%s\" is not http://HOST[:PORT][/PATH]", k->value);
      c->url = xstrdup (k->value);
      c->count = 1;
      c->status = 200;
      if ((k = find_key (s, "count")) && dup_uint (err, k, 1, 1000, &c->count) < 0)
        return -1;
      if ((k = find_key (s, "status")) && dup_uint (err, k, 100, 599, &c->status) < 0)
        return -1;
      if ((k = find_key (s, "body")) && key_regex (err, k, &c->body) < 0)
        return -1;
      if ((k = find_key (s, "backends")))
        {
          if (dup_uint (err, k, 1, 1000, &c->backends) < 0)
            return -1;
          if (c->backends > c->count)
            return key_err (err, k, "%u backends cannot be seen in count = %u requests", c->backends, c->count);
        }
      if (!c->expect && (find_key (s, "body") || find_key (s, "backends") || find_key (s, "status")))
        return section_err (err, s, "expect = failure takes no status, body or backends");
      break;
    case CHECK_TCP:
    case CHECK_UDP:
    case CHECK_PING:
    case CHECK_DNS:
      if ((k = find_key (s, "host")) == NULL)
        return key_missing (err, s->file, s, "host", c->kind == CHECK_DNS ? " (the name to resolve)" : " (an address)");
      if (c->kind != CHECK_DNS)
        {
          uint32_t ip;
          if (key_ip (err, k, k->value, &ip) < 0)
            return -1;
        }
      else if (!dns_subdomain_valid (k->value))
        return key_err (err, k, "\"%s\" is not a DNS name", k->value);
      c->host = xstrdup (k->value);
      if (c->kind == CHECK_TCP || c->kind == CHECK_UDP)
        {
          if ((k = find_key (s, "port")) == NULL)
            return key_missing (err, s->file, s, "port", "");
          if (key_port (err, k, &c->port) < 0)
            return -1;
        }
      if ((k = find_key (s, "addresses")))
        {
          cleanup_key_list struct key_list l;
          if (key_list (err, k, "no address", 64, "addresses", &l) < 0)
            return -1;
          for (size_t i = 0; i < l.n; i++)
            {
              uint32_t ip;
              if (key_ip (err, k, l.items[i], &ip) < 0)
                return -1;
              *VEC_PUSH (c->addresses, c->n_addresses) = xstrdup (l.items[i]);
            }
          if (!c->expect)
            return key_err (err, k, "expect = fails takes no addresses");
        }
      break;
    case CHECK_ROUTE:
    case CHECK_LINK:
    case CHECK_ADDR:
    case CHECK_IPTABLES:
    case CHECK_NFT:
      if ((k = find_key (s, "match")) == NULL)
        return key_missing (err, s->file, s, "match", " (a regular expression for one line)");
      if (key_regex (err, k, &c->match) < 0)
        return -1;
      break;
    case CHECK_COMMAND:
      {
        if ((k = find_key (s, "command")) == NULL)
          return key_missing (err, s->file, s, "command", "");
        size_t argc = 0;
        const char *why = NULL;
        if (shell_split (k->value, &c->argv, &argc, &why) < 0)
          return key_err (err, k, "%s", why);
        if (argc == 0)
          return key_err (err, k, "empty command");
        c->command = xstrdup (k->value);
        if ((k = find_key (s, "exit")))
          {
            unsigned e;
            if (dup_uint (err, k, 0, 255, &e) < 0)
              return -1;
            c->exit_code = (int) e;
          }
        if ((k = find_key (s, "match")) && key_regex (err, k, &c->match) < 0)
          return -1;
        break;
      }
    case CHECK_KIND_N:
      break;
    }
  return 0;
}

int
check_file_load (const char *file, struct check_set **out, nslab_error_t *err)
{
  struct ini_file *f = NULL;
  if (ini_load (file, &f, err) < 0)
    return -1;
  struct check_set *set = xcalloc (1, sizeof *set);
  set->file = xstrdup (file);
  int rc = 0;
  if (f->n_sections == 0)
    rc = nslab_error_invalid (err, "%s: no [check NAME] section", file);
  for (size_t i = 0; i < f->n_sections && rc == 0; i++)
    {
      const struct ini_section *is = &f->sections[i];
      struct merged_section ms = { .type = is->type, .arg = is->arg, .canon = is->canon, .file = set->file,
                                   .name = is->name, .line = is->line };
      ms.keys = xcalloc (is->n_keys + 1, sizeof *ms.keys);
      for (size_t j = 0; j < is->n_keys; j++)
        ms.keys[ms.n_keys++] = (struct merged_key) { is->keys[j].name, is->keys[j].value, set->file, is->name,
                                                     is->keys[j].line };
      if (strcmp (is->type, "check") != 0)
        rc = section_err (err, &ms, "a checks file has only [check NAME] sections");
      else
        rc = decode_check_section (err, &ms, NULL, VEC_PUSH (set->checks, set->n));
      free (ms.keys);
    }
  ini_file_free (f);
  if (rc < 0)
    {
      check_set_free (set);
      return -1;
    }
  *out = set;
  return 0;
}
