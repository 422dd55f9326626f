/* Errors travel up as values, in the manner of crun's libcrun_error_t: the
 * function that meets the failure creates the object with errno and a
 * message, each caller on the way up may prefix context, and only the CLI
 * layer prints it. */
#ifndef NSLAB_ERROR_H
#define NSLAB_ERROR_H

#include <stdarg.h>

/* Exit codes the CLI maps errors to. */
enum nslab_exit {
  NSLAB_EXIT_FAILURE = 1, /* runtime failure (kernel, I/O, state) */
  NSLAB_EXIT_INVALID = 2, /* the scenario or the command line is wrong */
};

struct nslab_error_s {
  int status;    /* errno, or 0 when the failure is not a system error */
  int exit_code; /* one of enum nslab_exit */
  char *msg;
};
typedef struct nslab_error_s *nslab_error_t;

/* Create an error. Returns -1 so callers can `return nslab_error(...)`.
 * If *err is already set, the new message is dropped (first error wins). */
int nslab_error (nslab_error_t *err, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Same, but marks the error as invalid input (exit code 2). */
int nslab_error_invalid (nslab_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* Prefix context to an existing error: "ctx: old message". Returns -1. */
int nslab_error_wrap (nslab_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void nslab_error_free (nslab_error_t *err);
/* For loops that go on after a failure (teardown, waiting for started
 * work): move *e into *err if *err is still empty, else drop it. Either
 * way *e ends NULL. */
void nslab_error_keep_first (nslab_error_t *err, nslab_error_t *e);
/* Print "nslab: msg[: strerror]" to stderr; returns the exit code. */
int nslab_error_print (nslab_error_t *err);

#endif
