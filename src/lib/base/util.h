/* Small helpers shared by the whole library: cleanup attributes for fds and
 * memory (so error paths cannot leak), checked allocation, growable arrays
 * and a string builder. */
#ifndef NSLAB_UTIL_H
#define NSLAB_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cleanup_closep)))
#define cleanup_file __attribute__ ((cleanup (cleanup_filep)))

void cleanup_freep (void *p);
void cleanup_closep (int *fd);
void cleanup_filep (FILE **f);

#define ARRAY_SIZE(a) (sizeof (a) / sizeof ((a)[0]))

/* Abort on out-of-memory: a lab tool cannot do anything useful without it. */
void *xmalloc (size_t n);
void *xcalloc (size_t n, size_t size);
void *xrealloc (void *p, size_t n);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Append one zeroed element to a dynamic array (ptr, count); returns it. */
#define VEC_PUSH(ptr, count)                                                    \
  (*(void **) &(ptr) = vec_grow ((ptr), (count), sizeof *(ptr)),               \
   &(ptr)[(count)++])
void *vec_grow (void *ptr, size_t count, size_t elem);

/* Growing string buffer. */
struct strbuf {
  char *buf;
  size_t len, cap;
};
void sb_init (struct strbuf *sb);
void sb_add (struct strbuf *sb, const char *s);
void sb_addn (struct strbuf *sb, const char *s, size_t n);
void sb_addf (struct strbuf *sb, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void sb_vaddf (struct strbuf *sb, const char *fmt, va_list ap);
/* Returns the buffer (caller frees) and resets sb. */
char *sb_steal (struct strbuf *sb);
void sb_free (struct strbuf *sb);
#define cleanup_strbuf __attribute__ ((cleanup (sb_free)))

/* The integration tests' crash hook: NSLAB_TEST_CRASH_AFTER=N makes up and
 * down kill themselves after N steps; -1 when unset or not a number. */
long test_crash_after (void);

/* vasprintf that aborts on out-of-memory. */
char *xvasprintf (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

/* CLOCK_MONOTONIC in microseconds: for durations and deadlines. */
int64_t monotonic_us (void);

/* Everything FD gives until end of file or an error (an empty string for
 * none); caller frees. */
char *fd_read_all (int fd);

/* Two pipes (pipe2 with FLAGS), or neither: 0, or -1 with errno. */
int pipe2_two (int a[2], int b[2], int flags);

/* All LEN bytes of BUF to FD, through short writes and EINTR: 0, or -1 with
 * errno (EIO for a write that took nothing). */
int fd_write_all (int fd, const void *buf, size_t len);

/* What a child job (a forked writer, iptables-restore) says when it ends:
 * reads ERR_FD until the child closes it, closes it, reaps CHILD. Returns
 * its wait status; *text gets what it wrote (NUL-terminated, caller
 * frees). */
int child_reap (pid_t child, int err_fd, char **text);

/* A child process started to do one job while the caller goes on
 * (iptables-restore or an nft transaction in a namespace, the snapshot's
 * writer), finished apart so that several run at once: its pid (-1: not
 * running), the read end of the pipe its error text comes through, and the
 * namespace it works in, for messages (owned; NULL for none). */
struct child_job {
  pid_t pid;
  int err_fd;
  char *ns;
};
/* Not running: what a job's start sets first. */
void child_job_init (struct child_job *job);
/* Wait for JOB's child (child_reap): false when none was running. Else
 * *status is its wait status, *text what it wrote (caller frees), *ns the
 * job's namespace (caller frees; may be NULL); the job is not running after. */
bool child_job_reap (struct child_job *job, int *status, char **text, char **ns);

/* The first executable NAME in DIR (when not NULL), then in $PATH (a
 * default one when unset); NULL if none. Caller frees. */
char *find_program (const char *name, const char *dir);

/* FN (i, ARG) for every i < N_ITEMS, from up to N_THREADS threads at once
 * (each takes the next i until none is left), and wait for them all; where
 * no thread can be started, all run here. */
void run_threads_each (size_t n_threads, size_t n_items, void (*fn) (size_t i, void *arg), void *arg);

bool str_has_prefix (const char *s, const char *prefix);
bool str_has_suffix (const char *s, const char *suffix);
/* Trim ASCII whitespace in place; returns s. */
char *str_trim (char *s);

/* Kubernetes' timestamps (RFC 3339, UTC, seconds): "2026-11-30T18:56:51Z". */
#include <time.h>
void time_format_rfc3339 (time_t t, char out[32]);
/* 0 for NULL or anything else than exactly that form. */
time_t time_parse_rfc3339 (const char *s);

#endif
