/* Server-side tables: the meta.k8s.io/v1 Table the API server answers to
 * `Accept: application/json;as=Table;g=meta.k8s.io` (what kubectl get
 * prints), with the column definitions of Kubernetes' printers
 * (pkg/printers/internalversion/printers.go) and cells formatted as they
 * format them: ages as duration.HumanDuration, "<none>", "<pending>",
 * "+ N more...". The API server serves them; `nslab get` prints them
 * (k8s_table_print) as kubectl prints a Table. One code for both. */
#ifndef NSLAB_VIEW_K8S_TABLE_H
#define NSLAB_VIEW_K8S_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

/* Whether KIND ("Pod", "Service", ...) has a table of its own (others get
 * kubectl's default Name/Age table). */
bool k8s_table_known (const char *kind);
/* The Table of ITEMS (objects of KIND) at NOW; each row's object is the
 * item's PartialObjectMetadata (include_object "Metadata"), the whole item
 * (WHOLE) or nothing (NONE). rv: the list's resourceVersion. New reference. */
enum k8s_table_object { K8S_TABLE_OBJECT_METADATA, K8S_TABLE_OBJECT_WHOLE, K8S_TABLE_OBJECT_NONE };
json_t *k8s_table (const char *kind, const json_t *items, time_t now, enum k8s_table_object obj, const char *rv);

/* Print TABLE as kubectl get does: upper-case headers, priority 0 columns
 * unless WIDE, a NAMESPACE column first when WITH_NS (taken from each row's
 * object), "PREFIX/NAME" in the name column when PREFIX (several types at
 * once: "deployment.apps"). */
void k8s_table_print (const json_t *table, bool wide, bool with_ns, const char *prefix, FILE *out);

/* "k=v,k2=v2" sorted by key (labels.SelectorFromSet(...).String(),
 * labels.FormatLabels), or NONE when MAP is empty. Caller frees. */
char *k8s_format_labels (const json_t *map, const char *none);
/* The string at dotted PATH of O, "" where missing; the integer there, 0. */
const char *k8s_str (const json_t *o, const char *path);
json_int_t k8s_num (const json_t *o, const char *path);
/* metav1.FormatLabelSelector: matchLabels then matchExpressions; "<none>"
 * when empty. Caller frees. */
char *k8s_format_label_selector (const json_t *sel);

#endif
