typedef int passes_placeholder;
