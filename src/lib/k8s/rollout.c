/* The Deployment controller's rolling-update arithmetic (see rollout.h). */
#include "k8s/rollout.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int
rollout_amount_parse (const char *s, struct rollout_amount *out)
{
  size_t len = s ? strlen (s) : 0;
  if (len < 2 || s[len - 1] != '%')
    return -1;
  char *end;
  errno = 0;
  long v = strtol (s, &end, 10);
  if (errno || end != s + len - 1 || v < INT_MIN || v > INT_MAX)
    return -1;
  *out = (struct rollout_amount) { .set = true, .percent = true, .value = (int) v };
  return 0;
}

int
rollout_scaled_value (struct rollout_amount a, int total, bool round_up)
{
  if (!a.set)
    return 0;
  if (!a.percent)
    return a.value;
  /* intstr's math.Ceil/Floor of value*total/100, in integers. */
  long long p = (long long) a.value * total, q = p / 100, r = p % 100;
  if (r != 0 && (round_up ? p > 0 : p < 0))
    q += round_up ? 1 : -1;
  return (int) q;
}

void
rollout_fenceposts (struct rollout_amount max_surge, struct rollout_amount max_unavailable, int desired, int *surge,
                    int *unavailable)
{
  *surge = rollout_scaled_value (max_surge, desired, true);
  *unavailable = rollout_scaled_value (max_unavailable, desired, false);
  if (*surge == 0 && *unavailable == 0)
    *unavailable = 1;
}

int
rollout_max_unavailable (const struct rollout_strategy *st, int desired)
{
  if (st->recreate || desired == 0)
    return 0;
  int surge, unavailable;
  rollout_fenceposts (st->max_surge, st->max_unavailable, desired, &surge, &unavailable);
  return unavailable > desired ? desired : unavailable;
}

int
rollout_max_surge (const struct rollout_strategy *st, int desired)
{
  if (st->recreate)
    return 0;
  int surge, unavailable;
  rollout_fenceposts (st->max_surge, st->max_unavailable, desired, &surge, &unavailable);
  return surge;
}

struct rollout_spec
rollout_spec_of (const struct rollout_strategy *st, int desired, bool paused)
{
  return (struct rollout_spec) { .max_surge = rollout_max_surge (st, desired),
                                 .max_unavailable = rollout_max_unavailable (st, desired),
                                 .paused = paused };
}

struct rollout_spec
rollout_spec_default (int desired)
{
  const struct rollout_strategy st = { .max_surge = { true, true, 25 }, .max_unavailable = { true, true, 25 } };
  return rollout_spec_of (&st, desired, false);
}

int
rollout_new_rs_new_replicas (const struct rollout_strategy *st, int desired, int all_replicas, int new_rs_replicas)
{
  if (st->recreate)
    return desired;
  /* NewRSNewReplicas scales maxSurge itself, without ResolveFenceposts. */
  int max_total = desired + rollout_scaled_value (st->max_surge, desired, true);
  if (all_replicas >= max_total)
    return new_rs_replicas;
  int up = max_total - all_replicas;
  if (up > desired - new_rs_replicas)
    up = desired - new_rs_replicas;
  return new_rs_replicas + up;
}

int
rollout_reconcile_new (const struct rollout_strategy *st, int desired, int all_replicas, int new_rs_replicas)
{
  if (new_rs_replicas >= desired)
    return desired;
  return rollout_new_rs_new_replicas (st, desired, all_replicas, new_rs_replicas);
}

int
rollout_cleanup_unhealthy (struct rollout_rs *old, size_t n_old, int max_cleanup)
{
  int total = 0;
  for (size_t i = 0; i < n_old && total < max_cleanup; i++)
    {
      if (old[i].replicas == 0 || old[i].replicas == old[i].available)
        continue;
      int down = old[i].replicas - old[i].available;
      if (down > max_cleanup - total)
        down = max_cleanup - total;
      old[i].replicas -= down;
      total += down;
    }
  return total;
}

int
rollout_scale_down_old (struct rollout_rs *old, size_t n_old, const struct rollout_rs *new_rs, int desired,
                        int max_unavailable)
{
  int min_available = desired - max_unavailable;
  int available = new_rs ? new_rs->available : 0;
  for (size_t i = 0; i < n_old; i++)
    available += old[i].available;
  if (available <= min_available)
    return 0;
  int want = available - min_available, total = 0;
  for (size_t i = 0; i < n_old && total < want; i++)
    {
      if (old[i].replicas == 0)
        continue;
      int down = old[i].replicas < want - total ? old[i].replicas : want - total;
      old[i].replicas -= down;
      total += down;
    }
  return total;
}

int
rollout_reconcile_old (struct rollout_rs *old, size_t n_old, const struct rollout_rs *new_rs, int desired,
                       int max_unavailable)
{
  int all = new_rs ? new_rs->replicas : 0;
  for (size_t i = 0; i < n_old; i++)
    all += old[i].replicas;
  if (all == (new_rs ? new_rs->replicas : 0))
    return 0; /* no old pods left: nothing to scale down */
  int new_unavailable = new_rs ? new_rs->replicas - new_rs->available : 0;
  int max_scaled_down = all - (desired - max_unavailable) - new_unavailable;
  if (max_scaled_down <= 0)
    return 0;
  int cleaned = rollout_cleanup_unhealthy (old, n_old, max_scaled_down);
  return cleaned + rollout_scale_down_old (old, n_old, new_rs, desired, max_unavailable);
}
