/* The lab's object store in SQLite (see store.h). */
#include "state/store.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/util.h"
#include "k8s/pod_template.h"
#include "k8s/resources.h"
#include "state/journal.h"
#include "state/state.h"

struct store {
  sqlite3 *db;
  char *path;    /* for messages */
  /* store_begin: puts and deletes join the caller's write transaction;
   * store_read_begin: a read transaction, in which nothing may write. */
  enum { TXN_NONE, TXN_READ, TXN_WRITE } txn;
  bool meta_columns; /* the objects' meta_ columns (a store made before them has none) */
  bool meta_index;   /* and the objects_meta index of them */
  bool kinds_table;  /* and the kinds table its triggers keep */
};

/* How long any connection waits for a lock another holds before it fails
 * with "database is locked". Every lock wait of the store goes through
 * SQLite's busy handler: write transactions start IMMEDIATE (the write lock
 * at BEGIN, before anything is read, so the snapshot is never stale), no
 * write runs inside a read transaction (the upgrade of a deferred one
 * fails at once, without the busy handler, when another writer committed
 * meanwhile: SQLITE_BUSY_SNAPSHOT), and readers in WAL mode wait only for a
 * recovery or a closing connection's checkpoint. Holders keep the write lock
 * for milliseconds; a minute covers any load on a shared machine, while a
 * writer stopped with the lock (SIGSTOP) still ends in an error rather than a
 * hang. */
#define STORE_BUSY_MS 60000

/* What the meta_ columns hold, as SQLite reads it from a body: the same
 * expressions fill the columns (as a body is written) and list a store made
 * before them (list_metas), so the two listings cannot differ. */
#define META_CREATED_SQL "json_extract(body, '$.metadata.creationTimestamp')"
#define META_REPLICAS_SQL "json_extract(body, '$.spec.replicas')"
#define META_TYPE_SQL "json_extract(body, '$.spec.type')"
#define META_OWNERS_SQL "CASE WHEN kind = 'ReplicaSet' THEN json_extract(body, '$.metadata.ownerReferences') END"
/* SQLite's planner takes the primary key for "kind = ? ORDER BY namespace,
 * name", the same order, and does not see that objects_meta covers what is
 * selected (its columns are generated): it is named. */
#define META_INDEXED_BY "INDEXED BY objects_meta"

static const char schema[] =
  "PRAGMA journal_mode = WAL;"
  "PRAGMA synchronous = NORMAL;"
  "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
  "INSERT OR IGNORE INTO meta VALUES ('resourceVersion', 0);"
  "CREATE TABLE IF NOT EXISTS objects ("
  "  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,"
  "  uid TEXT NOT NULL UNIQUE, resource_version INTEGER NOT NULL, body TEXT NOT NULL,"
  /* What the control loop reads of every pod, workload and service each
   * round (store_list_meta), taken from the body once, as it is written,
   * instead of parsing every body each round (4000 at 1000 services). */
  "  meta_created GENERATED ALWAYS AS (" META_CREATED_SQL ") STORED,"
  "  meta_replicas GENERATED ALWAYS AS (" META_REPLICAS_SQL ") STORED,"
  "  meta_type GENERATED ALWAYS AS (" META_TYPE_SQL ") STORED,"
  "  meta_owners GENERATED ALWAYS AS"
  "    (" META_OWNERS_SQL ") STORED,"
  "  PRIMARY KEY (kind, namespace, name));"
  /* What changed since a version (store_changed_since) and the kinds'
   * counts and newest versions (store_kinds_version), which the control
   * loop asks every round: found in this index, not by reading every row
   * (and past its body) of the kinds. */
  "CREATE INDEX IF NOT EXISTS objects_by_version ON objects (kind, resource_version);"
  /* And what it lists of them (store_list_meta, store_list_index), with
   * the index alone: the meta_ columns come after the body in a row, so
   * reading them from the table walks each body's overflow pages (12 ms
   * a round for 2000 pods with the loop's small cache, against 2 ms). */
  "CREATE INDEX IF NOT EXISTS objects_meta ON objects"
  "  (kind, namespace, name, uid, resource_version, meta_created, meta_replicas, meta_type, meta_owners);"
  /* Each kind's count and newest version (store_kinds_version), kept by
   * the writes themselves: every node's kube-proxy asks for them on each
   * commit, and counting a kind's rows in the index each time cost the
   * three of them 70 ms of CPU per change at 1000 services, on the CPUs
   * the control loop was applying that change with. A put replaces its
   * row: with recursive triggers (every connection sets them) the replace's
   * delete is counted too, so a put leaves the count as it was. */
  "CREATE TABLE IF NOT EXISTS kinds (kind TEXT PRIMARY KEY, count INTEGER NOT NULL, newest INTEGER NOT NULL)"
  "  WITHOUT ROWID;"
  "CREATE TRIGGER IF NOT EXISTS kinds_insert AFTER INSERT ON objects BEGIN"
  "  INSERT INTO kinds VALUES (NEW.kind, 1, NEW.resource_version)"
  "    ON CONFLICT (kind) DO UPDATE SET count = count + 1, newest = max(newest, excluded.newest);"
  "END;"
  "CREATE TRIGGER IF NOT EXISTS kinds_delete AFTER DELETE ON objects BEGIN"
  "  UPDATE kinds SET count = count - 1 WHERE kind = OLD.kind;"
  "END;";

static int
db_error (struct store *s, nslab_error_t *err, const char *what)
{
  return nslab_error (err, 0, "%s: %s: %s", s->path, what, sqlite3_errmsg (s->db));
}

static int
exec_sql (struct store *s, const char *sql, const char *what, nslab_error_t *err)
{
  char *msg = NULL;
  if (sqlite3_exec (s->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      nslab_error (err, 0, "%s: %s: %s", s->path, what, msg ? msg : sqlite3_errmsg (s->db));
      sqlite3_free (msg);
      return -1;
    }
  return 0;
}

/* The store's files (the database and its WAL and shared-memory files) may
 * only be root's regular files: a link or someone else's file is refused
 * before SQLite opens anything. */
static int
check_files (int dir_fd, const char *dir, nslab_error_t *err)
{
  static const char *const names[] = { STORE_FILE, STORE_FILE "-wal", STORE_FILE "-shm" };
  for (size_t i = 0; i < ARRAY_SIZE (names); i++)
    {
      struct stat st;
      if (fstatat (dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT && i > 0)
            continue;
          return nslab_error (err, errno, "%s/%s", dir, names[i]);
        }
      if (!S_ISREG (st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
        return nslab_error (err, 0, "%s/%s is not a regular file owned by root: left as it is", dir, names[i]);
    }
  return 0;
}

/* SQLite opens by path: the lab dir fd, already checked, names the directory
 * through /proc so a rename of the path in between cannot redirect us. */
static int
open_at (int dir_fd, const char *dir, bool create, struct store **out, nslab_error_t *err)
{
  if (check_files (dir_fd, dir, err) < 0)
    return -1;
  struct store *s = xcalloc (1, sizeof *s);
  s->path = xasprintf ("%s/%s", dir, STORE_FILE);
  cleanup_free char *path = xasprintf ("/proc/self/fd/%d/%s", dir_fd, STORE_FILE);
  if (sqlite3_open_v2 (path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK
      || sqlite3_busy_timeout (s->db, STORE_BUSY_MS) != SQLITE_OK)
    {
      db_error (s, err, "open");
      store_close (s);
      return -1;
    }
  /* The schema is written once, by up: a reader (status, exec, a command)
   * must not need the write lock, which the control loop may hold (or a
   * stopped loop keep). WAL mode stays with the file. */
  if (exec_sql (s, "PRAGMA recursive_triggers = ON;", "set up", err) < 0
      || exec_sql (s, create ? schema : "PRAGMA synchronous = NORMAL;", "set up", err) < 0)
    {
      store_close (s);
      return -1;
    }
  sqlite3_stmt *st = NULL;
  s->meta_columns = sqlite3_prepare_v2 (s->db, "SELECT meta_created, meta_replicas, meta_type, meta_owners FROM objects",
                                        -1, &st, NULL)
                    == SQLITE_OK;
  sqlite3_finalize (st);
  st = NULL;
  s->meta_index = s->meta_columns
                  && sqlite3_prepare_v2 (s->db, "SELECT 1 FROM objects " META_INDEXED_BY, -1, &st, NULL) == SQLITE_OK;
  sqlite3_finalize (st);
  st = NULL;
  s->kinds_table = sqlite3_prepare_v2 (s->db, "SELECT count, newest FROM kinds", -1, &st, NULL) == SQLITE_OK;
  sqlite3_finalize (st);
  *out = s;
  return 0;
}

void
store_close (struct store *s)
{
  if (s == NULL)
    return;
  sqlite3_close (s->db);
  free (s->path);
  free (s);
}

int
store_open (const char *lab, struct store **out, nslab_error_t *err)
{
  int fd = state_open_lab_file (lab, STORE_FILE, err);
  if (fd == -2)
    return nslab_error (err, 0, "lab %s has no store (%s/%s/%s): its up did not get that far; nslab down %s", lab,
                        state_root (), lab, STORE_FILE, lab);
  if (fd < 0)
    return -1;
  close (fd);
  int dir_fd = state_open_lab_dirfd (lab, err);
  if (dir_fd < 0)
    return -1;
  cleanup_free char *dir = xasprintf ("%s/%s", state_root (), lab);
  int rc = open_at (dir_fd, dir, false, out, err);
  /* SQLite keeps its own descriptors; the directory's is no longer needed. */
  close (dir_fd);
  return rc;
}

int
store_limit_cache (struct store *s, int kib, nslab_error_t *err)
{
  char sql[96];
  snprintf (sql, sizeof sql, "PRAGMA cache_size = -%d; PRAGMA mmap_size = 0;", kib);
  if (exec_sql (s, sql, "limit the page cache", err) < 0)
    return -1;
  sqlite3_db_release_memory (s->db);
  return 0;
}

static const char *
member (const json_t *obj, const char *a, const char *b)
{
  const json_t *v = json_object_get (obj, a);
  return json_string_value (b ? json_object_get (v, b) : v);
}

static int
next_version (struct store *s, sqlite3_int64 *rv, nslab_error_t *err)
{
  uint64_t v;
  if (exec_sql (s, "UPDATE meta SET value = value + 1 WHERE key = 'resourceVersion'", "next resourceVersion", err) < 0
      || store_resource_version (s, &v, err) < 0)
    return -1;
  *rv = (sqlite3_int64) v;
  return 0;
}

/* The put, inside a transaction the caller holds. */
static int
put_locked (struct store *s, json_t *obj, nslab_error_t *err)
{
  const char *kind = member (obj, "kind", NULL), *name = member (obj, "metadata", "name");
  const char *ns = member (obj, "metadata", "namespace");
  json_t *meta = json_object_get (obj, "metadata");
  if (kind == NULL || name == NULL || !json_is_object (meta))
    return nslab_error (err, EINVAL, "%s: an object needs kind and metadata.name", s->path);
  /* A replaced object keeps the identity it was created with. */
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (s->db, "SELECT uid, body FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3", -1,
                          &st, NULL) != SQLITE_OK)
    return db_error (s, err, "look up");
  sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, ns ? ns : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, name, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  bool same = false;
  if (r == SQLITE_ROW)
    {
      json_t *old = json_loads ((const char *) sqlite3_column_text (st, 1), 0, NULL);
      json_object_set_new (meta, "uid", json_string ((const char *) sqlite3_column_text (st, 0)));
      const char *created = member (old, "metadata", "creationTimestamp");
      if (created)
        json_object_set_new (meta, "creationTimestamp", json_string (created));
      /* An update that changes nothing keeps the object's
       * resourceVersion, as the apiserver's does: watchers see no event. */
      const char *old_rv = member (old, "metadata", "resourceVersion");
      if (old_rv)
        {
          json_object_set_new (meta, "resourceVersion", json_string (old_rv));
          same = json_equal (old, obj);
        }
      json_decref (old);
    }
  sqlite3_finalize (st);
  if (same)
    return 0;
  sqlite3_int64 rv;
  if (next_version (s, &rv, err) < 0)
    return -1;
  if (r != SQLITE_ROW && r != SQLITE_DONE)
    return db_error (s, err, "look up");
  if (member (obj, "metadata", "uid") == NULL)
    {
      char uid[37];
      resources_new_uid (uid);
      json_object_set_new (meta, "uid", json_string (uid));
    }
  if (member (obj, "metadata", "creationTimestamp") == NULL)
    {
      char created[32];
      time_format_rfc3339 (time (NULL), created);
      json_object_set_new (meta, "creationTimestamp", json_string (created));
    }
  char rvs[32];
  snprintf (rvs, sizeof rvs, "%lld", (long long) rv);
  json_object_set_new (meta, "resourceVersion", json_string (rvs));
  size_t body_len = 0;
  cleanup_free char *body = json_text (obj, JSON_COMPACT | JSON_PRESERVE_ORDER, &body_len);
  if (sqlite3_prepare_v2 (s->db,
                          "INSERT OR REPLACE INTO objects (kind, namespace, name, uid, resource_version, body)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                          -1, &st, NULL) != SQLITE_OK)
    return db_error (s, err, "store");
  sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, ns ? ns : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, member (obj, "metadata", "uid"), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 5, rv);
  sqlite3_bind_text (st, 6, body, (int) body_len, SQLITE_STATIC);
  r = sqlite3_step (st);
  sqlite3_finalize (st);
  if (r != SQLITE_DONE)
    return db_error (s, err, "store");
  return 0;
}

/* A write transaction: IMMEDIATE takes the write lock at once, so two
 * writers serialise here (waiting up to STORE_BUSY_MS) instead of failing
 * half-way. Every write is in one: a bare statement would be its own
 * deferred transaction. */
static int
begin (struct store *s, nslab_error_t *err)
{
  if (s->txn == TXN_WRITE)
    return 0;
  if (s->txn == TXN_READ)
    return nslab_error (err, EINVAL, "%s: a write inside a read transaction (store_read_begin): it could not "
                        "wait for the write lock", s->path);
  return exec_sql (s, "BEGIN IMMEDIATE", "begin", err);
}

static int
finish (struct store *s, int rc, nslab_error_t *err)
{
  if (s->txn == TXN_WRITE)
    return rc;
  if (rc == 0)
    return exec_sql (s, "COMMIT", "commit", err);
  nslab_error_t e = NULL;
  exec_sql (s, "ROLLBACK", "rollback", &e);
  nslab_error_free (&e);
  return -1;
}

int
store_put (struct store *s, json_t *obj, nslab_error_t *err)
{
  if (begin (s, err) < 0)
    return -1;
  return finish (s, put_locked (s, obj, err), err);
}

int
store_create (struct state_writer *w, const struct lab_objects *o, nslab_error_t *err)
{
  int dir_fd = state_writer_dirfd (w);
  int fd = openat (dir_fd, STORE_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return nslab_error (err, errno, "create %s/%s", state_writer_dir (w), STORE_FILE);
  close (fd);
  struct store *s = NULL;
  if (open_at (dir_fd, state_writer_dir (w), true, &s, err) < 0)
    return -1;
  json_t *items = resources_from_objects (o, time (NULL));
  size_t k;
  json_t *obj;
  json_array_foreach (items, k, obj)
    if (strcmp (json_string_value (json_object_get (obj, "kind")), "Pod") == 0)
      pod_template_set_container_ids (obj, o->lab);
  /* One transaction: readers see the whole cluster or nothing. */
  int rc = begin (s, err);
  if (rc == 0)
    {
      for (size_t i = 0; rc == 0 && i < json_array_size (items); i++)
        rc = put_locked (s, json_array_get (items, i), err);
      rc = finish (s, rc, err);
    }
  json_decref (items);
  store_close (s);
  return rc;
}

int
store_resource_version (struct store *s, uint64_t *out, nslab_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2 (s->db, "SELECT value FROM meta WHERE key = 'resourceVersion'", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (st);
  if (rc != SQLITE_ROW)
    {
      sqlite3_finalize (st);
      return rc == SQLITE_DONE ? nslab_error (err, 0, "%s: no resourceVersion", s->path)
                               : db_error (s, err, "read resourceVersion");
    }
  *out = (uint64_t) sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return 0;
}

int
store_data_version (struct store *s, uint64_t *out, nslab_error_t *err)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (s->db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK || sqlite3_step (st) != SQLITE_ROW)
    {
      sqlite3_finalize (st);
      return db_error (s, err, "read the data version");
    }
  *out = (uint64_t) sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return 0;
}

/* count(*) and max(resource_version) of the objects whose kind is one of
 * KINDS (NULLs match nothing), or with NOT_IN of every other kind. A put
 * gives its object the store's newest version, so it raises the maximum; a
 * delete lowers the count: the pair changes on every write of those kinds. */
static int
kinds_version (struct store *s, bool not_in, const char *const kinds[4], struct store_kinds_version *out,
               nslab_error_t *err)
{
  sqlite3_stmt *st = NULL;
  /* A store made before the kinds table counts its rows. */
  static const char *const sql[2][2] = {
    { "SELECT count(*), coalesce(max(resource_version), 0) FROM objects WHERE kind IN (?1, ?2, ?3, ?4)",
      "SELECT count(*), coalesce(max(resource_version), 0) FROM objects WHERE kind NOT IN (?1, ?2, ?3, ?4)" },
    { "SELECT coalesce(sum(count), 0), coalesce(max(newest), 0) FROM kinds WHERE kind IN (?1, ?2, ?3, ?4)",
      "SELECT coalesce(sum(count), 0), coalesce(max(newest), 0) FROM kinds WHERE kind NOT IN (?1, ?2, ?3, ?4)" },
  };
  bool ok = sqlite3_prepare_v2 (s->db, sql[s->kinds_table][not_in], -1, &st, NULL) == SQLITE_OK;
  for (int i = 0; ok && i < 4; i++)
    ok = sqlite3_bind_text (st, i + 1, kinds[i] ? kinds[i] : "", -1, SQLITE_STATIC) == SQLITE_OK;
  if (!ok || sqlite3_step (st) != SQLITE_ROW)
    {
      sqlite3_finalize (st);
      return db_error (s, err, "read the version of the objects");
    }
  out->count = (uint64_t) sqlite3_column_int64 (st, 0);
  out->newest = (uint64_t) sqlite3_column_int64 (st, 1);
  sqlite3_finalize (st);
  return 0;
}

int
store_kinds_version (struct store *s, const char *kind1, const char *kind2, const char *kind3,
                     struct store_kinds_version *out, nslab_error_t *err)
{
  return kinds_version (s, false, (const char *const[4]) { kind1, kind2, kind3, NULL }, out, err);
}

int
store_kinds_version_except (struct store *s, const char *const except[4], struct store_kinds_version *out,
                            nslab_error_t *err)
{
  return kinds_version (s, true, except, out, err);
}

int
store_changed_since (struct store *s, uint64_t rv, const char *kind1, const char *kind2, const char *kind3,
                     json_t **out, nslab_error_t *err)
{
  sqlite3_stmt *st = NULL;
  *out = NULL;
  if (sqlite3_prepare_v2 (s->db,
                          "SELECT kind, namespace, name FROM objects WHERE kind IN (?1, ?2, ?3) "
                          "AND resource_version > ?4",
                          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (s, err, "read");
  sqlite3_bind_text (st, 1, kind1, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, kind2 ? kind2 : kind1, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, kind3 ? kind3 : kind1, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, (sqlite3_int64) rv);
  json_t *items = json_array ();
  int r;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    json_array_append_new (items, json_pack ("{s:s, s:{s:s, s:s}}", "kind", (const char *) sqlite3_column_text (st, 0),
                                             "metadata", "namespace", (const char *) sqlite3_column_text (st, 1),
                                             "name", (const char *) sqlite3_column_text (st, 2)));
  sqlite3_finalize (st);
  if (r != SQLITE_DONE)
    {
      json_decref (items);
      return db_error (s, err, "read");
    }
  *out = items;
  return 0;
}

/* Rows of a SELECT of bodies, as a JSON array; EACH (if any) sees every
 * object as soon as it is parsed. */
static int
collect_each (struct store *s, sqlite3_stmt *st, store_each_fn *each, void *ctx, json_t **out, nslab_error_t *err)
{
  json_t *items = json_array ();
  int r;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      json_error_t jerr;
      json_t *obj = json_loads ((const char *) sqlite3_column_text (st, 0), 0, &jerr);
      if (obj == NULL)
        {
          json_decref (items);
          return nslab_error (err, 0, "%s: a stored object is not JSON: %s", s->path, jerr.text);
        }
      if (each)
        each (obj, ctx);
      json_array_append_new (items, obj);
    }
  if (r != SQLITE_DONE)
    {
      json_decref (items);
      return db_error (s, err, "read");
    }
  *out = items;
  return 0;
}

static int
collect (struct store *s, sqlite3_stmt *st, json_t **out, nslab_error_t *err)
{
  return collect_each (s, st, NULL, NULL, out, err);
}

int
store_get (struct store *s, const char *kind, const char *ns, const char *name, json_t **out, nslab_error_t *err)
{
  sqlite3_stmt *st = NULL;
  *out = NULL;
  if (sqlite3_prepare_v2 (s->db, "SELECT body FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3", -1, &st,
                          NULL) != SQLITE_OK)
    return db_error (s, err, "read");
  sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, ns ? ns : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, name, -1, SQLITE_STATIC);
  json_t *items = NULL;
  int rc = collect (s, st, &items, err);
  sqlite3_finalize (st);
  if (rc < 0)
    return -1;
  if (json_array_size (items))
    *out = json_incref (json_array_get (items, 0));
  json_decref (items);
  return 0;
}

/* A TEXT column's bytes appended to TEXT with a NUL; its offset there, or
 * NO_TEXT for any other value (the text may move as it grows: offsets,
 * not pointers, until every row is read). */
#define NO_TEXT SIZE_MAX

static size_t
keep_text (struct strbuf *text, sqlite3_stmt *st, int col)
{
  if (sqlite3_column_type (st, col) != SQLITE_TEXT)
    return NO_TEXT;
  size_t at = text->len;
  sb_addn (text, (const char *) sqlite3_column_text (st, col), (size_t) sqlite3_column_bytes (st, col));
  sb_addn (text, "", 1);
  return at;
}

static const char *
text_at (const char *text, size_t at)
{
  return at == NO_TEXT ? NULL : text + at;
}

/* The rows of ST (namespace, name, uid, creationTimestamp, replicas, type,
 * ownerReferences, resourceVersion) as stored_metas: one array and one
 * block of text. */
static int
read_metas (struct store *s, sqlite3_stmt *st, struct stored_metas *out, nslab_error_t *err)
{
  enum { NS, NAME, UID, CREATED, TYPE, OWNERS, N_TEXTS };
  static const int cols[N_TEXTS] = { [NS] = 0, [NAME] = 1, [UID] = 2, [CREATED] = 3, [TYPE] = 5, [OWNERS] = 6 };
  struct stored_meta *v = NULL;
  size_t n = 0;
  size_t (*at)[N_TEXTS] = NULL, n_at = 0;
  struct strbuf text;
  sb_init (&text);
  int r;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      struct stored_meta *m = VEC_PUSH (v, n);
      size_t *a = *VEC_PUSH (at, n_at);
      for (int t = 0; t < N_TEXTS; t++)
        a[t] = keep_text (&text, st, cols[t]);
      m->has_replicas = sqlite3_column_type (st, 4) == SQLITE_INTEGER;
      m->replicas = m->has_replicas ? sqlite3_column_int64 (st, 4) : 0;
      m->resource_version = (uint64_t) sqlite3_column_int64 (st, 7);
    }
  if (r != SQLITE_DONE)
    {
      free (v);
      free (at);
      sb_free (&text);
      return db_error (s, err, "read");
    }
  out->text = sb_steal (&text);
  for (size_t i = 0; i < n; i++)
    {
      struct stored_meta *m = &v[i];
      m->ns = text_at (out->text, at[i][NS]) ?: "";
      m->name = text_at (out->text, at[i][NAME]) ?: "";
      m->uid = text_at (out->text, at[i][UID]);
      m->created = text_at (out->text, at[i][CREATED]);
      m->type = text_at (out->text, at[i][TYPE]);
      m->owners = text_at (out->text, at[i][OWNERS]);
    }
  free (at);
  out->v = v;
  out->n = n;
  return 0;
}

static int
list_metas (struct store *s, const char *kind, bool from_bodies, struct stored_metas *out, nslab_error_t *err)
{
#define METAS_WHERE " WHERE kind = ?1 ORDER BY namespace, name"
#define METAS_COLUMNS                                                                                                \
  "SELECT namespace, name, uid, meta_created, meta_replicas, meta_type, meta_owners, resource_version FROM objects"
  static const char sql_indexed[] = METAS_COLUMNS " " META_INDEXED_BY METAS_WHERE;
  static const char sql_columns[] = METAS_COLUMNS METAS_WHERE;
  static const char sql_bodies[] = "SELECT namespace, name, uid, " META_CREATED_SQL ", " META_REPLICAS_SQL
                                   ", " META_TYPE_SQL ", " META_OWNERS_SQL ", resource_version FROM objects" METAS_WHERE;
#undef METAS_WHERE
#undef METAS_COLUMNS
  memset (out, 0, sizeof *out);
  sqlite3_stmt *st = NULL;
  const char *sql = from_bodies ? sql_bodies : s->meta_index ? sql_indexed : sql_columns;
  if (sqlite3_prepare_v2 (s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_error (s, err, "read");
  sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
  int rc = read_metas (s, st, out, err);
  sqlite3_finalize (st);
  return rc;
}

int
store_list_meta (struct store *s, const char *kind, struct stored_metas *out, nslab_error_t *err)
{
  return list_metas (s, kind, !s->meta_columns, out, err);
}

int
store_list_meta_parsed (struct store *s, const char *kind, struct stored_metas *out, nslab_error_t *err)
{
  return list_metas (s, kind, true, out, err);
}

/* SQLite orders text by its bytes (the BINARY collation), as strcmp. */
static int
cmp_meta_key (const void *key, const void *elem)
{
  const struct stored_meta *k = key, *m = elem;
  int c = strcmp (k->ns, m->ns);
  return c ? c : strcmp (k->name, m->name);
}

const struct stored_meta *
stored_metas_get (const struct stored_metas *m, const char *ns, const char *name)
{
  if (m == NULL || m->n == 0)
    return NULL;
  struct stored_meta key = { .ns = ns ? ns : "", .name = name };
  return bsearch (&key, m->v, m->n, sizeof *m->v, cmp_meta_key);
}

void
stored_metas_free (struct stored_metas *m)
{
  free (m->v);
  free (m->text);
  memset (m, 0, sizeof *m);
}

int
store_list_index (struct store *s, const char *kind, json_t **out, nslab_error_t *err)
{
  sqlite3_stmt *st = NULL;
  /* Columns, not JSON: SQLite looks into a body only for a slice's service
   * label and (in a store without the meta_ columns) for whether a
   * ReplicaSet has an owner. */
#define INDEX_SELECT                                                                                                 \
  "SELECT namespace, name, uid, resource_version, CASE WHEN kind = 'EndpointSlice' THEN "                          \
  "json_extract(body, '$.metadata.labels.\"kubernetes.io/service-name\"') END, "
#define INDEX_WHERE "WHERE kind = ?1 ORDER BY namespace, name"
  static const char sql[] = INDEX_SELECT META_OWNERS_SQL " FROM objects " INDEX_WHERE;
  static const char sql_columns[] = INDEX_SELECT "meta_owners FROM objects " INDEX_WHERE;
  static const char sql_indexed[] = INDEX_SELECT "meta_owners FROM objects " META_INDEXED_BY " " INDEX_WHERE;
#undef INDEX_SELECT
#undef INDEX_WHERE
  if (sqlite3_prepare_v2 (s->db, s->meta_index ? sql_indexed : s->meta_columns ? sql_columns : sql, -1, &st, NULL)
      != SQLITE_OK)
    return db_error (s, err, "read");
  sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
  json_t *items = json_array ();
  int r;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      char rv[32];
      snprintf (rv, sizeof rv, "%lld", (long long) sqlite3_column_int64 (st, 3));
      json_t *meta = json_pack ("{s:s, s:s, s:s, s:s}", "namespace", (const char *) sqlite3_column_text (st, 0),
                                "name", (const char *) sqlite3_column_text (st, 1), "uid",
                                (const char *) sqlite3_column_text (st, 2), "resourceVersion", rv);
      if (sqlite3_column_type (st, 4) == SQLITE_TEXT)
        json_object_set_new (meta, "labels",
                             json_pack ("{s:s}", "kubernetes.io/service-name",
                                        (const char *) sqlite3_column_text (st, 4)));
      if (sqlite3_column_type (st, 5) != SQLITE_NULL)
        json_object_set_new (meta, "ownerReferences", json_array ());
      json_array_append_new (items, json_pack ("{s:s, s:o}", "kind", kind, "metadata", meta));
    }
  sqlite3_finalize (st);
  if (r != SQLITE_DONE)
    {
      json_decref (items);
      return db_error (s, err, "read");
    }
  *out = items;
  return 0;
}

int
store_list (struct store *s, const char *kind, const char *ns, json_t **out, nslab_error_t *err)
{
  return store_list_each (s, kind, ns, NULL, NULL, out, err);
}

int
store_list_each (struct store *s, const char *kind, const char *ns, store_each_fn *each, void *ctx, json_t **out,
                 nslab_error_t *err)
{
  sqlite3_stmt *st = NULL;
  const char *sql = ns ? "SELECT body FROM objects WHERE kind = ?1 AND namespace = ?2 ORDER BY namespace, name"
                       : "SELECT body FROM objects WHERE kind = ?1 ORDER BY namespace, name";
  if (sqlite3_prepare_v2 (s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_error (s, err, "read");
  sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
  if (ns)
    sqlite3_bind_text (st, 2, ns, -1, SQLITE_STATIC);
  int rc = collect_each (s, st, each, ctx, out, err);
  sqlite3_finalize (st);
  return rc;
}

int
store_list_prefix (struct store *s, const char *kind, const char *ns, const char *prefix, json_t **out,
                   nslab_error_t *err)
{
  /* A range of the primary key: [prefix, prefix with its last byte + 1). */
  size_t n = strlen (prefix);
  if (n == 0 || (unsigned char) prefix[n - 1] == 0xff)
    return store_list (s, kind, ns, out, err);
  cleanup_free char *upper = xstrdup (prefix);
  upper[n - 1]++;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (s->db,
                          "SELECT body FROM objects WHERE kind = ?1 AND namespace = ?2 AND name >= ?3 AND name < ?4 "
                          "ORDER BY namespace, name",
                          -1, &st, NULL) != SQLITE_OK)
    return db_error (s, err, "read");
  sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, ns ? ns : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, prefix, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, upper, -1, SQLITE_STATIC);
  int rc = collect (s, st, out, err);
  sqlite3_finalize (st);
  return rc;
}

static int meta_set_locked (struct store *s, const char *key, uint64_t value, nslab_error_t *err);

/* A deleted Deployment's rollout records go with it (docs/state.md: rollout/scen|prog|progat/NS/NAME, and
 * rollout/tpl|rev/NS/NAME-HASH of its ReplicaSets): one made again with the name starts at
 * revision 1, as a new object in Kubernetes has no history. HASH has no '-', so the records of
 * a Deployment named NAME-SOMETHING stay. */
static int
forget_rollout_locked (struct store *s, const char *ns, const char *name, nslab_error_t *err)
{
  cleanup_free char *scen = xasprintf ("rollout/scen/%s/%s", ns, name);
  cleanup_free char *prog = xasprintf ("rollout/prog/%s/%s", ns, name);
  cleanup_free char *prog_at = xasprintf ("rollout/progat/%s/%s", ns, name);
  cleanup_free char *rs_prefix = xasprintf ("%s/%s-", ns, name);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (s->db,
                          "DELETE FROM meta WHERE key IN (?1, ?4, ?5) OR (substr (key, 1, 12) IN ('rollout/tpl/', 'rollout/rev/')"
                          " AND substr (key, 13, ?3) = ?2 AND length (key) > 12 + ?3"
                          " AND instr (substr (key, 13 + ?3), '-') = 0)",
                          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (s, err, "write meta");
  sqlite3_bind_text (st, 1, scen, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, rs_prefix, -1, SQLITE_STATIC);
  sqlite3_bind_int (st, 3, (int) strlen (rs_prefix));
  sqlite3_bind_text (st, 4, prog, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 5, prog_at, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  sqlite3_finalize (st);
  return r == SQLITE_DONE ? 0 : db_error (s, err, "write meta");
}

int
store_delete (struct store *s, const char *kind, const char *ns, const char *name, nslab_error_t *err)
{
  if (begin (s, err) < 0)
    return -1;
  sqlite3_int64 rv;
  int rc = next_version (s, &rv, err);
  sqlite3_stmt *st = NULL;
  if (rc == 0 && sqlite3_prepare_v2 (s->db,
                                     "DELETE FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3 RETURNING uid",
                                     -1, &st, NULL) != SQLITE_OK)
    rc = db_error (s, err, "delete");
  cleanup_free char *uid = NULL;
  if (rc == 0)
    {
      sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 2, ns ? ns : "", -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, name, -1, SQLITE_STATIC);
      int r;
      while ((r = sqlite3_step (st)) == SQLITE_ROW)
        if (uid == NULL && sqlite3_column_text (st, 0) != NULL)
          uid = xstrdup ((const char *) sqlite3_column_text (st, 0));
      if (r != SQLITE_DONE)
        rc = db_error (s, err, "delete");
    }
  sqlite3_finalize (st);
  /* A pod's deletion is remembered with its version: the control loop's
   * round may have read the pod before, and must not write it back. Its
   * uid too, under the same prefix (forgotten with it): kubelet's Killing
   * event names the pod by it after it left the store. */
  if (rc == 0 && strcmp (kind, "Pod") == 0)
    {
      cleanup_free char *key = xasprintf ("deleted/Pod/%s/%s", ns ? ns : "", name);
      rc = meta_set_locked (s, key, (uint64_t) rv, err);
      cleanup_free char *ukey = uid ? xasprintf ("%s/%s", key, uid) : NULL;
      if (rc == 0 && ukey)
        rc = meta_set_locked (s, ukey, (uint64_t) rv, err);
    }
  if (rc == 0 && strcmp (kind, "Deployment") == 0)
    rc = forget_rollout_locked (s, ns ? ns : "", name, err);
  return finish (s, rc, err);
}

int
store_pod_deleted_after (struct store *s, const char *ns, const char *name, uint64_t rv, bool *out,
                         nslab_error_t *err)
{
  cleanup_free char *key = xasprintf ("deleted/Pod/%s/%s", ns ? ns : "", name);
  uint64_t at = 0;
  if (store_meta_get (s, key, &at, err) < 0)
    return -1;
  *out = at > rv;
  return 0;
}

int
store_deleted_pod_uids (struct store *s, json_t **out, nslab_error_t *err)
{
  static const char prefix[] = "deleted/Pod/";
  json_t *keys = NULL;
  if (store_meta_list_prefix (s, prefix, &keys, err) < 0)
    return -1;
  json_t *map = json_object ();
  const char *k;
  json_t *v;
  json_object_foreach (keys, k, v)
    {
      /* NS/NAME/UID: namespaces and names have no '/', so the uid follows
       * the second; a key with none is the deletion's version alone. */
      const char *ns_name = k + strlen (prefix);
      const char *slash = strchr (ns_name, '/');
      const char *uid = slash ? strchr (slash + 1, '/') : NULL;
      if (uid != NULL && uid[1] != '\0')
        json_object_setn_new (map, ns_name, (size_t) (uid - ns_name), json_string (uid + 1));
    }
  json_decref (keys);
  *out = map;
  return 0;
}

int
store_forget_pod_deletions (struct store *s, uint64_t rv, nslab_error_t *err)
{
  if (begin (s, err) < 0)
    return -1;
  sqlite3_stmt *st = NULL;
  /* '0' follows '/': the range is every key under "deleted/Pod/" */
  if (sqlite3_prepare_v2 (s->db, "DELETE FROM meta WHERE key >= 'deleted/Pod/' AND key < 'deleted/Pod0' AND value <= ?1",
                          -1, &st, NULL) != SQLITE_OK)
    return finish (s, db_error (s, err, "write meta"), err);
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) rv);
  int r = sqlite3_step (st);
  sqlite3_finalize (st);
  return finish (s, r == SQLITE_DONE ? 0 : db_error (s, err, "write meta"), err);
}

bool
store_in_write (const struct store *s)
{
  return s->txn == TXN_WRITE;
}

int
store_begin (struct store *s, nslab_error_t *err)
{
  if (s->txn != TXN_NONE)
    return nslab_error (err, EINVAL, "%s: begin: a transaction is open already", s->path);
  if (begin (s, err) < 0)
    return -1;
  s->txn = TXN_WRITE;
  return 0;
}

int
store_read_begin (struct store *s, nslab_error_t *err)
{
  if (s->txn != TXN_NONE)
    return nslab_error (err, EINVAL, "%s: begin read: a transaction is open already", s->path);
  if (exec_sql (s, "BEGIN DEFERRED", "begin", err) < 0)
    return -1;
  s->txn = TXN_READ;
  return 0;
}

int
store_read_end (struct store *s, nslab_error_t *err)
{
  s->txn = TXN_NONE;
  return exec_sql (s, "COMMIT", "end read", err);
}

int
store_list_kinds (struct store *s, size_t n, const char *const *kinds, json_t **outs, uint64_t *rv,
                  nslab_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    outs[i] = NULL;
  if (store_read_begin (s, err) < 0)
    return -1;
  int rc = rv ? store_resource_version (s, rv, err) : 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = store_list (s, kinds[i], NULL, &outs[i], err);
  /* A failed list already says what failed; the end of the transaction
     only speaks when everything before it went well. */
  nslab_error_t e2 = NULL;
  if (store_read_end (s, rc == 0 ? err : &e2) < 0)
    rc = -1;
  nslab_error_free (&e2);
  if (rc < 0)
    for (size_t i = 0; i < n; i++)
      {
        json_decref (outs[i]);
        outs[i] = NULL;
      }
  return rc;
}

int
store_end (struct store *s, int rc, nslab_error_t *err)
{
  s->txn = TXN_NONE;
  return finish (s, rc, err);
}

int
store_meta_get (struct store *s, const char *key, uint64_t *out, nslab_error_t *err)
{
  sqlite3_stmt *st = NULL;
  *out = 0;
  if (sqlite3_prepare_v2 (s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
    return db_error (s, err, "read meta");
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    *out = (uint64_t) sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  if (r != SQLITE_ROW && r != SQLITE_DONE)
    return db_error (s, err, "read meta");
  return 0;
}

static int
meta_set_locked (struct store *s, const char *key, uint64_t value, nslab_error_t *err)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (s->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", -1, &st, NULL)
      != SQLITE_OK)
    return db_error (s, err, "write meta");
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) value);
  int r = sqlite3_step (st);
  sqlite3_finalize (st);
  if (r != SQLITE_DONE)
    return db_error (s, err, "write meta");
  return 0;
}

int
store_meta_set (struct store *s, const char *key, uint64_t value, nslab_error_t *err)
{
  if (begin (s, err) < 0)
    return -1;
  return finish (s, meta_set_locked (s, key, value, err), err);
}

int
store_meta_delete (struct store *s, const char *key, nslab_error_t *err)
{
  if (begin (s, err) < 0)
    return -1;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (s->db, "DELETE FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
    return finish (s, db_error (s, err, "write meta"), err);
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  int r = sqlite3_step (st);
  sqlite3_finalize (st);
  return finish (s, r == SQLITE_DONE ? 0 : db_error (s, err, "write meta"), err);
}

int
store_meta_list_prefix (struct store *s, const char *prefix, json_t **out, nslab_error_t *err)
{
  *out = NULL;
  sqlite3_stmt *st = NULL;
  /* substr, not LIKE: '_' and '%' in PREFIX are plain characters */
  if (sqlite3_prepare_v2 (s->db, "SELECT key, value FROM meta WHERE key >= ?1 AND substr (key, 1, ?2) = ?1", -1, &st,
                          NULL)
      != SQLITE_OK)
    return db_error (s, err, "read meta");
  sqlite3_bind_text (st, 1, prefix, -1, SQLITE_STATIC);
  sqlite3_bind_int (st, 2, (int) strlen (prefix));
  json_t *o = json_object ();
  int r;
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    json_object_set_new (o, (const char *) sqlite3_column_text (st, 0), json_integer (sqlite3_column_int64 (st, 1)));
  sqlite3_finalize (st);
  if (r != SQLITE_DONE)
    {
      json_decref (o);
      return db_error (s, err, "read meta");
    }
  *out = o;
  return 0;
}

int
store_touch (struct store *s, uint64_t *rv, nslab_error_t *err)
{
  if (begin (s, err) < 0)
    return -1;
  sqlite3_int64 v = 0;
  int rc = finish (s, next_version (s, &v, err), err);
  if (rc == 0)
    *rv = (uint64_t) v;
  return rc;
}
