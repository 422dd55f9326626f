/* Checks across labs (see conflicts.h). */
#include "state/conflicts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/netns.h"
#include "state/state.h"

int
state_check_conflicts (const struct plan *p, nslab_error_t *err)
{
  const struct lab_objects *o = p->objects;
  cleanup_free char *dir = xasprintf ("%s/%s", state_root (), o->lab);
  struct stat sb;
  if (lstat (dir, &sb) == 0)
    return nslab_error (err, 0, "lab %s is already up (nslab down %s first)", o->lab, o->lab);
  for (size_t i = 0; i < p->n_ops; i++)
    if (p->ops[i].kind == OP_NETNS && netns_exists (p->ops[i].ns))
      return nslab_error (err, 0, "network namespace %s already exists (%s/%s); remove it or rename lab %s",
                          p->ops[i].ns, NETNS_RUN_DIR, p->ops[i].ns, o->lab);

  char **labs = NULL;
  size_t n_labs = 0;
  if (state_list (&labs, &n_labs, err) < 0)
    return -1;
  int rc = 0;
  for (size_t l = 0; l < n_labs && rc == 0; l++)
    {
      struct state *st = NULL;
      nslab_error_t e = NULL;
      if (state_load (labs[l], &st, &e) < 0)
        {
          nslab_error_free (&e);
          continue;
        }
      /* Host-only networks stand for one host-wide VirtualBox network:
       * two labs on overlapping ones would be two clusters on one LAN
       * with the same addresses. NAT networks are private to each node,
       * pod and service CIDRs to each cluster, so those never clash. */
      for (size_t c = 0; c < st->n_cidrs && rc == 0; c++)
        {
          if (strcmp (st->cidrs[c].kind, "hostonly") != 0)
            continue;
          for (size_t n = 0; n < o->n_networks; n++)
            {
              const struct lab_network *net = &o->networks[n];
              if (net->kind != NET_HOSTONLY || ! cidr_overlaps (net->cidr, st->cidrs[c].cidr))
                continue;
              char a[CIDR_STRLEN], b[CIDR_STRLEN];
              rc = nslab_error_invalid (err,
                                        "lab %s clashes with lab %s, which is up: host-only network %s %s "
                                        "overlaps its network %s %s",
                                        o->lab, st->lab, net->name, cidr_fmt (net->cidr, a),
                                        st->cidrs[c].name, cidr_fmt (st->cidrs[c].cidr, b));
              break;
            }
        }
      state_free (st);
    }
  for (size_t l = 0; l < n_labs; l++)
    free (labs[l]);
  free (labs);
  return rc;
}

/* The records other labs' checks read (networks, counts, lab host) go in
 * before the root lock is released: a lab that is visible without its
 * networks would let a clashing lab pass. */
static int
record_lab (struct state_writer *w, const struct plan *p, nslab_error_t *err)
{
  const struct lab_objects *o = p->objects;
  int rc = state_record_counts (w, (int) o->n_nodes, (int) o->n_pods, (int) o->n_services, err);
  for (size_t i = 0; rc == 0 && i < p->n_ops; i++)
    if (p->ops[i].kind == OP_NETNS && p->ops[i].u.netns.kind == PLAN_NETNS_LABHOST)
      rc = state_record_labhost (w, p->ops[i].ns, err);
  for (size_t i = 0; rc == 0 && i < o->n_networks; i++)
    rc = state_record_cidr (w, o->networks[i].kind == NET_HOSTONLY ? "hostonly" : "nat", o->networks[i].name,
                            o->networks[i].cidr, err);
  if (rc == 0)
    rc = state_record_cidr (w, "pod", "cluster-cidr", o->pod_cidr, err);
  if (rc == 0)
    rc = state_record_cidr (w, "service", "service-cidr", o->service_cidr, err);
  return rc;
}

int
state_create_checked (const struct plan *p, const char *scenario, struct state_writer **out, nslab_error_t *err)
{
  cleanup_close int root_fd = state_root_lock (err);
  if (root_fd < 0 || state_check_conflicts (p, err) < 0)
    return -1;
  struct state_writer *w = NULL;
  if (state_create_locked (root_fd, p->objects->lab, scenario, &w, err) < 0)
    return -1;
  if (record_lab (w, p, err) < 0)
    {
      /* Nothing was created yet but the record itself. */
      state_remove (w, NULL);
      state_writer_close (w);
      return -1;
    }
  *out = w;
  return 0;
}
