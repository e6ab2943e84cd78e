/* recipe loader: placeholder until written */
typedef int recipe_placeholder;
