#include <stdio.h>
int main(void) { fputs("octoc: not built yet\n", stderr); return 2; }
