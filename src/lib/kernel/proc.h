/* Processes nslab started earlier, named by pid and start time (field 22
 * of /proc/PID/stat): a pid alone may have been recycled by the time
 * `down` or `exec` looks at it, the pair never is. */
#ifndef NSLAB_KERNEL_PROC_H
#define NSLAB_KERNEL_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

/* The fields of /proc/PID/stat nslab reads (3, 4, 5, 9 and 22). */
struct proc_stat {
  char state;         /* R, S, D, Z, X, ... */
  pid_t ppid, pgrp;
  unsigned flags;     /* the kernel's PF_* */
  uint64_t starttime; /* clock ticks after boot */
};
/* The kernel's PF_EXITING: the process is in do_exit (its memory, and so
 * its command line, may already be gone). */
#define PROC_FLAG_EXITING 0x4u
/* 0, or -errno (-ENOENT or -ESRCH: it is gone). */
int proc_read_stat (pid_t pid, struct proc_stat *out);

/* /proc/PID/stat field 22. */
int proc_starttime (pid_t pid, uint64_t *out, nslab_error_t *err);
/* Is pid alive (not a zombie) with that start time? */
bool proc_alive (pid_t pid, uint64_t starttime);

/* A pidfd (O_CLOEXEC) for pid if it is still the process with that start
 * time, or -1 (errno ESRCH when it is gone or someone else's). Checked
 * after opening, so the pidfd names the verified process. */
int proc_open_verified (pid_t pid, uint64_t starttime);
/* Whether the process behind pidfd still exists (it may be a zombie). */
bool proc_pidfd_alive (int pidfd);

/* Kill the process, and its process group when it leads one, if (and only
 * if) pid still has that start time. Returns a pidfd that turns readable
 * once the process is gone, or -1 with *err unset when it was gone already
 * (or the pid is someone else's now), or -1 with *err set on failure. */
int proc_kill_start (pid_t pid, uint64_t starttime, nslab_error_t *err);
/* How long a SIGKILLed process is waited for: proc_kill_wait, and down's
 * wait for all of a lab's at once, whose messages name it. */
#define PROC_KILL_WAIT_MS 10000
/* Wait (at most PROC_KILL_WAIT_MS) for the killed process; closes the pidfd. */
int proc_kill_wait (int pidfd, pid_t pid, nslab_error_t *err);
/* Both halves; a process already gone is success. */
int proc_kill (pid_t pid, uint64_t starttime, nslab_error_t *err);

/* A process tells whoever started it its pid as that one sees it, over a
 * unix socket: proc_send_pid sends one byte with its credentials
 * (SCM_CREDENTIALS), and the kernel translates the pid into the receiver's
 * PID namespace (the receiving end needs SO_PASSCRED). For a process forked
 * inside another PID namespace, or by a process that exits at once, whose
 * pid the starter cannot learn from fork. proc_send_pid: 0, or -1 with
 * errno; proc_receive_pid: the pid, or 0 with errno on EOF or garbage. */
int proc_send_pid (int fd);
pid_t proc_receive_pid (int fd);

/* Run FN (ARG) in a child that shares this process's memory until its
 * execve or _exit (CLONE_VM | CLONE_VFORK, as posix_spawn's child), on a
 * stack of its own, with every signal blocked; the calling thread waits
 * until then. Where fork() would copy the page tables of a large caller
 * and then make it fault on every page it writes again: in this machine's
 * guest that is ~23 us a page (40 MiB written after a fork took 234 ms,
 * against 2 ms). FN makes system calls only (no allocation, no stdio:
 * their locks are the caller's) and writes nothing but what its caller
 * reads afterwards. Returns the child's pid, to reap, or -1 with errno. */
pid_t proc_vfork_call (int (*fn) (void *), void *arg);
/* For FN and its helpers that end in _exit: not instrumented by ASan, which
 * cannot follow a child on a stack of its own and would print a warning on
 * the caller's stderr at each call that does not return. */
#define PROC_VFORK_CHILD __attribute__ ((no_sanitize_address))
/* In FN, right before its execve: every signal the caller catches back to
 * its default (a handler of the caller's must not run in its memory), then
 * MASK as the signal mask. */
void proc_vfork_exec_signals (const sigset_t *mask);

/* A process started before its starter recorded it waits for its go: one
 * byte on FD, which it then closes. False on EOF (the starter died or
 * refused before recording it): it must exit, doing nothing. */
bool proc_await_go (int fd);

/* The process title, as ps and /proc/PID/cmdline show it. The area is the
 * argv and environment strings, contiguous as the kernel laid them out:
 * remember it first thing in main (before anything changes environ), then
 * set TITLE there, as one string (setproctitle's way: the kernel reads the
 * area up to the first NUL once the last byte of argv is not one; shrinking
 * or moving the area with PR_SET_MM needs CAP_SYS_RESOURCE, which a
 * container may not have). A title longer than the area is cut. */
void proc_title_init (int argc, char **argv);
void proc_title_set (const char *title);

#endif
