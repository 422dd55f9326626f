/* libFuzzer entry for the scenario loader: the input becomes the scenario
 * file (a memfd, so nothing touches the disk), loaded, planned and freed. Templates
 * resolve through $NSLAB_TEMPLATE_DIR (set by `make fuzz`). */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/error.h"
#include "plan/plan.h"
#include "view/plan_text.h"
#include "scenario/scenario.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  int fd = memfd_create ("scenario", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  size_t off = 0;
  while (off < size)
    {
      ssize_t w = write (fd, data + off, size - off);
      if (w <= 0)
        {
          close (fd);
          return 0;
        }
      off += (size_t) w;
    }
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  if (scenario_load (path, &sc, &err) == 0)
    {
      /* Whatever loads must also plan and print: the planner is pure and
       * must never crash on a valid scenario. */
      struct plan *p = NULL;
      if (plan_build (sc, &p, &err) == 0)
        {
          FILE *null = fopen ("/dev/null", "w");
          if (null)
            {
              plan_print_text (p, null);
              plan_print_json (p, null);
              fclose (null);
            }
          plan_free (p);
        }
      else
        nslab_error_free (&err);
      scenario_free (sc);
    }
  else
    nslab_error_free (&err);
  close (fd);
  return 0;
}
