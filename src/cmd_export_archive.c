/* nslab-export LAB FILE.tar.gz, exec'd by nslab export LAB -o FILE.tar.gz
 * (cmd_export.c) once its arguments are checked: the artefact a CI job
 * uploads when a lab misbehaves. One gzip'd tar (libarchive) with, under LAB/: the lab's state
 * directory as recorded (plan.json, the journal, the app logs, the pods'
 * /etc files) and, for every namespace the lab recorded, what the kernel
 * shows there (addresses, routes, neighbours, FDB, iptables rules). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apply/apply.h"
#include "base/error.h"
#include "base/util.h"
#include "cmd.h"
#include "kernel/netns.h"
#include "state/state.h"
#include "target.h"

/* Files larger than this (a runaway app log) are cut. */
#define MAX_FILE (16u * 1024 * 1024)

static const struct {
  const char *file;
  const char *argv[8];
} dumps[] = {
  { "ip-addr.txt", { "ip", "-d", "addr", "show", NULL } },
  { "ip-link.txt", { "ip", "-d", "-s", "link", "show", NULL } },
  { "ip-route.txt", { "ip", "route", "show", "table", "all", NULL } },
  { "ip-rule.txt", { "ip", "rule", "show", NULL } },
  { "ip-neigh.txt", { "ip", "neigh", "show", NULL } },
  { "bridge-fdb.txt", { "bridge", "fdb", "show", NULL } },
  { "iptables-save.txt", { "iptables-save", "-c", NULL } },
  { "nft-ruleset.txt", { "nft", "list", "ruleset", NULL } },
  { "sysctl-net.txt", { "sh", "-c", "grep -r . /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/rp_filter "
                                    "/proc/sys/net/bridge 2>/dev/null", NULL } },
};

static int
add_entry (struct archive *a, const char *path, const char *data, size_t len, nslab_error_t *err)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, path);
  archive_entry_set_size (e, (la_int64_t) len);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_mtime (e, time (NULL), 0);
  int rc = 0;
  if (archive_write_header (a, e) != ARCHIVE_OK
      || (len && archive_write_data (a, data, len) != (la_ssize_t) len))
    rc = nslab_error (err, 0, "archive %s: %s", path, archive_error_string (a));
  archive_entry_free (e);
  return rc;
}

/* Read up to MAX_FILE bytes of FD. */
static char *
slurp (int fd, size_t *len)
{
  struct strbuf sb;
  sb_init (&sb);
  char buf[65536];
  ssize_t n;
  while (sb.len < MAX_FILE && ((n = read (fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0)
      sb_addn (&sb, buf, (size_t) n);
  *len = sb.len;
  return sb.buf ? sb_steal (&sb) : xstrdup ("");
}

/* ARGV's output (stdout and stderr) in network namespace NSFD. */
static char *
run_in (int nsfd, const char *const *argv, size_t *len)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return xasprintf ("pipe: %s\n", strerror (errno));
  pid_t pid = fork ();
  if (pid == 0)
    {
      dup2 (p[1], 1);
      dup2 (p[1], 2);
      if (setns (nsfd, CLONE_NEWNET) < 0)
        {
          dprintf (1, "setns: %s\n", strerror (errno));
          _exit (1);
        }
      execvp (argv[0], (char *const *) argv);
      dprintf (1, "exec %s: %s\n", argv[0], strerror (errno));
      _exit (127);
    }
  close (p[1]);
  char *out = pid < 0 ? xasprintf ("fork: %s\n", strerror (errno)) : slurp (p[0], len);
  close (p[0]);
  if (pid > 0)
    while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
      ;
  else
    *len = strlen (out);
  return out;
}

/* Every regular file under DIRFD (DIR in the archive), never following a
 * link: the state directory is root's, but what it holds is not trusted. */
static int
add_tree (struct archive *a, int dirfd, const char *dir, int depth, nslab_error_t *err)
{
  DIR *d = fdopendir (dirfd);
  if (d == NULL)
    {
      close (dirfd);
      return nslab_error (err, errno, "read %s", dir);
    }
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      cleanup_free char *path = xasprintf ("%s/%s", dir, de->d_name);
      int fd = openat (dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0)
        continue;
      struct stat st;
      if (fstat (fd, &st) < 0)
        close (fd);
      else if (S_ISDIR (st.st_mode) && depth < 4)
        rc = add_tree (a, fd, path, depth + 1, err);
      else if (S_ISREG (st.st_mode))
        {
          size_t len = 0;
          cleanup_free char *data = slurp (fd, &len);
          close (fd);
          rc = add_entry (a, path, data, len, err);
        }
      else
        close (fd);
    }
  closedir (d);
  return rc;
}

static int
export_archive (const char *lab, const char *out, nslab_error_t *err)
{
  struct lab_view v;
  if (lab_view_load (lab, &v, err) < 0)
    return -1;

  struct archive *a = archive_write_new ();
  int rc = 0;
  if (archive_write_add_filter_gzip (a) != ARCHIVE_OK || archive_write_set_format_pax_restricted (a) != ARCHIVE_OK
      || archive_write_open_filename (a, out) != ARCHIVE_OK)
    rc = nslab_error (err, 0, "%s: %s", out, archive_error_string (a));

  if (rc == 0)
    {
      int dfd = open (v.st->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      cleanup_free char *top = xasprintf ("%s/state", lab);
      if (dfd < 0)
        rc = nslab_error (err, errno, "open %s", v.st->dir);
      else
        rc = add_tree (a, dfd, top, 0, err);
    }
  for (size_t i = 0; rc == 0 && i < v.st->n_netns; i++)
    {
      const char *ns = v.st->netns[i];
      cleanup_free char *path = netns_path (ns);
      cleanup_close int nsfd = open (path, O_RDONLY | O_CLOEXEC);
      for (size_t k = 0; rc == 0 && k < ARRAY_SIZE (dumps); k++)
        {
          cleanup_free char *name = xasprintf ("%s/netns/%s/%s", lab, ns, dumps[k].file);
          size_t len = 0;
          cleanup_free char *data = nsfd < 0 ? xasprintf ("open %s: %s\n", path, strerror (errno))
                                             : run_in (nsfd, dumps[k].argv, &len);
          if (nsfd < 0)
            len = strlen (data);
          rc = add_entry (a, name, data, len, err);
        }
    }
  if (archive_write_close (a) != ARCHIVE_OK && rc == 0)
    rc = nslab_error (err, 0, "%s: %s", out, archive_error_string (a));
  archive_write_free (a);
  size_t n_netns = v.st->n_netns;
  lab_view_free (&v);
  if (rc < 0)
    {
      unlink (out);
      return -1;
    }
  cleanup_free char *shown = nslab_escape (out, false);
  printf ("%s: lab %s (state and %zu namespaces)\n", shown, lab, n_netns);
  return 0;
}

int
export_main (int argc, char **argv)
{
  if (argc != 3)
    {
      fputs ("nslab-export: run by nslab export LAB -o FILE.tar.gz, not by hand\n", stderr);
      return NSLAB_EXIT_INVALID;
    }
  nslab_error_t err = NULL;
  if (export_archive (argv[1], argv[2], &err) < 0)
    return nslab_error_print (&err);
  return 0;
}
