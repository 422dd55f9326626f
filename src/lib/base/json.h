/* Helpers over jansson for nslab's own JSON files (plan -o json, the running
 * lab's snapshot). Writing: addresses as the strings ip(8) prints. Reading is
 * strict, since only nslab writes these files: a member that is missing or
 * of the wrong type is an error naming its path ("pods[3].ip"). */
#ifndef NSLAB_BASE_JSON_H
#define NSLAB_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/ipaddr.h"

/* The member at a dotted PATH ("metadata.name", "spec.selector.app") of O,
 * or NULL where one is missing; keys up to 127 bytes. */
const json_t *json_at (const json_t *o, const char *path);
/* J as compact JSON with sorted keys (one line, the same text for the same
 * object); takes J. */
char *json_compact (json_t *j);
/* J's text as json_dumps (J, FLAGS) writes it, byte for byte (caller
 * frees), *LEN its length, grown with realloc: json_dumps doubles its
 * buffer by a new one and a copy, where realloc moves a large one's pages
 * (mremap), so the hundreds of KiB of a large list are written once.
 * Compact text is written here rather than by jansson's dump, which takes
 * each string a code point at a time (a 9 MB snapshot: 59 -> 25 ms). NULL
 * when J cannot be written (invalid UTF-8; nothing is kept then). */
char *json_text (const json_t *j, size_t flags, size_t *len);

/* The members of one JSON object, set into a jansson object (OBJ) or
 * written as compact text into SB (the same bytes json_text gives for that
 * object, members in the order set), so that one list of members serves
 * both: the snapshot writes thousands of plan ops a round as text without
 * building and freeing a tree for each. As with jansson, a NULL value or a
 * string that is not UTF-8 sets nothing; a key is set once. */
struct json_out {
  json_t *obj;          /* tree: the object (or, in a nested array, the array) */
  struct strbuf *sb;
  bool any;             /* text: a member written already */
  /* A nested object or array (jo_open_object, jo_open_array): */
  struct json_out *parent;
  const char *key;      /* its key in the parent, NULL as an array's element */
  size_t at;            /* text: where it starts, to take it back */
  bool array;
  bool strict;          /* as json_pack builds it: a NULL or non-UTF-8 string, or a dropped nested object, drops it all */
  bool failed;
};
/* Takes V (a subtree: in text mode written as json_text writes it). */
void jo_set (struct json_out *o, const char *key, json_t *v);
/* A member that is an object or an array, written in place (no subtree
 * built and freed): SUB opened under KEY of O (KEY NULL: the next element
 * of the array O), given its members (or elements: KEY NULL) like O, then
 * closed into O. An array keeps the elements it can (as
 * json_array_append_new); a STRICT object is dropped whole where
 * json_pack would fail (see strict), else keeps what it can. */
void jo_open_object (struct json_out *o, const char *key, bool strict, struct json_out *sub);
void jo_open_array (struct json_out *o, const char *key, struct json_out *sub);
void jo_close (struct json_out *sub);
/* NULL (an absent list: null) or the strings of the NULL-terminated V. */
void jo_strv (struct json_out *o, const char *key, char *const *v);
/* KEY NULL in these: the next element of an array. */
void jo_str (struct json_out *o, const char *key, const char *s);
/* S, or null when S is NULL. */
void jo_str_or_null (struct json_out *o, const char *key, const char *s);
void jo_int (struct json_out *o, const char *key, json_int_t v);
void jo_bool (struct json_out *o, const char *key, bool v);
void jo_null (struct json_out *o, const char *key);
void jo_ip (struct json_out *o, const char *key, uint32_t ip);
void jo_cidr (struct json_out *o, const char *key, struct cidr c);
void jo_mac (struct json_out *o, const char *key, const uint8_t mac[6]);
/* null for 0 (an address) or NULL (a MAC): the kernel's or nobody's choice. */
void jo_ip_or_null (struct json_out *o, const char *key, uint32_t ip);
void jo_mac_or_null (struct json_out *o, const char *key, const uint8_t *mac);

struct json_reader {
  nslab_error_t *err;
  char where[128];      /* path of the object being read, "" at the top */
};

/* Where the next members are read: "key[i]" (or "" to reset). */
void jr_at (struct json_reader *r, const char *key, size_t i);
/* An error "where.key: what"; returns -1. */
int jr_bad (struct json_reader *r, const char *key, const char *what);

/* nullable: a missing or null member gives NULL. */
int jr_str (struct json_reader *r, const json_t *o, const char *key, bool nullable, char **out);
int jr_uint (struct json_reader *r, const json_t *o, const char *key, uint32_t max, uint32_t *out);
int jr_u16 (struct json_reader *r, const json_t *o, const char *key, uint16_t *out);
int jr_bool (struct json_reader *r, const json_t *o, const char *key, bool *out);
int jr_ip (struct json_reader *r, const json_t *o, const char *key, uint32_t *out);
/* An address that may be null (0 when null or missing). */
int jr_ip_or_null (struct json_reader *r, const json_t *o, const char *key, uint32_t *out);
int jr_cidr (struct json_reader *r, const json_t *o, const char *key, struct cidr *out);
int jr_mac (struct json_reader *r, const json_t *o, const char *key, uint8_t mac[6]);
/* names[i] is the string of value i (NULL holes allowed). */
int jr_enum (struct json_reader *r, const json_t *o, const char *key, const char *const *names, size_t n, int *out);
/* An array of strings, copied into a NULL-terminated vector (NULL member with nullable: *out = NULL). */
int jr_strv (struct json_reader *r, const json_t *o, const char *key, bool nullable, char ***out);
const json_t *jr_array (struct json_reader *r, const json_t *o, const char *key);
const json_t *jr_object (struct json_reader *r, const json_t *o, const char *key);

/* jr_enum into an enum-typed lvalue. */
#define JR_ENUM(r, o, key, table, out)                                                              \
  __extension__ ({                                                                                  \
    int jr_v_ = 0;                                                                                  \
    int jr_rc_ = jr_enum ((r), (o), (key), (table), sizeof (table) / sizeof ((table)[0]), &jr_v_);  \
    *(out) = (__typeof__ (*(out))) jr_v_;                                                           \
    jr_rc_;                                                                                         \
  })

/* The string of an enum value from a names table, "?" when out of range. */
#define ENUM_NAME(table, v) ((size_t) (v) < sizeof (table) / sizeof ((table)[0]) ? (table)[v] : "?")

#endif
