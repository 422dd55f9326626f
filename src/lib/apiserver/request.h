/* What an API request carries that comes from outside and must be parsed
 * with care: the body (a JSON object: a new object, a merge patch, a
 * strategic merge patch as kubectl sends), label selectors
 * (labels.Parse: "app=web,tier!=db,env in (a,b),!canary") and field
 * selectors ("metadata.name=x,involvedObject.kind=Pod"). Fuzzed by
 * tests/fuzz/fuzz_request.c: nothing here may crash on any input. */
#ifndef NSLAB_APISERVER_REQUEST_H
#define NSLAB_APISERVER_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The request size the API server accepts (its MaxRequestBodyBytes is 3 MiB). */
#define REQUEST_MAX_BODY (3 * 1024 * 1024)

/* BODY as a JSON object; NULL and a message (caller frees) as the API
 * server words a decoding failure otherwise. */
json_t *request_decode_body (const char *body, size_t len, char **message);

/* A Kubernetes protobuf body ("k8s\0" + runtime.Unknown), as kubectl's
 * typed clients send (kubectl create namespace): its apiVersion, kind and
 * metadata name and labels as JSON, enough to create a Namespace or to
 * answer AlreadyExists; the rest of the object is not read. NULL and a
 * message otherwise. */
json_t *request_decode_protobuf (const char *body, size_t len, char **message);

/* A parsed selector: requirements, all of which must hold. */
struct selector;
enum selector_kind { SELECTOR_LABEL, SELECTOR_FIELD };
/* NULL and a message (caller frees) when S does not parse; an empty or
 * NULL S selects everything. */
struct selector *selector_parse (enum selector_kind kind, const char *s, char **message);
/* OBJ's labels (SELECTOR_LABEL) or its fields (dotted paths) match. */
bool selector_matches (const struct selector *sel, const json_t *obj);
void selector_free (struct selector *sel);

/* RFC 7386 JSON merge patch of TARGET by PATCH, in place; a strategic merge
 * patch's directives ($setElementOrder/..., $retainKeys, $patch) are
 * dropped and its lists replace, which is what it means for the fields a
 * lab's objects have. */
void request_merge_patch (json_t *target, const json_t *patch);
/* The same, but a pod template's lists of named elements (containers, env,
 * volumes, ...) are merged by name as a strategic merge patch merges them
 * (kubectl set image, kubectl apply of a changed container send only the
 * changed fields of the one container). */
void request_strategic_merge_patch (json_t *target, const json_t *patch);
/* RFC 6902 JSON patch of TARGET by OPS (add, replace, remove; RFC 6901
 * paths), in place, as kubectl rollout undo sends it. -1 and a message
 * (caller frees) when an operation does not apply; TARGET may then be
 * partly patched. */
int request_json_patch (json_t *target, const json_t *ops, char **message);

#endif
