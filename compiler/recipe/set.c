/* A command-line override, `--set KEY.PATH=VALUE`: the value is read as
 * YAML and the path turned into the tree a file would give
 * ({a: {b: value}}), which goes through the loader's checks (schema_apply),
 * so the file and the command line accept exactly the same things. */
#include <stdio.h>
#include <string.h>

#include "recipe_io.h"
#include "schema.h"

/* "a.b.c" and a value become {a: {b: {c: value}}}; NULL (reported) if a
 * part of the path is empty. */
static YNode *path_tree(ErrorSink *s, const char *path, YNode *value) {
  const char *dot = strrchr(path, '.');
  const char *last = dot ? dot + 1 : path;
  if (!*last) {
    sink_error(s, (SrcLoc){0}, "empty key in '%s'", path);
    return NULL;
  }
  YNode *m = yaml_mapping(s->a);
  yaml_add_pair(s->a, m, yaml_scalar(s->a, arena_strdup(s->a, last)), value);
  if (!dot) return m;
  return path_tree(s, arena_strndup(s->a, path, (size_t)(dot - path)), m);
}

static const char *trim(Arena *a, const char *s, size_t n) {
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  return arena_strndup(a, s, n);
}

/* The key path of an override does not go through libyaml, which checks a
 * file's text: it must be what a YAML file could hold (well-formed UTF-8,
 * no control characters), or --emit=recipe would write a file that cannot
 * be read back. */
static bool key_text_ok(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    int more = c < 0x80              ? 0
               : (c & 0xE0) == 0xC0 ? 1
               : (c & 0xF0) == 0xE0 ? 2
               : (c & 0xF8) == 0xF0 ? 3
                                    : -1;
    if (more < 0 || c < 0x20 || c == 0x7F || c == 0xC0 || c == 0xC1 || c > 0xF4) return false;
    unsigned cp = more ? c & (0x3Fu >> more) : c;
    for (int i = 1; i <= more; i++) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (p[i] & 0x3Fu);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += 1 + more;
  }
  return true;
}

bool recipe_set(Recipe *r, Arena *a, const char *assignment, char *err, size_t errlen) {
  if (errlen) err[0] = 0;
  ErrorSink s = {.a = a, .err = err, .errlen = errlen};
  const char *eq = strchr(assignment, '=');
  if (!eq) {
    sink_error(&s, (SrcLoc){0}, "expected key=value (such as optimizer.lr=0.05), got '%s'",
               yaml_shown(a, assignment));
    return false;
  }
  const char *path = trim(a, assignment, (size_t)(eq - assignment));
  if (!key_text_ok(path)) {
    sink_error(&s, (SrcLoc){0}, "the key '%s' is not UTF-8 text without control characters",
               yaml_shown(a, path));
    return false;
  }
  bool failed;
  YNode *root = yaml_read(&s, NULL, eq + 1, strlen(eq + 1), &failed);
  if (failed) {
    if (errlen) {
      char *msg = arena_strdup(a, err);
      snprintf(err, errlen, "bad value for '%s': %s", yaml_shown(a, path), msg);
    }
    return false;
  }
  YNode *value = root ? root : yaml_scalar(a, "");
  YNode *tree = path_tree(&s, path, value);
  if (!tree) return false;
  /* Work on a copy so a rejected override leaves r as it was. */
  Recipe tmp = *r;
  if (r->nlayers) {
    size_t bytes = (size_t)layers_capacity(r->nlayers) * sizeof(RecipeLayer);
    tmp.layers = arena_alloc(a, bytes);
    memcpy(tmp.layers, r->layers, (size_t)r->nlayers * sizeof(RecipeLayer));
  }
  schema_apply(&s, tree, &tmp);
  if (s.errors) return false;
  *r = tmp;
  return true;
}
