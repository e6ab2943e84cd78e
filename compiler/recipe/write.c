/* Writing the effective recipe as YAML (--emit=recipe): every key of the
 * table (schema.c) in table order, the keys of the other optimizer or
 * schedule types left out, and each layer override with only the keys it
 * gives. Numbers are written in the shortest form that reads back to the
 * same double, so the file loads to an equal recipe. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "recipe_io.h"
#include "schema.h"

/* The shortest decimal form that reads back to the same double, so the
 * written recipe is both readable (0.1, not 0.10000000000000001) and exact. */
static void write_double(FILE *out, double v) {
  char buf[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  fputs(buf, out);
}

/* "[a, b]": the names of the bits of a set. */
static void write_name_set(FILE *out, const RecipeKey *k, unsigned set) {
  fputc('[', out);
  const char *sep = "";
  for (int i = 0; i < k->nnames; i++)
    if (set & (1u << i)) {
      fprintf(out, "%s%s", sep, k->names[i]);
      sep = ", ";
    }
  fputc(']', out);
}

static void write_value(FILE *out, const RecipeKey *k, const void *field) {
  switch (k->kind) {
  case VALUE_INT: fprintf(out, "%d", *(const int *)field); break;
  case VALUE_U64: fprintf(out, "%" PRIu64, *(const uint64_t *)field); break;
  case VALUE_F32: write_double(out, *(const double *)field); break;
  case VALUE_F32_PAIR: {
    const double *x = field;
    fputc('[', out);
    write_double(out, x[0]);
    fputs(", ", out);
    write_double(out, x[1]);
    fputc(']', out);
    break;
  }
  case VALUE_BOOL: fputs(*(const bool *)field ? "true" : "false", out); break;
  case VALUE_NAME: {
    int i = *(const int *)field;
    fputs(i >= 0 && i < k->nnames ? k->names[i] : "?", out);
    break;
  }
  case VALUE_NAME_SET: write_name_set(out, k, *(const unsigned *)field); break;
  case VALUE_LAYERS: break; /* write_layers */
  }
}

/* "INDENT[  ]name: value"; keys of a section are indented two more. */
static void write_key(FILE *out, const char *indent, const RecipeKey *k, const void *field) {
  fprintf(out, "%s%s%s: ", indent, k->section ? "  " : "", k->name);
  write_value(out, k, field);
  fputc('\n', out);
}

/* --- layer overrides --- */

static bool isalnum_ascii(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* If the character at p cannot stand as it is in a double-quoted YAML
 * scalar, its escape goes to esc and the number of bytes it takes returns;
 * else 0. libyaml refuses control characters (C0, DEL, C1) and U+FFFE,
 * U+FFFF in a file, and folds NEL, U+2028 and U+2029 as line breaks. The
 * name is UTF-8 (libyaml checked the file, recipe_set the --set key). */
static int escape_of(const unsigned char *p, char esc[8]) {
  if (*p == '"' || *p == '\\') {
    snprintf(esc, 8, "\\%c", *p);
    return 1;
  }
  if (*p < 32 || *p == 127) {
    snprintf(esc, 8, "\\x%02x", *p);
    return 1;
  }
  if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) { /* U+0080 ... U+009F */
    snprintf(esc, 8, "\\x%02x", p[1]);
    return 2;
  }
  if ((p[0] & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
    unsigned cp = (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
    if (cp == 0x2028 || cp == 0x2029 || cp == 0xFFFE || cp == 0xFFFF) {
      snprintf(esc, 8, "\\u%04x", cp);
      return 3;
    }
  }
  return 0;
}

/* Writes s as a YAML scalar (plain if it reads back as the same string,
 * else double-quoted with escapes); returns the bytes written. */
static size_t write_name(FILE *out, const char *s) {
  bool plain = *s != 0;
  for (const char *p = s; *p; p++)
    if (!(isalnum_ascii(*p) || *p == '_' || (p != s && (*p == '.' || *p == '-')))) plain = false;
  if (plain && (strcmp(s, "null") == 0 || strcmp(s, "true") == 0 || strcmp(s, "false") == 0))
    plain = false;
  if (plain) {
    fputs(s, out);
    return strlen(s);
  }
  size_t n = 2;
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    char esc[8];
    int len = escape_of(p, esc);
    if (len) {
      fputs(esc, out);
      n += strlen(esc);
      p += len;
    } else {
      n += fputc(*p++, out) == EOF ? 0 : 1;
    }
  }
  fputc('"', out);
  return n;
}

/* The key of a layer override. YAML limits an implicit key to 1024
 * characters, so a longer written name becomes an explicit key (`? NAME`
 * then `:` on the next line), which reads back the same. */
static void write_layer_key(FILE *out, const char *name, bool empty) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  size_t n = mem ? write_name(mem, name) : 0;
  if (mem && fclose(mem) == 0 && text && n < 1000) {
    fprintf(out, "  %s%s", text, empty ? ": {}\n" : ":\n");
  } else {
    fputs("  ? ", out);
    write_name(out, name);
    fputs(empty ? "\n  : {}\n" : "\n  :\n", out);
  }
  free(text);
}

static void write_keys(FILE *out, const Recipe *r, const RecipeLayer *l, const char *indent);

static void write_layers(FILE *out, const Recipe *r) {
  fputs(r->nlayers ? "layers:\n" : "layers: {}\n", out);
  for (int i = 0; i < r->nlayers; i++) {
    const RecipeLayer *l = &r->layers[i];
    write_layer_key(out, l->name, l->set == 0);
    write_keys(out, r, l, "    ");
  }
}

/* --- the whole recipe --- */

/* Whether key k is written: for a layer, if the layer gives it; else
 * unless it is a key of another optimizer or schedule type (it would not
 * read back). */
static bool wanted(const RecipeKey *k, const Recipe *r, const RecipeLayer *l) {
  if (l) return (k->layer_bit & l->set) != 0;
  const TypedSection *ts = schema_typed_section(k->section);
  return !ts || !k->types || (k->types & 1u << schema_type_of(ts, r));
}

/* The keys of r (l NULL) or of layer l, in table order, each section's
 * keys under its name. */
static void write_keys(FILE *out, const Recipe *r, const RecipeLayer *l, const char *indent) {
  const char *open_section = NULL;
  for (int i = 0; i < recipe_nkeys; i++) {
    const RecipeKey *k = &recipe_keys[i];
    if (k->kind == VALUE_LAYERS) {
      if (!l) write_layers(out, r);
      continue;
    }
    if (!wanted(k, r, l)) continue;
    if (k->section && (!open_section || strcmp(open_section, k->section) != 0))
      fprintf(out, "%s%s:\n", indent, k->section);
    open_section = k->section;
    write_key(out, indent, k, schema_field_const(k, r, l));
  }
}

bool recipe_write(FILE *out, const Recipe *r) {
  fputs("# Octo training recipe (effective settings; see docs/recipe.md)\n", out);
  write_keys(out, r, NULL, "");
  return fflush(out) == 0 && !ferror(out);
}
