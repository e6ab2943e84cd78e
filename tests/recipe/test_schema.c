/* The recipe's key table (compiler/recipe/schema.c): every key is
 * documented in docs/recipe.md (and every documented key exists), the
 * table is consistent (one row per key, sections contiguous, each layer
 * bit on one row), and every key, global or per layer, can be set from the
 * command line, is written, and reads back: the file, --set and the writer
 * all follow the one table. docs/recipe.md's path comes from meson in
 * $OCTO_RECIPE_DOC. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recipe/recipe_io.h"
#include "recipe/schema.h"

/* --- docs/recipe.md --- */

static char *read_doc(void) {
  const char *path = getenv("OCTO_RECIPE_DOC");
  ck_assert_msg(path != NULL, "OCTO_RECIPE_DOC is not set (run through meson test)");
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  ck_assert(fseek(f, 0, SEEK_END) == 0);
  long n = ftell(f);
  ck_assert(n >= 0);
  ck_assert(fseek(f, 0, SEEK_SET) == 0);
  char *text = malloc((size_t)n + 1);
  ck_assert(text != NULL);
  ck_assert(fread(text, 1, (size_t)n, f) == (size_t)n);
  fclose(f);
  text[n] = 0;
  return text;
}

/* The part of the doc under heading `### TITLE`, up to the next heading,
 * as a malloc'd string. */
static char *doc_part(const char *doc, const char *title) {
  char heading[128];
  snprintf(heading, sizeof heading, "\n### %s\n", title);
  const char *start = strstr(doc, heading);
  ck_assert_msg(start != NULL, "docs/recipe.md has no heading '### %s'", title);
  start += strlen(heading);
  const char *end = strstr(start, "\n#");
  size_t n = end ? (size_t)(end - start) : strlen(start);
  char *part = malloc(n + 1);
  ck_assert(part != NULL);
  memcpy(part, start, n);
  part[n] = 0;
  return part;
}

/* The heading that documents the keys of `section` (NULL: the top level). */
static const char *heading_of(const char *section, char *buf, size_t size) {
  if (!section) return "Top level";
  snprintf(buf, size, "`%s`", section);
  return buf;
}

/* The table line of key `name` in part, "| `name` | ...", as a malloc'd string. */
static char *doc_row(const char *part, const char *name) {
  char start[64];
  snprintf(start, sizeof start, "| `%s` |", name);
  const char *row = strstr(part, start);
  if (!row) return NULL;
  size_t n = strcspn(row, "\n");
  char *line = malloc(n + 1);
  ck_assert(line != NULL);
  memcpy(line, row, n);
  line[n] = 0;
  return line;
}

static bool has_word(const char *line, const char *word) {
  char quoted[64];
  snprintf(quoted, sizeof quoted, "`%s`", word);
  return strstr(line, quoted) != NULL;
}

START_TEST(every_key_is_documented_with_its_names_and_limits) {
  char *doc = read_doc();
  for (int i = 0; i < recipe_nkeys; i++) {
    const RecipeKey *k = &recipe_keys[i];
    char buf[64];
    const char *title = heading_of(k->section, buf, sizeof buf);
    char *part = doc_part(doc, title);
    char *row = doc_row(part, k->name);
    ck_assert_msg(row != NULL, "key '%s' is not in the table under '### %s' of docs/recipe.md",
                  k->name, title);
    if (k->kind == VALUE_NAME || k->kind == VALUE_NAME_SET)
      for (int j = 0; j < k->nnames; j++)
        ck_assert_msg(has_word(row, k->names[j]), "docs/recipe.md: '%s' does not list `%s`:\n%s",
                      k->name, k->names[j], row);
    if (k->kind == VALUE_INT) {
      char limits[64];
      snprintf(limits, sizeof limits, "%lld \xe2\x80\xa6 %lld", k->min, k->max); /* "1 … 65536" */
      ck_assert_msg(strstr(row, limits) != NULL, "docs/recipe.md: '%s' does not say %s:\n%s",
                    k->name, limits, row);
    }
    const TypedSection *ts = schema_typed_section(k->section);
    if (ts && k->types) {
      const RecipeKey *type = schema_key(k->section, "type", false);
      for (int t = 0; t < type->nnames; t++)
        if (k->types & 1u << t)
          ck_assert_msg(strstr(row, type->names[t]) != NULL,
                        "docs/recipe.md: '%s' does not say it is for %s:\n%s", k->name,
                        type->names[t], row);
    }
    free(row);
    free(part);
  }
  free(doc);
}
END_TEST

/* Every key of a documented key table is a key of the table. */
START_TEST(every_documented_key_exists) {
  char *doc = read_doc();
  const char *sections[SCHEMA_MAX_KEYS + 1] = {NULL};
  int n = 1 + schema_names(NULL, false, sections + 1); /* NULL: the top level first */
  for (int s = 0; s < n; s++) {
    if (s > 0 && !schema_is_section(sections[s])) continue;
    char buf[64];
    const char *section = s ? sections[s] : NULL;
    char *part = doc_part(doc, heading_of(section, buf, sizeof buf));
    for (const char *p = part; (p = strstr(p, "\n| `")); p++) {
      const char *name = p + 4;
      size_t len = strcspn(name, "`");
      char key[64];
      ck_assert_uint_lt(len, sizeof key);
      memcpy(key, name, len);
      key[len] = 0;
      bool known = schema_key(section, key, false) != NULL || (!section && schema_is_section(key));
      ck_assert_msg(known, "docs/recipe.md documents '%s%s%s', which the table lacks",
                    section ? section : "", section ? "." : "", key);
    }
    free(part);
  }
  free(doc);
}
END_TEST

START_TEST(layer_overrides_are_documented) {
  char *doc = read_doc();
  char *part = doc_part(doc, "`layers`");
  const char *names[SCHEMA_MAX_KEYS];
  int n = schema_names(NULL, true, names);
  ck_assert_int_eq(n, 4);
  for (int i = 0; i < n; i++)
    ck_assert_msg(has_word(part, names[i]), "docs/recipe.md: layers do not list `%s`", names[i]);
  free(part);
  free(doc);
}
END_TEST

/* --- the table itself --- */

START_TEST(table_has_one_row_per_key_and_contiguous_sections) {
  unsigned bits = 0;
  for (int i = 0; i < recipe_nkeys; i++) {
    const RecipeKey *k = &recipe_keys[i];
    for (int j = 0; j < i; j++) {
      const RecipeKey *o = &recipe_keys[j];
      bool same_section = k->section && o->section ? !strcmp(k->section, o->section)
                                                   : k->section == o->section;
      ck_assert_msg(!(same_section && !strcmp(k->name, o->name)), "key '%s' twice", k->name);
      /* a section's rows are together: schema_names and the writer rely on it */
      if (k->section && o->section && !strcmp(k->section, o->section))
        ck_assert_msg(j == i - 1 || (recipe_keys[i - 1].section &&
                                     !strcmp(recipe_keys[i - 1].section, k->section)),
                      "section '%s' is split", k->section);
    }
    ck_assert_msg(!(bits & k->layer_bit), "layer bit of '%s' used twice", k->name);
    bits |= k->layer_bit;
    if (k->types) ck_assert_msg(schema_typed_section(k->section) != NULL, "'%s'", k->name);
    if (k->kind == VALUE_NAME || k->kind == VALUE_NAME_SET)
      ck_assert(k->names != NULL && k->nnames > 0);
    if (k->kind == VALUE_NAME_SET || k->kind == VALUE_F32_PAIR) ck_assert_int_ge(k->nnames, 2);
  }
  /* every LAYER_* field of RecipeLayer has its key */
  ck_assert_uint_eq(bits, (LAYER_PRC_STATS << 1) - 1);
}
END_TEST

START_TEST(top_level_keys_in_the_documented_order) {
  const char *names[SCHEMA_MAX_KEYS];
  int n = schema_names(NULL, false, names);
  static const char *const want[] = {"batch", "epochs", "seed", "optimizer", "lr_schedule",
                                     "loss_scale", "input", "precision", "rounding", "lac",
                                     "prc", "eoq", "layers"};
  ck_assert_int_eq(n, (int)(sizeof want / sizeof want[0]));
  for (int i = 0; i < n; i++) ck_assert_str_eq(names[i], want[i]);
}
END_TEST

/* --- every key through --set, the writer and the loader --- */

/* A valid value of key k other than `now` (the field's current value), as
 * YAML text; NULL for the layers key. */
static const char *sample(const RecipeKey *k, const void *now, char *buf, size_t size) {
  switch (k->kind) {
  case VALUE_INT: snprintf(buf, size, "%lld", k->max); break;
  case VALUE_U64: snprintf(buf, size, "12345678901234"); break;
  case VALUE_F32:
    snprintf(buf, size, "%g", isinf(k->range.hi) ? k->range.lo + 0.375 : k->range.lo + 0.125);
    break;
  case VALUE_F32_PAIR: snprintf(buf, size, "[%g, %g]", k->range.lo + 0.25, k->range.lo + 0.5); break;
  case VALUE_BOOL: snprintf(buf, size, "%s", *(const bool *)now ? "false" : "true"); break;
  case VALUE_NAME: snprintf(buf, size, "%s", k->names[(*(const int *)now + 1) % k->nnames]); break;
  case VALUE_NAME_SET: {
    int last = k->nnames - 1; /* [last], or [] if that is the set now */
    snprintf(buf, size, "[%s]", *(const unsigned *)now == 1u << last ? "" : k->names[last]);
    break;
  }
  case VALUE_LAYERS: return NULL;
  }
  return buf;
}

/* The type a typed key needs first ("optimizer.type=adam"), or NULL. */
static const char *type_for(const RecipeKey *k, char *buf, size_t size) {
  if (!k->types) return NULL;
  const RecipeKey *type = schema_key(k->section, "type", false);
  for (int t = 0; t < type->nnames; t++)
    if (k->types & 1u << t) {
      snprintf(buf, size, "%s.type=%s", k->section, type->names[t]);
      return buf;
    }
  return NULL;
}

static void set_ok(Recipe *r, Arena *a, const char *assignment) {
  char err[256];
  ck_assert_msg(recipe_set(r, a, assignment, err, sizeof err), "--set %s: %s", assignment, err);
}

/* write -> load gives an equal recipe */
static void reads_back(const Recipe *r, const char *what) {
  Arena *a = arena_new();
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  ck_assert(out && recipe_write(out, r));
  ck_assert(fclose(out) == 0);
  Diag *d = diag_new(stderr);
  Recipe back;
  ck_assert_msg(recipe_load(&back, a, d, "written.yaml", text, len), "%s:\n%s", what, text);
  ck_assert_msg(recipe_equal(r, &back), "%s does not read back:\n%s", what, text);
  diag_free(d);
  free(text);
  arena_free(a);
}

START_TEST(every_key_is_set_written_and_read_back) {
  for (int i = 0; i < recipe_nkeys; i++) {
    const RecipeKey *k = &recipe_keys[i];
    if (k->kind == VALUE_LAYERS) continue;
    char value[64], type[64], assignment[160];
    Arena *a = arena_new();
    Recipe r, def;
    recipe_defaults(&r);
    recipe_defaults(&def);
    const char *t = type_for(k, type, sizeof type);
    if (t) set_ok(&r, a, t), set_ok(&def, a, t);
    sample(k, schema_field_const(k, &def, NULL), value, sizeof value);
    snprintf(assignment, sizeof assignment, "%s%s%s=%s", k->section ? k->section : "",
             k->section ? "." : "", k->name, value);
    set_ok(&r, a, assignment);
    ck_assert_msg(!recipe_equal(&r, &def), "--set %s changed nothing", assignment);
    reads_back(&r, assignment);
    arena_free(a);
  }
}
END_TEST

START_TEST(every_layer_key_is_set_written_and_read_back) {
  for (int i = 0; i < recipe_nkeys; i++) {
    const RecipeKey *k = &recipe_keys[i];
    if (!k->layer_bit) continue;
    char value[64], assignment[160];
    Arena *a = arena_new();
    Recipe r;
    recipe_defaults(&r);
    sample(k, schema_field_const(k, &r, NULL), value, sizeof value);
    snprintf(assignment, sizeof assignment, "layers.c1.%s%s%s=%s",
             k->section ? k->section : "", k->section ? "." : "", k->name, value);
    set_ok(&r, a, assignment);
    ck_assert_int_eq(r.nlayers, 1);
    ck_assert_msg(r.layers[0].set == k->layer_bit, "--set %s set bits %#x", assignment,
                  r.layers[0].set);
    reads_back(&r, assignment);
    arena_free(a);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("recipe_schema");
  TCase *tc = tcase_create("schema");
  tcase_add_test(tc, every_key_is_documented_with_its_names_and_limits);
  tcase_add_test(tc, every_documented_key_exists);
  tcase_add_test(tc, layer_overrides_are_documented);
  tcase_add_test(tc, table_has_one_row_per_key_and_contiguous_sections);
  tcase_add_test(tc, top_level_keys_in_the_documented_order);
  tcase_add_test(tc, every_key_is_set_written_and_read_back);
  tcase_add_test(tc, every_layer_key_is_set_written_and_read_back);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
