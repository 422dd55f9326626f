/* nslab-controller LAB: the lab's control loop (control/controller.h), this
 * binary re-executed by up in the control-plane node's PID and network
 * namespaces (it joins its mount namespace itself), as `k3s server` runs on
 * a real one; nslab-runtime LAB: its runtime agent (control/agent.h) in the
 * lab's root PID namespace, as containerd runs on the host. The socket
 * between them is fd 3 of each. Their stderr is the lab's
 * logs/controller.log: a failed round is written there and retried. */
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "control/agent.h"
#include "control/controller.h"
#include "kernel/netns.h"
#include "kernel/proc.h"

static volatile sig_atomic_t stop;

/* CPU time (user + system) of WHO: RUSAGE_SELF, all the loop's threads (the
 * snapshot's too); RUSAGE_CHILDREN, its children once reaped (the nodes'
 * iptables-restore and nft, which a round reaps before it ends). */
static long long
cpu_us (int who)
{
  struct rusage ru;
  if (getrusage (who, &ru) < 0)
    return 0;
  return (long long) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static long long
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
log_error_as (const char *who, const char *lab, nslab_error_t *e)
{
  time_t t = time (NULL);
  struct tm tm;
  char when[32];
  localtime_r (&t, &tm);
  strftime (when, sizeof when, "%H:%M:%S", &tm);
  fprintf (stderr, "%s %s %s: ", when, who, lab);
  nslab_error_print (e);
}

static void
log_error (const char *lab, nslab_error_t *e)
{
  log_error_as ("nslab-controller", lab, e);
}

/* The socket to the other half: fd 3, not passed on to what we start. */
#define PEER_FD 3
#define MNTNS_FD 4

static bool
peer_ok (void)
{
  return fcntl (PEER_FD, F_SETFD, FD_CLOEXEC) == 0;
}

/* Sleep MS, or less if the agent's end closed (it never writes unasked):
 * false then; or when the lab's state dir was written (WATCH, if >= 0:
 * its events are drained), or a pod's status (STATUS, if >= 0: left for
 * the round), or the prober finished a batch (PROBES, if >= 0: the round
 * takes it). */
static bool
wait_peer (int ms, int watch, int status, int probes)
{
  struct pollfd p[4] = { { .fd = PEER_FD, .events = POLLIN },
                         { .fd = watch, .events = POLLIN },
                         { .fd = status, .events = POLLIN },
                         { .fd = probes, .events = POLLIN } };
  int r = poll (p, 4, ms);
  if (r > 0 && watch >= 0 && (p[1].revents & POLLIN))
    {
      char buf[4096];
      while (read (watch, buf, sizeof buf) > 0)
        ;
    }
  return r <= 0 || p[0].revents == 0;
}

/* How long the loop keeps what its rounds freed after the last one. */
#define CONTROL_TRIM_IDLE_MS 1000

/* kube-proxy's syncPeriod (--iptables-sync-period): CONTROL_FULL_SYNC_S,
 * or NSLAB_CONTROL_SYNC_PERIOD_S from up's environment (1..3600), so a test
 * can see the full sync that checks the partial ones without waiting 30 s. */
static long long
sync_period_ms (void)
{
  const char *v = getenv ("NSLAB_CONTROL_SYNC_PERIOD_S");
  char *end = NULL;
  long n = v ? strtol (v, &end, 10) : 0;
  if (v == NULL || end == v || *end != 0 || n < 1 || n > 3600)
    n = CONTROL_FULL_SYNC_S;
  return n * 1000LL;
}

int
controller_main (int argc, char **argv)
{
  if (argc != 2)
    {
      fputs ("nslab-controller: started by nslab up, not by hand\n", stderr);
      return NSLAB_EXIT_INVALID;
    }
  const char *lab = argv[1];
  if (!proc_await_go (CONTROL_GO_FD))
    return 0;
  cli_daemon_init (&stop);
  /* One malloc arena for the loop and its threads (the snapshot's, the
   * probes'): a thread's own arena keeps its top, which malloc_trim does
   * not give back (the loop kept 10.8-11.3 MiB at rest against 8.1-8.6). */
  mallopt (M_ARENA_MAX, 1);
  /* What a round frees is kept until the loop has been idle a while
   * (below), not handed back as it is freed: glibc would give back the top
   * of the heap and each large block at its free (an mmap of its own), and
   * the next round would fault all of it in again, a page at a time (~9000
   * pages a round at 1000 services, ~20 us each in this machine's guest). */
  mallopt (M_TRIM_THRESHOLD, 1 << 30);
  mallopt (M_MMAP_THRESHOLD, 32 << 20);

  nslab_error_t err = NULL;
  if (!peer_ok () || fcntl (MNTNS_FD, F_SETFD, FD_CLOEXEC) < 0)
    {
      fputs ("nslab-controller: started by nslab up, not by hand\n", stderr);
      return NSLAB_EXIT_INVALID;
    }
  /* The probes of a large lab run at once, a socket each (kubelet runs
   * with LimitNOFILE=1048576): the soft limit up to the hard one. */
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  int peer = PEER_FD;
  struct control_runtime rt;
  control_runtime_remote (&rt, &peer);
  struct controller *c = NULL;
  if (controller_open (lab, &rt, &c, &err) < 0 || controller_enter_node (c, MNTNS_FD, &err) < 0)
    {
      log_error (lab, &err);
      controller_close (c);
      netns_unpin_all ();
      return NSLAB_EXIT_FAILURE;
    }
  close (MNTNS_FD);
  /* Without inotify the loop polls only. */
  int watch = controller_watch (c, &err);
  if (watch < 0)
    nslab_error_free (&err);
  long long period = sync_period_ms ();
  long long next_full = now_ms () + period;
  /* Where each converging round spends its time, for profiling. */
  const char *trace_env = getenv ("NSLAB_CONTROL_TRACE");
  bool trace = trace_env && strcmp (trace_env, "1") == 0;
  long long trim_at = 0; /* when the rounds' memory goes back (0: nothing to give back) */
  while (!stop)
    {
      bool full = now_ms () >= next_full;
      long long cpu_self = trace ? cpu_us (RUSAGE_SELF) : 0, cpu_children = trace ? cpu_us (RUSAGE_CHILDREN) : 0;
      int r = controller_round (c, full, &err);
      if (r < 0)
        {
          if (controller_lab_gone (c))
            {
              nslab_error_free (&err);
              break;
            }
          /* Logged and retried: the loop outlives a transient failure, as
           * kube-proxy and the controllers do. */
          log_error (lab, &err);
          if (!wait_peer (500, -1, -1, -1))
            break;
          continue;
        }
      /* What a round freed goes back to the kernel once no round came for
       * CONTROL_TRIM_IDLE_MS: glibc keeps it otherwise, and a round of a
       * large lab frees megabytes. Changes that come one after another (a
       * rollout's steps, a script's commands) reuse the pages the last
       * round had faulted in. A round that changed nothing (the probes')
       * does not put the trim off. */
      if (r > 0 || trim_at == 0)
        trim_at = now_ms () + CONTROL_TRIM_IDLE_MS;
      if (r > 0 && trace)
        {
          struct control_round_times tm;
          controller_round_times (c, &tm);
          if (tm.total)
            {
              /* what the heap holds after the round: live blocks against free ones (kept until the loop is idle) */
              struct mallinfo2 mi = mallinfo2 ();
              cpu_self = cpu_us (RUSAGE_SELF) - cpu_self;
              cpu_children = cpu_us (RUSAGE_CHILDREN) - cpu_children;
              fprintf (stderr,
                       "round%s%s%s%s%s%s: observe %lld plan %lld apply %lld (rules %lld) store %lld (snapshot wait %lld) events "
                       "%lld total %lld us; cpu %lld (children %lld) us; heap in use %zu KiB, free %zu KiB, mmapped %zu "
                       "KiB%s%s\n",
                       full ? " full" : "", tm.store_changed ? " store" : "", tm.app_changed ? " app" : "",
                       tm.ready_changed ? " ready" : "", tm.settled ? " settled" : "", tm.scoped ? " scoped" : "", tm.observe,
                       tm.plan, tm.apply, tm.rules, tm.store, tm.snapshot_wait, tm.events, tm.total,
                       cpu_self + cpu_children, cpu_children, mi.uordblks / 1024,
                       mi.fordblks / 1024, mi.hblkhd / 1024, tm.unscoped ? "; unscoped: " : "",
                       tm.unscoped ? tm.unscoped : "");
            }
        }
      if (full)
        next_full = now_ms () + period;
      if (!wait_peer (r > 0 ? 20 : 100, watch, controller_status_watch (c), controller_probe_fd (c)))
        break; /* the agent is gone: without it no pod can be made or removed */
      if (trim_at && now_ms () >= trim_at)
        {
          malloc_trim (0);
          trim_at = 0;
        }
    }
  if (watch >= 0)
    close (watch);
  controller_close (c);
  netns_unpin_all ();
  return 0;
}

int
runtime_main (int argc, char **argv)
{
  if (argc != 2 || !peer_ok ())
    {
      fputs ("nslab-runtime: started by nslab up, not by hand\n", stderr);
      return NSLAB_EXIT_INVALID;
    }
  const char *lab = argv[1];
  if (!proc_await_go (CONTROL_GO_FD))
    return 0;
  cli_daemon_init (NULL);
  nslab_error_t err = NULL;
  /* Until the loop's end closes (it exited or was killed). */
  if (agent_serve (lab, PEER_FD, &err) < 0)
    {
      log_error_as ("nslab-runtime", lab, &err);
      return NSLAB_EXIT_FAILURE;
    }
  return 0;
}
