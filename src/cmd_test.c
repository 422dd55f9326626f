/* nslab test [-o text|tap] [--junit FILE] [--wait] LAB [FILE]: run a lab's
 * checks ([check NAME] sections of its scenario, or of FILE) against the
 * running lab. Each check runs in its own child, which joins the target's
 * namespaces (target.c, runtime/enter) and reports one result line through
 * a pipe; the children run in parallel and each result is printed as it
 * comes. Exit 0 only if every check passed. docs/checks.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apply/apply.h"
#include "base/error.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "scenario/check.h"
#include "scenario/ini.h"
#include "scenario/scenario.h"
#include "state/state.h"
#include "target.h"

/* Children at once: checks are mostly waiting on the network. */
#define MAX_PARALLEL 16
/* What a child may say about one check. */
#define RESULT_MAX 2000

static uint64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* ---- the child side: one check, inside the target ------------------- */

/* Connect to ADDR:PORT within TIMEOUT_MS; returns the fd or -1 with errno. */
static int
connect_timeout (int type, const char *addr, uint16_t port, uint32_t timeout_ms)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
  if (inet_pton (AF_INET, addr, &sa.sin_addr) != 1)
    {
      errno = EINVAL;
      return -1;
    }
  int fd = socket (AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0)
    return fd;
  if (errno != EINPROGRESS)
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  struct pollfd p = { .fd = fd, .events = POLLOUT };
  int r = poll (&p, 1, (int) timeout_ms);
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (r == 0)
    soerr = ETIMEDOUT;
  else if (r < 0 || getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
    soerr = errno;
  if (soerr)
    {
      close (fd);
      errno = soerr;
      return -1;
    }
  return fd;
}

/* Read until EOF or the deadline. */
static int
read_all (int fd, uint64_t deadline, struct strbuf *out)
{
  char buf[4096];
  for (;;)
    {
      uint64_t t = now_ms ();
      if (t >= deadline)
        {
          errno = ETIMEDOUT;
          return -1;
        }
      struct pollfd p = { .fd = fd, .events = POLLIN };
      int r = poll (&p, 1, (int) (deadline - t));
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          errno = r == 0 ? ETIMEDOUT : errno;
          return -1;
        }
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        return 0;
      if (out->len < 1024 * 1024)
        sb_addn (out, buf, (size_t) n);
    }
}

/* One GET: *status and *body, or -1 with *why. */
static int
http_get (const char *url, uint32_t timeout_ms, int *status, char **body, char **why)
{
  const char *hostport = url + 7;
  const char *slash = strchr (hostport, '/');
  cleanup_free char *hp = slash ? xstrndup (hostport, (size_t) (slash - hostport)) : xstrdup (hostport);
  const char *path = slash ? slash : "/";
  uint16_t port = 80;
  char *colon = strchr (hp, ':');
  if (colon)
    {
      *colon = '\0';
      port = (uint16_t) atoi (colon + 1);
    }
  /* A name (a service's, once cluster DNS exists) resolves in the target. */
  char addr[INET_ADDRSTRLEN];
  struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai = NULL;
  int g = getaddrinfo (hp, NULL, &hints, &ai);
  if (g != 0)
    {
      *why = xasprintf ("cannot resolve %s: %s", hp, gai_strerror (g));
      return -1;
    }
  inet_ntop (AF_INET, &((struct sockaddr_in *) ai->ai_addr)->sin_addr, addr, sizeof addr);
  freeaddrinfo (ai);
  uint64_t deadline = now_ms () + timeout_ms;
  cleanup_close int fd = connect_timeout (SOCK_STREAM, addr, port, timeout_ms);
  if (fd < 0)
    {
      *why = xasprintf ("connect %s:%u: %s", addr, port, strerror (errno));
      return -1;
    }
  cleanup_free char *req = xasprintf ("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", path, hp);
  size_t len = strlen (req);
  if (write (fd, req, len) != (ssize_t) len)
    {
      *why = xasprintf ("send to %s:%u: %s", addr, port, strerror (errno));
      return -1;
    }
  struct strbuf resp;
  sb_init (&resp);
  if (read_all (fd, deadline, &resp) < 0)
    {
      *why = xasprintf ("read from %s:%u: %s", addr, port, strerror (errno));
      sb_free (&resp);
      return -1;
    }
  const char *r = resp.buf ? resp.buf : "";
  int st = 0;
  if (sscanf (r, "HTTP/%*d.%*d %d", &st) != 1)
    {
      *why = xasprintf ("%s:%u answered no HTTP status line", addr, port);
      sb_free (&resp);
      return -1;
    }
  const char *b = strstr (r, "\r\n\r\n");
  *status = st;
  *body = xstrdup (b ? b + 4 : "");
  sb_free (&resp);
  return 0;
}

static bool
regex_match (const char *pattern, const char *text, bool per_line)
{
  regex_t re;
  if (regcomp (&re, pattern, REG_EXTENDED | REG_NOSUB | (per_line ? REG_NEWLINE : 0)) != 0)
    return false;
  bool m = regexec (&re, text, 0, NULL, 0) == 0;
  regfree (&re);
  return m;
}

/* Run ARGV, capturing stdout and stderr; *status as a shell shows it. */
static int
capture (char *const *argv, uint32_t timeout_ms, char **out, int *status, char **why)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      *why = xasprintf ("pipe: %s", strerror (errno));
      return -1;
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      *why = xasprintf ("fork: %s", strerror (errno));
      close (p[0]);
      close (p[1]);
      return -1;
    }
  if (pid == 0)
    {
      dup2 (p[1], 1);
      dup2 (p[1], 2);
      int devnull = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (devnull >= 0)
        dup2 (devnull, 0);
      execvp (argv[0], argv);
      dprintf (1, "exec %s: %s\n", argv[0], strerror (errno));
      _exit (errno == ENOENT ? 127 : 126);
    }
  close (p[1]);
  struct strbuf sb;
  sb_init (&sb);
  int rr = read_all (p[0], now_ms () + timeout_ms, &sb);
  close (p[0]);
  if (rr < 0)
    kill (pid, SIGKILL);
  int st = 0;
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  *out = sb.buf ? sb_steal (&sb) : xstrdup ("");
  if (rr < 0)
    {
      *why = xasprintf ("%s did not finish within %u s", argv[0], timeout_ms / 1000);
      return -1;
    }
  *status = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
  return 0;
}

/* The first line of TEXT matching PATTERN (malloc'd), or NULL. */
static char *
matching_line (const char *pattern, const char *text)
{
  regex_t re;
  if (regcomp (&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
    return NULL;
  char *found = NULL;
  for (const char *l = text; *l && found == NULL;)
    {
      const char *e = strchr (l, '\n');
      cleanup_free char *line = e ? xstrndup (l, (size_t) (e - l)) : xstrdup (l);
      if (regexec (&re, line, 0, NULL, 0) == 0)
        found = xstrdup (line);
      l = e ? e + 1 : l + strlen (l);
    }
  regfree (&re);
  return found;
}

/* Run one check; returns true when it passes, with *msg saying what was
 * seen (and, on failure, what was expected). */
static bool
evaluate (const struct check_def *c, char **msg)
{
  char *why = NULL;
  switch (c->kind)
    {
    case CHECK_HTTP:
      {
        size_t ok = 0, failed = 0;
        char **pods = NULL;
        size_t n_pods = 0;
        cleanup_free char *first_bad = NULL;
        for (unsigned i = 0; i < c->count; i++)
          {
            int st = 0;
            char *body = NULL;
            cleanup_free char *e = NULL;
            if (http_get (c->url, c->timeout_ms, &st, &body, &e) < 0)
              {
                failed++;
                if (first_bad == NULL)
                  first_bad = xstrdup (e);
                continue;
              }
            bool good = (unsigned) st == c->status;
            if (!good && first_bad == NULL)
              first_bad = xasprintf ("status %d", st);
            if (good && c->body && !regex_match (c->body, body, true))
              {
                good = false;
                if (first_bad == NULL)
                  first_bad = xasprintf ("a body not matching /%s/: %.200s", c->body, body);
              }
            cleanup_free char *pod = matching_line ("^pod: ", body);
            if (pod)
              {
                bool seen = false;
                for (size_t j = 0; j < n_pods && !seen; j++)
                  seen = strcmp (pods[j], pod + 5) == 0;
                if (!seen)
                  *VEC_PUSH (pods, n_pods) = xstrdup (pod + 5);
              }
            free (body);
            ok += good;
            failed += !good;
          }
        struct strbuf sb;
        sb_init (&sb);
        for (size_t j = 0; j < n_pods; j++)
          sb_addf (&sb, "%s%s", j ? "," : "", pods[j]);
        cleanup_free char *backends = sb_steal (&sb);
        for (size_t j = 0; j < n_pods; j++)
          free (pods[j]);
        free (pods);
        if (!c->expect)
          {
            bool pass = ok == 0 && failed == c->count;
            *msg = pass ? xasprintf ("%u/%u requests failed (%s)", c->count, c->count, first_bad ? first_bad : "")
                        : xasprintf ("expected every request to fail, seen %zu/%u succeed", ok, c->count);
            return pass;
          }
        if (failed)
          {
            *msg = xasprintf ("expected %u/%u with status %u, seen %zu/%u (first failure: %s)", c->count, c->count,
                              c->status, ok, c->count, first_bad ? first_bad : "?");
            return false;
          }
        if (n_pods < c->backends)
          {
            *msg = xasprintf ("expected at least %u backends, seen %zu (%s)", c->backends, n_pods,
                              *backends ? backends : "no pod: line");
            return false;
          }
        *msg = xasprintf ("%u/%u status %u%s%s", c->count, c->count, c->status, n_pods ? ", backends " : "",
                          backends);
        return true;
      }
    case CHECK_TCP:
    case CHECK_UDP:
      {
        const char *proto = c->kind == CHECK_TCP ? "tcp" : "udp";
        int fd = connect_timeout (c->kind == CHECK_TCP ? SOCK_STREAM : SOCK_DGRAM, c->host, c->port, c->timeout_ms);
        int e = errno;
        bool reach = fd >= 0;
        if (reach && c->kind == CHECK_UDP)
          {
            /* Reachable: no ICMP error within the timeout (an answer or
             * silence); a closed port answers port unreachable. */
            if (write (fd, "nslab\n", 6) < 0)
              e = errno, reach = false;
            else
              {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char b[64];
                if (poll (&p, 1, (int) c->timeout_ms) > 0 && read (fd, b, sizeof b) < 0)
                  e = errno, reach = false;
              }
          }
        if (fd >= 0)
          close (fd);
        cleanup_free char *seen = reach ? xasprintf ("%s %s:%u reachable", proto, c->host, c->port)
                                        : xasprintf ("%s %s:%u unreachable (%s)", proto, c->host, c->port, strerror (e));
        *msg = reach == c->expect ? xstrdup (seen)
                                  : xasprintf ("expected %s, seen %s", c->expect ? "reachable" : "unreachable", seen);
        return reach == c->expect;
      }
    case CHECK_PING:
      {
        cleanup_free char *w = xasprintf ("%u", (c->timeout_ms + 999) / 1000);
        char *const argv[] = { (char *) "ping", (char *) "-n", (char *) "-q", (char *) "-c", (char *) "1",
                               (char *) "-W", w, c->host, NULL };
        cleanup_free char *out = NULL;
        int st = 1;
        if (capture (argv, c->timeout_ms + 2000, &out, &st, &why) < 0)
          {
            *msg = why;
            return false;
          }
        if (st > 1)
          {
            *msg = xasprintf ("ping failed (exit %d): %s", st, out);
            return false;
          }
        bool reach = st == 0;
        *msg = reach == c->expect ? xasprintf ("ping %s: %s", c->host, reach ? "reachable" : "unreachable")
                                  : xasprintf ("expected %s, seen ping %s %s", c->expect ? "reachable" : "unreachable",
                                               c->host, reach ? "answered" : "unanswered");
        return reach == c->expect;
      }
    case CHECK_DNS:
      {
        struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai = NULL;
        int g = getaddrinfo (c->host, NULL, &hints, &ai);
        struct strbuf sb;
        sb_init (&sb);
        for (struct addrinfo *a = ai; a; a = a->ai_next)
          {
            char b[INET_ADDRSTRLEN];
            inet_ntop (AF_INET, &((struct sockaddr_in *) a->ai_addr)->sin_addr, b, sizeof b);
            if (!sb.buf || !strstr (sb.buf, b))
              sb_addf (&sb, "%s%s", sb.len ? "," : "", b);
          }
        if (ai)
          freeaddrinfo (ai);
        cleanup_free char *got = sb.buf ? sb_steal (&sb) : xstrdup ("");
        if (g != 0)
          {
            *msg = c->expect ? xasprintf ("expected %s to resolve, seen: %s", c->host, gai_strerror (g))
                             : xasprintf ("%s does not resolve (%s)", c->host, gai_strerror (g));
            return !c->expect;
          }
        if (!c->expect)
          {
            *msg = xasprintf ("expected %s not to resolve, seen %s", c->host, got);
            return false;
          }
        for (size_t i = 0; i < c->n_addresses; i++)
          {
            bool in = false;
            cleanup_free char *copy = xstrdup (got);
            char *save = NULL;
            for (char *t = strtok_r (copy, ",", &save); t && !in; t = strtok_r (NULL, ",", &save))
              in = strcmp (t, c->addresses[i]) == 0;
            if (!in)
              {
                *msg = xasprintf ("expected %s among the addresses of %s, seen %s", c->addresses[i], c->host, got);
                return false;
              }
          }
        *msg = xasprintf ("%s -> %s", c->host, got);
        return true;
      }
    case CHECK_ROUTE:
    case CHECK_LINK:
    case CHECK_ADDR:
    case CHECK_IPTABLES:
    case CHECK_NFT:
      {
        static const char *const cmds[][6] = {
          [CHECK_ROUTE] = { "ip", "route", "show", "table", "all", NULL },
          [CHECK_LINK] = { "ip", "-d", "link", "show", NULL },
          [CHECK_ADDR] = { "ip", "-d", "addr", "show", NULL },
          [CHECK_IPTABLES] = { "iptables-save", NULL },
          [CHECK_NFT] = { "nft", "list", "ruleset", NULL },
        };
        const char *const *argv = cmds[c->kind];
        cleanup_free char *out = NULL;
        int st = 0;
        if (capture ((char *const *) argv, 10000, &out, &st, &why) < 0)
          {
            *msg = why;
            return false;
          }
        struct strbuf shown;
        sb_init (&shown);
        for (size_t i = 0; argv[i]; i++)
          sb_addf (&shown, "%s%s", i ? " " : "", argv[i]);
        cleanup_free char *cmd = sb_steal (&shown);
        if (st != 0)
          {
            *msg = xasprintf ("%s failed (exit %d): %.300s", cmd, st, out);
            return false;
          }
        cleanup_free char *line = matching_line (c->match, out);
        bool present = line != NULL;
        if (present == c->expect)
          *msg = present ? xasprintf ("%s: %s", cmd, line) : xasprintf ("%s: no line matches /%s/", cmd, c->match);
        else
          *msg = present ? xasprintf ("expected no line of %s to match /%s/, seen: %s", cmd, c->match, line)
                         : xasprintf ("expected a line of %s matching /%s/, seen none", cmd, c->match);
        return present == c->expect;
      }
    case CHECK_COMMAND:
      {
        cleanup_free char *out = NULL;
        int st = 0;
        if (capture (c->argv, c->timeout_ms, &out, &st, &why) < 0)
          {
            *msg = why;
            return false;
          }
        if (st != c->exit_code)
          {
            *msg = xasprintf ("expected exit %d, seen exit %d: %.300s", c->exit_code, st, out);
            return false;
          }
        if (c->match && !regex_match (c->match, out, true))
          {
            *msg = xasprintf ("expected output matching /%s/, seen: %.300s", c->match, out);
            return false;
          }
        cleanup_free char *line = c->match ? matching_line (c->match, out) : NULL;
        *msg = line ? xasprintf ("exit %d: %s", st, line) : xasprintf ("exit %d", st);
        return true;
      }
    case CHECK_KIND_N:
      break;
    }
  *msg = xstrdup ("unknown check type");
  return false;
}

/* The child: enter the target, evaluate, write "P msg" or "F msg". */
static void __attribute__ ((noreturn))
child (const struct lab_view *v, const struct check_def *c, int wfd)
{
  nslab_error_t err = NULL;
  struct enter_fds f;
  bool is_host;
  char *msg = NULL;
  bool pass = false;
  if (target_open (v, c->target, c->ns, &f, &is_host, NULL, &err) < 0 || enter_join (&f, &err) < 0)
    {
      char *full = nslab_error_format (err);
      /* Reported as this check's result, not as nslab's own error. */
      msg = xstrdup (str_has_prefix (full, "nslab: ") ? full + 7 : full);
      free (full);
    }
  else
    pass = evaluate (c, &msg);
  char buf[RESULT_MAX];
  int n = snprintf (buf, sizeof buf, "%c%s", pass ? 'P' : 'F', msg);
  /* One line: output of commands is shown flattened. */
  for (int i = 1; i < n && i < (int) sizeof buf; i++)
    if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')
      buf[i] = ' ';
  ssize_t w = write (wfd, buf, (size_t) (n < (int) sizeof buf ? n : (int) sizeof buf - 1));
  (void) w;
  _exit (0);
}

/* ---- the parent: run, report --------------------------------------- */

enum out_fmt { FMT_TEXT, FMT_TAP };

struct run {
  const struct check_def *c;
  pid_t pid;
  int fd;
  uint64_t start, ms;
  struct strbuf out;
  bool done, pass;
  char *msg;
};

static void
xml_escape (FILE *f, const char *s)
{
  for (; *s; s++)
    switch (*s)
      {
      case '<':
        fputs ("&lt;", f);
        break;
      case '>':
        fputs ("&gt;", f);
        break;
      case '&':
        fputs ("&amp;", f);
        break;
      case '"':
        fputs ("&quot;", f);
        break;
      default:
        if ((unsigned char) *s < 0x20 && *s != '\n' && *s != '\t')
          fputc (' ', f);
        else
          fputc (*s, f);
      }
}

static int
write_junit (const char *path, const char *lab, const struct run *r, size_t n, uint64_t total_ms,
             nslab_error_t *err)
{
  FILE *f = fopen (path, "we");
  if (f == NULL)
    return nslab_error (err, errno, "open %s", path);
  size_t failures = 0;
  for (size_t i = 0; i < n; i++)
    failures += !r[i].pass;
  fprintf (f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\">\n", n,
           failures);
  fputs ("  <testsuite name=\"", f);
  xml_escape (f, lab);
  fprintf (f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.3f\">\n", n, failures,
           (double) total_ms / 1000);
  for (size_t i = 0; i < n; i++)
    {
      fputs ("    <testcase classname=\"", f);
      xml_escape (f, lab);
      fputs (".", f);
      xml_escape (f, check_kind_name (r[i].c->kind));
      fputs ("\" name=\"", f);
      xml_escape (f, r[i].c->name);
      fprintf (f, "\" time=\"%.3f\"", (double) r[i].ms / 1000);
      if (r[i].pass)
        {
          fputs ("/>\n", f);
          continue;
        }
      fputs (">\n      <failure message=\"", f);
      xml_escape (f, r[i].msg);
      fputs ("\">", f);
      xml_escape (f, r[i].c->origin.file);
      fputs (": [", f);
      xml_escape (f, r[i].c->origin.section);
      fputs ("]: ", f);
      xml_escape (f, r[i].msg);
      fputs ("</failure>\n    </testcase>\n", f);
    }
  fputs ("  </testsuite>\n</testsuites>\n", f);
  if (fclose (f) != 0)
    return nslab_error (err, errno, "write %s", path);
  return 0;
}

static void
report (enum out_fmt fmt, size_t num, const struct run *r)
{
  const struct check_def *c = r->c;
  cleanup_free char *name = nslab_escape (c->name, false);
  cleanup_free char *msg = nslab_escape (r->msg, false);
  if (fmt == FMT_TAP)
    {
      printf ("%s %zu - %s\n", r->pass ? "ok" : "not ok", num, name);
      printf ("# %s %s: %s\n", check_kind_name (c->kind), c->target, msg);
    }
  else
    printf ("%-4s %s (%s from %s, %llu ms): %s\n", r->pass ? "ok" : "FAIL", name, check_kind_name (c->kind),
            c->target, (unsigned long long) r->ms, msg);
  fflush (stdout);
}

/* The checks to run: FILE (a scenario or a checks-only file) or, without
 * it, the scenario the lab was brought up from. */
static int
load_checks (const char *file, const struct lab_view *v, struct scenario **sc, struct check_set **set,
             const struct check_def **checks, size_t *n, nslab_error_t *err)
{
  if (file == NULL)
    {
      if (v->st->scenario == NULL)
        return nslab_error (err, 0, "lab %s records no scenario file; give the checks file: nslab test %s FILE",
                            v->lab, v->lab);
      file = v->st->scenario;
    }
  struct ini_file *f = NULL;
  if (ini_load (file, &f, err) < 0)
    return -1;
  bool scenario = false;
  for (size_t i = 0; i < f->n_sections; i++)
    scenario |= strcmp (f->sections[i].type, "check") != 0;
  ini_file_free (f);
  if (scenario)
    {
      if (scenario_load (file, sc, err) < 0)
        return -1;
      *checks = (*sc)->checks;
      *n = (*sc)->n_checks;
    }
  else
    {
      if (check_file_load (file, set, err) < 0)
        return -1;
      *checks = (*set)->checks;
      *n = (*set)->n;
    }
  if (*n == 0)
    return nslab_error_invalid (err, "%s: no [check NAME] section", file);
  return 0;
}

int
cmd_test (int argc, char **argv, nslab_error_t *err)
{
  const char *lab = NULL, *file = NULL, *junit = NULL;
  enum out_fmt fmt = FMT_TEXT;
  bool wait = false;
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (cli_is_help (a))
        return cli_help ("test");
      if (strcmp (a, "-o") == 0 || strcmp (a, "--output") == 0 || str_has_prefix (a, "--output="))
        {
          const char *v = a[1] == 'o' ? (i + 1 < argc ? argv[++i] : NULL) : a + 9;
          if (v == NULL)
            return cli_usage ("test");
          if (strcmp (v, "tap") == 0)
            fmt = FMT_TAP;
          else if (strcmp (v, "text") == 0)
            fmt = FMT_TEXT;
          else
            return nslab_error_invalid (err, "unknown output format \"%s\" (text or tap)", v);
        }
      else if (strcmp (a, "--junit") == 0)
        {
          if (i + 1 >= argc)
            return cli_usage ("test");
          junit = argv[++i];
        }
      else if (str_has_prefix (a, "--junit="))
        junit = a + 8;
      else if (strcmp (a, "--wait") == 0)
        wait = true;
      else if (a[0] == '-' && a[1] != '\0')
        return cli_usage ("test");
      else if (lab == NULL)
        lab = a;
      else if (file == NULL)
        file = a;
      else
        return cli_usage ("test");
    }
  if (lab == NULL)
    return cli_usage ("test");
  if (apply_check_privileges (err) < 0)
    return -1;

  struct lab_view v;
  if (lab_view_load (lab, &v, err) < 0)
    return -1;
  struct scenario *sc = NULL;
  struct check_set *set = NULL;
  const struct check_def *checks = NULL;
  size_t n = 0;
  int rc = load_checks (file, &v, &sc, &set, &checks, &n, err);
  if (rc == 0 && wait)
    rc = target_wait_ready (&v, 60000, err);
  if (rc < 0)
    {
      scenario_free (sc);
      check_set_free (set);
      lab_view_free (&v);
      return -1;
    }

  if (fmt == FMT_TAP)
    printf ("1..%zu\n", n);
  fflush (stdout);
  struct run *r = xcalloc (n, sizeof *r);
  size_t next = 0, running = 0, finished = 0, failed = 0;
  uint64_t t0 = now_ms ();
  while (finished < n)
    {
      while (next < n && running < MAX_PARALLEL)
        {
          struct run *x = &r[next++];
          x->c = &checks[next - 1];
          sb_init (&x->out);
          int p[2];
          if (pipe2 (p, O_CLOEXEC) < 0)
            {
              x->fd = -1;
              x->done = true;
              x->msg = xasprintf ("pipe: %s", strerror (errno));
              finished++;
              failed++;
              continue;
            }
          x->start = now_ms ();
          x->pid = fork ();
          if (x->pid == 0)
            {
              close (p[0]);
              child (&v, x->c, p[1]);
            }
          close (p[1]);
          x->fd = p[0];
          if (x->pid < 0)
            {
              close (p[0]);
              x->fd = -1;
              x->done = true;
              x->msg = xasprintf ("fork: %s", strerror (errno));
              report (fmt, ++finished, x);
              failed++;
              continue;
            }
          running++;
        }
      struct pollfd *pf = xcalloc (running + 1, sizeof *pf);
      size_t *idx = xcalloc (running + 1, sizeof *idx);
      size_t np = 0;
      for (size_t i = 0; i < next; i++)
        if (!r[i].done && r[i].fd >= 0)
          {
            pf[np] = (struct pollfd) { .fd = r[i].fd, .events = POLLIN };
            idx[np++] = i;
          }
      if (np > 0 && poll (pf, np, 1000) < 0 && errno != EINTR)
        {
          free (pf);
          free (idx);
          break;
        }
      for (size_t j = 0; j < np; j++)
        {
          if (!(pf[j].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
          struct run *x = &r[idx[j]];
          char buf[RESULT_MAX];
          ssize_t got = read (x->fd, buf, sizeof buf);
          if (got > 0)
            {
              sb_addn (&x->out, buf, (size_t) got);
              continue;
            }
          if (got < 0 && errno == EINTR)
            continue;
          close (x->fd);
          x->fd = -1;
          int st = 0;
          while (waitpid (x->pid, &st, 0) < 0 && errno == EINTR)
            ;
          x->ms = now_ms () - x->start;
          x->done = true;
          const char *o = x->out.buf ? x->out.buf : "";
          x->pass = o[0] == 'P';
          x->msg = o[0] ? xstrdup (o + 1)
                        : xasprintf ("the check's process ended without a result (status %d)", st);
          failed += !x->pass;
          running--;
          report (fmt, ++finished, x);
        }
      free (pf);
      free (idx);
    }
  uint64_t total = now_ms () - t0;
  if (fmt == FMT_TEXT)
    printf ("%zu passed, %zu failed (%llu ms)\n", n - failed, failed, (unsigned long long) total);
  rc = 0;
  if (junit)
    rc = write_junit (junit, lab, r, n, total, err);
  for (size_t i = 0; i < n; i++)
    {
      sb_free (&r[i].out);
      free (r[i].msg);
    }
  free (r);
  scenario_free (sc);
  check_set_free (set);
  lab_view_free (&v);
  if (rc < 0)
    return -1;
  return failed ? NSLAB_EXIT_FAILURE : 0;
}
