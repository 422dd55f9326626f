/* Privilege check (see caps.h). Reads CapEff from /proc rather than using
 * libcap: one line of a file is all it takes. */
#include "kernel/caps.h"

#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
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
