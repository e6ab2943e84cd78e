/* Reading a recipe: the YAML tree (yaml_tree.c) is checked against the key
 * table (schema.c) one mapping at a time. Each key is looked up in the
 * table, its value checked by the row's type and range and stored at the
 * row's field, in the Recipe or in a layer override. Every bad key is
 * reported (up to the Diag's cap) and the valid ones are kept. --set goes
 * through the same schema_apply (set.c). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recipe_io.h"
#include "schema.h"
#include "suggest.h"

/* --- scalar syntax (YAML 1.2 core schema) --- */

/* A decimal integer. */
static bool int_syntax(const char *s) {
  if (*s == '+' || *s == '-') s++;
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

/* A float in finite form, integers included. */
static bool float_syntax(const char *s) {
  if (*s == '+' || *s == '-') s++;
  int digits = 0;
  while (*s >= '0' && *s <= '9') s++, digits++;
  if (*s == '.') {
    s++;
    while (*s >= '0' && *s <= '9') s++, digits++;
  }
  if (!digits) return false;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-') s++;
    if (*s < '0' || *s > '9') return false;
    while (*s >= '0' && *s <= '9') s++;
  }
  return *s == 0;
}

/* .inf, .nan and the spellings people try (nan, inf, Infinity). */
static bool nonfinite_syntax(const char *s) {
  if (*s == '+' || *s == '-') s++;
  if (*s == '.') s++;
  static const char *const words[] = {"inf", "nan", "infinity"};
  for (int i = 0; i < 3; i++)
    if (strcasecmp(s, words[i]) == 0) return true;
  return false;
}

/* --- values, one checker per ValueKind --- */

/* Where a value is checked: messages name `path` ("optimizer.lr") and
 * point at the value, or at `at` (its key) when there is no value. */
typedef struct Place {
  const char *path;
  SrcLoc at;
} Place;

static const char *shown(ErrorSink *s, const char *text) { return yaml_shown(s->a, text); }
static const char *what(ErrorSink *s, const YNode *v) { return yaml_what(s->a, v); }

/* Common checks of a scalar value; false (reported) if v is not one. */
static bool want_scalar(ErrorSink *s, const YNode *v, Place p, const char *kind) {
  if (v && v->kind == Y_BAD) return false;
  if (yaml_is_null(v)) {
    sink_error(s, v ? v->loc : p.at, "'%s' needs a value (%s)", p.path, kind);
    return false;
  }
  if (v->kind != Y_SCALAR) {
    sink_error(s, v->loc, "'%s' must be %s, got %s", p.path, kind, what(s, v));
    return false;
  }
  return true;
}

static bool want_integer(ErrorSink *s, const YNode *v, Place p) {
  if (!want_scalar(s, v, p, "an integer")) return false;
  if (!v->plain || !int_syntax(v->text)) {
    sink_error(s, v->loc, "'%s' must be an integer, got %s", p.path, what(s, v));
    return false;
  }
  return true;
}

static bool check_int(ErrorSink *s, const YNode *v, Place p, long long lo, long long hi,
                      int *out) {
  if (!want_integer(s, v, p)) return false;
  errno = 0;
  long long x = strtoll(v->text, NULL, 10);
  if (errno == ERANGE || x < lo || x > hi) {
    sink_error(s, v->loc, "'%s' must be between %lld and %lld, got %s", p.path, lo, hi,
               shown(s, v->text));
    return false;
  }
  *out = (int)x;
  return true;
}

static bool check_u64(ErrorSink *s, const YNode *v, Place p, uint64_t *out) {
  if (!want_integer(s, v, p)) return false;
  errno = 0;
  const char *t = v->text[0] == '+' ? v->text + 1 : v->text;
  unsigned long long x = strtoull(t, NULL, 10);
  if (t[0] == '-' || errno == ERANGE || x > UINT64_MAX) {
    sink_error(s, v->loc, "'%s' must be between 0 and %llu, got %s", p.path,
               (unsigned long long)UINT64_MAX, shown(s, v->text));
    return false;
  }
  *out = (uint64_t)x;
  return true;
}

static bool in_range(double x, Range r) {
  if (r.lo_open ? !(x > r.lo) : !(x >= r.lo)) return false;
  if (isinf(r.hi)) return true;
  return r.hi_open ? x < r.hi : x <= r.hi;
}

static const char *range_str(ErrorSink *s, Range r) {
  if (isinf(r.hi)) return arena_printf(s->a, "%s %g", r.lo_open ? ">" : ">=", r.lo);
  return arena_printf(s->a, "in %c%g, %g%c", r.lo_open ? '(' : '[', r.lo, r.hi,
                      r.hi_open ? ')' : ']');
}

/* The trainer computes in f32 and the C backend prints these numbers as f32
 * constants: a number the double range check accepts must still be itself
 * there, not a 0 (lr=1e-50 trains nothing), an infinity (1e39), or the
 * excluded end of its range (betas [0.9, 0.99999999999] become 1.0f and the
 * bias correction divides by 0). */
static bool check_as_f32(ErrorSink *s, const YNode *v, Place p, Range r, double x) {
  float f = (float)x;
  const char *became, *why;
  if (isinf(f)) {
    became = "infinity";
    why = "; the largest f32 is about 3.4e38";
  } else if (x != 0 && f == 0) {
    became = "0";
    why = "; the smallest f32 above 0 is about 1.4e-45";
  } else if (!in_range((double)f, r)) {
    became = arena_printf(s->a, "%.9g", (double)f);
    why = arena_printf(s->a, ", and it must be %s", range_str(s, r));
  } else {
    return true;
  }
  sink_error(s, v->loc, "'%s' is %s, which is %s in f32 (the precision the trainer computes "
                        "in)%s", p.path, shown(s, v->text), became, why);
  return false;
}

/* A VALUE_F32: a finite decimal within r whose f32 is too (check_as_f32),
 * kept as the double it reads as. */
static bool check_f32(ErrorSink *s, const YNode *v, Place p, Range r, double *out) {
  if (!want_scalar(s, v, p, "a number")) return false;
  if (v->plain && nonfinite_syntax(v->text)) {
    sink_error(s, v->loc, "'%s' must be a finite number, got %s", p.path, shown(s, v->text));
    return false;
  }
  if (!v->plain || !float_syntax(v->text)) {
    sink_error(s, v->loc, "'%s' must be a number, got %s", p.path, what(s, v));
    return false;
  }
  errno = 0;
  double x = strtod(v->text, NULL);
  if (errno == ERANGE && isinf(x)) {
    sink_error(s, v->loc, "'%s' is too large to be a number: %s", p.path, shown(s, v->text));
    return false;
  }
  if (!in_range(x, r)) {
    sink_error(s, v->loc, "'%s' must be %s, got %s", p.path, range_str(s, r), shown(s, v->text));
    return false;
  }
  return check_as_f32(s, v, p, r, x) && (*out = x, true);
}

/* [a, b]: both numbers are stored, or neither. */
static bool check_f32_pair(ErrorSink *s, const YNode *v, Place p, const RecipeKey *k,
                           double out[2]) {
  if (v && v->kind == Y_BAD) return false;
  if (yaml_is_null(v) || v->kind != Y_SEQUENCE || v->n != 2) {
    const char *got = v && v->kind == Y_SEQUENCE ? arena_printf(s->a, "a list of %d", v->n)
                                                 : what(s, v);
    sink_error(s, v ? v->loc : p.at, "'%s' must be a list of two numbers [%s, %s], got %s",
               p.path, k->names[0], k->names[1], got);
    return false;
  }
  double x[2];
  bool ok = true;
  for (int i = 0; i < 2; i++) {
    Place item = {arena_printf(s->a, "%s[%d]", p.path, i), v->loc};
    ok &= check_f32(s, v->items[i], item, k->range, &x[i]);
  }
  if (ok) out[0] = x[0], out[1] = x[1];
  return ok;
}

static bool check_bool(ErrorSink *s, const YNode *v, Place p, bool *out) {
  if (!want_scalar(s, v, p, "true or false")) return false;
  const char *t = v->text;
  if (v->plain && (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE"))) {
    *out = true;
    return true;
  }
  if (v->plain && (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE"))) {
    *out = false;
    return true;
  }
  sink_error(s, v->loc, "'%s' must be true or false, got %s", p.path, what(s, v));
  return false;
}

static const char *join(ErrorSink *s, const char *const *names, int n, const char *sep) {
  const char *out = "";
  for (int i = 0; i < n; i++) out = arena_printf(s->a, "%s%s%s", out, i ? sep : "", names[i]);
  return out;
}

/* One name of a fixed list, quoted or plain; *out is its index. */
static bool check_name(ErrorSink *s, const YNode *v, Place p, const char *const *names, int n,
                       int *out) {
  const char *list = join(s, names, n, ", ");
  if (!want_scalar(s, v, p, arena_printf(s->a, "one of %s", list))) return false;
  for (int i = 0; i < n; i++)
    if (strcmp(v->text, names[i]) == 0) {
      *out = i;
      return true;
    }
  sink_error(s, v->loc, "'%s' must be one of %s; got %s", p.path, list, what(s, v));
  return false;
}

/* A list of distinct names as a bit set; [] is the empty set. */
static bool check_name_set(ErrorSink *s, const YNode *v, Place p, const RecipeKey *k,
                           unsigned *out) {
  if (v && v->kind == Y_BAD) return false;
  if (yaml_is_null(v) || v->kind != Y_SEQUENCE) {
    sink_error(s, v ? v->loc : p.at, "'%s' must be a list such as [%s, %s], got %s", p.path,
               k->names[0], k->names[1], what(s, v));
    return false;
  }
  unsigned set = 0;
  bool ok = true;
  for (int i = 0; i < v->n && !sink_give_up(s); i++) {
    int t;
    Place item = {arena_printf(s->a, "%s[%d]", p.path, i), v->loc};
    if (!check_name(s, v->items[i], item, k->names, k->nnames, &t)) {
      ok = false;
    } else if (set & (1u << t)) {
      sink_error(s, v->items[i]->loc, "'%s' lists '%s' twice", p.path, k->names[t]);
      ok = false;
    } else {
      set |= 1u << t;
    }
  }
  if (ok) *out = set;
  return ok;
}

/* Checks v as key k's value and stores it at field; false (reported) if it
 * is not valid, and the field is then unchanged. */
static bool check_value(ErrorSink *s, const RecipeKey *k, const YNode *v, Place p, void *field) {
  switch (k->kind) {
  case VALUE_INT: return check_int(s, v, p, k->min, k->max, field);
  case VALUE_U64: return check_u64(s, v, p, field);
  case VALUE_F32: return check_f32(s, v, p, k->range, field);
  case VALUE_F32_PAIR: return check_f32_pair(s, v, p, k, field);
  case VALUE_BOOL: return check_bool(s, v, p, field);
  case VALUE_NAME: return check_name(s, v, p, k->names, k->nnames, field);
  case VALUE_NAME_SET: return check_name_set(s, v, p, k, field);
  case VALUE_LAYERS: break; /* a mapping of its own: check_layers */
  }
  return false;
}

/* --- keys --- */

/* The key of `keys` that `key` is probably a typo of: a known alias from
 * another framework, else the closest name, by at most 1 edit per 4
 * letters plus one, and never more than 3. */
static const char *suggest_key(const char *key, const char *const *keys, int n) {
  const char *alias = schema_alias(key);
  for (int i = 0; alias && i < n; i++)
    if (!strcmp(keys[i], alias)) return keys[i];
  int limit = 1 + (int)strlen(key) / 4;
  Suggest sg = suggest_start(key, limit < 3 ? limit : 3);
  for (int i = 0; i < n; i++) suggest_try(&sg, keys[i]);
  return sg.best;
}

/* The key of pair i of mapping m if it is one of `keys` and not a repeat;
 * else reports and returns NULL. seen[j] is the pair that first gave
 * keys[j] (-1 before). `path` names the mapping in messages (NULL: top). */
static const char *known_key(ErrorSink *s, const YNode *m, int i, const char *const *keys,
                             int n, int *seen, const char *path) {
  const YNode *k = m->pairs[i].key;
  if (k->kind == Y_BAD) return NULL;
  for (int j = 0; j < n; j++) {
    if (strcmp(k->text, keys[j]) != 0) continue;
    if (seen[j] >= 0) {
      sink_error(s, k->loc, "duplicate key '%s'", keys[j]);
      sink_note(s, m->pairs[seen[j]].key->loc, "'%s' first given here", keys[j]);
      return NULL;
    }
    seen[j] = i;
    return keys[j];
  }
  const char *near = suggest_key(k->text, keys, n);
  const char *in = path ? arena_printf(s->a, " in '%s'", path) : "";
  if (near)
    sink_error(s, k->loc, "unknown key '%s'%s; did you mean '%s'?", shown(s, k->text), in, near);
  else
    sink_error(s, k->loc, "unknown key '%s'%s; expected one of %s", shown(s, k->text), in,
               join(s, keys, n, ", "));
  return NULL;
}

/* A mapping value: false (reported, unless empty or already reported) if v
 * is not one. An empty value (`lac:`) counts as an empty mapping. */
static bool want_mapping(ErrorSink *s, const YNode *v, const char *path) {
  if (yaml_is_null(v) || v->kind == Y_BAD) return false;
  if (v->kind != Y_MAPPING) {
    sink_error(s, v->loc, "'%s' must be a mapping of keys to values, got %s", path, what(s, v));
    return false;
  }
  return true;
}

/* The dotted path of a key, for messages ("optimizer.lr"). */
static const char *sub(ErrorSink *s, const char *path, const char *key) {
  return path ? arena_printf(s->a, "%s.%s", path, key) : key;
}

/* --- mappings --- */

/* One mapping of the recipe: the top level (section NULL) or a section,
 * of the recipe itself or of a layer override. */
typedef struct Level {
  const char *section;
  RecipeLayer *layer; /* inside layers.NAME: only layer keys, stored here */
  const char *path;   /* for messages: NULL at the top, "optimizer", "layers.c1.lac" */
} Level;

static void check_layers(ErrorSink *s, const YNode *m, Recipe *r);

/* The key of another type of a typed section: "'optimizer.betas' is a
 * setting of the adam optimizer, not of sgd". */
static void wrong_type(ErrorSink *s, const TypedSection *ts, const RecipeKey *k, int type,
                       Place p) {
  const RecipeKey *tk = schema_key(ts->section, "type", false);
  const char *owners[32]; /* a type enum has a handful of names */
  int n = 0;
  for (int t = 0; t < tk->nnames && n < 32; t++)
    if (k->types & 1u << t) owners[n++] = tk->names[t];
  sink_error(s, p.at, "'%s' %s%s%s%s", p.path, ts->wrong_type_before,
             join(s, owners, n, " and "), ts->wrong_type_after, tk->names[type]);
}

/* Applies the type key of a typed section before the other keys, whatever
 * its position: it decides which keys are valid. False if it is given and
 * not valid: the other values cannot be judged then, only their keys. */
static bool apply_type(ErrorSink *s, const YNode *m, const TypedSection *ts, const char *path,
                       int type_pair, Recipe *r) {
  if (type_pair < 0) return true;
  const RecipeKey *tk = schema_key(ts->section, "type", false);
  const YPair *pr = &m->pairs[type_pair];
  int t;
  Place p = {sub(s, path, "type"), pr->key->loc};
  if (!check_name(s, pr->value, p, tk->names, tk->nnames, &t)) return false;
  ts->set_type(r, t);
  return true;
}

/* Checks each pair of mapping m as a key of level lv: unknown and repeated
 * keys are reported, sections are checked in turn, and each valid value is
 * stored at its key's field (in lv.layer with the key's bit, if set). */
static void check_mapping(ErrorSink *s, const YNode *m, Level lv, Recipe *r) {
  bool in_layer = lv.layer != NULL;
  const char *keys[SCHEMA_MAX_KEYS];
  int nkeys = schema_names(lv.section, in_layer, keys);
  int seen[SCHEMA_MAX_KEYS];
  for (int j = 0; j < SCHEMA_MAX_KEYS; j++) seen[j] = -1;

  const TypedSection *ts = in_layer ? NULL : schema_typed_section(lv.section);
  int type_pair = ts ? yaml_find_key(m, "type") : -1;
  bool typed = !ts || apply_type(s, m, ts, lv.path, type_pair, r);

  for (int i = 0; i < m->n && !sink_give_up(s); i++) {
    const char *name = known_key(s, m, i, keys, nkeys, seen, lv.path);
    if (!name || i == type_pair || !typed) continue;
    const YNode *v = m->pairs[i].value;
    Place p = {sub(s, lv.path, name), m->pairs[i].key->loc};
    if (!lv.section && schema_is_section(name)) {
      if (want_mapping(s, v, p.path)) check_mapping(s, v, (Level){name, lv.layer, p.path}, r);
      continue;
    }
    const RecipeKey *k = schema_key(lv.section, name, in_layer);
    if (k->kind == VALUE_LAYERS) {
      check_layers(s, v, r);
      continue;
    }
    if (ts && k->types) {
      int type = schema_type_of(ts, r);
      if (!(k->types & 1u << type)) {
        wrong_type(s, ts, k, type, p);
        continue;
      }
    }
    if (check_value(s, k, v, p, schema_field(k, r, lv.layer)) && in_layer)
      lv.layer->set |= k->layer_bit;
  }
}

/* --- per-layer overrides --- */

int layers_capacity(int n) {
  int cap = 8;
  while (cap < n) cap *= 2;
  return cap;
}

/* The override entry for `name`, appended if new. Arrays are grown by
 * doubling, so their capacity is always layers_capacity(nlayers). */
static RecipeLayer *layer_entry(ErrorSink *s, Recipe *r, const char *name, SrcLoc loc) {
  for (int i = 0; i < r->nlayers; i++)
    if (!strcmp(r->layers[i].name, name)) return &r->layers[i];
  int cap = layers_capacity(r->nlayers);
  if (!r->layers || r->nlayers == cap) {
    int ncap = r->layers ? 2 * cap : cap;
    r->layers = arena_grow(s->a, r->layers, (size_t)r->nlayers * sizeof(RecipeLayer),
                           (size_t)ncap * sizeof(RecipeLayer));
  }
  RecipeLayer *l = &r->layers[r->nlayers++];
  /* The location outlives the Diag that interned the file name. */
  if (loc.file) loc.file = arena_strdup(s->a, loc.file);
  *l = (RecipeLayer){.name = arena_strdup(s->a, name), .loc = loc};
  return l;
}

static bool repeated_layer(ErrorSink *s, const YNode *m, int i) {
  const YNode *k = m->pairs[i].key;
  for (int j = 0; j < i; j++) {
    const YNode *first = m->pairs[j].key;
    if (first->kind == Y_SCALAR && !strcmp(first->text, k->text)) {
      sink_error(s, k->loc, "duplicate layer '%s'", shown(s, k->text));
      sink_note(s, first->loc, "'%s' first given here", shown(s, k->text));
      return true;
    }
  }
  return false;
}

static void check_layers(ErrorSink *s, const YNode *m, Recipe *r) {
  if (!want_mapping(s, m, "layers")) return;
  if (m->n > RECIPE_MAX_LAYERS) {
    sink_error(s, m->loc, "'layers' has %d entries; at most %d are allowed", m->n,
               RECIPE_MAX_LAYERS);
    return;
  }
  for (int i = 0; i < m->n && !sink_give_up(s); i++) {
    const YNode *k = m->pairs[i].key;
    if (k->kind == Y_BAD) continue;
    if (!*k->text) {
      sink_error(s, k->loc, "a layer override needs the layer's name");
      continue;
    }
    if (repeated_layer(s, m, i)) continue;
    if (r->nlayers == RECIPE_MAX_LAYERS && !recipe_find_layer(r, k->text)) {
      sink_error(s, k->loc, "more than %d layer overrides", RECIPE_MAX_LAYERS);
      return;
    }
    RecipeLayer *l = layer_entry(s, r, k->text, k->loc);
    const char *path = arena_printf(s->a, "layers.%s", shown(s, k->text));
    const YNode *v = m->pairs[i].value;
    if (want_mapping(s, v, path)) check_mapping(s, v, (Level){NULL, l, path}, r);
  }
}

/* --- the whole recipe --- */

void schema_apply(ErrorSink *s, const YNode *root, Recipe *r) {
  if (yaml_is_null(root) || root->kind == Y_BAD) return; /* empty: the defaults */
  if (root->kind != Y_MAPPING) {
    sink_error(s, root->loc, "a recipe is a mapping of keys to values (such as 'batch: 32'), "
               "got %s", what(s, root));
    return;
  }
  check_mapping(s, root, (Level){NULL, NULL, NULL}, r);
}

bool recipe_load(Recipe *r, Arena *a, Diag *d, const char *file, const char *text,
                 size_t len) {
  recipe_defaults(r);
  if (!text) text = "", len = 0;
  ErrorSink s = {.a = a, .d = d};
  bool failed;
  YNode *root = yaml_read(&s, diag_add_source(d, file, text, len), text, len, &failed);
  if (!failed) schema_apply(&s, root, r);
  return s.errors == 0;
}
