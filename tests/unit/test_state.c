/* The state journal reader: what it accepts as a lab's record, what it
 * refuses whole (no header, another lab's name, an unknown version) and
 * which records it refuses one by one (garbled, unknown) without acting on
 * them. The file-system checks (symlinks, owners, modes) run as root on a
 * private temp state root. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sched.h>
#include <sys/mount.h>

#include "scenario/scenario.h"
#include "state/journal.h"
#include "state/snapshot.h"
#include "state/state.h"
#include "state/store.h"
#include "state/watch.h"

static struct state *
parse_ok (const char *text)
{
  FILE *f = fmemopen ((void *) text, strlen (text), "r");
  ck_assert_ptr_nonnull (f);
  struct state *st = NULL;
  nslab_error_t err = NULL;
  int rc = state_parse (f, "k3s", "/run/nslab/k3s", &st, &err);
  fclose (f);
  ck_assert_msg (rc == 0, "%s", err ? err->msg : "?");
  return st;
}

static char *
parse_err (const char *text)
{
  FILE *f = fmemopen ((void *) text, strlen (text), "r");
  ck_assert_ptr_nonnull (f);
  struct state *st = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (state_parse (f, "k3s", "/run/nslab/k3s", &st, &err), -1);
  fclose (f);
  ck_assert_ptr_null (st);
  ck_assert_ptr_nonnull (err);
  char *msg = xstrdup (err->msg);
  nslab_error_free (&err);
  return msg;
}

#define HEADER "nslab-state 1\nlab k3s\ncreated 1700000000\nscenario /labs/k3s.ini\n"

START_TEST (test_parse_full_record)
{
  struct state *st = parse_ok (HEADER "counts 3 5 4\nlabhost k3s-host\ncidr hostonly vboxnet0 192.168.56.0/24\n"
                                      "netns k3s-host\nnetns-ino k3s-host 4 4026532000\nnetns k3s-cp1\n"
                                      "proc node cp1 - k3s-cp1 cp1 4242 123456\ncomplete\n");
  ck_assert_str_eq (st->lab, "k3s");
  ck_assert_str_eq (st->scenario, "/labs/k3s.ini");
  ck_assert_int_eq (st->created, 1700000000);
  ck_assert_int_eq (st->n_nodes, 3);
  ck_assert_int_eq (st->n_services, 4);
  ck_assert_uint_eq (st->n_netns, 2);
  ck_assert (st->netns_ident[0].known);
  ck_assert_uint_eq (st->netns_ident[0].dev, 4);
  ck_assert_uint_eq (st->netns_ident[0].ino, 4026532000ULL);
  /* intent only: a crash came between "netns" and "netns-ino" */
  ck_assert (! st->netns_ident[1].known);
  ck_assert_uint_eq (st->n_procs, 1);
  ck_assert_int_eq (st->procs[0].pid, 4242);
  ck_assert_ptr_null (st->procs[0].owner);
  ck_assert_uint_eq (st->n_cidrs, 1);
  ck_assert (st->complete);
  ck_assert_uint_eq (st->n_bad, 0);
  state_free (st);
}
END_TEST

START_TEST (test_parse_garbled_and_unknown_records)
{
  struct state *st = parse_ok (HEADER "netns k3s-a\n"
                                      "proc pod x\n"                              /* fields missing */
                                      "proc pod a/b - k3s-a n1 12ab 5\n"          /* pid not a number */
                                      "proc pod a/b - k3s-a n1 1 5\n"             /* pid 1 is never ours */
                                      "proc thing a/b - k3s-a n1 77 5\n"          /* unknown kind */
                                      "counts 1 2\n"                              /* short */
                                      "netns-ino k3s-zz 1 2\n"                    /* no intent recorded */
                                      "netns-ino k3s-a 1 x\n"                     /* garbled inode */
                                      "netns two words\n"
                                      "frobnicate k3s-a\n"                        /* unknown record */
                                      "cidr hostonly vboxnet0 300.1.1.0/24\n"
                                      "complete now\n"
                                      "netns k3s-b\n"
                                      "netns k3s-");                               /* cut by a kill: ignored */
  ck_assert_uint_eq (st->n_bad, 11);
  ck_assert_str_eq (st->bad[0], "line 6: proc pod x");
  ck_assert_str_eq (st->bad[9], "line 15: cidr hostonly vboxnet0 300.1.1.0/24");
  /* none of them was acted on; the good records around them were read */
  ck_assert_uint_eq (st->n_procs, 0);
  ck_assert_uint_eq (st->n_cidrs, 0);
  ck_assert_int_eq (st->n_nodes, 0);
  ck_assert (! st->complete);
  ck_assert_uint_eq (st->n_netns, 2);
  ck_assert_str_eq (st->netns[1], "k3s-b");
  ck_assert (! st->netns_ident[0].known);
  state_free (st);
}
END_TEST

/* CNI calls: the config is the rest of the line (JSON, may hold spaces); a
 * gone pod namespace takes its calls with it. */
START_TEST (test_parse_cni_records)
{
  struct state *st = parse_ok (HEADER "netns k3s-w1\nnetns k3s-p1\nnetns k3s-p2\n"
                                      "cni k3s-w1 k3s-p1 abc lo loopback {\"name\":\"cni-loopback\"}\n"
                                      "cni k3s-w1 k3s-p1 abc eth0 bridge {\"name\": \"cbr0\", \"mtu\": 1450}\n"
                                      "cni k3s-w1 k3s-p2 def eth0 bridge {\"name\":\"cbr0\"}\n"
                                      "cni k3s-w1 k3s-p2 def eth0 bridge\n"              /* no config */
                                      "cni k3s-w1 k3s-p2 def eth0 bridge not-json\n"     /* not an object */
                                      "cni k3s-w1 k3s-p2\n"                              /* short */
                                      "gone-netns k3s-p1\n");
  ck_assert_uint_eq (st->n_bad, 3);
  ck_assert_uint_eq (st->n_cnis, 1);
  ck_assert_str_eq (st->cnis[0].node_ns, "k3s-w1");
  ck_assert_str_eq (st->cnis[0].pod_ns, "k3s-p2");
  ck_assert_str_eq (st->cnis[0].container_id, "def");
  ck_assert_str_eq (st->cnis[0].ifname, "eth0");
  ck_assert_str_eq (st->cnis[0].type, "bridge");
  ck_assert_str_eq (st->cnis[0].config, "{\"name\":\"cbr0\"}");
  state_free (st);
  st = parse_ok (HEADER "cni k3s-w1 k3s-p1 abc eth0 bridge {\"name\": \"cbr0\", \"mtu\": 1450}\n");
  ck_assert_str_eq (st->cnis[0].config, "{\"name\": \"cbr0\", \"mtu\": 1450}");
  state_free (st);
}
END_TEST

/* A pod namespace's name on its node: kept until its namespace is gone; a
 * name that is no plain file name is never acted on. */
START_TEST (test_parse_node_netns_records)
{
  struct state *st = parse_ok (HEADER "netns k3s-p1\nnetns k3s-p2\n"
                                      "node-netns w1 k3s-p1 cni-1f2e3d4c-0000-1111-2222-333344445555\n"
                                      "node-netns w1 k3s-p2 cni-aa\n"
                                      "node-netns w1 k3s-p2 ../etc\n"   /* not a plain name */
                                      "node-netns w1 k3s-p2\n"          /* short */
                                      "gone-netns k3s-p1\n");
  ck_assert_uint_eq (st->n_bad, 2);
  ck_assert_uint_eq (st->n_node_netns, 1);
  ck_assert_str_eq (st->node_netns[0].node, "w1");
  ck_assert_str_eq (st->node_netns[0].pod_ns, "k3s-p2");
  ck_assert_str_eq (st->node_netns[0].name, "cni-aa");
  state_free (st);
}
END_TEST

/* A namespace gone and recorded again is the new one, last; its identity
 * the one recorded after; a gone one's identity record is not acted on.
 * Then thousands of namespaces, some gone, read in order (one pass). */
START_TEST (test_parse_netns_gone_and_again)
{
  struct state *st = parse_ok (HEADER "netns k3s-a\nnetns k3s-b\nnetns-ino k3s-a 1 2\nnetns k3s-b\n"
                                      "gone-netns k3s-a\nnetns-ino k3s-a 5 6\nnetns k3s-c\nnetns k3s-a\n"
                                      "netns-ino k3s-a 3 4\ngone-netns k3s-zz\n");
  ck_assert_uint_eq (st->n_netns, 3);
  ck_assert_str_eq (st->netns[0], "k3s-b");
  ck_assert_str_eq (st->netns[1], "k3s-c");
  ck_assert_str_eq (st->netns[2], "k3s-a");
  ck_assert (!st->netns_ident[0].known && !st->netns_ident[1].known);
  ck_assert (st->netns_ident[2].known);
  ck_assert_uint_eq (st->netns_ident[2].dev, 3);
  ck_assert_uint_eq (st->netns_ident[2].ino, 4);
  /* the identity of a gone one, and the end of one never recorded */
  ck_assert_uint_eq (st->n_bad, 2);
  state_free (st);

  struct strbuf j;
  sb_init (&j);
  sb_add (&j, HEADER);
  for (int i = 0; i < 5000; i++)
    sb_addf (&j, "netns k3s-p%d\nnetns-ino k3s-p%d 7 %d\n", i, i, i);
  for (int i = 0; i < 5000; i += 2)
    sb_addf (&j, "gone-netns k3s-p%d\n", i);
  char *text = sb_steal (&j);
  st = parse_ok (text);
  ck_assert_uint_eq (st->n_netns, 2500);
  for (size_t k = 0; k < st->n_netns; k++)
    {
      char want[32];
      snprintf (want, sizeof want, "k3s-p%zu", 2 * k + 1);
      ck_assert_str_eq (st->netns[k], want);
      ck_assert_uint_eq (st->netns_ident[k].ino, 2 * k + 1);
    }
  state_free (st);
  free (text);
}
END_TEST

/* Journals that are not a lab's (LAB_REFUSED) or of another version:
 * refused whole by the parser and by state_open's header check alike. */
static const char *const not_lab[] = {
  "",                                         /* empty */
  "lab k3s\nnslab-state 1\n",                 /* header not first */
  "nslab-state 1\n",                          /* no lab record */
  "nslab-state 1\nlab other\nnetns other-a\n", /* another lab's record */
  "nslab-state 1\nnetns k3s-a\nlab k3s\n",     /* the lab record not with the header */
  "nslab-state 1",                            /* header cut by a kill */
  "nslab-state 1\nlab k3s",                   /* lab record cut by a kill */
  "#!/bin/sh\nrm -rf /\n",
};
static const char *const other_version[][2] = {
  { "nslab-state 2\nlab k3s\n", "nslab-state 2" },
  { "nslab-state 1 \nlab k3s\n", "nslab-state 1 " },
};

START_TEST (test_parse_refuses_whole_journal)
{
  for (size_t i = 0; i < ARRAY_SIZE (other_version); i++)
    {
      char *m = parse_err (other_version[i][0]);
      char *want = xasprintf ("/run/nslab/k3s/journal: unknown state version \"%s\" (this nslab reads "
                              "nslab-state 1): left as it is", other_version[i][1]);
      ck_assert_str_eq (m, want);
      free (want);
      free (m);
    }
  for (size_t i = 0; i < ARRAY_SIZE (not_lab); i++)
    {
      char *m = parse_err (not_lab[i]);
      ck_assert_msg (strcmp (m, "/run/nslab/k3s is not an nslab lab (no valid state header): left as it is") == 0,
                     "%zu: %s", i, m);
      free (m);
    }
}
END_TEST

START_TEST (test_netns_name_ok)
{
  ck_assert (state_netns_name_ok ("k3s", "k3s-cp1"));
  ck_assert (state_netns_name_ok ("k3s", "k3s-demo-web-79ffc79c64-7lczb"));
  ck_assert (! state_netns_name_ok ("k3s", "k3s-"));
  ck_assert (! state_netns_name_ok ("k3s", "k3s"));
  ck_assert (! state_netns_name_ok ("k3s", "k3b-cp1"));
  ck_assert (! state_netns_name_ok ("k3s", "../victim"));
  ck_assert (! state_netns_name_ok ("k3s", "k3s-../../etc"));
  ck_assert (! state_netns_name_ok ("k3s", "/etc/passwd"));
  ck_assert (! state_netns_name_ok ("k3s", ".."));
  ck_assert (! state_netns_name_ok ("k3s", ""));
}
END_TEST

static void
append_to (int dfd, const char *name)
{
  int fd = openat (dfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  ck_assert_int_ge (fd, 0);
  ck_assert_int_eq (write (fd, "x\n", 2), 2);
  close (fd);
}

static long
elapsed_ms (const struct timespec *t0)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A wait wakes for a write to the store's files only: the journal, which
 * up appends to at every object it makes, must not wake every node's
 * kube-proxy to read the store. */
START_TEST (test_watch_wakes_for_the_store_only)
{
  char dir[] = "/tmp/nslab-watch-unit-XXXXXX";
  ck_assert_ptr_nonnull (mkdtemp (dir));
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ck_assert_int_ge (dfd, 0);
  nslab_error_t err = NULL;
  int w = watch_state_dir (dfd, "k3s", &err);
  ck_assert_msg (w >= 0, "%s", err ? err->msg : "");
  /* Waited past, to the end of the wait. */
  append_to (dfd, "journal");
  append_to (dfd, "plan.json");
  struct timespec t0;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  ck_assert (!wait_for_write (w, 60));
  ck_assert_int_ge (elapsed_ms (&t0), 59);
  /* The WAL (every commit) and the database (a checkpoint), alone or
   * among other writes. */
  append_to (dfd, STORE_FILE "-wal");
  ck_assert (wait_for_write (w, 5000));
  append_to (dfd, "journal");
  append_to (dfd, STORE_FILE);
  append_to (dfd, "journal");
  ck_assert (wait_for_write (w, 5000));
  /* Each wake drained what came before it. */
  ck_assert (!wait_for_write (w, 10));
  close (w);
  static const char *const names[] = { "journal", "plan.json", STORE_FILE, STORE_FILE "-wal" };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    ck_assert_int_eq (unlinkat (dfd, names[i], 0), 0);
  close (dfd);
  ck_assert_int_eq (rmdir (dir), 0);
}
END_TEST

/* A private state root with one real lab "k3s" in it. */
static char *
make_root (void)
{
  char *dir = xstrdup ("/tmp/nslab-state-unit-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (dir));
  setenv ("NSLAB_STATE_DIR", dir, 1);
  nslab_error_t err = NULL;
  struct state_writer *w = NULL;
  ck_assert_msg (state_create ("k3s", NULL, &w, &err) == 0, "%s", err ? err->msg : "");
  state_writer_close (w);
  return dir;
}

static void
rm_root (char *dir)
{
  char *cmd = xasprintf ("rm -rf '%s'", dir);
  ck_assert_int_eq (system (cmd), 0);
  free (cmd);
  free (dir);
}

static void
load_fails (const char *lab, const char *want)
{
  struct state *st = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (state_load (lab, &st, &err), -1);
  ck_assert_str_eq (err->msg, want);
  nslab_error_free (&err);
  struct state_writer *w = NULL;
  ck_assert_int_eq (state_open (lab, &w, &err), -1);
  ck_assert_str_eq (err->msg, want);
  nslab_error_free (&err);
}

START_TEST (test_load_refuses_untrusted_dirs)
{
  if (geteuid () != 0)
    return;
  char *root = make_root ();
  char *p = xasprintf ("%s/k3s", root);
  char *q = xasprintf ("%s/evil", root);
  char *msg;

  /* a symlink to a real lab is not a lab */
  ck_assert_int_eq (symlink (p, q), 0);
  msg = xasprintf ("%s is not an nslab lab (a symlink or not a directory): left as it is", q);
  load_fails ("evil", msg);
  free (msg);
  ck_assert_int_eq (unlink (q), 0);

  /* group/other access, or another owner */
  ck_assert_int_eq (chmod (p, 0770), 0);
  msg = xasprintf ("%s is owned by uid 0 with mode 0770: nslab only trusts a lab dir owned by root and closed to "
                   "group and others; left as it is", p);
  load_fails ("k3s", msg);
  free (msg);
  ck_assert_int_eq (chmod (p, 0700), 0);
  if (chown (p, 65534, 65534) == 0)
    {
      msg = xasprintf ("%s is owned by uid 65534 with mode 0700: nslab only trusts a lab dir owned by root and "
                       "closed to group and others; left as it is", p);
      load_fails ("k3s", msg);
      free (msg);
      ck_assert_int_eq (chown (p, 0, 0), 0);
    }
  else
    {
      ck_assert_int_eq (errno, EINVAL);
      unit_skip (__func__, UNIT_NO_OTHER_UID_REASON);
    }

  /* the root itself */
  ck_assert_int_eq (chmod (root, 01777), 0);
  msg = xasprintf ("%s is owned by uid 0 with mode 1777: nslab only trusts a state root owned by root and not "
                   "writable by group or others; left as it is", root);
  load_fails ("k3s", msg);
  free (msg);
  ck_assert_int_eq (chmod (root, 0755), 0);

  /* a symlinked journal */
  char *j = xasprintf ("%s/journal", p);
  char *victim = xasprintf ("%s/victim", root);
  ck_assert_int_eq (rename (j, victim), 0);
  ck_assert_int_eq (symlink (victim, j), 0);
  msg = xasprintf ("%s/journal is a symlink: left as it is", p);
  load_fails ("k3s", msg);
  free (msg);
  struct stat sb;
  ck_assert_int_eq (stat (victim, &sb), 0);
  ck_assert_int_gt (sb.st_size, 0);
  ck_assert_int_eq (unlink (j), 0);
  ck_assert_int_eq (rename (victim, j), 0);

  /* ... and back to a lab */
  struct state *st = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (state_load ("k3s", &st, &err), 0);
  state_free (st);
  free (j);
  free (victim);
  free (p);
  free (q);
  rm_root (root);
}
END_TEST

/* LAB's plan.json reads back as P. */
static void
snapshot_is (const char *lab, const struct plan *p)
{
  struct plan *back = NULL;
  nslab_error_t err = NULL;
  ck_assert_msg (snapshot_read (lab, &back, &err) == 0, "%s", err ? err->msg : "");
  json_t *a = plan_to_json (p), *b = plan_to_json (back);
  ck_assert (json_equal (a, b));
  json_decref (a);
  json_decref (b);
  plan_free (back);
}

/* The control loop's snapshot maker: finished to write, the lab's
 * plan.json is the plan's, read back as it was (its text made by the
 * maker's thread while this one went on); finished to drop, or stopped, it
 * writes nothing; a maker not running finishes at once. */
START_TEST (test_snapshot_maker_write_and_drop)
{
  if (geteuid () != 0)
    return;
  char *root = make_root ();
  struct scenario *sc = NULL;
  struct plan *p = NULL;
  nslab_error_t err = NULL;
  ck_assert_msg (scenario_load (NSLAB_SRCDIR "/labs/k3s-virtualbox.ini", &sc, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_msg (plan_build (sc, &p, &err) == 0, "%s", err ? err->msg : "");
  char *file = xasprintf ("%s/k3s/" SNAPSHOT_FILE, root);
  struct stat sb;

  struct snapshot_maker m;
  ck_assert_msg (snapshot_make_start ("k3s", p, &m, &err) == 0, "%s", err ? err->msg : "");
  ck_assert (m.running);
  ck_assert_int_eq (snapshot_make_finish ("k3s", &m, false, &err), 0);
  ck_assert (!m.running);
  ck_assert_int_eq (m.fd, -1);
  ck_assert_int_eq (stat (file, &sb), -1);
  /* finished already: nothing more */
  ck_assert_int_eq (snapshot_make_finish ("k3s", &m, true, &err), 0);
  ck_assert_int_eq (stat (file, &sb), -1);
  /* stopped: dropped, and never written halfway */
  for (int write_it = 0; write_it < 2; write_it++)
    {
      ck_assert_msg (snapshot_make_start ("k3s", p, &m, &err) == 0, "%s", err ? err->msg : "");
      snapshot_make_stop (&m);
      ck_assert_int_eq (snapshot_make_finish ("k3s", &m, write_it, &err), write_it ? -1 : 0);
      if (write_it)
        {
          ck_assert_str_eq (err->msg, "the snapshot of lab k3s was stopped halfway");
          nslab_error_free (&err);
        }
      ck_assert_int_eq (stat (file, &sb), -1);
    }

  ck_assert_msg (snapshot_make_start ("k3s", p, &m, &err) == 0, "%s", err ? err->msg : "");
  /* made in the lab dir (O_TMPFILE), where the file system can: nothing
   * named there until it is written */
  bool unnamed = m.in_lab_dir;
  ck_assert_msg (snapshot_make_finish ("k3s", &m, true, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_int_eq (stat (file, &sb), 0);
  ck_assert_int_eq (sb.st_mode & 07777, 0600);
  ck_assert_int_eq (sb.st_nlink, 1);
  char *tmpfile = xasprintf ("%s.tmp", file);
  ck_assert_int_eq (stat (tmpfile, &sb), -1);
  free (tmpfile);
  snapshot_is ("k3s", p);

  /* A lab that is gone: the write's error comes back, naming it. */
  char *cmd = xasprintf ("rm -rf '%s/k3s'", root);
  ck_assert_int_eq (system (cmd), 0);
  ck_assert_msg (snapshot_make_start ("k3s", p, &m, &err) == 0, "%s", err ? err->msg : "");
  ck_assert (!m.in_lab_dir);
  ck_assert_int_eq (snapshot_make_finish ("k3s", &m, true, &err), -1);
  ck_assert_ptr_nonnull (strstr (err->msg, "k3s"));
  nslab_error_free (&err);
  /* made in a memory file (no lab dir when it started), then copied into
   * the lab made meanwhile: the same text */
  ck_assert_msg (snapshot_make_start ("k3s", p, &m, &err) == 0, "%s", err ? err->msg : "");
  ck_assert (!m.in_lab_dir);
  struct state_writer *w = NULL;
  ck_assert_msg (state_create ("k3s", NULL, &w, &err) == 0, "%s", err ? err->msg : "");
  state_writer_close (w);
  ck_assert_msg (snapshot_make_finish ("k3s", &m, true, &err) == 0, "%s", err ? err->msg : "");
  snapshot_is ("k3s", p);
  /* the unnamed file was taken wherever the lab dir's file system has them */
  char *dir = xasprintf ("%s/k3s", root);
  int probe = open (dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  ck_assert (unnamed || probe < 0);
  if (probe >= 0)
    close (probe);
  free (dir);
  /* an unnamed file that cannot be linked (no /proc here: this test's own
   * mount namespace hides it) is copied into place instead */
  if (unnamed && unshare (CLONE_NEWNS) == 0 && mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0
      && mount ("tmpfs", "/proc", "tmpfs", 0, NULL) == 0)
    {
      ck_assert_int_eq (unlink (file), 0);
      ck_assert_msg (snapshot_make_start ("k3s", p, &m, &err) == 0, "%s", err ? err->msg : "");
      ck_assert (m.in_lab_dir);
      ck_assert_msg (snapshot_make_finish ("k3s", &m, true, &err) == 0, "%s", err ? err->msg : "");
      snapshot_is ("k3s", p);
      umount ("/proc");
    }

  free (cmd);
  free (file);
  plan_free (p);
  scenario_free (sc);
  rm_root (root);
}
END_TEST

static int
append_text (const char *buf, size_t len, void *arg)
{
  sb_addn (arg, buf, len);
  return 0;
}

/* The snapshot's text (plan_dump_json: each op written from its members,
 * no tree) is jansson's dump of plan_to_json, byte for byte. */
static void
dump_same_bytes (const char *path)
{
  struct scenario *sc = NULL;
  struct plan *p = NULL;
  nslab_error_t err = NULL;
  ck_assert_msg (scenario_load (path, &sc, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_msg (plan_build (sc, &p, &err) == 0, "%s", err ? err->msg : "");
  json_t *j = plan_to_json (p);
  char *want = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (j);
  struct strbuf got;
  sb_init (&got);
  ck_assert_int_eq (plan_dump_json (p, append_text, &got), 0);
  char *text = sb_steal (&got);
  ck_assert_msg (strcmp (text, want) == 0, "%s: the parts differ from the whole", path);
  free (text);
  free (want);
  plan_free (p);
  scenario_free (sc);
}

START_TEST (test_plan_dump_json_same_bytes)
{
  glob_t g;
  ck_assert_int_eq (glob (NSLAB_SRCDIR "/labs/*.ini", 0, NULL, &g), 0);
  ck_assert_uint_ge (g.gl_pathc, 5);
  for (size_t i = 0; i < g.gl_pathc; i++)
    dump_same_bytes (g.gl_pathv[i]);
  globfree (&g);
  /* The op kinds no lab has as it stands: kube-proxy in nftables mode,
   * and its nfacct counters in iptables mode; the workload keys that only
   * some pods and processes write (privileged, capabilities, image, a
   * bare pod's restart policy, an HTTP probe, a command app). */
  static const char *const variants[] = {
    "[cluster]\nproxy_mode = nftables\n",
    "[cluster]\nnfacct = true\n",
    "[deployment default/priv]\nlabels = app=priv, tier=x\nreplicas = 2\napp = http:8080\nprivileged = true\n"
    "readiness = http:8080/healthz\n\n"
    "[replicaset default/capped]\nlabels = app=capped\ncommand = sleep 1000\ncapabilities = NET_ADMIN, NET_RAW\n"
    "image = busybox:1.36\n\n"
    "[pod default/once]\nlabels = app=once\ncommand = sh -c \"echo hi\"\nrestart_policy = Never\nreadiness = tcp:9\n",
  };
  setenv ("NSLAB_TEMPLATE_DIR", NSLAB_SRCDIR "/templates", 1);
  for (size_t i = 0; i < ARRAY_SIZE (variants); i++)
    {
      char path[] = "/tmp/nslab-dump-XXXXXX.ini";
      int fd = mkstemps (path, 4);
      ck_assert_int_ge (fd, 0);
      FILE *f = fdopen (fd, "w");
      FILE *in = fopen (NSLAB_SRCDIR "/labs/k3s-services.ini", "r");
      ck_assert_ptr_nonnull (f);
      ck_assert_ptr_nonnull (in);
      char line[1024];
      while (fgets (line, sizeof line, in))
        fputs (line, f);
      fclose (in);
      fprintf (f, "\n%s", variants[i]);
      fclose (f);
      dump_same_bytes (path);
      unlink (path);
    }
  unsetenv ("NSLAB_TEMPLATE_DIR");
}
END_TEST

/* state_open reads only the journal's header (not its records): it refuses
 * what a whole read refuses, with the same message. */
static void
journal_is (const char *root, const char *text)
{
  char *j = xasprintf ("%s/k3s/journal", root);
  FILE *f = fopen (j, "w");
  ck_assert_ptr_nonnull (f);
  ck_assert_int_eq (fputs (text, f) < 0 && *text, 0);
  ck_assert_int_eq (fclose (f), 0);
  free (j);
}

START_TEST (test_open_refuses_what_load_refuses)
{
  if (geteuid () != 0)
    return;
  char *root = make_root ();
  char *dir = xasprintf ("%s/k3s", root);
  for (size_t i = 0; i < ARRAY_SIZE (not_lab); i++)
    {
      journal_is (root, not_lab[i]);
      char *want = xasprintf ("%s is not an nslab lab (no valid state header): left as it is", dir);
      load_fails ("k3s", want);
      free (want);
    }
  for (size_t i = 0; i < ARRAY_SIZE (other_version); i++)
    {
      journal_is (root, other_version[i][0]);
      char *want = xasprintf ("%s/journal: unknown state version \"%s\" (this nslab reads nslab-state 1): left as "
                              "it is", dir, other_version[i][1]);
      load_fails ("k3s", want);
      free (want);
    }
  /* A lab's header with records after it: opened for writing. */
  journal_is (root, "nslab-state 1\nlab k3s\ncreated 1700000000\nnetns k3s-a\n");
  struct state_writer *w = NULL;
  nslab_error_t err = NULL;
  ck_assert_msg (state_open ("k3s", &w, &err) == 0, "%s", err ? err->msg : "");
  state_writer_close (w);
  free (dir);
  rm_root (root);
}
END_TEST

START_TEST (test_list_skips_what_is_not_a_lab)
{
  if (geteuid () != 0)
    return;
  char *root = make_root ();
  char *foreign = xasprintf ("%s/foreign", root);
  ck_assert_int_eq (mkdir (foreign, 0700), 0);
  char *link = xasprintf ("%s/link", root);
  ck_assert_int_eq (symlink ("/", link), 0);
  char **labs, **skipped;
  size_t n, n_skipped;
  nslab_error_t err = NULL;
  ck_assert_int_eq (state_scan (&labs, &n, &skipped, &n_skipped, &err), 0);
  ck_assert_uint_eq (n, 1);
  ck_assert_str_eq (labs[0], "k3s");
  ck_assert_uint_eq (n_skipped, 2);
  char *want = xasprintf ("%s is not an nslab lab (no valid state header): left as it is", foreign);
  ck_assert_str_eq (skipped[0], want);
  free (want);
  for (size_t i = 0; i < n; i++)
    free (labs[i]);
  free (labs);
  for (size_t i = 0; i < n_skipped; i++)
    free (skipped[i]);
  free (skipped);
  /* down's lock: nothing is created in a dir that is not a lab */
  struct state_writer *w = NULL;
  ck_assert_int_eq (state_open ("foreign", &w, &err), -1);
  nslab_error_free (&err);
  char *lock = xasprintf ("%s/lock", foreign);
  struct stat sb;
  ck_assert_int_eq (lstat (lock, &sb), -1);
  free (lock);
  free (foreign);
  free (link);
  rm_root (root);
}
END_TEST

/* down's last step: the pods' files (a directory each, removed by a few
 * threads at once) and the rest of the lab dir go, walked by fd: a symlink
 * is removed, never followed, and a mount point inside is refused with the
 * rest of the dir left for a second down. */
START_TEST (test_remove_pod_files_by_fd)
{
  if (geteuid () != 0)
    return;
  char *root = make_root ();
  char *victim = xasprintf ("%s-victim", root);
  ck_assert_int_eq (mkdir (victim, 0700), 0);
  char *vfile = xasprintf ("%s/keep", victim);
  FILE *f = fopen (vfile, "w");
  ck_assert_ptr_nonnull (f);
  fclose (f);
  char *lab = xasprintf ("%s/k3s", root);
  for (int i = 0; i < 40; i++)
    {
      char *pod = xasprintf ("%s/files/k3s-demo-web-%d", lab, i);
      ck_assert_int_eq (mkdir (pod, 0700), 0);
      char *hosts = xasprintf ("%s/hosts", pod);
      f = fopen (hosts, "w");
      ck_assert_ptr_nonnull (f);
      fputs ("127.0.0.1 localhost\n", f);
      fclose (f);
      char *sa = xasprintf ("%s/serviceaccount", pod);
      ck_assert_int_eq (mkdir (sa, 0755), 0);
      char *to_dir = xasprintf ("%s/victim", sa), *to_file = xasprintf ("%s/token", sa);
      ck_assert_int_eq (symlink (victim, to_dir), 0);
      ck_assert_int_eq (symlink (vfile, to_file), 0);
      free (to_dir);
      free (to_file);
      free (sa);
      free (hosts);
      free (pod);
    }
  /* a file right in files/, as no pod has, goes too */
  char *stray = xasprintf ("%s/files/stray", lab);
  f = fopen (stray, "w");
  ck_assert_ptr_nonnull (f);
  fclose (f);

  /* A mount point among them: refused, named, and the lab dir stays. */
  char *mnt = xasprintf ("%s/files/k3s-demo-web-7/serviceaccount", lab);
  bool mounted = mount ("tmpfs", mnt, "tmpfs", 0, "size=64k") == 0;
  struct state_writer *w = NULL;
  nslab_error_t err = NULL;
  struct stat sb;
  if (mounted)
    {
      ck_assert_msg (state_open ("k3s", &w, &err) == 0, "%s", err ? err->msg : "");
      ck_assert_int_eq (state_remove (w, &err), -1);
      char *want = xasprintf ("%s is a mount point: left as it is", mnt);
      ck_assert_str_eq (err->msg, want);
      free (want);
      nslab_error_free (&err);
      state_writer_close (w);
      ck_assert_int_eq (stat (lab, &sb), 0);
      char *journal = xasprintf ("%s/journal", lab);
      ck_assert_int_eq (stat (journal, &sb), 0);
      free (journal);
      ck_assert_int_eq (umount (mnt), 0);
    }
  ck_assert_msg (state_open ("k3s", &w, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_msg (state_remove (w, &err) == 0, "%s", err ? err->msg : "");
  state_writer_close (w);
  ck_assert_int_eq (lstat (lab, &sb), -1);
  ck_assert_int_eq (errno, ENOENT);
  /* files/ itself a symlink: the link goes, not what it points to */
  rm_root (root);
  root = make_root ();
  free (lab);
  lab = xasprintf ("%s/k3s", root);
  char *files = xasprintf ("%s/files", lab);
  ck_assert_int_eq (rmdir (files), 0);
  ck_assert_int_eq (symlink (victim, files), 0);
  ck_assert_msg (state_open ("k3s", &w, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_msg (state_remove (w, &err) == 0, "%s", err ? err->msg : "");
  state_writer_close (w);
  ck_assert_int_eq (lstat (lab, &sb), -1);
  free (files);
  /* nothing behind a symlink was touched */
  ck_assert_int_eq (stat (vfile, &sb), 0);
  ck_assert_int_eq (unlink (vfile), 0);
  ck_assert_int_eq (rmdir (victim), 0);
  free (mnt);
  free (stray);
  free (lab);
  free (vfile);
  free (victim);
  rm_root (root);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("state");
  TCase *tc = tcase_create ("reader");
  tcase_add_test (tc, test_parse_full_record);
  tcase_add_test (tc, test_parse_garbled_and_unknown_records);
  tcase_add_test (tc, test_parse_cni_records);
  tcase_add_test (tc, test_parse_node_netns_records);
  tcase_add_test (tc, test_parse_netns_gone_and_again);
  tcase_add_test (tc, test_parse_refuses_whole_journal);
  tcase_add_test (tc, test_netns_name_ok);
  tcase_add_test (tc, test_load_refuses_untrusted_dirs);
  tcase_add_test (tc, test_open_refuses_what_load_refuses);
  tcase_add_test (tc, test_list_skips_what_is_not_a_lab);
  tcase_add_test (tc, test_remove_pod_files_by_fd);
  tcase_add_test (tc, test_snapshot_maker_write_and_drop);
  tcase_add_test (tc, test_plan_dump_json_same_bytes);
  tcase_add_test (tc, test_watch_wakes_for_the_store_only);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
