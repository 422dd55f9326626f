/* Pause processes and the echo server, for real: every root test runs in a
 * fresh pid, mount and network namespace (a child that is PID 1 there, so
 * whatever a failing test leaves behind dies with it), makes a "pod"
 * network namespace file with a bind mount, spawns, talks to the echo
 * server over a socket, kills and checks that nothing is left. */
#include "unit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "apps/echo.h"
#include "apps/pause_main.h"
#include "kernel/proc.h"
#include "runtime/appsock.h"
#include "kernel/netns.h"
#include "runtime/pause.h"
#include "runtime/spawner.h"

/* The spawned processes re-execute /proc/self/exe, which here is this test
 * binary: dispatch as nslab's main() does before Check starts. */
static void __attribute__ ((constructor))
internal_entry (int argc, char **argv, char **envp)
{
  (void) envp;
  if (argc < 1 || argv == NULL || argv[0] == NULL)
    return;
  const char *b = strrchr (argv[0], '/');
  b = b ? b + 1 : argv[0];
  if (strcmp (b, "nslab-pause") == 0)
    exit (pause_main (argc, argv));
  if (strcmp (b, "nslab-echo") == 0)
    exit (echo_main (argc, argv));
}

/* ---- helpers ----------------------------------------------------------- */

static void
sleep_ms (int ms)
{
  struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

static void
lo_up (void)
{
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge (s, 0);
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  strcpy (ifr.ifr_name, "lo");
  ck_assert_int_eq (ioctl (s, SIOCGIFFLAGS, &ifr), 0);
  ifr.ifr_flags |= IFF_UP;
  ck_assert_int_eq (ioctl (s, SIOCSIFFLAGS, &ifr), 0);
  close (s);
}

static char *tmpdir;

/* A new network namespace pinned by a bind mount at TMPDIR/NAME, as
 * `ip netns add` does; we stay in our own. */
static char *
make_netns_file (const char *name)
{
  char *path = xasprintf ("%s/%s", tmpdir, name);
  int fd = open (path, O_CREAT | O_RDONLY | O_CLOEXEC, 0600);
  ck_assert_int_ge (fd, 0);
  close (fd);
  int self = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge (self, 0);
  ck_assert_int_eq (unshare (CLONE_NEWNET), 0);
  lo_up ();
  ck_assert_int_eq (mount ("/proc/self/ns/net", path, NULL, MS_BIND, NULL), 0);
  ck_assert_int_eq (setns (self, CLONE_NEWNET), 0);
  close (self);
  return path;
}

static int
enter_netns (const char *path)
{
  int self = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge (self, 0);
  ck_assert_int_ge (fd, 0);
  ck_assert_int_eq (setns (fd, CLONE_NEWNET), 0);
  close (fd);
  return self;
}

static void
leave_netns (int self)
{
  ck_assert_int_eq (setns (self, CLONE_NEWNET), 0);
  close (self);
}

static ino_t
ns_inode (const char *path)
{
  struct stat st;
  ck_assert_int_eq (stat (path, &st), 0);
  return st.st_ino;
}

/* Children of pid, from /proc/N/stat (field 4). */
static size_t
children_of (pid_t parent, pid_t *out, size_t max)
{
  size_t n = 0;
  DIR *d = opendir ("/proc");
  ck_assert_ptr_nonnull (d);
  struct dirent *de;
  while ((de = readdir (d)) != NULL && n < max)
    {
      char *end;
      long pid = strtol (de->d_name, &end, 10);
      if (*end || pid <= 0)
        continue;
      cleanup_free char *path = xasprintf ("/proc/%ld/stat", pid);
      cleanup_free char *stat = unit_read_file (path);
      if (stat == NULL)
        continue;
      char *p = strrchr (stat, ')');
      char state;
      int ppid;
      if (p && sscanf (p + 1, " %c %d", &state, &ppid) == 2 && ppid == parent && state != 'Z')
        out[n++] = (pid_t) pid;
    }
  closedir (d);
  return n;
}

/* Live (non-zombie) processes in process group pgrp. */
static size_t
live_in_group (pid_t pgrp)
{
  size_t n = 0;
  DIR *d = opendir ("/proc");
  ck_assert_ptr_nonnull (d);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      char *end;
      long pid = strtol (de->d_name, &end, 10);
      if (*end || pid <= 0)
        continue;
      cleanup_free char *path = xasprintf ("/proc/%ld/stat", pid);
      cleanup_free char *stat = unit_read_file (path);
      if (stat == NULL)
        continue;
      char *p = strrchr (stat, ')');
      char state;
      int ppid, pg;
      if (p && sscanf (p + 1, " %c %d %d", &state, &ppid, &pg) == 3 && pg == pgrp && state != 'Z')
        n++;
    }
  closedir (d);
  return n;
}

/* Wait until the pause process sits in its main loop (sigwaitinfo). Until
 * then it may still be in the dynamic loader or the sanitizer runtime,
 * which open files of their own: counting its fds or measuring its memory
 * earlier depends on how busy the machine is. */
static void
wait_pause_ready (pid_t pid)
{
  cleanup_free char *wpath = xasprintf ("/proc/%d/wchan", (int) pid);
  for (int waited = 0;; waited += 10)
    {
      cleanup_free char *w = unit_read_file (wpath);
      if (w && strstr (w, "sigtimedwait"))
        return;
      ck_assert_msg (waited < 10000, "pause process %d never reached its main loop (wchan %s)", (int) pid,
                     w ? w : "?");
      sleep_ms (10);
    }
}

/* We are PID 1 of the test's pid namespace: orphans land here. */
static void
reap_orphans (void)
{
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
}

static char *
cmdline_of (pid_t pid)
{
  cleanup_free char *path = xasprintf ("/proc/%d/cmdline", (int) pid);
  FILE *f = fopen (path, "re");
  ck_assert_ptr_nonnull (f);
  char buf[512];
  size_t n = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  for (size_t i = 0; i + 1 < n; i++)
    if (buf[i] == '\0')
      buf[i] = ' ';
  buf[n > 0 ? n - 1 : 0] = '\0';
  return xstrdup (buf);
}

/* Wait until the file contains needle; returns its content. */
static char *
wait_for_file (const char *path, const char *needle, int timeout_ms)
{
  for (int waited = 0;; waited += 20)
    {
      char *s = unit_read_file (path);
      if (s && strstr (s, needle))
        return s;
      if (waited >= timeout_ms)
        return s;
      free (s);
      sleep_ms (20);
    }
}

struct rec {
  pid_t pid;
  uint64_t starttime;
  int calls;
  bool fail;
};

static int
record_cb (pid_t pid, uint64_t starttime, void *arg, nslab_error_t *err)
{
  struct rec *r = arg;
  r->pid = pid;
  r->starttime = starttime;
  r->calls++;
  /* The child must still be parked on the handshake, alive. */
  if (!proc_alive (pid, starttime))
    return nslab_error (err, 0, "child %d not alive at record time", (int) pid);
  if (r->fail)
    return nslab_error (err, ENOSPC, "journal full");
  return 0;
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) flag;
  (void) ftw;
  return remove (path);
}

/* Run body as PID 1 of new pid, mount and network namespaces; fail the test
 * if it fails. Skipped when not root (UNIT_REQUIRE_ROOT). The
 * namespaces are made in an intermediate child, so this test process can
 * still fork afterwards (LeakSanitizer does, at exit). */
static void
sandboxed (void (*body) (void))
{
  UNIT_REQUIRE_ROOT ();
  pid_t outer = fork ();
  ck_assert_int_ge (outer, 0);
  if (outer == 0)
    {
      static char tmpl[64];
      strcpy (tmpl, "/tmp/nslab-pause-XXXXXX");
      if (unshare (CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) < 0
          || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mkdtemp (tmpl) == NULL)
        _exit (4);
      tmpdir = tmpl;
      pid_t pid = fork ();
      if (pid < 0)
        _exit (5);
      if (pid == 0)
        {
          /* A mount namespace of our own: the netns bind mounts vanish
           * with it, so the temp dir can be removed. */
          if (unshare (CLONE_NEWNS) < 0)
            _exit (3);
          if (mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            _exit (3);
          lo_up ();
          body ();
          _exit (0);
        }
      int status = 0;
      if (waitpid (pid, &status, 0) != pid)
        _exit (6);
      /* No fork here: our pid namespace died with its PID 1. */
      if (nftw (tmpl, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf (stderr, "could not remove %s\n", tmpl);
      _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 7);
    }
  int status = 0;
  ck_assert_int_eq (waitpid (outer, &status, 0), outer);
  ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 0,
                 "sandboxed test body failed (wait status 0x%x)", status);
}

static int
connect_port (uint16_t port)
{
  int s = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge (s, 0);
  struct timeval tv = { .tv_sec = 3 };
  setsockopt (s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  ck_assert_int_eq (connect (s, (struct sockaddr *) &a, sizeof a), 0);
  return s;
}

static char *
read_all (int s)
{
  struct strbuf sb;
  char buf[4096];
  ssize_t n;
  sb_init (&sb);
  while ((n = recv (s, buf, sizeof buf, 0)) > 0)
    sb_addn (&sb, buf, (size_t) n);
  return sb_steal (&sb);
}

/* One HTTP exchange: send req, read until the server closes. */
static char *
http (uint16_t port, const char *req, uint16_t *local_port)
{
  int s = connect_port (port);
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  ck_assert_int_eq (getsockname (s, (struct sockaddr *) &me, &len), 0);
  if (local_port)
    *local_port = ntohs (me.sin_port);
  ck_assert_int_eq (send (s, req, strlen (req), MSG_NOSIGNAL), (ssize_t) strlen (req));
  char *resp = read_all (s);
  close (s);
  return resp;
}

static char *
expected_response (const char *body)
{
  return xasprintf ("HTTP/1.1 200 OK\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Length: %zu\r\n"
                    "Connection: close\r\n"
                    "\r\n%s",
                    strlen (body), body);
}

/* ---- echo server: pure functions (no root needed) ----------------------- */

START_TEST (test_parse_request)
{
  char m[32], t[64];
  ck_assert_int_eq (echo_parse_request ("GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n", 33, m, sizeof m, t, sizeof t), 1);
  ck_assert_str_eq (m, "GET");
  ck_assert_str_eq (t, "/a?b=1");
  const char *bare = "HEAD / HTTP/1.0\n\n";
  ck_assert_int_eq (echo_parse_request (bare, strlen (bare), m, sizeof m, t, sizeof t), 1);
  ck_assert_str_eq (m, "HEAD");
  ck_assert_str_eq (t, "/");
  /* Leading empty lines are skipped. */
  const char *lead = "\r\nPOST /x HTTP/1.1\r\n\r\n";
  ck_assert_int_eq (echo_parse_request (lead, strlen (lead), m, sizeof m, t, sizeof t), 1);
  ck_assert_str_eq (m, "POST");
  /* Incomplete: no empty line yet, or no newline yet. */
  const char *part = "GET / HTTP/1.1\r\nHost: x\r\n";
  ck_assert_int_eq (echo_parse_request (part, strlen (part), m, sizeof m, t, sizeof t), 0);
  ck_assert_int_eq (echo_parse_request ("GE", 2, m, sizeof m, t, sizeof t), 0);
  /* Malformed. */
  const char *bad[] = { "BAD\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n",
                        "G(T / HTTP/1.1\r\n\r\n", " / HTTP/1.1\r\n\r\n", "GET  HTTP/1.1\r\n\r\n",
                        "GET / FTP/1.1\r\n\r\n", "\x16\x03\x01" };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    ck_assert_msg (echo_parse_request (bad[i], strlen (bad[i]), m, sizeof m, t, sizeof t) == -1,
                   "accepted malformed request %zu", i);
  /* Long targets are truncated to the buffer, not overflowed. */
  char small[4];
  ck_assert_int_eq (echo_parse_request ("GET /abcdef HTTP/1.1\r\n\r\n", 24, m, sizeof m, small,
                                        sizeof small), 1);
  ck_assert_str_eq (small, "/ab");
}
END_TEST

START_TEST (test_format_addr_and_body)
{
  struct sockaddr_storage c, s;
  char out[80];
  memset (&c, 0, sizeof c);
  memset (&s, 0, sizeof s);
  struct sockaddr_in6 *c6 = (struct sockaddr_in6 *) &c;
  c6->sin6_family = AF_INET6;
  c6->sin6_port = htons (43512);
  inet_pton (AF_INET6, "::ffff:10.42.0.5", &c6->sin6_addr);
  echo_format_addr (&c, out, sizeof out);
  ck_assert_str_eq (out, "10.42.0.5:43512");
  struct sockaddr_in *s4 = (struct sockaddr_in *) &s;
  s4->sin_family = AF_INET;
  s4->sin_port = htons (80);
  inet_pton (AF_INET, "10.42.1.2", &s4->sin_addr);
  echo_format_addr (&s, out, sizeof out);
  ck_assert_str_eq (out, "10.42.1.2:80");
  struct sockaddr_storage v6;
  memset (&v6, 0, sizeof v6);
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &v6;
  a6->sin6_family = AF_INET6;
  a6->sin6_port = htons (8080);
  inet_pton (AF_INET6, "fd00::1", &a6->sin6_addr);
  echo_format_addr (&v6, out, sizeof out);
  ck_assert_str_eq (out, "[fd00::1]:8080");

  setenv ("POD_NAME", "web-79ffc79c64-7lczb", 1);
  setenv ("POD_NAMESPACE", "demo", 1);
  setenv ("POD_IP", "10.42.1.2", 1);
  setenv ("NODE_NAME", "w1", 1);
  cleanup_free char *body = echo_body ("GET", "/", &c, &s);
  ck_assert_str_eq (body, "pod: web-79ffc79c64-7lczb\n"
                          "namespace: demo\n"
                          "pod_ip: 10.42.1.2\n"
                          "node: w1\n"
                          "client: 10.42.0.5:43512\n"
                          "server: 10.42.1.2:80\n"
                          "method: GET /\n");
  /* Without the pod's variables: hostname, and no made-up lines. */
  unsetenv ("POD_NAME");
  unsetenv ("POD_NAMESPACE");
  unsetenv ("POD_IP");
  unsetenv ("NODE_NAME");
  char host[256] = "";
  gethostname (host, sizeof host - 1);
  cleanup_free char *want = xasprintf ("pod: %s\nclient: 10.42.0.5:43512\nserver: 10.42.1.2:80\n"
                                       "method: POST /x\n", host);
  cleanup_free char *bare = echo_body ("POST", "/x", &c, &s);
  ck_assert_str_eq (bare, want);
}
END_TEST

/* ---- pause processes (root) ---------------------------------------------- */

static void
body_spawn_echo (void)
{
  cleanup_free char *ns = make_netns_file ("pod");
  cleanup_free char *files = xasprintf ("%s/files", tmpdir);
  cleanup_free char *log = xasprintf ("%s/web.log", tmpdir);
  struct pause_app app = { .kind = PAUSE_APP_HTTP, .port = 8080 };
  char *env[] = { "POD_NAME=web-79ffc79c64-7lczb", "POD_NAMESPACE=demo", "POD_IP=10.42.1.2",
                  "NODE_NAME=w1", NULL };
  struct pause_spec spec = {
    .title = "nslab-pause k3s demo/web-79ffc79c64-7lczb",
    .netns_path = ns, .hostname = "web-79ffc79c64-7lczb", .files_dir = files,
    .app = &app, .env = env, .log_path = log,
  };
  struct rec r = { 0 };
  nslab_error_t err = NULL;
  pid_t pid = 0;
  ck_assert_msg (pause_spawn (&spec, record_cb, &r, &pid, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_int_eq (r.calls, 1);
  ck_assert_int_eq (r.pid, pid);
  ck_assert (proc_alive (pid, r.starttime));

  cleanup_free char *title = cmdline_of (pid);
  ck_assert_str_eq (title, "nslab-pause k3s demo/web-79ffc79c64-7lczb");
  pid_t kids[8];
  ck_assert_int_eq (children_of (pid, kids, 8), 1);
  cleanup_free char *echo_cmd = cmdline_of (kids[0]);
  ck_assert_str_eq (echo_cmd, "nslab-echo 8080");
  /* Both sit in the pod's network namespace, not ours. */
  cleanup_free char *pns = xasprintf ("/proc/%d/ns/net", (int) pid);
  cleanup_free char *ens = xasprintf ("/proc/%d/ns/net", (int) kids[0]);
  ck_assert_uint_eq (ns_inode (pns), ns_inode (ns));
  ck_assert_uint_eq (ns_inode (ens), ns_inode (ns));
  ck_assert_uint_ne (ns_inode ("/proc/self/ns/net"), ns_inode (ns));

  int self = enter_netns (ns);
  uint16_t cport = 0;
  cleanup_free char *resp = http (8080, "GET /hello HTTP/1.1\r\nHost: web\r\nUser-Agent: t\r\n\r\n", &cport);
  cleanup_free char *body = xasprintf ("pod: web-79ffc79c64-7lczb\nnamespace: demo\npod_ip: 10.42.1.2\n"
                                       "node: w1\nclient: 127.0.0.1:%u\nserver: 127.0.0.1:8080\n"
                                       "method: GET /hello\n", cport);
  cleanup_free char *want = expected_response (body);
  ck_assert_str_eq (resp, want);

  /* HEAD: headers only. */
  cleanup_free char *head = http (8080, "HEAD / HTTP/1.0\r\n\r\n", &cport);
  ck_assert (str_has_prefix (head, "HTTP/1.1 200 OK\r\n"));
  ck_assert (str_has_suffix (head, "Connection: close\r\n\r\n"));

  /* A body we do not read is drained, and the answer still arrives whole. */
  cleanup_free char *post = http (8080, "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", &cport);
  ck_assert (strstr (post, "\r\n\r\npod: web-79ffc79c64-7lczb\n") != NULL);
  ck_assert (str_has_suffix (post, "method: POST /p\n"));

  /* Malformed and oversized requests. */
  cleanup_free char *bad = http (8080, "BAD\r\n\r\n", NULL);
  ck_assert_str_eq (bad, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         "Content-Length: 12\r\nConnection: close\r\n\r\nbad request\n");
  struct strbuf big;
  sb_init (&big);
  sb_add (&big, "GET / HTTP/1.1\r\n");
  while (big.len < ECHO_MAX_REQUEST + 100)
    sb_add (&big, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
  cleanup_free char *bigreq = sb_steal (&big);
  cleanup_free char *large = http (8080, bigreq, NULL);
  ck_assert (str_has_prefix (large, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));

  /* Idle and half-finished clients do not hold up anyone else. */
  int idle[200];
  for (size_t i = 0; i < ARRAY_SIZE (idle); i++)
    idle[i] = connect_port (8080);
  ck_assert_int_eq (send (idle[0], "GET / HT", 8, MSG_NOSIGNAL), 8);
  struct timespec t0, t1;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  cleanup_free char *busy = http (8080, "GET /busy HTTP/1.1\r\n\r\n", &cport);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  ck_assert (str_has_suffix (busy, "method: GET /busy\n"));
  /* A server blocked on the half-sent request would answer only when it
   * drops that client, after ECHO_IDLE_MS; anything well below that shows
   * it was not blocked, however busy the machine is. */
  ck_assert_int_lt ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, ECHO_IDLE_MS / 2);
  for (size_t i = 0; i < ARRAY_SIZE (idle); i++)
    close (idle[i]);
  leave_netns (self);

  /* The access log is the pod's log. */
  cleanup_free char *logtext = wait_for_file (log, "\"GET /busy\" 200\n", 2000);
  ck_assert (str_has_prefix (logtext, "nslab-echo: listening on *:8080\n"));
  ck_assert (strstr (logtext, " 127.0.0.1:") != NULL);
  ck_assert (strstr (logtext, "\"GET /hello\" 200\n") != NULL);
  struct stat st;
  ck_assert_int_eq (stat (log, &st), 0);
  ck_assert_int_eq (st.st_mode & 07777, 0600);

  pid_t echo_pid = kids[0];
  uint64_t echo_start = 0;
  ck_assert_int_eq (proc_starttime (echo_pid, &echo_start, &err), 0);
  ck_assert_msg (proc_kill (pid, r.starttime, &err) == 0, "%s", err ? err->msg : "");
  ck_assert (!proc_alive (pid, r.starttime));
  int status;
  ck_assert_int_eq (waitpid (pid, &status, 0), pid);
  ck_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  /* The echo server went with its pause process. */
  for (int i = 0; i < 100 && proc_alive (echo_pid, echo_start); i++)
    {
      reap_orphans ();
      sleep_ms (20);
    }
  ck_assert (!proc_alive (echo_pid, echo_start));
  /* Killing it again, or by a pid that is gone, is success. */
  ck_assert_int_eq (proc_kill (pid, r.starttime, &err), 0);
  ck_assert_int_eq (proc_kill (echo_pid, echo_start, &err), 0);
}

START_TEST (test_spawn_echo)
{
  sandboxed (body_spawn_echo);
}
END_TEST

static void
body_etc_files (void)
{
  cleanup_free char *ns = make_netns_file ("pod");
  cleanup_free char *files = xasprintf ("%s/etc", tmpdir);
  cleanup_free char *log = xasprintf ("%s/app.log", tmpdir);
  cleanup_free char *host_hostname = unit_read_file ("/etc/hostname");
  cleanup_free char *host_hosts = unit_read_file ("/etc/hosts");
  cleanup_free char *host_resolv = unit_read_file ("/etc/resolv.conf");
  char uts_before[256] = "", uts_after[256] = "";
  gethostname (uts_before, sizeof uts_before - 1);

  char *argv[] = { "sh", "-c",
                   "echo \"uts=$(hostname)\"; cat /etc/hostname /etc/hosts /etc/resolv.conf; "
                   "echo \"POD=$POD_NAME HOSTNAME=$HOSTNAME HOME=$HOME PATH=$PATH\"; "
                   "echo \"fds=$(ls /proc/self/fd | wc -l)\"; exec sleep 1000",
                   NULL };
  struct pause_app app = { .kind = PAUSE_APP_COMMAND, .argv = argv };
  char *env[] = { "POD_NAME=busybox", NULL };
  struct pause_spec spec = {
    .title = "k3s default/busybox", .netns_path = ns, .hostname = "busybox", .files_dir = files,
    .etc_hosts = "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n10.42.0.9\tbusybox\n",
    .resolv_conf = "search default.svc.cluster.local svc.cluster.local cluster.local\n"
                   "nameserver 10.43.0.10\noptions ndots:5\n",
    .app = &app, .env = env, .log_path = log,
  };
  struct rec r = { 0 };
  nslab_error_t err = NULL;
  pid_t pid = 0;
  ck_assert_msg (pause_spawn (&spec, record_cb, &r, &pid, &err) == 0, "%s", err ? err->msg : "");
  cleanup_free char *title = cmdline_of (pid);
  ck_assert_str_eq (title, "nslab-pause k3s default/busybox");

  cleanup_free char *out = wait_for_file (log, "fds=", 3000);
  /* ls itself opens one fd for the directory: 0, 1, 2 and that one. */
  ck_assert_str_eq (out, "uts=busybox\n"
                         "busybox\n"
                         "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n10.42.0.9\tbusybox\n"
                         "search default.svc.cluster.local svc.cluster.local cluster.local\n"
                         "nameserver 10.43.0.10\noptions ndots:5\n"
                         "POD=busybox HOSTNAME=busybox HOME=/root "
                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
                         "fds=4\n");

  /* The host (our mount and UTS namespaces) saw none of it. */
  cleanup_free char *hn2 = unit_read_file ("/etc/hostname");
  cleanup_free char *hosts2 = unit_read_file ("/etc/hosts");
  cleanup_free char *resolv2 = unit_read_file ("/etc/resolv.conf");
  ck_assert_str_eq (hn2, host_hostname);
  ck_assert_str_eq (hosts2, host_hosts);
  ck_assert_str_eq (resolv2, host_resolv);
  gethostname (uts_after, sizeof uts_after - 1);
  ck_assert_str_eq (uts_after, uts_before);

  struct stat st;
  ck_assert_int_eq (stat (files, &st), 0);
  ck_assert_int_eq (st.st_mode & 07777, 0700);
  cleanup_free char *hfile = xasprintf ("%s/hostname", files);
  cleanup_free char *hcontent = unit_read_file (hfile);
  ck_assert_str_eq (hcontent, "busybox\n");
  /* The pause process keeps only its log (stdout, stderr), /dev/null and
   * its files dir (for the status file). */
  wait_pause_ready (pid);
  cleanup_free char *fddir = xasprintf ("/proc/%d/fd", (int) pid);
  DIR *d = opendir (fddir);
  ck_assert_ptr_nonnull (d);
  int nfd = 0;
  char other[PATH_MAX] = "";
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      {
        nfd++;
        if (atoi (de->d_name) > 2)
          {
            cleanup_free char *link = xasprintf ("%s/%s", fddir, de->d_name);
            ssize_t n = readlink (link, other, sizeof other - 1);
            other[n > 0 ? n : 0] = '\0';
          }
      }
  closedir (d);
  ck_assert_int_eq (nfd, 4);
  ck_assert_str_eq (other, files);
  cleanup_free char *status_file = xasprintf ("%s/status", files);
  cleanup_free char *status_text = unit_read_file (status_file);
  ck_assert (str_has_prefix (status_text, "state running\nrestarts 0\nstarted_at "));

  /* proc_kill with a start time that does not match leaves it alone. */
  ck_assert_int_eq (proc_kill (pid, r.starttime + 1, &err), 0);
  ck_assert (proc_alive (pid, r.starttime));
  ck_assert_int_eq (proc_kill (pid, r.starttime, &err), 0);
  ck_assert_int_eq (waitpid (pid, NULL, 0), pid);
}

START_TEST (test_etc_files)
{
  sandboxed (body_etc_files);
}
END_TEST

/* A node's own file where the host has no directory: the process sees it
 * (and the host's /etc, and its own bind-mounted /etc/hosts on top); the
 * host gets neither the file nor the directory. */
static void
body_private_files (void)
{
  cleanup_free char *ns = make_netns_file ("node");
  cleanup_free char *files = xasprintf ("%s/node-files", tmpdir);
  cleanup_free char *log = xasprintf ("%s/node.log", tmpdir);
  cleanup_free char *dir = xasprintf ("/etc/nslab-unit-%d", (int) getpid ());
  cleanup_free char *path = xasprintf ("%s/net.d/10-unit.conflist", dir);
  ck_assert_int_eq (access (dir, F_OK), -1);
  cleanup_free char *script = xasprintf ("cat %s /etc/hosts; test -s /etc/passwd && echo passwd; "
                                         "echo x > %s/net.d/99-own.conf && echo wrote; exec sleep 1000",
                                         path, dir);
  char *argv[] = { "sh", "-c", script, NULL };
  struct pause_app app = { .kind = PAUSE_APP_COMMAND, .argv = argv };
  char *pf[] = { path, "{\n  \"name\": \"unit\"\n}\n", NULL };
  struct pause_spec spec = {
    .title = "unit node/n1", .netns_path = ns, .hostname = "n1", .files_dir = files,
    .etc_hosts = "10.0.0.1\tn1\n", .files = pf, .app = &app, .log_path = log,
  };
  struct rec r = { 0 };
  nslab_error_t err = NULL;
  pid_t pid = 0;
  ck_assert_msg (pause_spawn (&spec, record_cb, &r, &pid, &err) == 0, "%s", err ? err->msg : "");
  cleanup_free char *out = wait_for_file (log, "wrote", 3000);
  ck_assert_str_eq (out, "{\n  \"name\": \"unit\"\n}\n10.0.0.1\tn1\npasswd\nwrote\n");
  ck_assert_int_eq (access (dir, F_OK), -1);
  ck_assert_int_eq (errno, ENOENT);
  /* The layer is the process's own mount: here an empty directory. */
  cleanup_free char *layer = xasprintf ("%s/layer0", files);
  DIR *d = opendir (layer);
  ck_assert_ptr_nonnull (d);
  int n = 0;
  for (struct dirent *de; (de = readdir (d)) != NULL;)
    n += de->d_name[0] != '.';
  closedir (d);
  ck_assert_int_eq (n, 0);
  ck_assert_int_eq (proc_kill (pid, r.starttime, &err), 0);
  ck_assert_int_eq (waitpid (pid, NULL, 0), pid);
}

START_TEST (test_private_files)
{
  sandboxed (body_private_files);
}
END_TEST

static void
body_record_fails (void)
{
  cleanup_free char *ns = make_netns_file ("pod");
  cleanup_free char *log = xasprintf ("%s/never.log", tmpdir);
  struct pause_spec spec = { .title = "k3s node/cp1", .netns_path = ns, .log_path = log };
  struct rec r = { .fail = true };
  nslab_error_t err = NULL;
  pid_t pid = 0;
  ck_assert_int_eq (pause_spawn (&spec, record_cb, &r, &pid, &err), -1);
  ck_assert_ptr_nonnull (err);
  ck_assert_str_eq (err->msg, "journal full");
  ck_assert_int_eq (err->status, ENOSPC);
  nslab_error_free (&err);
  ck_assert_int_eq (r.calls, 1);
  ck_assert_int_eq (pid, 0);
  /* The unrecorded child exited without doing anything, and was reaped. */
  ck_assert (!proc_alive (r.pid, r.starttime));
  ck_assert_int_eq (kill (r.pid, 0), -1);
  ck_assert_int_eq (errno, ESRCH);
  ck_assert_int_eq (access (log, F_OK), -1);
}

START_TEST (test_record_fails)
{
  sandboxed (body_record_fails);
}
END_TEST

/* A parent that dies inside record() (kill -9 of nslab up, a crash): the
 * child sees the handshake socket close and exits having done nothing. */
static int
crash_cb (pid_t pid, uint64_t starttime, void *arg, nslab_error_t *err)
{
  (void) starttime;
  (void) err;
  int fd = *(int *) arg;
  ssize_t w = write (fd, &pid, sizeof pid);
  (void) w;
  _exit (9);
}

static void
body_parent_crash (void)
{
  cleanup_free char *ns = make_netns_file ("pod");
  cleanup_free char *log = xasprintf ("%s/crash.log", tmpdir);
  cleanup_free char *files = xasprintf ("%s/crash-files", tmpdir);
  int p[2];
  ck_assert_int_eq (pipe2 (p, O_CLOEXEC), 0);
  pid_t up = fork ();
  ck_assert_int_ge (up, 0);
  if (up == 0)
    {
      char *argv[] = { "sleep", "1000", NULL };
      struct pause_app app = { .kind = PAUSE_APP_COMMAND, .argv = argv };
      struct pause_spec spec = { .title = "k3s demo/orphan", .netns_path = ns, .hostname = "orphan",
                                 .files_dir = files, .app = &app, .log_path = log };
      nslab_error_t err = NULL;
      pid_t pid;
      pause_spawn (&spec, crash_cb, &p[1], &pid, &err);
      _exit (1);
    }
  close (p[1]);
  pid_t child = 0;
  ck_assert_int_eq (read (p[0], &child, sizeof child), (ssize_t) sizeof child);
  close (p[0]);
  int status = 0;
  ck_assert_int_eq (waitpid (up, &status, 0), up);
  ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 9);
  /* The orphan is reparented to us (PID 1 here): it must exit on its own,
   * with status 0, before touching anything. */
  int waited = 0;
  pid_t r;
  while ((r = waitpid (child, &status, WNOHANG)) == 0 && waited < 3000)
    {
      sleep_ms (10);
      waited += 10;
    }
  ck_assert_int_eq (r, child);
  ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  ck_assert_int_eq (access (log, F_OK), -1);
  ck_assert_int_eq (access (files, F_OK), -1);
}

START_TEST (test_parent_crash)
{
  sandboxed (body_parent_crash);
}
END_TEST

/* Begun ahead, released out of order, one abandoned (what the applier
 * does with several pods' pause processes, and with the ones still
 * waiting when an up fails): the released one is recorded once and runs;
 * the abandoned one is never recorded, exits on its own and touches
 * nothing. */
static void
body_begin_release_abandon (void)
{
  cleanup_free char *ns1 = make_netns_file ("pod1");
  cleanup_free char *ns2 = make_netns_file ("pod2");
  cleanup_free char *files1 = xasprintf ("%s/files1", tmpdir);
  cleanup_free char *files2 = xasprintf ("%s/files2", tmpdir);
  cleanup_free char *log1 = xasprintf ("%s/one.log", tmpdir);
  cleanup_free char *log2 = xasprintf ("%s/two.log", tmpdir);
  char *argv[] = { "sleep", "1000", NULL };
  struct pause_app app = { .kind = PAUSE_APP_COMMAND, .argv = argv };
  struct pause_spec one = { .title = "nslab-pause k3s demo/one", .netns_path = ns1, .hostname = "one",
                            .files_dir = files1, .app = &app, .log_path = log1 };
  struct pause_spec two = { .title = "nslab-pause k3s demo/two", .netns_path = ns2, .hostname = "two",
                            .files_dir = files2, .app = &app, .log_path = log2 };
  struct pause_start s1, s2;
  nslab_error_t err = NULL;
  ck_assert_msg (pause_spawn_begin (&one, &s1, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_msg (pause_spawn_begin (&two, &s2, &err) == 0, "%s", err ? err->msg : "");
  struct rec r = { 0 };
  ck_assert_msg (pause_spawn_release (&s2, record_cb, &r, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_int_eq (r.calls, 1);
  ck_assert_int_eq (r.pid, s2.pid);
  pid_t abandoned_spawn = s1.spawned;
  pause_spawn_abandon (&s1);
  ck_assert_int_eq (s1.gofd, -1);
  ck_assert_int_eq (s1.errfd, -1);
  /* Collected: neither the spawned process nor its child is left. */
  ck_assert_int_eq (kill (abandoned_spawn, 0), -1);
  ck_assert_int_eq (r.calls, 1);
  ck_assert_int_eq (access (log1, F_OK), -1);
  ck_assert_int_eq (access (files1, F_OK), -1);
  ck_assert_msg (pause_spawn_finish (&s2, &err) == 0, "%s", err ? err->msg : "");
  cleanup_free char *title = cmdline_of (r.pid);
  ck_assert_str_eq (title, "nslab-pause k3s demo/two");
  ck_assert (proc_alive (r.pid, r.starttime));
  /* Only ours: no process of this PID namespace is titled demo/one. */
  DIR *d = opendir ("/proc");
  ck_assert_ptr_nonnull (d);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
      {
        cleanup_free char *path = xasprintf ("/proc/%s/cmdline", de->d_name);
        char buf[256] = "";
        cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read (fd, buf, sizeof buf - 1) : 0;
        for (ssize_t i = 0; i < n; i++)
          if (buf[i] == '\0')
            buf[i] = ' ';
        ck_assert_msg (strstr (buf, "demo/one") == NULL, "left behind: %s", buf);
      }
  closedir (d);
  ck_assert_int_eq (proc_kill (r.pid, r.starttime, &err), 0);
  waitpid (r.pid, NULL, 0);
}

START_TEST (test_begin_release_abandon)
{
  sandboxed (body_begin_release_abandon);
}
END_TEST

/* Idle connections are dropped after idle_ms, answered or not. */
static void
body_echo_idle (void)
{
  nslab_error_t err = NULL;
  int lfd = -1;
  ck_assert_int_eq (appsock_listen (7070, &lfd, &err), 0);
  pid_t srv = fork ();
  ck_assert_int_ge (srv, 0);
  if (srv == 0)
    {
      int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      dup2 (null, STDOUT_FILENO);
      echo_serve (lfd, 300, &err);
      _exit (1);
    }
  close (lfd);
  /* t0 before connecting: the server's idle clock for a connection starts
   * at its accept, which is after t0 however long we are descheduled. */
  struct timespec t0, t1;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  int silent = connect_port (7070);
  int partial = connect_port (7070);
  ck_assert_int_eq (send (partial, "GET / HTTP/1.1\r\nHost: x\r\n", 25, MSG_NOSIGNAL), 25);
  char c;
  ssize_t ra = recv (silent, &c, 1, 0);
  int ea = errno;
  ssize_t rb = recv (partial, &c, 1, 0);
  int eb = errno;
  clock_gettime (CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  /* Closed by the server without an answer (EOF, not the 3 s receive
   * timeout of the client socket), and not before the idle time. */
  ck_assert_msg (ra == 0, "silent client: recv %zd (%s)", ra, strerror (ea));
  ck_assert_msg (rb == 0, "partial client: recv %zd (%s)", rb, strerror (eb));
  ck_assert_int_ge (ms, 300 - 2); /* both clocks are read in whole ms */
  close (silent);
  close (partial);
  /* And it still serves. */
  uint16_t cport;
  cleanup_free char *ok = http (7070, "GET /after HTTP/1.1\r\n\r\n", &cport);
  ck_assert (str_has_suffix (ok, "method: GET /after\n"));
  kill (srv, SIGKILL);
  waitpid (srv, NULL, 0);
}

START_TEST (test_echo_idle)
{
  sandboxed (body_echo_idle);
}
END_TEST

static void
body_spawn_errors (void)
{
  cleanup_free char *ns = make_netns_file ("pod");
  nslab_error_t err = NULL;
  pid_t pid = 0;

  struct pause_spec nons = { .title = "k3s x", .netns_path = "/nonexistent/netns" };
  struct rec r1 = { 0 };
  ck_assert_int_eq (pause_spawn (&nons, record_cb, &r1, &pid, &err), -1);
  ck_assert_str_eq (err->msg, "open /nonexistent/netns");
  ck_assert_int_eq (err->status, ENOENT);
  nslab_error_free (&err);
  ck_assert (!proc_alive (r1.pid, r1.starttime));

  char *argv[] = { "/nonexistent/app", "--flag", NULL };
  struct pause_app app = { .kind = PAUSE_APP_COMMAND, .argv = argv };
  struct pause_spec noexec = { .title = "k3s demo/bad", .netns_path = ns, .app = &app };
  struct rec r2 = { 0 };
  ck_assert_int_eq (pause_spawn (&noexec, record_cb, &r2, &pid, &err), -1);
  ck_assert_str_eq (err->msg, "exec \"/nonexistent/app\"");
  ck_assert_int_eq (err->status, ENOENT);
  nslab_error_free (&err);
  /* The pause process had started; it was taken down and collected. */
  ck_assert (!proc_alive (r2.pid, r2.starttime));
  ck_assert_int_eq (kill (r2.pid, 0), -1);

  /* Port taken: nslab up hears about it. */
  int self = enter_netns (ns);
  int holder = -1;
  ck_assert_int_eq (appsock_listen (9090, &holder, &err), 0);
  leave_netns (self);
  struct pause_app http_app = { .kind = PAUSE_APP_HTTP, .port = 9090 };
  struct pause_spec busy = { .title = "k3s demo/busy", .netns_path = ns, .app = &http_app };
  struct rec r3 = { 0 };
  ck_assert_int_eq (pause_spawn (&busy, record_cb, &r3, &pid, &err), -1);
  ck_assert_str_eq (err->msg, "app http:9090: bind to port 9090");
  ck_assert_int_eq (err->status, EADDRINUSE);
  nslab_error_free (&err);
  ck_assert (!proc_alive (r3.pid, r3.starttime));
  close (holder);
}

START_TEST (test_spawn_errors)
{
  sandboxed (body_spawn_errors);
}
END_TEST

static void
body_group_and_deathsig (void)
{
  cleanup_free char *ns = make_netns_file ("pod");
  nslab_error_t err = NULL;
  /* The app forks two more processes: proc_kill takes all four. */
  char *argv[] = { "sh", "-c", "sleep 1000 & sleep 1000 & wait", NULL };
  struct pause_app app = { .kind = PAUSE_APP_COMMAND, .argv = argv };
  struct pause_spec spec = { .title = "k3s demo/tree", .netns_path = ns, .app = &app };
  struct rec r = { 0 };
  pid_t pid = 0;
  ck_assert_msg (pause_spawn (&spec, record_cb, &r, &pid, &err) == 0, "%s", err ? err->msg : "");
  for (int i = 0; i < 150 && live_in_group (pid) < 4; i++)
    sleep_ms (20);
  ck_assert_uint_eq (live_in_group (pid), 4);
  ck_assert_int_eq (proc_kill (pid, r.starttime, &err), 0);
  ck_assert_int_eq (waitpid (pid, NULL, 0), pid);
  for (int i = 0; i < 100 && live_in_group (pid) > 0; i++)
    {
      reap_orphans ();
      sleep_ms (20);
    }
  ck_assert_uint_eq (live_in_group (pid), 0);

  /* Killed on its own (plain SIGKILL, not the group): PR_SET_PDEATHSIG
   * takes the app down too. */
  char *argv2[] = { "sleep", "1000", NULL };
  struct pause_app app2 = { .kind = PAUSE_APP_COMMAND, .argv = argv2 };
  struct pause_spec spec2 = { .title = "k3s demo/sleeper", .netns_path = ns, .app = &app2 };
  struct rec r2 = { 0 };
  ck_assert_msg (pause_spawn (&spec2, record_cb, &r2, &pid, &err) == 0, "%s", err ? err->msg : "");
  pid_t kids[4];
  ck_assert_int_eq (children_of (pid, kids, 4), 1);
  uint64_t app_start;
  ck_assert_int_eq (proc_starttime (kids[0], &app_start, &err), 0);
  ck_assert_int_eq (kill (pid, SIGKILL), 0);
  ck_assert_int_eq (waitpid (pid, NULL, 0), pid);
  for (int i = 0; i < 100 && proc_alive (kids[0], app_start); i++)
    {
      reap_orphans ();
      sleep_ms (20);
    }
  ck_assert (!proc_alive (kids[0], app_start));
}

START_TEST (test_group_and_deathsig)
{
  sandboxed (body_group_and_deathsig);
}
END_TEST

static void
body_sigterm (void)
{
  cleanup_free char *ns = make_netns_file ("pod");
  cleanup_free char *log = xasprintf ("%s/term.log", tmpdir);
  nslab_error_t err = NULL;
  char *argv[] = { "sh", "-c", "trap 'echo got TERM; exit 3' TERM; echo ready; "
                   "while :; do sleep 0.05; done", NULL };
  struct pause_app app = { .kind = PAUSE_APP_COMMAND, .argv = argv };
  struct pause_spec spec = { .title = "k3s demo/term", .netns_path = ns, .app = &app, .log_path = log };
  struct rec r = { 0 };
  pid_t pid = 0;
  ck_assert_msg (pause_spawn (&spec, record_cb, &r, &pid, &err) == 0, "%s", err ? err->msg : "");
  pid_t kids[4];
  ck_assert_int_eq (children_of (pid, kids, 4), 1);
  cleanup_free char *ready = wait_for_file (log, "ready\n", 3000);
  ck_assert_str_eq (ready, "ready\n");
  /* SIGINT and SIGHUP are ignored. */
  ck_assert_int_eq (kill (pid, SIGINT), 0);
  ck_assert_int_eq (kill (pid, SIGHUP), 0);
  sleep_ms (100);
  ck_assert (proc_alive (pid, r.starttime));
  ck_assert_int_eq (kill (pid, SIGTERM), 0);
  int status = 0;
  ck_assert_int_eq (waitpid (pid, &status, 0), pid);
  /* PID 1 of its namespace: its own SIGKILL to its group spares it (the
   * kernel ignores a signal init sends itself), so it exits, which takes
   * down whatever is left in the namespace. */
  ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  /* The pause process names the app by its pid in the pod: 2, after
   * itself (kids[0] is what we see). */
  cleanup_free char *want = xstrdup ("ready\ngot TERM\nnslab-pause: app 2 exited with status 3\n");
  cleanup_free char *out = unit_read_file (log);
  ck_assert_str_eq (out, want);
}

START_TEST (test_sigterm)
{
  sandboxed (body_sigterm);
}
END_TEST

/* Private memory of a pause process (Private_Clean + Private_Dirty), kB. */
static long
private_kb (pid_t pid)
{
  cleanup_free char *path = xasprintf ("/proc/%d/smaps_rollup", (int) pid);
  cleanup_free char *s = unit_read_file (path);
  ck_assert_ptr_nonnull (s);
  long total = 0;
  const char *keys[] = { "Private_Clean:", "Private_Dirty:" };
  for (size_t i = 0; i < ARRAY_SIZE (keys); i++)
    {
      const char *p = strstr (s, keys[i]);
      ck_assert_ptr_nonnull (p);
      total += strtol (p + strlen (keys[i]), NULL, 10);
    }
  return total;
}

static void
body_memory (void)
{
  cleanup_free char *ns = make_netns_file ("pod");
  nslab_error_t err = NULL;
  struct pause_spec spec = { .title = "k3s node/cp1", .netns_path = ns, .hostname = "cp1" };
  cleanup_free char *files = xasprintf ("%s/cp1", tmpdir);
  spec.files_dir = files;
  struct rec r = { 0 };
  pid_t pid = 0;
  ck_assert_msg (pause_spawn (&spec, record_cb, &r, &pid, &err) == 0, "%s", err ? err->msg : "");
  wait_pause_ready (pid);
  long kb = private_kb (pid);
  fprintf (stderr, "test_pause: pause process private memory (this test binary): %ld kB\n", kb);
#ifndef __SANITIZE_ADDRESS__
  /* ASan's shadow memory makes the number meaningless there. */
  ck_assert_int_lt (kb, 512);
#endif
  ck_assert_int_eq (proc_kill (pid, r.starttime, &err), 0);
  ck_assert_int_eq (waitpid (pid, NULL, 0), pid);
}

/* The raw /proc/PID/cmdline, NULs kept; *len_out its length. */
static char *
raw_cmdline_of (pid_t pid, size_t *len_out)
{
  cleanup_free char *path = xasprintf ("/proc/%d/cmdline", (int) pid);
  FILE *f = fopen (path, "re");
  ck_assert_ptr_nonnull (f);
  char *buf = xcalloc (1, 1024);
  *len_out = fread (buf, 1, 1023, f);
  fclose (f);
  return buf;
}

static pid_t
ppid_of (pid_t pid)
{
  cleanup_free char *path = xasprintf ("/proc/%d/stat", (int) pid);
  cleanup_free char *stat = unit_read_file (path);
  ck_assert_ptr_nonnull (stat);
  int ppid = 0;
  char *p = strrchr (stat, ')');
  ck_assert (p && sscanf (p + 1, " %*c %d", &ppid) == 1);
  return ppid;
}

/* A node's pause process forks its pods' (spawner.h): a pod spawned with
 * its node's pid comes from the node, titled in one string over the node's
 * memory, in its own network namespace; a wrong pid (anyone else
 * listening) or garbage sent to the spawner leaves nslab spawning the pod
 * itself, and the node serving the next. */
static void
body_spawner (void)
{
  /* Names under /run/netns, private to this test's mount namespace: a
   * /run of its own first, as root in a user namespace (tests/run as
   * nobody) may not make /run/netns in the machine's /run. */
  ck_assert_int_eq (mount ("tmpfs", "/run", "tmpfs", 0, "mode=0755"), 0);
  ck_assert_int_eq (mkdir ("/run/netns", 0755), 0);
  const char *names[] = { "t-node", "t-pod1", "t-pod2", "t-pod3" };
  for (size_t i = 0; i < ARRAY_SIZE (names); i++)
    {
      nslab_error_t e = NULL;
      ck_assert_msg (netns_create (names[i], &e) == 0, "%s", e ? e->msg : "");
    }
  cleanup_free char *node_ns = netns_path ("t-node");
  struct pause_app none = { .kind = PAUSE_APP_NONE };
  struct pause_spec node = { .title = "nslab-pause t node/n1", .netns_path = node_ns, .app = &none,
                             .spawner = true };
  struct rec r = { 0 };
  nslab_error_t err = NULL;
  pid_t node_pid = 0;
  ck_assert_msg (pause_spawn (&node, record_cb, &r, &node_pid, &err) == 0, "%s", err ? err->msg : "");
  int node_pidns = -1;
  ck_assert_int_eq (pause_open_pid_ns (node_pid, r.starttime, &node_pidns, &err), 0);

  struct { const char *ns, *title, *raw; size_t raw_len; pid_t spawner; } pods[] = {
    { "t-pod1", "nslab-pause t demo/p1", "nslab-pause t demo/p1", 22, node_pid },
    /* Not the node's pid: refused by us, spawned by us. */
    { "t-pod2", "nslab-pause t demo/p2", "nslab-pause\0t\0demo/p2", 22, getpid () },
    { "t-pod3", "nslab-pause t demo/p3", "nslab-pause t demo/p3", 22, node_pid },
  };
  for (size_t i = 0; i < ARRAY_SIZE (pods); i++)
    {
      if (i == 2)
        {
          /* A well-formed request from inside the node's PID namespace (a
           * command run in the node, a hostNetwork pod's app) is refused:
           * no fork, the go socket closes with no pid. */
          int go[2];
          ck_assert_int_eq (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go), 0);
          int own_pidns = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
          ck_assert_int_eq (setns (node_pidns, CLONE_NEWPID), 0);
          pid_t inside = fork ();
          ck_assert_int_ge (inside, 0);
          if (inside == 0)
            {
              int nsfd = open (node_ns, O_RDONLY | O_CLOEXEC);
              if (nsfd < 0 || setns (nsfd, CLONE_NEWNET) < 0)
                _exit (2);
              /* Made in the node's namespace, where the name is. */
              int s = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
              if (s < 0)
                _exit (2);
              struct sockaddr_un sa;
              socklen_t sl = spawner_address (&sa);
              if (connect (s, (struct sockaddr *) &sa, sl) < 0)
                _exit (3);
              static const char msg[] = "nslab-pause t demo/evil\0" PAUSE_SETUP_ENV "=1\0";
              int fds[3] = { go[1], go[1], nsfd };
              union {
                char b[CMSG_SPACE (sizeof fds)];
                struct cmsghdr align;
              } u;
              memset (&u, 0, sizeof u);
              struct iovec iov = { .iov_base = (void *) msg, .iov_len = sizeof msg };
              struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b };
              struct cmsghdr *cm = CMSG_FIRSTHDR (&mh);
              cm->cmsg_level = SOL_SOCKET;
              cm->cmsg_type = SCM_RIGHTS;
              cm->cmsg_len = CMSG_LEN (sizeof fds);
              memcpy (CMSG_DATA (cm), fds, sizeof fds);
              /* May fail: the spawner may have refused and closed first. */
              ssize_t w = sendmsg (s, &mh, MSG_NOSIGNAL);
              (void) w;
              _exit (0);
            }
          ck_assert_int_eq (setns (own_pidns, CLONE_NEWPID), 0);
          close (own_pidns);
          int st = 0;
          ck_assert_int_eq (waitpid (inside, &st, 0), inside);
          ck_assert_msg (WIFEXITED (st) && WEXITSTATUS (st) == 0, "status 0x%x", st);
          close (go[1]);
          struct timeval tv = { .tv_sec = 5 };
          setsockopt (go[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
          char c;
          ck_assert_int_eq (recv (go[0], &c, 1, 0), 0);
          close (go[0]);
          /* Garbage next: no fds, no terminator. */
          int self = enter_netns (node_ns);
          int s = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
          struct sockaddr_un sa;
          socklen_t sl = spawner_address (&sa);
          ck_assert_int_eq (connect (s, (struct sockaddr *) &sa, sl), 0);
          ck_assert_int_eq (send (s, "junk", 4, MSG_NOSIGNAL), 4);
          close (s);
          ck_assert_int_eq (setns (self, CLONE_NEWNET), 0);
          close (self);
        }
      cleanup_free char *pod_ns = netns_path (pods[i].ns);
      struct pause_spec pod = { .title = pods[i].title, .netns_path = pod_ns, .app = &none, .pid_ns = node_pidns,
                                .spawner_pid = pods[i].spawner, .spawner_netns = "t-node" };
      struct rec pr = { 0 };
      pid_t pid = 0;
      ck_assert_msg (pause_spawn (&pod, record_cb, &pr, &pid, &err) == 0, "%s", err ? err->msg : "");
      ck_assert_int_eq (pr.pid, pid);
      size_t len = 0;
      cleanup_free char *raw = raw_cmdline_of (pid, &len);
      ck_assert_int_eq (len, pods[i].raw_len);
      ck_assert_mem_eq (raw, pods[i].raw, pods[i].raw_len);
      /* A child of the node's pause process either way (forked by it, or
       * reparented to it when nslab spawned it). */
      ck_assert_int_eq (ppid_of (pid), node_pid);
      cleanup_free char *pns = xasprintf ("/proc/%d/ns/net", (int) pid);
      ck_assert_uint_eq (ns_inode (pns), ns_inode (pod_ns));
      cleanup_free char *ppidns = xasprintf ("/proc/%d/ns/pid", (int) pid);
      cleanup_free char *npidns = xasprintf ("/proc/%d/ns/pid", (int) node_pid);
      ck_assert_uint_ne (ns_inode (ppidns), ns_inode (npidns));
      /* Nothing of the request stays open in the node. */
      cleanup_free char *fdd = xasprintf ("/proc/%d/fd", (int) node_pid);
      DIR *d = opendir (fdd);
      ck_assert_ptr_nonnull (d);
      size_t nfd = 0;
      for (struct dirent *de; (de = readdir (d));)
        nfd += de->d_name[0] != '.';
      closedir (d);
      /* stdin, stdout, stderr, the spawner's socket and the node's own
       * PID namespace. */
      ck_assert_uint_eq (nfd, 5);
      /* The pod's PID namespace was made for its fork only: the node's
       * next children (its app's restarts) are in its own again. */
      cleanup_free char *nkids = xasprintf ("/proc/%d/ns/pid_for_children", (int) node_pid);
      ck_assert_uint_eq (ns_inode (nkids), ns_inode (npidns));
    }
  close (node_pidns);
  /* The node's PID namespace takes its pods along. */
  ck_assert_int_eq (proc_kill (node_pid, r.starttime, &err), 0);
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
}

START_TEST (test_spawner)
{
  sandboxed (body_spawner);
}
END_TEST

START_TEST (test_memory)
{
  sandboxed (body_memory);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("pause");
  TCase *pure = tcase_create ("echo");
  tcase_add_test (pure, test_parse_request);
  tcase_add_test (pure, test_format_addr_and_body);
  suite_add_tcase (s, pure);
  TCase *root = tcase_create ("pause");
  tcase_set_timeout (root, 20);
  tcase_add_test (root, test_spawn_echo);
  tcase_add_test (root, test_etc_files);
  tcase_add_test (root, test_private_files);
  tcase_add_test (root, test_record_fails);
  tcase_add_test (root, test_parent_crash);
  tcase_add_test (root, test_begin_release_abandon);
  tcase_add_test (root, test_echo_idle);
  tcase_add_test (root, test_spawn_errors);
  tcase_add_test (root, test_group_and_deathsig);
  tcase_add_test (root, test_sigterm);
  tcase_add_test (root, test_memory);
  tcase_add_test (root, test_spawner);
  suite_add_tcase (s, root);
  return s;
}

UNIT_MAIN (make_suite)
