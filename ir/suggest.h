/* "Did you mean": the closest of a list of names to a misspelt one. Used by
 * every reader that reports an unknown name: the .net front end (ops,
 * blocks, attributes), the .ir reader (ops, types, initialisers, values,
 * attributes) and the recipe loader (keys). Each caller decides how far a
 * candidate may be and still look like a typo; the distance is the same
 * everywhere. */
#ifndef OCTO_IR_SUGGEST_H
#define OCTO_IR_SUGGEST_H

/* Names longer than this are never close to anything. */
enum { SUGGEST_MAX_LEN = 64 };

/* The optimal string alignment distance of a and b: insertions, deletions,
 * substitutions and swaps of two adjacent bytes each cost 1 (a swap is the
 * commonest typo: 'untis' is 1 from 'units'). INT_MAX if either is longer
 * than SUGGEST_MAX_LEN bytes. */
int edit_distance(const char *a, const char *b);

/* The search for the best candidate for `word`. */
typedef struct Suggest {
  const char *word;
  int max_distance; /* a candidate further away is not suggested */
  const char *best; /* the closest candidate so far; NULL if none is close */
  int distance;     /* best's distance */
} Suggest;

Suggest suggest_start(const char *word, int max_distance);
/* Keeps cand if it is closer than every earlier candidate (the first of
 * equally close ones wins, so the order of the candidates decides ties). */
void suggest_try(Suggest *s, const char *cand);

#endif
