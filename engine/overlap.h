/* overlap.h - no two instances write the same place, and no output
 * swallows an input: over every expanded instance, an output path that
 * is the same as, contains, or is inside another output or a file input
 * is an error naming both ends and both Rapidfile locations. (An input
 * that names an upstream output as TARGET.OUTPUT is an edge, not a path,
 * and is not compared.) */
#ifndef RAPID_OVERLAP_H
#define RAPID_OVERLAP_H

struct graph;
struct state;

/* Check every instance of g (a hash table of paths: linear in their
 * length). With a state, a graph whose paths are made of the same parts
 * as one that passed before (its base, sets and templates, hashed) is not
 * checked again, and one that passes is remembered (the caller commits).
 * 0 when nothing overlaps; -1 after printing the first few overlaps, each as
 * "rapid: FILE:LINE:COL: output 'o' of a p=1 ('out/x/') contains input
 * 'b' of a p=1 ('out/x/b.nii', FILE:LINE:COL)", and how many more. */
int overlap_check(const struct graph *, struct state *st);

#endif
