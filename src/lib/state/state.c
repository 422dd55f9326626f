/* The lab state record: reader (state.h) and journal writer
 * (state_write.h). See state_write.h for the format's guarantees. */
#define _XOPEN_SOURCE 700
#include "state/state.h"
#include "state/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

struct state_writer {
  char *lab;
  char *dir;
  int lock_fd;
  int journal_fd;
};

const char *
state_root (void)
{
  const char *r = getenv ("NSLAB_STATE_DIR");
  return r && *r ? r : "/run/nslab";
}

static char *
lab_dir (const char *lab)
{
  return xasprintf ("%s/%s", state_root (), lab);
}

/* mkdir -p for the root (mode 0755: only the lab dirs are private). */
static int
mkdir_p (const char *path, nslab_error_t *err)
{
  cleanup_free char *p = xstrdup (path);
  for (char *c = p + 1; *c; c++)
    if (*c == '/')
      {
        *c = '\0';
        if (mkdir (p, 0755) < 0 && errno != EEXIST)
          return nslab_error (err, errno, "mkdir %s", p);
        *c = '/';
      }
  if (mkdir (p, 0755) < 0 && errno != EEXIST)
    return nslab_error (err, errno, "mkdir %s", p);
  return 0;
}

/* Lock <dir>/lock; fails with ENOENT when the dir was removed meanwhile by
 * a concurrent down (its lock file is then unlinked). */
static int
take_lock (const char *lab, const char *dir, nslab_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/lock", dir);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return nslab_error (err, ENOENT, "lab %s is not up", lab);
      return nslab_error (err, errno, "open %s", path);
    }
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      if (errno != EWOULDBLOCK)
        {
          close (fd);
          return nslab_error (err, errno, "lock %s", path);
        }
      /* Another nslab is changing this lab: wait for it (kill -9 of it
       * releases the lock). */
      while (flock (fd, LOCK_EX) < 0)
        if (errno != EINTR)
          {
            close (fd);
            return nslab_error (err, errno, "lock %s", path);
          }
    }
  struct stat st;
  if (fstat (fd, &st) < 0 || st.st_nlink == 0)
    {
      close (fd);
      return nslab_error (err, ENOENT, "lab %s is not up", lab);
    }
  return fd;
}

static int
append (struct state_writer *w, nslab_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
append (struct state_writer *w, nslab_error_t *err, const char *fmt, ...)
{
  struct strbuf sb;
  sb_init (&sb);
  va_list ap;
  va_start (ap, fmt);
  sb_vaddf (&sb, fmt, ap);
  va_end (ap);
  sb_add (&sb, "\n");
  cleanup_free char *line = sb_steal (&sb);
  size_t len = strlen (line);
  /* One write per record: O_APPEND makes it atomic against other writers
   * and a kill can only cut the line short, never interleave it. */
  ssize_t n;
  do
    n = write (w->journal_fd, line, len);
  while (n < 0 && errno == EINTR);
  if (n < 0 || (size_t) n != len)
    return nslab_error (err, n < 0 ? errno : EIO, "write %s/journal", w->dir);
  return 0;
}

/* Names go into the journal as space-separated words. */
static int
check_word (const char *what, const char *s, nslab_error_t *err)
{
  if (s == NULL || *s == '\0' || strpbrk (s, " \t\n\r") != NULL)
    return nslab_error (err, EINVAL, "state: invalid %s name '%s'", what, s ? s : "(null)");
  return 0;
}

static void
writer_free (struct state_writer *w)
{
  if (w == NULL)
    return;
  if (w->journal_fd >= 0)
    close (w->journal_fd);
  if (w->lock_fd >= 0)
    close (w->lock_fd);
  free (w->lab);
  free (w->dir);
  free (w);
}

/* A writer for LAB, not yet locked; refuses names that are not a plain
 * directory entry (the lab name becomes a path under state_root()). */
static int
writer_new (const char *lab, struct state_writer **out, nslab_error_t *err)
{
  if (check_word ("lab", lab, err) < 0)
    return -1;
  if (strchr (lab, '/') || strcmp (lab, ".") == 0 || strcmp (lab, "..") == 0)
    return nslab_error (err, EINVAL, "invalid lab name '%s'", lab);
  struct state_writer *w = xcalloc (1, sizeof *w);
  w->lock_fd = w->journal_fd = -1;
  w->lab = xstrdup (lab);
  w->dir = lab_dir (lab);
  *out = w;
  return 0;
}

/* Take the lab's lock, then open its journal for appending. On failure the
 * writer is freed. */
static int
writer_lock_journal (struct state_writer *w, int open_flags, nslab_error_t *err)
{
  w->lock_fd = take_lock (w->lab, w->dir, err);
  if (w->lock_fd < 0)
    {
      writer_free (w);
      return -1;
    }
  cleanup_free char *jpath = xasprintf ("%s/journal", w->dir);
  w->journal_fd = open (jpath, open_flags | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (w->journal_fd < 0)
    {
      nslab_error (err, errno, "open %s", jpath);
      writer_free (w);
      return -1;
    }
  return 0;
}

int
state_create (const char *lab, const char *scenario, struct state_writer **out, nslab_error_t *err)
{
  struct state_writer *w;
  if (writer_new (lab, &w, err) < 0)
    return -1;
  if (mkdir_p (state_root (), err) < 0)
    {
      writer_free (w);
      return -1;
    }
  if (mkdir (w->dir, 0700) < 0)
    {
      int e = errno;
      writer_free (w);
      if (e == EEXIST)
        return nslab_error (err, 0, "lab %s is already up (nslab down %s first)", lab, lab);
      return nslab_error (err, e, "mkdir %s/%s", state_root (), lab);
    }
  if (writer_lock_journal (w, O_WRONLY, err) < 0)
    return -1;
  cleanup_free char *scen = xstrdup (scenario ? scenario : "-");
  for (char *c = scen; *c; c++)
    if (*c == '\n' || *c == '\r')
      *c = '?';
  if (append (w, err, "nslab-state 1\nlab %s\ncreated %lld\nscenario %s", lab, (long long) time (NULL), scen) < 0)
    {
      writer_free (w);
      return -1;
    }
  *out = w;
  return 0;
}

int
state_open (const char *lab, struct state_writer **out, nslab_error_t *err)
{
  struct state_writer *w;
  if (writer_new (lab, &w, err) < 0)
    return -1;
  struct stat st;
  if (stat (w->dir, &st) < 0 || ! S_ISDIR (st.st_mode))
    {
      writer_free (w);
      return nslab_error (err, 0, "lab %s is not up", lab);
    }
  if (writer_lock_journal (w, O_RDWR, err) < 0)
    return -1;
  cleanup_free char *jpath = xasprintf ("%s/journal", w->dir);
  /* A writer killed mid-record left a line without its newline: cut it so
   * the next record does not glue onto it (the reader ignored it anyway). */
  off_t size = lseek (w->journal_fd, 0, SEEK_END);
  char last = '\n';
  if (size > 0 && pread (w->journal_fd, &last, 1, size - 1) == 1 && last != '\n')
    {
      cleanup_free char *buf = xmalloc ((size_t) size);
      cleanup_close int rfd = open (jpath, O_RDONLY | O_CLOEXEC);
      ssize_t n = rfd >= 0 ? pread (rfd, buf, (size_t) size, 0) : -1;
      off_t keep = 0;
      for (ssize_t i = n - 1; i >= 0; i--)
        if (buf[i] == '\n')
          {
            keep = i + 1;
            break;
          }
      if (n < 0 || ftruncate (w->journal_fd, keep) < 0)
        {
          nslab_error (err, errno, "repair %s", jpath);
          writer_free (w);
          return -1;
        }
    }
  *out = w;
  return 0;
}

const char *
state_writer_dir (const struct state_writer *w)
{
  return w->dir;
}

const char *
state_writer_lab (const struct state_writer *w)
{
  return w->lab;
}

int
state_record_counts (struct state_writer *w, int nodes, int pods, int services, nslab_error_t *err)
{
  return append (w, err, "counts %d %d %d", nodes, pods, services);
}

int
state_record_labhost (struct state_writer *w, const char *netns, nslab_error_t *err)
{
  if (check_word ("netns", netns, err) < 0)
    return -1;
  return append (w, err, "labhost %s", netns);
}

int
state_record_cidr (struct state_writer *w, const char *kind, const char *name, struct cidr c, nslab_error_t *err)
{
  if (check_word ("network kind", kind, err) < 0 || check_word ("network", name, err) < 0)
    return -1;
  char b[CIDR_STRLEN];
  return append (w, err, "cidr %s %s %s", kind, name, cidr_fmt (c, b));
}

int
state_record_netns (struct state_writer *w, const char *netns, nslab_error_t *err)
{
  if (check_word ("netns", netns, err) < 0)
    return -1;
  return append (w, err, "netns %s", netns);
}

int
state_record_process (struct state_writer *w, const struct state_process *p, nslab_error_t *err)
{
  if (check_word ("process", p->name, err) < 0 || check_word ("netns", p->netns, err) < 0
      || (p->owner && check_word ("owner", p->owner, err) < 0)
      || (p->node && check_word ("node", p->node, err) < 0))
    return -1;
  return append (w, err, "proc %s %s %s %s %s %d %llu", p->kind == STATE_PROC_NODE ? "node" : "pod", p->name,
                 p->owner ? p->owner : "-", p->netns, p->node ? p->node : "-", (int) p->pid,
                 (unsigned long long) p->starttime);
}

int
state_mark_complete (struct state_writer *w, nslab_error_t *err)
{
  return append (w, err, "complete");
}

static int
rm_entry (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void) sb;
  (void) ftw;
  if (flag == FTW_DP)
    return rmdir (path) < 0 && errno != ENOENT ? -1 : 0;
  return unlink (path) < 0 && errno != ENOENT ? -1 : 0;
}

int
state_remove (struct state_writer *w, nslab_error_t *err)
{
  /* The lock file goes with the dir; the fd keeps the lock until close,
   * and a waiter then sees st_nlink == 0 and knows the lab is gone. */
  if (nftw (w->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
    return nslab_error (err, errno, "remove %s", w->dir);
  return 0;
}

void
state_writer_close (struct state_writer *w)
{
  writer_free (w);
}

/* Reader. */

static char *
dup_field (const char *s)
{
  return strcmp (s, "-") == 0 ? NULL : xstrdup (s);
}

static void
parse_line (struct state *st, char *line)
{
  char *save = NULL;
  char *key = strtok_r (line, " ", &save);
  if (key == NULL)
    return;
  char *rest = save;
  if (strcmp (key, "lab") == 0 && rest && *rest)
    {
      free (st->lab);
      st->lab = xstrdup (rest);
    }
  else if (strcmp (key, "created") == 0 && rest)
    st->created = (time_t) strtoll (rest, NULL, 10);
  else if (strcmp (key, "scenario") == 0 && rest)
    {
      free (st->scenario);
      st->scenario = dup_field (rest);
    }
  else if (strcmp (key, "counts") == 0 && rest)
    sscanf (rest, "%d %d %d", &st->n_nodes, &st->n_pods, &st->n_services);
  else if (strcmp (key, "labhost") == 0 && rest && *rest)
    {
      free (st->labhost_netns);
      st->labhost_netns = xstrdup (rest);
    }
  else if (strcmp (key, "netns") == 0 && rest && *rest)
    {
      for (size_t i = 0; i < st->n_netns; i++)
        if (strcmp (st->netns[i], rest) == 0)
          return;
      *VEC_PUSH (st->netns, st->n_netns) = xstrdup (rest);
    }
  else if (strcmp (key, "cidr") == 0)
    {
      char *kind = strtok_r (NULL, " ", &save);
      char *name = strtok_r (NULL, " ", &save);
      char *c = strtok_r (NULL, " ", &save);
      struct cidr cc;
      if (kind && name && c && cidr_parse (c, &cc, false))
        {
          struct state_cidr *e = VEC_PUSH (st->cidrs, st->n_cidrs);
          e->kind = xstrdup (kind);
          e->name = xstrdup (name);
          e->cidr = cc;
        }
    }
  else if (strcmp (key, "proc") == 0)
    {
      char *f[7];
      for (int i = 0; i < 7; i++)
        if ((f[i] = strtok_r (NULL, " ", &save)) == NULL)
          return;
      struct state_process *p = VEC_PUSH (st->procs, st->n_procs);
      p->kind = strcmp (f[0], "node") == 0 ? STATE_PROC_NODE : STATE_PROC_POD;
      p->name = xstrdup (f[1]);
      p->owner = dup_field (f[2]);
      p->netns = xstrdup (f[3]);
      p->node = dup_field (f[4]);
      p->pid = (pid_t) strtol (f[5], NULL, 10);
      p->starttime = strtoull (f[6], NULL, 10);
    }
  else if (strcmp (key, "complete") == 0)
    st->complete = true;
}

int
state_load (const char *lab, struct state **out, nslab_error_t *err)
{
  if (lab == NULL || *lab == '\0' || strchr (lab, '/') || strcmp (lab, ".") == 0 || strcmp (lab, "..") == 0)
    return nslab_error (err, EINVAL, "invalid lab name '%s'", lab ? lab : "");
  cleanup_free char *dir = lab_dir (lab);
  struct stat sbuf;
  if (stat (dir, &sbuf) < 0 || ! S_ISDIR (sbuf.st_mode))
    return nslab_error (err, 0, "lab %s is not up", lab);
  struct state *st = xcalloc (1, sizeof *st);
  st->lab = xstrdup (lab);
  st->dir = xstrdup (dir);
  st->created = sbuf.st_mtime;
  cleanup_free char *jpath = xasprintf ("%s/journal", dir);
  cleanup_file FILE *f = fopen (jpath, "re");
  if (f == NULL)
    {
      /* Killed between mkdir and creating the journal: nothing was made. */
      if (errno == ENOENT)
        {
          *out = st;
          return 0;
        }
      int e = errno;
      state_free (st);
      return nslab_error (err, e, "open %s", jpath);
    }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline (&line, &cap, f)) > 0)
    {
      /* A line without its newline is a record cut short by a kill. */
      if (line[n - 1] != '\n')
        break;
      line[n - 1] = '\0';
      parse_line (st, line);
    }
  free (line);
  *out = st;
  return 0;
}

void
state_free (struct state *st)
{
  if (st == NULL)
    return;
  free (st->lab);
  free (st->dir);
  free (st->scenario);
  for (size_t i = 0; i < st->n_netns; i++)
    free (st->netns[i]);
  free (st->netns);
  for (size_t i = 0; i < st->n_procs; i++)
    {
      free (st->procs[i].name);
      free (st->procs[i].owner);
      free (st->procs[i].netns);
      free (st->procs[i].node);
    }
  free (st->procs);
  free (st->labhost_netns);
  for (size_t i = 0; i < st->n_cidrs; i++)
    {
      free (st->cidrs[i].kind);
      free (st->cidrs[i].name);
    }
  free (st->cidrs);
  free (st);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
state_list (char ***labs, size_t *n, nslab_error_t *err)
{
  *labs = NULL;
  *n = 0;
  DIR *d = opendir (state_root ());
  if (d == NULL)
    {
      if (errno == ENOENT)
        return 0;
      return nslab_error (err, errno, "open %s", state_root ());
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || ! S_ISDIR (st.st_mode))
        continue;
      *VEC_PUSH (*labs, *n) = xstrdup (de->d_name);
    }
  closedir (d);
  if (*n)
    qsort (*labs, *n, sizeof **labs, cmp_str);
  return 0;
}
