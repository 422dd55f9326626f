/* Whether this process may build a lab at all: checked up front so that a
 * missing privilege reads as one clear sentence instead of the first
 * EPERM from somewhere inside `up`. */
#ifndef NSLAB_KERNEL_CAPS_H
#define NSLAB_KERNEL_CAPS_H

#include "base/error.h"

/* CAP_NET_ADMIN and CAP_SYS_ADMIN in the effective set, or an error. */
int caps_check_admin (nslab_error_t *err);

#endif
