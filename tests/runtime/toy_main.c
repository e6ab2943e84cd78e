/* toy_main.c: what `octoc --main` will emit, for the toy model: the whole
 * standalone trainer is one call into the runtime. */
#include "toy_model.h"

int main(int argc, char **argv) {
  return octo_main(&toy_model, argc, argv);
}
