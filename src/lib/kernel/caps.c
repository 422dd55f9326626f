/* Privilege check and the container capability limit (see caps.h), with
 * /proc and the raw capget/capset calls rather than libcap: one line of a
 * file and two system calls are all it takes. */
#include "kernel/caps.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"

int
caps_check_admin (nslab_error_t *err)
{
  cleanup_file FILE *f = fopen ("/proc/self/status", "re");
  unsigned long long eff = 0;
  if (f)
    {
      char line[256];
      while (fgets (line, sizeof line, f))
        if (sscanf (line, "CapEff: %llx", &eff) == 1)
          break;
    }
  const unsigned long long need = (1ULL << CAP_NET_ADMIN) | (1ULL << CAP_SYS_ADMIN);
  if ((eff & need) == need)
    return 0;
  /* Root without the capabilities is a container started without them:
   * "needs root" would be wrong there; name what is missing. */
  if (geteuid () == 0)
    {
      bool net = eff & (1ULL << CAP_NET_ADMIN), sys = eff & (1ULL << CAP_SYS_ADMIN);
      nslab_error (err, 0, "root without %s%s%s", net ? "" : "CAP_NET_ADMIN", net || sys ? "" : " and ",
                   sys ? "" : "CAP_SYS_ADMIN");
      return nslab_error_hint (err, "in a container, add --cap-add %s%s%s (or --privileged; docs/containers.md)",
                               net ? "" : "NET_ADMIN", net || sys ? "" : " --cap-add ", sys ? "" : "SYS_ADMIN");
    }
  return nslab_error (err, 0, "needs root: CAP_NET_ADMIN + CAP_SYS_ADMIN");
}

int
caps_limit (uint64_t keep)
{
  /* Every capability this kernel knows, not just those the headers name. */
  int last = CAP_LAST_CAP;
  int fd = open ("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      char buf[16];
      ssize_t n = read (fd, buf, sizeof buf - 1);
      close (fd);
      if (n > 0)
        {
          buf[n] = '\0';
          last = atoi (buf);
        }
    }
  for (int cap = 0; cap <= last && cap < 64; cap++)
    if (!(keep & (1ULL << cap)) && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return -1;
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return -1;
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  memset (data, 0, sizeof data);
  if (syscall (SYS_capget, &hdr, data) < 0)
    return -1;
  uint64_t have = (uint64_t) data[0].permitted | ((uint64_t) data[1].permitted << 32);
  uint64_t set = keep & have;
  for (int i = 0; i < 2; i++)
    {
      uint32_t word = (uint32_t) (set >> (32 * i));
      data[i].effective = data[i].permitted = data[i].inheritable = word;
    }
  return syscall (SYS_capset, &hdr, data) < 0 ? -1 : 0;
}
