/* libFuzzer entry for the scenario loader: the input becomes the scenario
 * file (a memfd, so nothing touches the disk), loaded and freed. Templates
 * resolve through $NSLAB_TEMPLATE_DIR (set by `make fuzz`). */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "scenario.h"

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
    scenario_free (sc);
  else
    nslab_error_free (&err);
  close (fd);
  return 0;
}
