/* Edit distance and the closest-candidate search of suggest.h. The distance
 * keeps three rows of the dynamic programme (the swap looks two rows
 * back), so it needs no allocation. */
#include "suggest.h"

#include <limits.h>
#include <string.h>

static int min2(int a, int b) { return a < b ? a : b; }

int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN) return INT_MAX;
  /* rows i-2, i-1 and i of d[i][j], the distance of a[0..i) and b[0..j) */
  int rows[3][SUGGEST_MAX_LEN + 1];
  int *before = rows[0], *prev = rows[1], *cur = rows[2];
  for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int best = prev[j - 1] + (a[i - 1] != b[j - 1]);
      best = min2(best, prev[j] + 1);
      best = min2(best, cur[j - 1] + 1);
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        best = min2(best, before[j - 2] + 1);
      cur[j] = best;
    }
    int *t = before;
    before = prev;
    prev = cur;
    cur = t;
  }
  return prev[lb];
}

Suggest suggest_start(const char *word, int max_distance) {
  return (Suggest){word, max_distance, NULL, INT_MAX};
}

void suggest_try(Suggest *s, const char *cand) {
  int d = edit_distance(s->word, cand);
  if (d <= s->max_distance && d < s->distance) {
    s->best = cand;
    s->distance = d;
  }
}
