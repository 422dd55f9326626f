/* Whether this process may build a lab at all: checked up front so that a
 * missing privilege reads as one clear sentence instead of the first
 * EPERM from somewhere inside `up`. */
#ifndef NSLAB_KERNEL_CAPS_H
#define NSLAB_KERNEL_CAPS_H

#include <stdint.h>

#include "base/error.h"

/* CAP_NET_ADMIN and CAP_SYS_ADMIN in the effective set, or an error. */
int caps_check_admin (nslab_error_t *err);

/* The capabilities containerd (and Docker) give a container's processes by
 * default: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID,
 * SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE,
 * SETFCAP. CapEff 00000000a80425fb in /proc/PID/status, as in any pod. */
#define CAPS_CONTAINER_DEFAULT 0xa80425fbULL

/* Keep only the capabilities in KEEP for this process and whatever it
 * executes: the bounding set loses the others, the ambient set is cleared,
 * and effective, permitted and inheritable become KEEP (as far as this
 * process has them). Returns 0, or -1 with errno. For the child side of a
 * fork: no error object, no allocation. */
int caps_limit (uint64_t keep);

#endif
