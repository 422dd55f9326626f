/* Objects created through the API (kubectl apply -f of a new Deployment,
 * Service or Pod, kubectl create deployment, expose, run): each becomes a
 * section of the lab's kept scenario ([deployment NS/NAME], [service
 * NS/NAME], [pod NS/NAME]), validated and planned like one written by hand,
 * and its object goes into the store; the lab's control loop then makes the
 * pods and rules, as after `nslab apply`.
 *
 * A container's image picks the pod's built-in app (docs/guide.md §7) as
 * the lab's scenario maps it ([images], built-ins nginx and httpd ->
 * http:80): an HTTP app listens on the container's first containerPort when
 * it has one; an image nothing maps runs the HTTP echo server on its
 * containerPort, or no app without one (the pod holds its namespaces; nslab
 * exec and kubectl exec run the host's tools in it). */
#ifndef NSLAB_APISERVER_CREATE_H
#define NSLAB_APISERVER_CREATE_H

#include <jansson.h>

#include "base/error.h"
#include "scenario/scenario.h"

struct store;

/* The scenario section for OBJ (a Deployment, Service or Pod in NS) in the
 * lab whose scenario is SC (its [images]; NULL: the built-ins), or NULL and
 * *field, *message (caller frees) naming what is invalid, as the
 * apiserver's 422 does ("spec.selector", "Required value"). */
char *create_section (const struct scenario *sc, const json_t *obj, const char *ns, char **field, char **message);

/* Append SECTION to LAB's kept scenario (KEPT: as loaded, which SECTION was
 * made for), validate and plan it (an invalid result: -1 with *invalid set,
 * nothing changed), save it, and put the new object of KIND NS/NAME into S
 * as the plan has it, overlaid with what the client sent (its containers,
 * labels, annotations). *out: what was stored. */
int create_commit (const char *lab, const struct scenario *kept, struct store *s, const char *section,
                   const json_t *sent, const char *kind, const char *ns, const char *name, json_t **out,
                   bool *invalid, nslab_error_t *err);

#endif
