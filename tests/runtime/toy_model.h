/* toy_model.h: a hand-written stand-in for a generated trainer (softmax
 * regression on 1x28x28 inputs, 10 classes), following the API of DESIGN.md
 * section 6, so the runtime can be tested before the compiler emits code. */
#ifndef OCTO_TESTS_TOY_MODEL_H
#define OCTO_TESTS_TOY_MODEL_H

#include "octo_runtime.h"

enum { TOY_BATCH = 32, TOY_IN = 784, TOY_CLASSES = 10 };

extern const OctoModel toy_model;

#endif
