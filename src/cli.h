/* Helpers shared by main.c and the cmd_<verb>.c files.
 *
 * Every verb is `int cmd_<verb> (int argc, char **argv, nslab_error_t *err)`
 * (argv[0] is the verb) and returns either -1 with *err set, which main()
 * prints once and turns into the error's exit code, or an exit status >= 0
 * that main() returns as is: 0 success, 1 a result that is not an error
 * (status: unhealthy), 2 a usage error already printed by cli_usage(), and
 * for exec the command's own status. */
#ifndef NSLAB_CLI_H
#define NSLAB_CLI_H

#include <stdbool.h>
#include <signal.h>
#include <stdio.h>

#include <jansson.h>

#include "base/error.h"
#include "plan/plan.h"
#include "scenario/scenario.h"

struct cli_verb {
  const char *name;
  const char *synopsis; /* after "nslab " */
  const char *summary;  /* one line for the general usage */
  const char *details;  /* more lines for `nslab help VERB`, or NULL */
  int (*fn) (int argc, char **argv, nslab_error_t *err);
};

/* The verbs in usage order, ending with a NULL name. */
extern const struct cli_verb cli_verbs[];
const struct cli_verb *cli_find_verb (const char *name);

/* -h or --help. */
bool cli_is_help (const char *arg);
/* The general usage (nslab --help), to out. */
void cli_print_usage (FILE *out);
/* VERB's help on stdout (nslab VERB --help, nslab help VERB); returns 0. */
int cli_help (const char *verb);
/* "usage: nslab <synopsis>" and a pointer to the help on stderr; returns
 * NSLAB_EXIT_INVALID (2). */
int cli_usage (const char *verb);

/* The options of the verbs that print a lab or a plan: -h/--help and
 * -o/--output text|json (into *json). Returns CLI_GO_ON with optind at the
 * first operand, or what the verb returns: 0 after the help, 2 after a usage
 * error, -1 with an invalid-input error for an unknown format. */
#define CLI_GO_ON (-100)
int cli_output_options (const char *verb, int argc, char **argv, bool *json, nslab_error_t *err);

/* A JSON string for S; invalid UTF-8 (never in names nslab validated, but
 * state files can be edited) is replaced by its escaped form. */
json_t *cli_json_str (const char *s);
/* Print and free the JSON value J (indented, one trailing newline). */
void cli_json_print (json_t *j, FILE *out);

/* Print the scenario's warnings, one "nslab: warning: ..." line each. */
void cli_print_warnings (const struct scenario *sc);

/* Load, validate and plan FILE, printing the scenario's warnings. Returns
 * 0 and the caller frees with cli_plan_free(), or -1 with *err set (nothing
 * to free). */
int cli_load_plan (const char *file, struct scenario **sc, struct plan **p, nslab_error_t *err);
/* The same, planned as up applies it (plan_build_starting). */
int cli_load_up_plan (const char *file, struct scenario **sc, struct plan **p, nslab_error_t *err);
void cli_plan_free (struct scenario *sc, struct plan *p);

/* The start of a lab's long-running process (nslab-controller, -runtime,
 * -apiserver, -kube-proxy; nslab-coredns is a binary of its own): a
 * closed client's socket is an error, not SIGPIPE; stderr, its log, is
 * line-buffered; with STOP, SIGTERM (down) and SIGINT set *STOP, which
 * ends its loop. */
void cli_daemon_init (volatile sig_atomic_t *stop);

#endif
