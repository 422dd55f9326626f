/* [images]: which built-in app a container's image runs when the lab's API
 * makes its pod (scenario.h struct image_def, scenario_image_app). */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scenario/decode.h"

#define MAX_IMAGES 1000

/* What a repository may be written as here: path components of a-z, 0-9,
 * '.', '_' and '-', each starting and ending with a letter or digit (the
 * distribution reference grammar's, lower case as every key here). A tag,
 * a digest or a registry's :port would need ':', which an INI key cannot
 * hold, so entries name repositories only. */
static bool
lower_alnum (char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool
image_name_valid (const char *s)
{
  if (*s == '\0' || strlen (s) > 255)
    return false;
  bool start = true;
  char prev = '\0';
  for (const char *p = s; *p; prev = *p++)
    {
      bool alnum = lower_alnum (*p);
      if (*p == '/')
        {
          if (start || !lower_alnum (prev))
            return false;
          start = true;
          continue;
        }
      if (!alnum && *p != '.' && *p != '_' && *p != '-')
        return false;
      if (start && !alnum)
        return false;
      start = false;
    }
  return lower_alnum (prev);
}

int
decode_images (struct ctx *c, const struct merged_section *s)
{
  struct scenario *sc = c->sc;
  if (s->n_keys > MAX_IMAGES)
    return kerr (c, &s->keys[MAX_IMAGES], "too many images (at most %d)", MAX_IMAGES);
  for (size_t i = 0; i < s->n_keys; i++)
    {
      const struct merged_key *k = &s->keys[i];
      if (!image_name_valid (k->name))
        return kerr (c, k, "\"%s\" is not an image name (a repository without tag or digest: nginx, "
                           "registry.k8s.io/e2e-test-images/agnhost)", k->name);
      struct app_def app = { 0 };
      if (app_value (c, k, &app) < 0)
        return -1;
      if (app.kind == APP_COMMAND)
        return kerr (c, k, "an image maps to http:PORT or none (a command needs a workload's command key)");
      struct image_def *d = VEC_PUSH (sc->images, sc->n_images);
      d->image = xstrdup (k->name);
      d->app = app;
      d->origin.file = k->file;
      d->origin.section = xstrdup (k->section);
    }
  return 0;
}

static const struct image_def *
find_image (const struct scenario *sc, const char *name, size_t len)
{
  for (size_t i = 0; sc && i < sc->n_images; i++)
    if (strlen (sc->images[i].image) == len && strncmp (sc->images[i].image, name, len) == 0)
      return &sc->images[i];
  return NULL;
}

bool
scenario_image_app (const struct scenario *sc, const char *image, struct app_def *out)
{
  *out = (struct app_def) { .kind = APP_NONE };
  if (image == NULL)
    return false;
  /* The repository: the reference without @digest, and without the :tag
   * after its last '/' (a ':' before it is a registry's port). */
  size_t len = strcspn (image, "@");
  const char *slash = memrchr (image, '/', len);
  const char *last = slash ? slash + 1 : image;
  const char *colon = memchr (last, ':', len - (size_t) (last - image));
  if (colon)
    len = (size_t) (colon - image);
  size_t last_len = len - (size_t) (last - image);
  const struct image_def *d = find_image (sc, image, len);
  if (d == NULL)
    d = find_image (sc, last, last_len);
  if (d)
    {
      out->kind = d->app.kind;
      out->port = d->app.port;
      return true;
    }
  static const char *const builtin_http[] = { "nginx", "httpd" };
  for (size_t i = 0; i < ARRAY_SIZE (builtin_http); i++)
    if (last_len == strlen (builtin_http[i]) && strncmp (last, builtin_http[i], last_len) == 0)
      {
        *out = (struct app_def) { .kind = APP_HTTP, .port = 80 };
        return true;
      }
  return false;
}

/* The distribution reference grammar's domain: components of letters,
 * digits and inner '-', joined by '.', and an optional :port. */
static bool
domain_valid (const char *s, size_t n)
{
  const char *colon = memchr (s, ':', n);
  size_t host = colon ? (size_t) (colon - s) : n;
  if (colon)
    {
      size_t digits = n - host - 1;
      if (digits == 0 || digits > 5 || strspn (colon + 1, "0123456789") < digits)
        return false;
    }
  if (host == 0)
    return false;
  bool start = true;
  for (size_t i = 0; i < host; i++)
    {
      char ch = s[i];
      bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
      if (ch == '.')
        {
          if (start || s[i - 1] == '-')
            return false;
          start = true;
          continue;
        }
      if (!alnum && (ch != '-' || start))
        return false;
      start = false;
    }
  return !start && s[host - 1] != '-';
}

static bool
tag_valid (const char *t, size_t n)
{
  if (n == 0 || n > 128)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char ch = t[i];
      bool word = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
      if (!word && (i == 0 || (ch != '.' && ch != '-')))
        return false;
    }
  return true;
}

bool
image_ref_valid (const char *ref)
{
  const char *at = strchr (ref, '@');
  size_t len = at ? (size_t) (at - ref) : strlen (ref);
  if (at)
    {
      /* sha256 is the one algorithm containerd pulls by */
      const char *hex = at + 1;
      if (strncmp (hex, "sha256:", 7) != 0 || strlen (hex + 7) != 64 || strspn (hex + 7, "0123456789abcdef") != 64)
        return false;
    }
  const char *slash = memrchr (ref, '/', len);
  const char *last = slash ? slash + 1 : ref;
  const char *colon = memchr (last, ':', len - (size_t) (last - ref));
  if (colon && !tag_valid (colon + 1, len - (size_t) (colon + 1 - ref)))
    return false;
  size_t name_len = colon ? (size_t) (colon - ref) : len;
  if (name_len == 0 || name_len > 255)
    return false;
  const char *first_slash = memchr (ref, '/', name_len);
  size_t first = first_slash ? (size_t) (first_slash - ref) : 0;
  const char *path = ref;
  if (first_slash
      && (memchr (ref, '.', first) || memchr (ref, ':', first) || (first == 9 && strncmp (ref, "localhost", 9) == 0)))
    {
      if (!domain_valid (ref, first))
        return false;
      path = first_slash + 1;
    }
  cleanup_free char *p = xstrndup (path, name_len - (size_t) (path - ref));
  return image_name_valid (p);
}

char *
image_container_name (const char *ref)
{
  size_t len = strcspn (ref, "@");
  const char *slash = memrchr (ref, '/', len);
  const char *last = slash ? slash + 1 : ref;
  return xstrndup (last, strcspn (last, ":@"));
}
