/* Errors travel up as values, in the manner of crun's libcrun_error_t: the
 * function that meets the failure creates the object with errno and a
 * message naming the object, each caller on the way up may prefix the step
 * it was doing (nslab_error_wrap), and only the CLI's main() prints it, once.
 *
 * This file is the only writer of `msg` and `hint`: everyone else reads them.
 *
 * Printed form (nslab_error_format):
 *
 *   nslab: <msg>[: <strerror(status)>]
 *   <hint line 1>
 *   <hint line 2>...
 *
 * The hint comes last, after the errno text, each of its lines on a line of
 * its own, unprefixed: it says what to do or what exists ("valid targets:
 * ...", "is br_netfilter loaded? modprobe br_netfilter"). Any control, bidi
 * or zero-width character in msg or hint is printed escaped (\x1b, \u202e),
 * since both may echo scenario values or the command line; only the newlines
 * that separate hint lines stay real. */
#ifndef NSLAB_ERROR_H
#define NSLAB_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Exit codes the CLI maps errors to. */
enum nslab_exit {
  NSLAB_EXIT_FAILURE = 1, /* runtime failure (kernel, I/O, state) */
  NSLAB_EXIT_INVALID = 2, /* the scenario or the command line is wrong */
};

struct nslab_error_s {
  int status;    /* errno, or 0 when the failure is not a system error */
  int exit_code; /* one of enum nslab_exit */
  char *msg;
  char *hint;    /* NULL, or one or more lines (separated by '\n') */
};
typedef struct nslab_error_s *nslab_error_t;

/* Create an error. Returns -1 so callers can `return nslab_error(...)`.
 * *err must be empty: setting an error twice is a bug (the first would be
 * lost silently) and aborts in the sanitizer build (SAN=1); in a release
 * build the new error is dropped. Loops that go on after a failure use
 * nslab_error_keep_first() instead. */
int nslab_error (nslab_error_t *err, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Same, but marks the error as invalid input (exit code 2). */
int nslab_error_invalid (nslab_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* Prefix context to an existing error: "ctx: old message". Returns -1. */
int nslab_error_wrap (nslab_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* Add a hint line to an existing error (appended after any earlier hint,
 * on a line of its own). May contain '\n' for several lines. Returns -1. */
int nslab_error_hint (nslab_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void nslab_error_free (nslab_error_t *err);
/* For loops that go on after a failure (teardown, waiting for started
 * work): move *e into *err if *err is still empty, else drop it. Either
 * way *e ends NULL. */
void nslab_error_keep_first (nslab_error_t *err, nslab_error_t *e);
/* The same for errors collected one per item (work shared by threads):
 * the first set one of ERRS[0..N) goes into *err, the others are dropped,
 * all end NULL; -1 if any was set, else 0. */
int nslab_error_keep_first_of (nslab_error_t *err, nslab_error_t *errs, size_t n);
/* Exit code for an error: its exit_code, NSLAB_EXIT_FAILURE by default. */
int nslab_error_exit_code (const nslab_error_t err);
/* The printed form described above, ending in '\n'; malloc'd. */
char *nslab_error_format (const nslab_error_t err);
/* The error as one line, for another program's message (an API Status, a
 * reply, a server's log): "<msg>[: <strerror(status)>]", without "nslab: "
 * and the hint; malloc'd. */
char *nslab_error_line (const nslab_error_t err);
/* Print nslab_error_format() to stderr and free *err; returns the exit
 * code. Called by the CLI's main() only (and the echo app's own main). */
int nslab_error_print (nslab_error_t *err);

/* S with every control character (C0, DEL, C1), bidi control (U+202A-202E,
 * U+2066-2069) and zero-width character (U+200B-200D, U+2060, U+FEFF)
 * written as an escape: \n \t \r \\x1b style for bytes, \\u202e style for
 * code points. Invalid UTF-8 bytes are escaped as \\xNN. With keep_newlines
 * '\n' stays as is. Returns a malloc'd string. */
char *nslab_escape (const char *s, bool keep_newlines);

#endif
