/* The header, tensor table rows and standalone main of a generated trainer,
 * from its entry plan (api_writer.h). */
#include "api_writer.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "c_syntax.h"
#include "fnv.h"

long long api_bytes(int64_t v, bool real_double) { return (long long)(real_double ? 2 * v : v); }

/* A double build's state is not a float build's: its NAME_HASH differs, so
 * no checkpoint passes from one to the other. */
uint64_t api_hash(const ProgramPlan *plan, bool real_double) {
  if (!real_double) return plan->hash;
  static const char tag[] = "real=double";
  return fnv1a_bytes(plan->hash, tag, sizeof tag - 1);
}

static const char *const role_enum[] = {"OCTO_TENSOR_PARAM", "OCTO_TENSOR_OPTIM",
                                        "OCTO_TENSOR_BUFFER", "OCTO_TENSOR_INTERNAL"};
static const char *const dtype_enum[DT_COUNT] = {"OCTO_F32", "OCTO_I8",  "OCTO_I16",
                                                  "OCTO_I32", "OCTO_I64", "OCTO_U8",
                                                  "OCTO_U16", "OCTO_U32"};

void api_write_tensor_rows(FILE *out, const ProgramPlan *plan, bool octo_names,
                           bool real_double) {
  for (int i = 0; i < plan->ntensors; i++) {
    const LBuffer *b = plan->tensors[i];
    int role = plan_tensor_kind(b->role);
    fputs("  {", out);
    c_string(out, b->name);
    fputs(", ", out);
    if (octo_names) fprintf(out, "%s, %s, ", dtype_enum[b->dtype], role_enum[role]);
    else fprintf(out, "%d, %d, ", (int)b->dtype, role);
    fprintf(out, "%d, {", b->shape.rank);
    for (int d = 0; d < MAX_RANK; d++)
      fprintf(out, "%s%lld", d ? ", " : "", (long long)(d < b->shape.rank ? b->shape.dim[d] : 0));
    fprintf(out, "}, %lld, %lld},\n", api_bytes(b->offset, real_double),
            api_bytes(plan_buffer_bytes(b), real_double));
  }
}

/* --- the header --- */

/* A regression model's target and output sizes (checked batch-shaped). */
static void write_sizes(FILE *out, const ProgramPlan *plan) {
  const LProgram *p = plan->p;
  const char *P = plan->PREFIX;
  const LBuffer *y = p->label;
  int rank = y ? y->shape.rank - 1 : 0;
  fprintf(out, "/* Regression: y holds %s_LABEL_SIZE floats per sample (one target of shape\n"
               " * %s_LABEL_SHAPE; 0: the model has no label, y is unused and may be NULL),\n"
               " * predict and train_step_pred write %s_OUTPUT_SIZE floats per sample. */\n",
          P, P, P);
  fprintf(out, "#define %s_LABEL_RANK %d\n#define %s_LABEL_SHAPE {", P, rank, P);
  for (int d = 0; d < rank; d++)
    fprintf(out, "%s%lld", d ? ", " : "", (long long)y->shape.dim[d + 1]);
  fprintf(out, "%s}\n", rank ? "" : "0");
  fprintf(out, "#define %s_LABEL_SIZE %lld\n", P, (long long)(y ? plan_sample_numel(y) : 0));
  fprintf(out, "#define %s_OUTPUT_SIZE %lld\n", P, (long long)plan_sample_numel(p->pred));
}

/* The classifier's entries: int32 class indices in y, classes out. */
static void write_classifier_api(FILE *out, const ProgramPlan *plan, const char *R,
                                 const char *X) {
  const char *P = plan->PREFIX, *f = plan->prefix;
  fprintf(out, "/* One training step on n samples: the mean loss, or NAN for bad arguments\n"
               " * (a NULL pointer, n outside 1..%s_BATCH). _pred also writes each sample's\n"
               " * predicted class (before the update) to pred, unless pred is NULL. */\n", P);
  fprintf(out, "%s %s_train_step(void *state, void *work, const %s *x, const int32_t *y, "
               "int n);\n", R, f, X);
  fprintf(out, "%s %s_train_step_pred(void *state, void *work, const %s *x, const int32_t *y, "
               "int n,\n"
               "      int32_t *pred);\n", R, f, X);
  fprintf(out, "/* Classes of n samples into cls; the state is only read. 0, or -1 for bad "
               "arguments. */\n");
  fprintf(out, "int %s_predict(const void *state, void *work, const %s *x, int32_t *cls, "
               "int n);\n", f, X);
}

/* The regression entries: float targets in y, the prediction out. */
static void write_regression_api(FILE *out, const ProgramPlan *plan, const char *R,
                                 const char *X) {
  const char *P = plan->PREFIX, *f = plan->prefix;
  fprintf(out, "/* One training step on n samples: the mean loss, or NAN for bad arguments\n"
               " * (a NULL pointer%s, n outside 1..%s_BATCH). _pred also writes each\n"
               " * sample's prediction (before the update; %s_OUTPUT_SIZE %ss) to pred,\n"
               " * unless pred is NULL. */\n", plan->p->label ? "" : " other than y", P, P, R);
  fprintf(out, "%s %s_train_step(void *state, void *work, const %s *x, const %s *y, int n);\n",
          R, f, X, R);
  fprintf(out, "%s %s_train_step_pred(void *state, void *work, const %s *x, const %s *y, int n,\n"
               "      %s *pred);\n", R, f, X, R, R);
  fprintf(out, "/* Predictions of n samples into out (n x %s_OUTPUT_SIZE %ss); the state is\n"
               " * only read. 0, or -1 for bad arguments. */\n", P, R);
  fprintf(out, "int %s_predict(const void *state, void *work, const %s *x, %s *out, int n);\n",
          f, X, R);
}

bool api_write_header(FILE *out, const ProgramPlan *plan, const EmitOptions *o) {
  const LProgram *p = plan->p;
  bool dbl = o && o->real_double;
  bool given = o && o->input_std > 0;
  const char *P = plan->PREFIX, *f = plan->prefix, *R = c_type(DT_F32, dbl);
  fprintf(out, "/* %s.h: the trainer API of model '", f);
  c_comment_text(out, p->name);
  fprintf(out, "', generated by octoc. Do not edit.\n");
  fprintf(out, " *\n"
               " * Memory is the caller's: a state block of %s_STATE_BYTES (parameters and\n"
               " * optimizer state, kept between calls) and a work arena of %s_WORK_BYTES\n"
               " * (one call's scratch), both aligned to %s_STATE_ALIGN bytes and never\n"
               " * shared between two threads at once. x holds n samples of\n"
               " * %s_INPUT_SIZE %ss, ", P, P, P, P,
          plan->input_dtype == DT_U8 ? "raw byte (uint8_t)" : R);
  if (!plan->regression)
    fprintf(out, "y n class indices\n"
                 " * (0 .. %s_NUM_CLASSES-1); 1 <= n <= %s_BATCH. A misaligned pointer (state\n"
                 " * and work: %s_STATE_ALIGN; the others: their element type) or a label out\n"
                 " * of range is a bad argument: the entry returns its error value (NAN or\n"
                 " * -1) and touches nothing.\n", P, P, P);
  else if (p->label)
    fprintf(out, "y n targets of\n"
                 " * %s_LABEL_SIZE %ss each; 1 <= n <= %s_BATCH.\n", P, R, P);
  else
    fprintf(out, "y is unused (the model has no label: its\n"
                 " * target is the input) and may be NULL; 1 <= n <= %s_BATCH.\n", P);
  if (plan->regression)
    fprintf(out, " * A misaligned pointer (state and work: %s_STATE_ALIGN; the others: their\n"
                 " * element type) is a bad argument: the entry returns its error value (NAN\n"
                 " * or -1) and touches nothing.\n", P);
  fprintf(out, " * Tensor table: dtype 0 f32, 1 i8, 2 i16, 3 i32, 4 i64, 5 u8, 6 u16,\n"
               " * 7 u32; role 0 parameter, 1 optimizer state, 2 buffer, 3 internal\n"
               " * (OctoDType and OctoTensorKind of octo_runtime.h). See docs/c-backend.md. */\n");
  if (dbl)
    fprintf(out, "/* Built with --emit-real=double: every f32 of the program is a double\n"
                 " * (tensor table rows of dtype 0 hold doubles) and every size and offset\n"
                 " * is twice the float build's. A testing aid, see docs/c-backend.md. */\n");
  fprintf(out, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n", P, P);
  fprintf(out, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
  fprintf(out, "#define %s_BATCH %d\n", P, p->batch);
  fprintf(out, "#define %s_STATE_BYTES %lld\n", P, api_bytes(p->state_bytes, dbl));
  fprintf(out, "#define %s_WORK_BYTES %lld\n", P, api_bytes(p->work_bytes, dbl));
  fprintf(out, "#define %s_STATE_ALIGN 64\n", P);
  fprintf(out, "#define %s_HASH 0x%016llxULL\n", P, (unsigned long long)api_hash(plan, dbl));
  const Shape *in = p->input ? &p->input->shape : NULL;
  int rank = in ? in->rank - 1 : 0;
  int64_t size = 1;
  fprintf(out, "#define %s_INPUT_RANK %d\n#define %s_INPUT_SHAPE {", P, rank, P);
  for (int d = 0; d < rank; d++) {
    fprintf(out, "%s%lld", d ? ", " : "", (long long)in->dim[d + 1]);
    size *= in->dim[d + 1];
  }
  fprintf(out, "%s}\n", rank ? "" : "0");
  fprintf(out, "#define %s_INPUT_SIZE %lld\n", P, (long long)(in ? size : 0));
  fprintf(out, "#define %s_NUM_CLASSES %d\n", P, p->num_classes);
  if (plan->regression) write_sizes(out, plan);
  if (plan->input_dtype == DT_U8)
    fprintf(out, "/* The model normalises its input itself: a pixel p in 0..255 reaches the\n"
                 " * network as (p / 255 - %s_INPUT_MEAN) / %s_INPUT_STD (recipe key\n"
                 " * `input`). */\n", P, P);
  else
    fprintf(out, "/* The input the model was trained on (recipe key `input`): a pixel p in\n"
                 " * 0..255 reaches x as (p / 255 - %s_INPUT_MEAN) / %s_INPUT_STD. */\n", P, P);
  fprintf(out, "#define %s_INPUT_MEAN ", P);
  c_float(out, given ? (float)o->input_mean : 0.0f, dbl);
  fprintf(out, "\n#define %s_INPUT_STD ", P);
  c_float(out, given ? (float)o->input_std : 1.0f, dbl);
  fprintf(out, "\n\n");
  fprintf(out, "/* Zeroes the state, then initialises it from seed. 0, or -1 if state is NULL. */\n");
  fprintf(out, "int %s_init(void *state, uint64_t seed);\n", f);
  const char *X = c_type(plan->input_dtype, dbl);
  if (plan->regression) write_regression_api(out, plan, R, X);
  else write_classifier_api(out, plan, R, X);
  if (plan->entries[ENTRY_EVAL].exists) {
  fprintf(out, "#define %s_HAS_EVAL 1\n", P);
  fprintf(out, "/* Inference on n labelled samples, for a test set: *loss_sum gets the loss\n"
               " * summed over the n samples (the train step's loss is their mean) and,\n"
               " * unless correct is NULL, *correct how many %s. The\n"
               " * state is only read. 0, or -1 for bad arguments. */\n",
          plan->regression ? "(always 0: a regression model has no classes)"
                           : "the model classifies right");
  fprintf(out, "int %s_eval(const void *state, void *work, const %s *x, const %s *y, int n,\n"
               "    %s *loss_sum, int32_t *correct);\n",
          f, X, plan->regression ? R : "int32_t", R);
  }
  if (plan->entries[ENTRY_SET_EPOCH].exists)
    fprintf(out, "/* Tells the learning-rate schedule which epoch (0-based) the next steps\n"
                 " * belong to; call it before each epoch. */\n"
                 "void %s_set_epoch(void *state, int epoch);\n", f);
  fprintf(out, "\n");
  fprintf(out, "/* The state block's tensors, in offset order, for checkpoints and export. */\n");
  fprintf(out, "typedef struct %s_tensor_info {\n  const char *name;\n  int dtype;\n  int role;\n"
               "  int rank;\n  int64_t shape[6];\n  size_t offset, bytes;\n} %s_tensor_info;\n",
          f, f);
  fprintf(out, "#define %s_NTENSORS %d\n", P, plan->ntensors);
  fprintf(out, "/* %s_NTENSORS entries, then one with name NULL. */\n", P);
  fprintf(out, "extern const %s_tensor_info %s_tensors[];\n\n", f, f);
  fprintf(out, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
  return fflush(out) == 0 && !ferror(out);
}

/* --- the standalone trainer's main --- */

__attribute__((format(printf, 2, 3))) static bool refuse(const EmitOptions *o, const char *fmt,
                                                         ...) {
  FILE *err = o && o->errors ? o->errors : stderr;
  va_list ap;
  va_start(ap, fmt);
  fprintf(err, "octoc: error: standalone trainer: ");
  vfprintf(err, fmt, ap);
  fputc('\n', err);
  va_end(ap);
  return false;
}

/* What the runtime needs of a model: the eval entry (its test loss and
 * accuracy), inputs and regression targets of rank 4 at most (IDX files). */
static bool runtime_can_train(const ProgramPlan *plan, const EmitOptions *o) {
  const LProgram *p = plan->p;
  int rank = p->input ? p->input->shape.rank - 1 : 0;
  if (o && o->real_double)
    return refuse(o, "the standalone trainer runs float builds only, not --emit-real=double");
  if (!plan->entries[ENTRY_EVAL].exists)
    return refuse(o, "the program has no eval entry, which the trainer tests with");
  if (rank > 4) return refuse(o, "the runtime takes inputs of rank 4 at most, not %d", rank);
  if (!plan->regression || !p->input) return true;
  int label_rank = p->label ? p->label->shape.rank - 1 : 0;
  if (label_rank > 4)
    return refuse(o, "the runtime takes targets of rank 4 at most, not %d", label_rank);
  return true;
}

bool api_write_main(FILE *out, const ProgramPlan *plan, const EmitOptions *o) {
  const LProgram *p = plan->p;
  if (!runtime_can_train(plan, o)) return false;
  const char *f = plan->prefix, *P = plan->PREFIX;
  const char *header = o && o->header_name ? o->header_name : NULL;
  fprintf(out, "/* %s_main.c: the standalone trainer of model '", f);
  c_comment_text(out, p->name);
  fprintf(out, "', generated by octoc.\n"
               " * Link with %s.c and the Octo runtime (pkg-config octo-runtime). */\n", f);
  fprintf(out, "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n"
               "#include \"octo_runtime.h\"\n#include ");
  if (header) c_string(out, header);
  else fprintf(out, "\"%s.h\"", f);
  fprintf(out, "\n\n");
  fprintf(out, "static const OctoTensorInfo tensors[] = {\n");
  api_write_tensor_rows(out, plan, true, false);
  fprintf(out, "  {NULL, OCTO_F32, OCTO_TENSOR_INTERNAL, 0, {0, 0, 0, 0, 0, 0}, 0, 0},\n};\n\n");
  /* The runtime drives every model through one descriptor with untyped
   * batches; these adapters are the typed API underneath. */
  const char *X = c_type(plan->input_dtype, false);
  const char *Y = plan->regression ? "float" : "int32_t";
  fprintf(out, "/* The descriptor's entries: the typed API with untyped batches. */\n");
  fprintf(out, "static int train_step(void *state, void *work, const void *x, const void *y, int n,\n"
               "                      void *pred, void *loss) {\n"
               "  float l = %s_train_step_pred(state, work, (const %s *)x, (const %s *)y, n,\n"
               "                                 (%s *)pred);\n"
               "  memcpy(loss, &l, sizeof l);\n  return 0;\n}\n\n", f, X, Y, Y);
  fprintf(out, "static int eval(const void *state, void *work, const void *x, const void *y, int n,\n"
               "                void *loss_sum, int32_t *correct) {\n"
               "  return %s_eval(state, work, (const %s *)x, (const %s *)y, n, (float *)loss_sum,\n"
               "                 correct);\n}\n\n", f, X, Y);
  fprintf(out, "int main(int argc, char **argv) {\n  static const OctoModel model = {\n");
  fprintf(out, "    .name = ");
  c_string(out, p->name);
  fprintf(out, ",\n    .batch = %s_BATCH,\n    .input_rank = %s_INPUT_RANK,\n", P, P);
  fprintf(out, "    .input_shape = %s_INPUT_SHAPE,\n    .input_dtype = %s,\n", P,
          plan->input_dtype == DT_U8 ? "OCTO_U8" : "OCTO_F32");
  fprintf(out, "    .num_classes = %s_NUM_CLASSES,\n", P);
  fprintf(out, "    .state_bytes = %s_STATE_BYTES,\n    .work_bytes = %s_WORK_BYTES,\n", P, P);
  fprintf(out, "    .state_align = %s_STATE_ALIGN,\n    .hash = %s_HASH,\n", P, P);
  fprintf(out, "    .tensors = tensors,\n    .ntensors = %d,\n", plan->ntensors);
  fprintf(out, "    .epochs_default = %d,\n    .seed_default = UINT64_C(%llu),\n",
          o ? o->epochs_default : 0, (unsigned long long)(o ? o->seed_default : 0));
  fprintf(out, "    .loss_dtype = OCTO_F32,\n    .init = %s_init,\n", f);
  fprintf(out, "    .train_step = train_step,\n    .eval = eval,\n");
  if (plan->entries[ENTRY_SET_EPOCH].exists) fprintf(out, "    .set_epoch = %s_set_epoch,\n", f);
  else fprintf(out, "    .set_epoch = NULL,\n");
  if (plan->regression) {
    fprintf(out, "    .label_rank = %s_LABEL_RANK,\n    .label_shape = %s_LABEL_SHAPE,\n", P, P);
    fprintf(out, "    .label_size = %s_LABEL_SIZE,\n    .output_size = %s_OUTPUT_SIZE,\n", P, P);
  }
  fprintf(out, "  };\n  return octo_main(&model, argc, argv);\n}\n");
  if (fflush(out) != 0 || ferror(out)) {
    return refuse(o, "write error: %s", strerror(errno));
  }
  return true;
}
