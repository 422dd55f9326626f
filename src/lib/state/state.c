/* The lab state record: reader (state.h) and journal writer
 * (journal.h). See journal.h for the format's guarantees. */
#include "state/state.h"
#include "state/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strmap.h"
#include "base/util.h"

struct state_writer {
  char *lab;
  char *dir;
  int root_fd;
  int dir_fd;
  int lock_fd;
  int journal_fd;
};

#define STATE_HEADER "nslab-state 1"
#define STATE_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

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

/* Only root may have been able to write what we are about to act on as
 * root: owner uid 0 and none of the FORBIDDEN mode bits. */
static int
check_private (int fd, const char *path, mode_t forbidden, const char *what, nslab_error_t *err)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return nslab_error (err, errno, "stat %s", path);
  if (st.st_uid != 0 || (st.st_mode & forbidden))
    return nslab_error (err, 0,
                        "%s is owned by uid %u with mode %04o: nslab only trusts %s; left as it is", path,
                        (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), what);
  return 0;
}

/* fd of the state root, checked; -2 (no error) if it does not exist and
 * CREATE is false. */
static int
open_root (bool create, nslab_error_t *err)
{
  if (create && mkdir_p (state_root (), err) < 0)
    return -1;
  int fd = open (state_root (), STATE_DIR_FLAGS);
  if (fd < 0)
    {
      if (errno == ENOENT && ! create)
        return -2;
      if (errno == ELOOP || errno == ENOTDIR)
        return nslab_error (err, 0, "state dir %s is a symlink or not a directory: left as it is", state_root ());
      return nslab_error (err, errno, "open %s", state_root ());
    }
  if (check_private (fd, state_root (), 022, "a state root owned by root and not writable by group or others", err) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* fd of ROOT_FD/LAB, checked: a real directory, root's, no group/other
 * access. */
static int
open_lab_dir (int root_fd, const char *lab, nslab_error_t *err)
{
  cleanup_free char *path = lab_dir (lab);
  int fd = openat (root_fd, lab, STATE_DIR_FLAGS);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return nslab_error (err, 0, "lab %s is not up", lab);
      if (errno == ELOOP || errno == ENOTDIR)
        return nslab_error (err, 0, "%s is not an nslab lab (a symlink or not a directory): left as it is", path);
      return nslab_error (err, errno, "open %s", path);
    }
  if (check_private (fd, path, 077, "a lab dir owned by root and closed to group and others", err) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Open NAME inside the lab dir, never through a link, and insist on a
 * regular file only root can write. */
static int
open_in_lab (int dir_fd, const char *dir, const char *name, int flags, nslab_error_t *err)
{
  int fd = openat (dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ELOOP)
        return nslab_error (err, 0, "%s/%s is a symlink: left as it is", dir, name);
      if (errno == ENOENT)
        return nslab_error (err, 0, "%s is not an nslab lab (no valid state header): left as it is", dir);
      return nslab_error (err, errno, "open %s/%s", dir, name);
    }
  struct stat st;
  if (fstat (fd, &st) < 0 || ! S_ISREG (st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
    {
      close (fd);
      return nslab_error (err, 0, "%s/%s is not a regular file owned by root: left as it is", dir, name);
    }
  return fd;
}

static int
flock_wait (int fd, nslab_error_t *err, const char *what)
{
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return nslab_error (err, errno, "lock %s", what);
  return 0;
}

/* Whether FD is on a file system held in memory. */
static bool
on_memory_fs (int fd)
{
  struct statfs sf;
  return fstatfs (fd, &sf) == 0 && (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC);
}

/* Whether the directory FD has no entries (false if it cannot be read). */
static bool
dir_empty (int fd)
{
  int dup_fd = fcntl (fd, F_DUPFD_CLOEXEC, 0);
  DIR *d = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
  if (d == NULL)
    {
      if (dup_fd >= 0)
        close (dup_fd);
      return false;
    }
  bool empty = true;
  struct dirent *e;
  while (empty && (e = readdir (d)) != NULL)
    empty = strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0;
  closedir (d);
  return empty;
}

/* The state root, locked; the lock taken is on the directory its path
 * names once we hold it (another up may have mounted over the one we
 * opened while we waited). */
static int
lock_root (nslab_error_t *err)
{
  for (;;)
    {
      int fd = open_root (true, err);
      if (fd < 0)
        return -1;
      if (flock_wait (fd, err, state_root ()) < 0)
        {
          close (fd);
          return -1;
        }
      struct stat held, named;
      if (fstat (fd, &held) < 0 || stat (state_root (), &named) < 0
          || (held.st_dev == named.st_dev && held.st_ino == named.st_ino))
        return fd;
      close (fd);
    }
}

/* /run is a tmpfs on a systemd machine, but on some it is a disk file
 * system (this project's VMs; a container whose /run is its image's
 * overlay). There a lab's thousand files made after another lab's were
 * deleted are slow to create: ext4 does not reuse an inode deleted in the
 * last minutes, and scans past each (recently_deleted): `up` of 3 x 100
 * pods took 0.7-0.8 s instead of 0.33-0.43 s when labs came and went. A
 * lab's state lasts only as long as its namespaces, which a reboot ends,
 * so it belongs in memory, as /run is meant to be: the first `up` mounts a
 * tmpfs on nslab's own state root (never on NSLAB_STATE_DIR, a developer's
 * choice) if it is empty and not in memory already. It stays when the
 * labs are gone, as iproute2's /run/netns mount does; a mount that fails
 * (no CAP_SYS_ADMIN) leaves the directory as it was. */
int
state_root_lock (nslab_error_t *err)
{
  int fd = lock_root (err);
  if (fd < 0)
    return -1;
  const char *r = getenv ("NSLAB_STATE_DIR");
  if ((r && *r) || on_memory_fs (fd) || !dir_empty (fd))
    return fd;
  /* On the directory checked and locked, not on whatever its path names
   * by now. */
  char target[64];
  snprintf (target, sizeof target, "/proc/self/fd/%d", fd);
  if (mount ("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
    return fd;
  /* Waiters on the old directory see the path name the new one. */
  int new_fd = lock_root (err);
  close (fd);
  return new_fd;
}

/* Lock the lab's lock file; fails with "not up" when the lab was removed
 * meanwhile by a concurrent down (the lock file is then unlinked). */
static int
take_lock (const char *lab, int dir_fd, const char *dir, nslab_error_t *err)
{
  int fd = open_in_lab (dir_fd, dir, "lock", O_RDWR, err);
  if (fd < 0)
    return -1;
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      /* Another nslab is changing this lab: wait for it (kill -9 of it
       * releases the lock). */
      if (errno != EWOULDBLOCK || flock_wait (fd, err, dir) < 0)
        {
          if (errno != EWOULDBLOCK)
            nslab_error (err, errno, "lock %s/lock", dir);
          close (fd);
          return -1;
        }
    }
  struct stat st;
  if (fstat (fd, &st) < 0 || st.st_nlink == 0)
    {
      close (fd);
      return nslab_error (err, 0, "lab %s is not up", lab);
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

static bool
plain_name (const char *s)
{
  return s && *s && ! strchr (s, '/') && strcmp (s, ".") != 0 && strcmp (s, "..") != 0
         && ! strpbrk (s, " \t\n\r");
}

bool
state_netns_name_ok (const char *lab, const char *name)
{
  size_t l = strlen (lab);
  return plain_name (name) && strncmp (name, lab, l) == 0 && name[l] == '-' && name[l + 1] != '\0';
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
  if (w->dir_fd >= 0)
    close (w->dir_fd);
  if (w->root_fd >= 0)
    close (w->root_fd);
  free (w->lab);
  free (w->dir);
  free (w);
}

/* A writer for LAB, not yet locked; refuses names that are not a plain
 * directory entry (the lab name becomes a path under state_root()), and
 * hidden names (the root's own, see state_create_locked). */
static int
writer_new (const char *lab, struct state_writer **out, nslab_error_t *err)
{
  if (! plain_name (lab) || lab[0] == '.')
    return nslab_error (err, EINVAL, "invalid lab name '%s'", lab ? lab : "");
  struct state_writer *w = xcalloc (1, sizeof *w);
  w->root_fd = w->dir_fd = w->lock_fd = w->journal_fd = -1;
  w->lab = xstrdup (lab);
  w->dir = lab_dir (lab);
  *out = w;
  return 0;
}

static int rm_tree_at (int dir_fd, const char *path, dev_t dev, int depth, size_t threads, nslab_error_t *err);

/* Remove the entry NAME of DFD (in PATH; D_TYPE as readdir gave it, or
 * DT_UNKNOWN): a symlink is unlinked, never followed; a directory is
 * emptied first (its own entries by THREADS threads at once), and one on
 * another device than DEV (a mount point) refused. Gone already: nothing
 * to do. */
static int
rm_entry_at (int dfd, const char *name, unsigned char d_type, const char *path, dev_t dev, int depth, size_t threads,
             nslab_error_t *err)
{
  /* Most of a big lab's entries are its pods' small files: what readdir
   * says is a file goes at once, without a stat or a path. */
  if (d_type == DT_REG)
    {
      if (unlinkat (dfd, name, 0) == 0 || errno == ENOENT)
        return 0;
      if (errno != EISDIR)
        return nslab_error (err, errno, "remove %s/%s", path, name);
    }
  cleanup_free char *sub = xasprintf ("%s/%s", path, name);
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : nslab_error (err, errno, "stat %s", sub);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlinkat (dfd, name, 0) < 0 && errno != ENOENT)
        return nslab_error (err, errno, "remove %s", sub);
      return 0;
    }
  if (st.st_dev != dev)
    return nslab_error (err, 0, "%s is a mount point: left as it is", sub);
  cleanup_close int sfd = openat (dfd, name, STATE_DIR_FLAGS);
  if (sfd < 0)
    return nslab_error (err, errno, "open %s", sub);
  if (rm_tree_at (sfd, sub, dev, depth + 1, threads, err) < 0)
    return -1;
  if (unlinkat (dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return nslab_error (err, errno, "remove %s", sub);
  return 0;
}

/* A directory's entries, listed, for the threads that remove them. */
struct rm_list {
  int dfd;
  const char *path;
  dev_t dev;
  int depth;
  char **names;
  unsigned char *types;
  size_t n;
  nslab_error_t *errs;
};

static void
rm_listed (size_t k, void *arg)
{
  struct rm_list *l = arg;
  rm_entry_at (l->dfd, l->names[k], l->types[k], l->path, l->dev, l->depth, 1, &l->errs[k]);
}

/* Remove everything inside DIR_FD, by fd (rm_entry_at): one entry after
 * another, or with THREADS > 1 by that many threads at once (each entry's
 * own entries then one after another). */
static int
rm_tree_at (int dir_fd, const char *path, dev_t dev, int depth, size_t threads, nslab_error_t *err)
{
  if (depth > 16)
    return nslab_error (err, ELOOP, "remove %s", path);
  int dfd = openat (dir_fd, ".", STATE_DIR_FLAGS);
  if (dfd < 0)
    return nslab_error (err, errno, "open %s", path);
  DIR *d = fdopendir (dfd);
  if (d == NULL)
    {
      close (dfd);
      return nslab_error (err, errno, "open %s", path);
    }
  int rc = 0;
  struct dirent *de;
  struct rm_list l = { .dfd = dfd, .path = path, .dev = dev, .depth = depth };
  size_t n_types = 0;
  while (rc == 0 && (de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (threads <= 1)
        rc = rm_entry_at (dfd, de->d_name, de->d_type, path, dev, depth, 1, err);
      else
        {
          *VEC_PUSH (l.names, l.n) = xstrdup (de->d_name);
          *VEC_PUSH (l.types, n_types) = de->d_type;
        }
    }
  if (l.n > 0)
    {
      l.errs = xcalloc (l.n, sizeof *l.errs);
      run_threads_each (threads, l.n, rm_listed, &l);
      rc = nslab_error_keep_first_of (err, l.errs, l.n);
      for (size_t k = 0; k < l.n; k++)
        free (l.names[k]);
      free (l.errs);
    }
  free (l.names);
  free (l.types);
  closedir (d);
  return rc;
}

/* Remove ROOT_FD/NAME if it is still the directory DIR_FD has open. */
static int
remove_dir_entry (int root_fd, const char *name, int dir_fd, const char *path, nslab_error_t *err)
{
  struct stat mine, there;
  if (fstat (dir_fd, &mine) < 0)
    return nslab_error (err, errno, "stat %s", path);
  if (rm_tree_at (dir_fd, path, mine.st_dev, 0, 1, err) < 0)
    return -1;
  if (fstatat (root_fd, name, &there, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : nslab_error (err, errno, "stat %s", path);
  if (there.st_dev != mine.st_dev || there.st_ino != mine.st_ino)
    return nslab_error (err, 0, "%s was replaced meanwhile: left as it is", path);
  if (unlinkat (root_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return nslab_error (err, errno, "remove %s", path);
  return 0;
}

int
state_create_locked (int root_fd, const char *lab, const char *scenario, struct state_writer **out,
                     nslab_error_t *err)
{
  struct state_writer *w;
  if (writer_new (lab, &w, err) < 0)
    return -1;
  /* A new open of the root, not a dup: flock belongs to the open file
   * description, and the writer must not keep the root locked. */
  w->root_fd = openat (root_fd, ".", STATE_DIR_FLAGS);
  struct stat st;
  if (w->root_fd < 0)
    {
      nslab_error (err, errno, "open %s", state_root ());
      writer_free (w);
      return -1;
    }
  if (fstatat (root_fd, lab, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      writer_free (w);
      return nslab_error (err, 0, "lab %s is already up (nslab down %s first)", lab, lab);
    }
  /* Built under a hidden name and renamed into place: a lab dir exists
   * only with its header, so anything under the root without one is not
   * ours. A leftover from a creator killed before the rename can only be
   * ours (the root is root's; we hold its lock, so no creator is running):
   * it holds no object yet, so it goes. */
  cleanup_free char *tmp = xasprintf (".new-%s", lab);
  cleanup_free char *tmp_path = xasprintf ("%s/%s", state_root (), tmp);
  int old = openat (root_fd, tmp, STATE_DIR_FLAGS);
  if (old >= 0)
    {
      int r = remove_dir_entry (root_fd, tmp, old, tmp_path, err);
      close (old);
      if (r < 0)
        {
          writer_free (w);
          return -1;
        }
    }
  if (mkdirat (root_fd, tmp, 0700) < 0)
    {
      nslab_error (err, errno, "mkdir %s", tmp_path);
      writer_free (w);
      return -1;
    }
  w->dir_fd = openat (root_fd, tmp, STATE_DIR_FLAGS);
  int rc = 0;
  if (w->dir_fd < 0 || fchmod (w->dir_fd, 0700) < 0)
    rc = nslab_error (err, errno, "open %s", tmp_path);
  if (rc == 0)
    {
      w->lock_fd = openat (w->dir_fd, "lock", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (w->lock_fd < 0 || flock (w->lock_fd, LOCK_EX) < 0)
        rc = nslab_error (err, errno, "lock %s/lock", tmp_path);
    }
  if (rc == 0)
    {
      w->journal_fd
          = openat (w->dir_fd, "journal", O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (w->journal_fd < 0)
        rc = nslab_error (err, errno, "open %s/journal", tmp_path);
    }
  if (rc == 0 && (mkdirat (w->dir_fd, "files", 0700) < 0 || mkdirat (w->dir_fd, "logs", 0700) < 0))
    rc = nslab_error (err, errno, "mkdir %s", tmp_path);
  if (rc == 0)
    {
      cleanup_free char *scen = xstrdup (scenario ? scenario : "-");
      for (char *c = scen; *c; c++)
        if (*c == '\n' || *c == '\r')
          *c = '?';
      rc = append (w, err, STATE_HEADER "\nlab %s\ncreated %lld\nscenario %s", lab, (long long) time (NULL), scen);
    }
  if (rc == 0 && renameat2 (root_fd, tmp, root_fd, lab, RENAME_NOREPLACE) < 0)
    {
      if (errno == EEXIST)
        rc = nslab_error (err, 0, "lab %s is already up (nslab down %s first)", lab, lab);
      else
        rc = nslab_error (err, errno, "rename %s to %s", tmp_path, w->dir);
    }
  if (rc < 0)
    {
      if (w->dir_fd >= 0)
        remove_dir_entry (root_fd, tmp, w->dir_fd, tmp_path, NULL);
      writer_free (w);
      return -1;
    }
  *out = w;
  return 0;
}

int
state_create (const char *lab, const char *scenario, struct state_writer **out, nslab_error_t *err)
{
  cleanup_close int root_fd = state_root_lock (err);
  if (root_fd < 0)
    return -1;
  return state_create_locked (root_fd, lab, scenario, out, err);
}

static int load_at (int dir_fd, const char *lab, const char *dir, struct state **out, nslab_error_t *err);
static int check_header_at (int dir_fd, const char *lab, const char *dir, nslab_error_t *err);

int
state_open (const char *lab, struct state_writer **out, nslab_error_t *err)
{
  struct state_writer *w;
  if (writer_new (lab, &w, err) < 0)
    return -1;
  w->root_fd = open_root (false, err);
  if (w->root_fd == -2)
    {
      w->root_fd = -1;
      writer_free (w);
      return nslab_error (err, 0, "lab %s is not up", lab);
    }
  /* Nothing is created or locked in a dir before it proved to be a lab:
   * the header check comes first. */
  if (w->root_fd < 0 || (w->dir_fd = open_lab_dir (w->root_fd, lab, err)) < 0
      || check_header_at (w->dir_fd, lab, w->dir, err) < 0)
    {
      writer_free (w);
      return -1;
    }
  w->lock_fd = take_lock (lab, w->dir_fd, w->dir, err);
  if (w->lock_fd < 0)
    {
      writer_free (w);
      return -1;
    }
  w->journal_fd = open_in_lab (w->dir_fd, w->dir, "journal", O_RDWR | O_APPEND, err);
  if (w->journal_fd < 0)
    {
      writer_free (w);
      return -1;
    }
  /* A writer killed mid-record left a line without its newline: cut it so
   * the next record does not glue onto it (the reader ignored it anyway). */
  off_t size = lseek (w->journal_fd, 0, SEEK_END);
  char last = '\n';
  if (size > 0 && pread (w->journal_fd, &last, 1, size - 1) == 1 && last != '\n')
    {
      cleanup_free char *buf = xmalloc ((size_t) size);
      ssize_t n = pread (w->journal_fd, buf, (size_t) size, 0);
      off_t keep = 0;
      for (ssize_t i = n - 1; i >= 0; i--)
        if (buf[i] == '\n')
          {
            keep = i + 1;
            break;
          }
      if (n < 0 || ftruncate (w->journal_fd, keep) < 0)
        {
          nslab_error (err, errno, "repair %s/journal", w->dir);
          writer_free (w);
          return -1;
        }
    }
  *out = w;
  return 0;
}

int
state_writer_dirfd (const struct state_writer *w)
{
  return w->dir_fd;
}

int
state_open_lab_dirfd (const char *lab, nslab_error_t *err)
{
  if (! plain_name (lab) || lab[0] == '.')
    return nslab_error_invalid (err, "invalid lab name \"%s\"", lab ? lab : "");
  cleanup_close int root_fd = open_root (false, err);
  if (root_fd == -2)
    return nslab_error (err, 0, "lab %s is not up", lab);
  if (root_fd < 0)
    return -1;
  return open_lab_dir (root_fd, lab, err);
}

int
state_open_lab_file (const char *lab, const char *name, nslab_error_t *err)
{
  cleanup_close int dir_fd = state_open_lab_dirfd (lab, err);
  if (dir_fd < 0)
    return -1;
  int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return -2;
  if (fd >= 0)
    close (fd);
  cleanup_free char *dir = lab_dir (lab);
  return open_in_lab (dir_fd, dir, name, O_RDONLY, err);
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
state_writer_load (const struct state_writer *w, struct state **out, nslab_error_t *err)
{
  return load_at (w->dir_fd, w->lab, w->dir, out, err);
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
state_record_netns_ident (struct state_writer *w, const char *netns, uint64_t dev, uint64_t ino,
                          nslab_error_t *err)
{
  if (check_word ("netns", netns, err) < 0)
    return -1;
  return append (w, err, "netns-ino %s %llu %llu", netns, (unsigned long long) dev, (unsigned long long) ino);
}

int
state_record_process (struct state_writer *w, const struct state_process *p, nslab_error_t *err)
{
  if (check_word ("process", p->name, err) < 0 || check_word ("netns", p->netns, err) < 0
      || (p->owner && check_word ("owner", p->owner, err) < 0)
      || (p->node && check_word ("node", p->node, err) < 0))
    return -1;
  static const char *const kinds[] = { [STATE_PROC_NODE] = "node", [STATE_PROC_POD] = "pod",
                                        [STATE_PROC_CONTROL] = "control" };
  return append (w, err, "proc %s %s %s %s %s %d %llu", kinds[p->kind], p->name,
                 p->owner ? p->owner : "-", p->netns, p->node ? p->node : "-", (int) p->pid,
                 (unsigned long long) p->starttime);
}

int
state_record_cni (struct state_writer *w, const struct state_cni *c, nslab_error_t *err)
{
  if (check_word ("netns", c->node_ns, err) < 0 || check_word ("netns", c->pod_ns, err) < 0
      || check_word ("container id", c->container_id, err) < 0 || check_word ("interface", c->ifname, err) < 0
      || check_word ("CNI plugin", c->type, err) < 0)
    return -1;
  /* The plugin is CNI_PATH/<type>, and DEL runs it again from this
   * record: teardown refuses a type with a slash, so apply does too. */
  if (!plain_name (c->type) || !plain_name (c->container_id))
    return nslab_error (err, EINVAL, "state: CNI plugin '%s' of %s is not a plain name", c->type, c->container_id);
  if (c->config == NULL || *c->config == '\0' || strpbrk (c->config, "\n\r"))
    return nslab_error (err, EINVAL, "state: CNI config of %s is not one line", c->container_id);
  return append (w, err, "cni %s %s %s %s %s %s", c->node_ns, c->pod_ns, c->container_id, c->ifname, c->type,
                 c->config);
}

int
state_record_node_netns (struct state_writer *w, const struct state_node_netns *nn, nslab_error_t *err)
{
  if (check_word ("node", nn->node, err) < 0 || check_word ("netns", nn->pod_ns, err) < 0
      || check_word ("node netns", nn->name, err) < 0)
    return -1;
  /* Teardown unmounts and unlinks it in the node's /run/netns: a plain name only. */
  if (!plain_name (nn->name))
    return nslab_error (err, EINVAL, "state: node netns name '%s' is not a plain name", nn->name);
  return append (w, err, "node-netns %s %s %s", nn->node, nn->pod_ns, nn->name);
}

static void
state_node_netns_free (struct state_node_netns *nn)
{
  free (nn->node);
  free (nn->pod_ns);
  free (nn->name);
}

static void
state_cni_free (struct state_cni *c)
{
  free (c->node_ns);
  free (c->pod_ns);
  free (c->container_id);
  free (c->ifname);
  free (c->type);
  free (c->config);
}

int
state_record_gone_netns (struct state_writer *w, const char *netns, nslab_error_t *err)
{
  if (check_word ("netns", netns, err) < 0)
    return -1;
  return append (w, err, "gone-netns %s", netns);
}

int
state_record_gone_process (struct state_writer *w, const char *name, pid_t pid, nslab_error_t *err)
{
  if (check_word ("process", name, err) < 0)
    return -1;
  return append (w, err, "gone-proc %s %d", name, (int) pid);
}

int
state_mark_complete (struct state_writer *w, nslab_error_t *err)
{
  return append (w, err, "complete");
}

/* The pods' files (files/: a directory per pod with its /etc files and
 * service account, most of a big lab's entries, ~9 per pod) are removed by
 * a few threads at once: by the time a lab's dir goes, its processes are
 * gone and the CPUs free. */
#define POD_FILES_THREADS 2

int
state_remove (struct state_writer *w, nslab_error_t *err)
{
  struct stat mine;
  if (fstat (w->dir_fd, &mine) < 0)
    return nslab_error (err, errno, "stat %s", w->dir);
  if (rm_entry_at (w->dir_fd, "files", DT_UNKNOWN, w->dir, mine.st_dev, 0, POD_FILES_THREADS, err) < 0)
    return -1;
  /* The lock file goes with the dir; the fd keeps the lock until close,
   * and a waiter then sees st_nlink == 0 and knows the lab is gone. */
  return remove_dir_entry (w->root_fd, w->lab, w->dir_fd, w->dir, err);
}

void
state_writer_close (struct state_writer *w)
{
  writer_free (w);
}

/* Reader. */

static void
state_process_free (struct state_process *p)
{
  free (p->name);
  free (p->owner);
  free (p->netns);
  free (p->node);
}

static char *
dup_field (const char *s)
{
  return strcmp (s, "-") == 0 ? NULL : xstrdup (s);
}

/* Strict numbers: a record with a field that is not one is garbled. */
static bool
parse_u64 (const char *s, uint64_t *out)
{
  if (s == NULL || *s < '0' || *s > '9')
    return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull (s, &end, 10);
  if (errno || *end != '\0')
    return false;
  *out = v;
  return true;
}

static bool
parse_int (const char *s, int *out)
{
  uint64_t v;
  if (! parse_u64 (s, &v) || v > INT32_MAX)
    return false;
  *out = (int) v;
  return true;
}

/* Where NAME is in st->netns while the journal is read (NETNS_AT, see
 * parse_line): false when it is not there (never recorded, or gone). */
static bool
netns_index (const struct state *st, const struct strmap *netns_at, const char *name, size_t *at)
{
  uintptr_t v = (uintptr_t) strmap_get (netns_at, name);
  if (v == 0 || st->netns[v - 1] == NULL)
    return false;
  *at = v - 1;
  return true;
}

/* One complete record; false when it is garbled or unknown (never acted on).
 * NETNS_AT: each namespace's name -> its index + 1 in st->netns, whose entry
 * a gone-netns record sets to NULL (the parse compacts them at its end), so
 * that a lab of thousands of pods is read in one pass, not in one scan of
 * every namespace per record. */
static bool
parse_line (struct state *st, struct strmap *netns_at, char *line)
{
  char *save = NULL;
  char *key = strtok_r (line, " ", &save);
  if (key == NULL)
    return false;
  char *rest = save && *save ? save : NULL;
  if (strcmp (key, "lab") == 0 || strcmp (key, "scenario") == 0)
    return rest != NULL; /* lab: checked by the caller; scenario: read there too */
  if (strcmp (key, "created") == 0)
    {
      uint64_t v;
      if (! parse_u64 (rest, &v))
        return false;
      st->created = (time_t) v;
      return true;
    }
  if (strcmp (key, "counts") == 0)
    {
      char *f[3];
      for (int i = 0; i < 3; i++)
        f[i] = strtok_r (NULL, " ", &save);
      int v[3];
      if (strtok_r (NULL, " ", &save) != NULL || ! parse_int (f[0], &v[0]) || ! parse_int (f[1], &v[1])
          || ! parse_int (f[2], &v[2]))
        return false;
      st->n_nodes = v[0];
      st->n_pods = v[1];
      st->n_services = v[2];
      return true;
    }
  if (strcmp (key, "cni") == 0)
    {
      char *f[5];
      for (int i = 0; i < 5; i++)
        if ((f[i] = strtok_r (NULL, " ", &save)) == NULL)
          return false;
      if (save == NULL || *save != '{')
        return false;
      struct state_cni *c = VEC_PUSH (st->cnis, st->n_cnis);
      c->node_ns = xstrdup (f[0]);
      c->pod_ns = xstrdup (f[1]);
      c->container_id = xstrdup (f[2]);
      c->ifname = xstrdup (f[3]);
      c->type = xstrdup (f[4]);
      c->config = xstrdup (save);
      return true;
    }
  if (strcmp (key, "complete") == 0)
    {
      st->complete = rest == NULL;
      return rest == NULL;
    }
  char *f[7] = { 0 };
  int nf = 0;
  for (char *t; nf < 8 && (t = strtok_r (NULL, " ", &save)) != NULL; nf++)
    if (nf < 7)
      f[nf] = t;
  if (strcmp (key, "labhost") == 0 && nf == 1)
    {
      free (st->labhost_netns);
      st->labhost_netns = xstrdup (f[0]);
      return true;
    }
  if (strcmp (key, "netns") == 0 && nf == 1)
    {
      size_t at;
      if (netns_index (st, netns_at, f[0], &at))
        return true;
      size_t n = st->n_netns;
      *VEC_PUSH (st->netns_ident, n) = (struct state_ns_ident) { 0 };
      strmap_set (netns_at, f[0], (void *) (uintptr_t) (st->n_netns + 1));
      *VEC_PUSH (st->netns, st->n_netns) = xstrdup (f[0]);
      return true;
    }
  if (strcmp (key, "netns-ino") == 0 && nf == 3)
    {
      struct state_ns_ident id = { .known = true };
      if (! parse_u64 (f[1], &id.dev) || ! parse_u64 (f[2], &id.ino))
        return false;
      /* Only for a namespace whose intent was recorded before. */
      size_t at;
      if (!netns_index (st, netns_at, f[0], &at))
        return false;
      st->netns_ident[at] = id;
      return true;
    }
  if (strcmp (key, "node-netns") == 0 && nf == 3)
    {
      if (!plain_name (f[2]))
        return false;
      struct state_node_netns *nn = VEC_PUSH (st->node_netns, st->n_node_netns);
      nn->node = xstrdup (f[0]);
      nn->pod_ns = xstrdup (f[1]);
      nn->name = xstrdup (f[2]);
      return true;
    }
  if (strcmp (key, "gone-netns") == 0 && nf == 1)
    {
      /* And its names on its node. */
      for (size_t i = st->n_node_netns; i-- > 0;)
        if (strcmp (st->node_netns[i].pod_ns, f[0]) == 0)
          {
            state_node_netns_free (&st->node_netns[i]);
            memmove (&st->node_netns[i], &st->node_netns[i + 1], (st->n_node_netns - i - 1) * sizeof *st->node_netns);
            st->n_node_netns--;
          }
      /* The pod's CNI calls went with its namespace. */
      for (size_t i = st->n_cnis; i-- > 0;)
        if (strcmp (st->cnis[i].pod_ns, f[0]) == 0)
          {
            state_cni_free (&st->cnis[i]);
            memmove (&st->cnis[i], &st->cnis[i + 1], (st->n_cnis - i - 1) * sizeof *st->cnis);
            st->n_cnis--;
          }
      size_t at;
      if (!netns_index (st, netns_at, f[0], &at))
        return false;
      free (st->netns[at]);
      st->netns[at] = NULL;
      return true;
    }
  if (strcmp (key, "gone-proc") == 0 && nf == 2)
    {
      int pid;
      if (! parse_int (f[1], &pid))
        return false;
      for (size_t i = 0; i < st->n_procs; i++)
        if (st->procs[i].pid == pid && strcmp (st->procs[i].name, f[0]) == 0)
          {
            state_process_free (&st->procs[i]);
            memmove (&st->procs[i], &st->procs[i + 1], (st->n_procs - i - 1) * sizeof *st->procs);
            st->n_procs--;
            return true;
          }
      return false;
    }
  if (strcmp (key, "cidr") == 0 && nf == 3)
    {
      struct cidr cc;
      if (! cidr_parse (f[2], &cc, false))
        return false;
      struct state_cidr *e = VEC_PUSH (st->cidrs, st->n_cidrs);
      e->kind = xstrdup (f[0]);
      e->name = xstrdup (f[1]);
      e->cidr = cc;
      return true;
    }
  if (strcmp (key, "proc") == 0 && nf == 7)
    {
      int pid;
      uint64_t start;
      enum state_proc_kind kind;
      if (strcmp (f[0], "node") == 0)
        kind = STATE_PROC_NODE;
      else if (strcmp (f[0], "pod") == 0)
        kind = STATE_PROC_POD;
      else if (strcmp (f[0], "control") == 0)
        kind = STATE_PROC_CONTROL;
      else
        return false;
      if (! parse_int (f[5], &pid) || pid <= 1 || ! parse_u64 (f[6], &start))
        return false;
      struct state_process *p = VEC_PUSH (st->procs, st->n_procs);
      p->kind = kind;
      p->name = xstrdup (f[1]);
      p->owner = dup_field (f[2]);
      p->netns = xstrdup (f[3]);
      p->node = dup_field (f[4]);
      p->pid = (pid_t) pid;
      p->starttime = start;
      return true;
    }
  return false;
}

static int
not_a_lab (const char *dir, nslab_error_t *err)
{
  return nslab_error (err, 0, "%s is not an nslab lab (no valid state header): left as it is", dir);
}

/* The header every journal starts with, written by state_create in one
 * record: "nslab-state 1", then "lab NAME" naming its own dir (a journal
 * copied or moved under another name is not that lab's). L1 and L2 are
 * its first two lines without their newlines (NULL: missing or cut short). */
static int
check_header (const char *l1, const char *l2, const char *dirname, const char *dir, nslab_error_t *err)
{
  if (l1 != NULL && strcmp (l1, STATE_HEADER) != 0 && strncmp (l1, "nslab-state ", 12) == 0)
    return nslab_error (err, 0, "%s/journal: unknown state version \"%.40s\" (this nslab reads %s): left as it is",
                        dir, l1, STATE_HEADER);
  if (l1 == NULL || strcmp (l1, STATE_HEADER) != 0 || l2 == NULL || strncmp (l2, "lab ", 4) != 0
      || strcmp (l2 + 4, dirname) != 0)
    return not_a_lab (dir, err);
  return 0;
}

int
state_parse (FILE *f, const char *dirname, const char *dir, struct state **out, nslab_error_t *err)
{
  struct state *st = xcalloc (1, sizeof *st);
  st->lab = xstrdup (dirname);
  st->dir = xstrdup (dir);
  char *line = NULL, *first = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  bool header_seen = false;
  struct strmap netns_at;
  strmap_init (&netns_at);
  for (size_t lineno = 1; rc == 0 && (n = getline (&line, &cap, f)) > 0; lineno++)
    {
      /* A line without its newline is a record cut short by a kill. */
      if (line[n - 1] != '\n')
        break;
      line[n - 1] = '\0';
      if (lineno == 1)
        {
          first = xstrdup (line);
          continue;
        }
      if (lineno == 2)
        {
          rc = check_header (first, line, dirname, dir, err);
          header_seen = true;
          continue;
        }
      if (strncmp (line, "lab ", 4) == 0)
        {
          /* A second lab record must name the dir too. */
          if (strcmp (line + 4, dirname) != 0)
            rc = not_a_lab (dir, err);
          continue;
        }
      if (strncmp (line, "scenario ", 9) == 0)
        {
          free (st->scenario);
          st->scenario = dup_field (line + 9);
          continue;
        }
      cleanup_free char *copy = xstrdup (line);
      if (! parse_line (st, &netns_at, line))
        *VEC_PUSH (st->bad, st->n_bad) = xasprintf ("line %zu: %.80s", lineno, copy);
    }
  free (line);
  strmap_free (&netns_at);
  /* The gone namespaces out, the others in their order. */
  size_t kept = 0;
  for (size_t i = 0; i < st->n_netns; i++)
    if (st->netns[i] != NULL)
      {
        st->netns_ident[kept] = st->netns_ident[i];
        st->netns[kept++] = st->netns[i];
      }
  st->n_netns = kept;
  if (rc == 0 && ! header_seen)
    rc = check_header (first, NULL, dirname, dir, err);
  free (first);
  if (rc < 0)
    {
      state_free (st);
      return -1;
    }
  *out = st;
  return 0;
}

/* The journal's header only (state_open's check that a dir is a lab
 * before it locks or writes anything there), without reading the records:
 * the control loop opens its lab's journal twice a round, and the journal
 * grows with every pod the lab has had. */
static int
check_header_at (int dir_fd, const char *lab, const char *dir, nslab_error_t *err)
{
  cleanup_close int fd = open_in_lab (dir_fd, dir, "journal", O_RDONLY, err);
  if (fd < 0)
    return -1;
  /* "nslab-state 1\nlab NAME\n": a lab name is a file name. */
  char buf[sizeof STATE_HEADER + 4 + NAME_MAX + 2];
  ssize_t n;
  do
    n = pread (fd, buf, sizeof buf - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return nslab_error (err, errno, "read %s/journal", dir);
  buf[n] = '\0';
  char *l1 = NULL, *l2 = NULL, *nl = strchr (buf, '\n');
  if (nl != NULL)
    {
      *nl = '\0';
      l1 = buf;
      char *nl2 = strchr (nl + 1, '\n');
      if (nl2 != NULL)
        *nl2 = '\0', l2 = nl + 1;
    }
  return check_header (l1, l2, lab, dir, err);
}

static int
load_at (int dir_fd, const char *lab, const char *dir, struct state **out, nslab_error_t *err)
{
  int fd = open_in_lab (dir_fd, dir, "journal", O_RDONLY, err);
  if (fd < 0)
    return -1;
  cleanup_file FILE *f = fdopen (fd, "r");
  if (f == NULL)
    {
      close (fd);
      return nslab_error (err, errno, "open %s/journal", dir);
    }
  struct stat sb;
  if (fstat (dir_fd, &sb) < 0)
    return nslab_error (err, errno, "stat %s", dir);
  if (state_parse (f, lab, dir, out, err) < 0)
    return -1;
  if ((*out)->created == 0)
    (*out)->created = sb.st_mtime;
  return 0;
}

int
state_load (const char *lab, struct state **out, nslab_error_t *err)
{
  if (! plain_name (lab) || lab[0] == '.')
    return nslab_error (err, EINVAL, "invalid lab name '%s'", lab ? lab : "");
  cleanup_free char *dir = lab_dir (lab);
  int root_fd = open_root (false, err);
  if (root_fd == -2)
    return nslab_error (err, 0, "lab %s is not up", lab);
  if (root_fd < 0)
    return -1;
  cleanup_close int rfd = root_fd;
  cleanup_close int dir_fd = open_lab_dir (rfd, lab, err);
  if (dir_fd < 0)
    return -1;
  return load_at (dir_fd, lab, dir, out, err);
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
  free (st->netns_ident);
  for (size_t i = 0; i < st->n_procs; i++)
    state_process_free (&st->procs[i]);
  free (st->procs);
  for (size_t i = 0; i < st->n_cnis; i++)
    state_cni_free (&st->cnis[i]);
  free (st->cnis);
  for (size_t i = 0; i < st->n_node_netns; i++)
    state_node_netns_free (&st->node_netns[i]);
  free (st->node_netns);
  free (st->labhost_netns);
  for (size_t i = 0; i < st->n_cidrs; i++)
    {
      free (st->cidrs[i].kind);
      free (st->cidrs[i].name);
    }
  free (st->cidrs);
  for (size_t i = 0; i < st->n_bad; i++)
    free (st->bad[i]);
  free (st->bad);
  free (st);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
state_scan (char ***labs, size_t *n, char ***skipped, size_t *n_skipped, nslab_error_t *err)
{
  *labs = NULL;
  *n = 0;
  if (skipped)
    {
      *skipped = NULL;
      *n_skipped = 0;
    }
  int root_fd = open_root (false, err);
  if (root_fd == -2)
    return 0;
  if (root_fd < 0)
    return -1;
  DIR *d = fdopendir (root_fd);
  if (d == NULL)
    {
      close (root_fd);
      return nslab_error (err, errno, "open %s", state_root ());
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      /* Hidden names are the root's own (a lab being built). */
      if (de->d_name[0] == '.')
        continue;
      /* Plain files are never taken for a lab; a symlink or a directory
       * might be, so those are reported when skipped. */
      struct stat sb;
      if (fstatat (dirfd (d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0
          || ! (S_ISDIR (sb.st_mode) || S_ISLNK (sb.st_mode)))
        continue;
      nslab_error_t e = NULL;
      struct state *st = NULL;
      int dir_fd = open_lab_dir (dirfd (d), de->d_name, &e);
      cleanup_free char *dir = lab_dir (de->d_name);
      if (dir_fd >= 0)
        {
          load_at (dir_fd, de->d_name, dir, &st, &e);
          close (dir_fd);
        }
      if (st != NULL)
        *VEC_PUSH (*labs, *n) = xstrdup (de->d_name);
      else if (skipped && e != NULL)
        *VEC_PUSH (*skipped, *n_skipped) = xstrdup (e->msg);
      state_free (st);
      nslab_error_free (&e);
    }
  closedir (d);
  if (*n)
    qsort (*labs, *n, sizeof **labs, cmp_str);
  if (skipped && *n_skipped)
    qsort (*skipped, *n_skipped, sizeof **skipped, cmp_str);
  return 0;
}

int
state_list (char ***labs, size_t *n, nslab_error_t *err)
{
  return state_scan (labs, n, NULL, NULL, err);
}
