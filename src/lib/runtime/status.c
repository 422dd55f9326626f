/* The pause process's status file (see status.h). */
#include "runtime/status.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

static const char *const state_names[] = { "running", "waiting", "terminated" };
static const char *const reason_names[] = { NULL, "CrashLoopBackOff", "Error", "Completed" };

const char *
pause_state_name (enum pause_state s)
{
  return (size_t) s < ARRAY_SIZE (state_names) ? state_names[s] : "?";
}

const char *
pause_reason_name (enum pause_reason r)
{
  return (size_t) r < ARRAY_SIZE (reason_names) && reason_names[r] ? reason_names[r] : "";
}

int
pause_status_write (int dirfd, const struct pause_status *st)
{
  char buf[512];
  int n = snprintf (buf, sizeof buf, "state %s\n", pause_state_name (st->state));
  if (st->reason != PAUSE_REASON_NONE)
    n += snprintf (buf + n, sizeof buf - (size_t) n, "reason %s\n", pause_reason_name (st->reason));
  n += snprintf (buf + n, sizeof buf - (size_t) n, "restarts %" PRIu32 "\n", st->restarts);
  if (st->started_at >= 0)
    n += snprintf (buf + n, sizeof buf - (size_t) n, "started_at %" PRId64 "\n", st->started_at);
  if (st->exit_code >= 0)
    n += snprintf (buf + n, sizeof buf - (size_t) n, "exit_code %d\n", st->exit_code);
  if (st->finished_at >= 0)
    n += snprintf (buf + n, sizeof buf - (size_t) n, "finished_at %" PRId64 "\n", st->finished_at);
  if (st->next_start >= 0)
    n += snprintf (buf + n, sizeof buf - (size_t) n, "next_start %" PRId64 "\n", st->next_start);
  if (st->last_started_at >= 0)
    n += snprintf (buf + n, sizeof buf - (size_t) n, "last_started_at %" PRId64 "\n", st->last_started_at);
  int fd = openat (dirfd, PAUSE_STATUS_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  ssize_t w = write (fd, buf, (size_t) n);
  int e = errno;
  if (close (fd) < 0 && w == n)
    return -1;
  if (w != n)
    {
      errno = w < 0 ? e : EIO;
      return -1;
    }
  return renameat (dirfd, PAUSE_STATUS_FILE ".tmp", dirfd, PAUSE_STATUS_FILE);
}

static int
bad (nslab_error_t *err, int line, const char *why)
{
  return nslab_error (err, EINVAL, "status: line %d: %s", line, why);
}

/* Strict decimal: digits only, at most MAX. */
static bool
parse_num (const char *s, int64_t max, int64_t *out)
{
  if (*s == '\0' || strlen (s) > 19)
    return false;
  int64_t v = 0;
  for (const char *p = s; *p; p++)
    {
      if (*p < '0' || *p > '9')
        return false;
      if (v > (max - (*p - '0')) / 10)
        return false;
      v = v * 10 + (*p - '0');
    }
  *out = v;
  return true;
}

int
pause_status_read (int dirfd, struct pause_status *out, nslab_error_t *err)
{
  cleanup_close int fd = openat (dirfd, PAUSE_STATUS_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return nslab_error (err, errno, "open status");
  struct stat sb;
  if (fstat (fd, &sb) < 0)
    return nslab_error (err, errno, "stat status");
  if (!S_ISREG (sb.st_mode))
    return nslab_error (err, EINVAL, "status: not a regular file");
  char buf[1024];
  size_t len = 0;
  for (;;)
    {
      ssize_t r = read (fd, buf + len, sizeof buf - 1 - len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return nslab_error (err, errno, "read status");
      if (r == 0)
        break;
      len += (size_t) r;
      if (len == sizeof buf - 1)
        return nslab_error (err, EINVAL, "status: longer than %zu bytes", sizeof buf - 1);
    }
  buf[len] = '\0';
  if (len == 0)
    return nslab_error (err, EINVAL, "status: empty");
  if (buf[len - 1] != '\n')
    return nslab_error (err, EINVAL, "status: last line not terminated");
  if (strlen (buf) != len)
    return nslab_error (err, EINVAL, "status: contains a NUL byte");

  static const char *const keys[] = { "state", "reason", "restarts", "started_at", "exit_code", "finished_at",
                                       "next_start", "last_started_at" };
  struct pause_status st = { .started_at = -1, .exit_code = -1, .finished_at = -1, .next_start = -1,
                             .last_started_at = -1 };
  bool seen[ARRAY_SIZE (keys)] = { false };
  size_t last = 0;
  int lineno = 0;
  char *save = NULL;
  for (char *line = strtok_r (buf, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      lineno++;
      char *sp = strchr (line, ' ');
      if (sp == NULL || sp[1] == '\0' || strchr (sp + 1, ' '))
        return bad (err, lineno, "expected \"key value\"");
      *sp = '\0';
      const char *val = sp + 1;
      size_t k = 0;
      while (k < ARRAY_SIZE (keys) && strcmp (keys[k], line) != 0)
        k++;
      if (k == ARRAY_SIZE (keys))
        return bad (err, lineno, "unknown key");
      if (seen[k] || (lineno > 1 && k <= last))
        return bad (err, lineno, "key out of order or repeated");
      if (lineno == 1 && k != 0)
        return bad (err, lineno, "the first key must be state");
      seen[k] = true;
      last = k;
      int64_t v = 0;
      switch (k)
        {
        case 0:
          {
            size_t s = 0;
            while (s < ARRAY_SIZE (state_names) && strcmp (state_names[s], val) != 0)
              s++;
            if (s == ARRAY_SIZE (state_names))
              return bad (err, lineno, "state is not running, waiting or terminated");
            st.state = (enum pause_state) s;
            break;
          }
        case 1:
          {
            size_t r = 1;
            while (r < ARRAY_SIZE (reason_names) && strcmp (reason_names[r], val) != 0)
              r++;
            if (r == ARRAY_SIZE (reason_names))
              return bad (err, lineno, "reason is not CrashLoopBackOff, Error or Completed");
            st.reason = (enum pause_reason) r;
            break;
          }
        case 2:
          if (!parse_num (val, UINT32_MAX, &v))
            return bad (err, lineno, "restarts is not a count");
          st.restarts = (uint32_t) v;
          break;
        case 4:
          if (!parse_num (val, 255, &v))
            return bad (err, lineno, "exit_code is not 0-255");
          st.exit_code = (int) v;
          break;
        default:
          if (!parse_num (val, INT64_MAX, &v))
            return bad (err, lineno, "not a time in seconds");
          if (k == 3)
            st.started_at = v;
          else if (k == 5)
            st.finished_at = v;
          else if (k == 6)
            st.next_start = v;
          else
            st.last_started_at = v;
          break;
        }
    }
  if (!seen[0] || !seen[2])
    return nslab_error (err, EINVAL, "status: %s missing", !seen[0] ? "state" : "restarts");
  bool running = st.state == PAUSE_STATE_RUNNING, waiting = st.state == PAUSE_STATE_WAITING;
  bool reason_ok = running ? st.reason == PAUSE_REASON_NONE
                   : waiting ? st.reason == PAUSE_REASON_CRASH_LOOP_BACK_OFF
                             : st.reason == PAUSE_REASON_ERROR || st.reason == PAUSE_REASON_COMPLETED;
  if (!reason_ok)
    return nslab_error (err, EINVAL, "status: reason %s does not go with state %s",
                        st.reason ? pause_reason_name (st.reason) : "(none)", pause_state_name (st.state));
  if (!running && st.started_at >= 0)
    return nslab_error (err, EINVAL, "status: started_at with state %s", pause_state_name (st.state));
  if (waiting != (st.next_start >= 0))
    return nslab_error (err, EINVAL, waiting ? "status: waiting without next_start" : "status: next_start when not waiting");
  if ((st.exit_code >= 0) != (st.finished_at >= 0))
    return nslab_error (err, EINVAL, "status: exit_code and finished_at go together");
  if (st.last_started_at >= 0 && st.exit_code < 0)
    return nslab_error (err, EINVAL, "status: last_started_at without exit_code");
  if (!running && st.exit_code < 0)
    return nslab_error (err, EINVAL, "status: %s without exit_code", pause_state_name (st.state));
  if (st.reason == PAUSE_REASON_COMPLETED && st.exit_code != 0)
    return nslab_error (err, EINVAL, "status: Completed with exit_code %d", st.exit_code);
  *out = st;
  return 0;
}
