#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <sys/wait.h>
#include <time.h>

void
cleanup_freep (void *p)
{
  void **pp = p;
  free (*pp);
  *pp = NULL;
}

void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

void
cleanup_filep (FILE **f)
{
  if (*f)
    fclose (*f);
  *f = NULL;
}

void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

char *
xstrdup (const char *s)
{
  char *r = strdup (s ? s : "");
  if (r == NULL)
    abort ();
  return r;
}

char *
xstrndup (const char *s, size_t n)
{
  char *r = strndup (s, n);
  if (r == NULL)
    abort ();
  return r;
}

char *
xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;
  va_start (ap, fmt);
  int r = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (r < 0)
    abort ();
  return s;
}

void *
vec_grow (void *ptr, size_t count, size_t elem)
{
  /* Capacity stays implicit: it is the next power of two, so the array is
   * reallocated exactly when count is 0 or a power of two. */
  if (count == 0)
    ptr = xrealloc (ptr, elem);
  else if ((count & (count - 1)) == 0)
    ptr = xrealloc (ptr, 2 * count * elem);
  memset ((char *) ptr + count * elem, 0, elem);
  return ptr;
}

void
sb_init (struct strbuf *sb)
{
  sb->buf = NULL;
  sb->len = sb->cap = 0;
}

static void
sb_reserve (struct strbuf *sb, size_t extra)
{
  if (sb->len + extra + 1 <= sb->cap)
    return;
  size_t cap = sb->cap ? sb->cap : 256;
  while (cap < sb->len + extra + 1)
    cap *= 2;
  sb->buf = xrealloc (sb->buf, cap);
  sb->cap = cap;
}

void
sb_addn (struct strbuf *sb, const char *s, size_t n)
{
  sb_reserve (sb, n);
  memcpy (sb->buf + sb->len, s, n);
  sb->len += n;
  sb->buf[sb->len] = '\0';
}

void
sb_add (struct strbuf *sb, const char *s)
{
  sb_addn (sb, s, strlen (s));
}

void
sb_vaddf (struct strbuf *sb, const char *fmt, va_list ap)
{
  va_list ap2;
  va_copy (ap2, ap);
  int n = vsnprintf (NULL, 0, fmt, ap2);
  va_end (ap2);
  if (n < 0)
    abort ();
  sb_reserve (sb, (size_t) n);
  vsnprintf (sb->buf + sb->len, (size_t) n + 1, fmt, ap);
  sb->len += (size_t) n;
}

void
sb_addf (struct strbuf *sb, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  sb_vaddf (sb, fmt, ap);
  va_end (ap);
}

char *
sb_steal (struct strbuf *sb)
{
  char *r = sb->buf ? sb->buf : xstrdup ("");
  sb_init (sb);
  return r;
}

void
sb_free (struct strbuf *sb)
{
  free (sb->buf);
  sb_init (sb);
}

bool
str_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

bool
str_has_suffix (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcmp (s + a - b, suffix) == 0;
}

char *
str_trim (char *s)
{
  char *e;
  while (isspace ((unsigned char) *s))
    s++;
  e = s + strlen (s);
  while (e > s && isspace ((unsigned char) e[-1]))
    *--e = '\0';
  return s;
}

long
test_crash_after (void)
{
  const char *s = getenv ("NSLAB_TEST_CRASH_AFTER");
  if (s == NULL || *s == '\0')
    return -1;
  char *end;
  long n = strtol (s, &end, 10);
  return *end == '\0' && n >= 0 ? n : -1;
}

char *
xvasprintf (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  return s;
}

void
time_format_rfc3339 (time_t t, char out[32])
{
  struct tm tm;
  gmtime_r (&t, &tm);
  strftime (out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

time_t
time_parse_rfc3339 (const char *s)
{
  struct tm tm = { 0 };
  const char *end = s ? strptime (s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
  if (end == NULL || *end)
    return 0;
  return timegm (&tm);
}

char *
fd_read_all (int fd)
{
  struct strbuf sb;
  sb_init (&sb);
  char buf[8192];
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      sb_addn (&sb, buf, (size_t) n);
    }
  return sb_steal (&sb);
}

int
pipe2_two (int a[2], int b[2], int flags)
{
  if (pipe2 (a, flags) < 0)
    return -1;
  if (pipe2 (b, flags) < 0)
    {
      int e = errno;
      close (a[0]);
      close (a[1]);
      errno = e;
      return -1;
    }
  return 0;
}

int
fd_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
child_reap (pid_t child, int err_fd, char **text)
{
  *text = fd_read_all (err_fd);
  close (err_fd);
  int status = 0;
  while (waitpid (child, &status, 0) < 0 && errno == EINTR)
    ;
  return status;
}

void
child_job_init (struct child_job *job)
{
  *job = (struct child_job) { .pid = -1, .err_fd = -1 };
}

bool
child_job_reap (struct child_job *job, int *status, char **text, char **ns)
{
  *text = *ns = NULL;
  if (job->pid < 0)
    return false;
  *status = child_reap (job->pid, job->err_fd, text);
  *ns = job->ns;
  child_job_init (job);
  return true;
}

int64_t
monotonic_us (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (int64_t) t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

char *
find_program (const char *name, const char *dir)
{
  if (dir)
    {
      char *p = xasprintf ("%s/%s", dir, name);
      if (access (p, X_OK) == 0)
        return p;
      free (p);
    }
  const char *path = getenv ("PATH");
  if (path == NULL || *path == '\0')
    path = default_path;
  cleanup_free char *copy = xstrdup (path);
  char *save = NULL;
  for (char *d = strtok_r (copy, ":", &save); d; d = strtok_r (NULL, ":", &save))
    {
      char *p = xasprintf ("%s/%s", d, name);
      if (access (p, X_OK) == 0)
        return p;
      free (p);
    }
  return NULL;
}

struct each_work {
  size_t n;
  void (*fn) (size_t i, void *arg);
  void *arg;
  atomic_size_t next;
};

static void *
each_worker (void *p)
{
  struct each_work *w = p;
  for (;;)
    {
      size_t i = atomic_fetch_add (&w->next, 1);
      if (i >= w->n)
        return NULL;
      w->fn (i, w->arg);
    }
}

void
run_threads_each (size_t n_threads, size_t n_items, void (*fn) (size_t i, void *arg), void *arg)
{
  struct each_work w = { .n = n_items, .fn = fn, .arg = arg };
  atomic_init (&w.next, 0);
  pthread_t th[16];
  size_t nth = 0;
  while (nth < n_threads && nth < n_items && nth < ARRAY_SIZE (th) && pthread_create (&th[nth], NULL, each_worker, &w) == 0)
    nth++;
  if (nth == 0)
    each_worker (&w);
  for (size_t t = 0; t < nth; t++)
    pthread_join (th[t], NULL);
}
