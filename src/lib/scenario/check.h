/* [check NAME] sections: what a lab must show, in a scenario or in a
 * checks-only file (nslab test LAB FILE). Parsed and validated here with the
 * same one-line "file: [section] key: what" messages as every section; run
 * by nslab test. docs/checks.md documents every kind. */
#ifndef NSLAB_SCENARIO_CHECK_H
#define NSLAB_SCENARIO_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "scenario/scenario.h"

enum check_kind {
  CHECK_HTTP,
  CHECK_TCP,
  CHECK_UDP,
  CHECK_PING,
  CHECK_DNS,
  CHECK_ROUTE,
  CHECK_LINK,
  CHECK_ADDR,
  CHECK_IPTABLES,
  CHECK_NFT,
  CHECK_COMMAND,
  CHECK_KIND_N
};

struct check_def {
  char *name;             /* [check NAME] */
  enum check_kind kind;   /* type = ... */
  char *target;           /* host, node/N, pod/N, deploy/N, rs/N (as written; default host) */
  char *ns;               /* namespace = ... (pods, deploy, rs), default "default" */
  /* What passing means: http: every request meets the expectations (true)
   * or none succeeds (false); tcp/udp/ping: reachable or not; dns:
   * resolves or not; route..nft: a line matches or none does; command:
   * always true (exit and output decide). */
  bool expect;
  uint32_t timeout_ms;    /* timeout = SECONDS (default 2; http: per request) */
  /* http */
  char *url;              /* http://ADDR[:PORT][/PATH] */
  unsigned count;         /* requests, default 1 */
  unsigned status;        /* expected status, default 200 */
  char *body;             /* regex every body matches, or NULL */
  unsigned backends;      /* at least this many distinct "pod:" lines (0: any) */
  /* tcp, udp, ping, dns */
  char *host;             /* address (dns: the name to resolve) */
  uint16_t port;
  char **addresses;       /* dns: each must be among the answers */
  size_t n_addresses;
  /* route, link, addr, iptables, nft; command's output */
  char *match;            /* extended regex, or NULL (command) */
  /* command */
  char *command;          /* as written */
  char **argv;            /* split like a shell would */
  int exit_code;          /* expected exit status, default 0 */
  struct origin origin;
};

struct check_set {
  struct check_def *checks;
  size_t n;
  char *file;             /* the file they were read from (origins point into it) */
};

const char *check_kind_name (enum check_kind k);

/* A checks-only INI file: every section is [check NAME]. Targets are
 * checked for syntax only (the running lab resolves them). */
int check_file_load (const char *file, struct check_set **out, nslab_error_t *err);
void check_set_free (struct check_set *set);
void check_defs_free (struct check_def *c, size_t n);

#endif
