/* key.h - build keys and their components.
 *
 * An instance's build key is XXH3-128 over a canonical, versioned encoding
 * of its target name, wildcard values and its components:
 *   "rapid-key" NUL "1" NUL target NUL (wname NUL wvalue NUL)* "\x01" NUL
 *   (component-name NUL component-value NUL)*
 * Components, in this order:
 *   command         the recipe argv with inputs/outputs as URIs, shell-quoted
 *                   (a word holding a gathering input: one per instance)
 *   image           the image reference ("" when none)
 *   env NAME        one per env entry
 *   input NAME      "URI\nFINGERPRINT"; FINGERPRINT is "size=N xxh3=HEX"
 *                   (local file), "missing" (absent optional input) or
 *                   "key=HEX" (another target's output: that instance's key).
 *                   A gathering input (rules.h) is instead a header line,
 *                   "gathered N of M from UPSTREAM W=V…" (the shared
 *                   wildcards' values), then one line per agreeing
 *                   upstream instance in set order: "W=V…\tURI\tkey=HEX"
 *                   or "W=V…\tskipped" (W=V…: the wildcards gathered over)
 *   output NAME     the URI
 * NUL cannot occur in any part, so the encoding is unambiguous. Memory,
 * vcpus, timeout and retries are not components. The same NUL-separated
 * component list is what STATE_COMP stores for a key (format 1). */
#ifndef RAPID_KEY_H
#define RAPID_KEY_H

#include "lib/util.h"

#include <stddef.h>
#include <stdint.h>

#define KEY_VERSION "1"

/* Components as "name\0value\0" pairs in one buffer. */
struct comps {
	struct buf data;
	size_t *off;   /* offset of each name in data */
	size_t n, cap;
};

void comps_reset(struct comps *);
void comps_add(struct comps *, const char *name, const char *value);
/* Like comps_add with the value built by the caller in v. */
void comps_addn(struct comps *, const char *name, const char *value, size_t vlen);
/* Add the component named prefix+name (e.g. "input " "bold"). */
void comps_add_named(struct comps *, const char *prefix, const char *name,
		     const char *value, size_t vlen);
const char *comps_name(const struct comps *, size_t i);
const char *comps_value(const struct comps *, size_t i);
/* Value of the named component, or NULL. */
const char *comps_get(const struct comps *, const char *name);
void comps_free(struct comps *);
/* Rebuild from the stored encoding; -1 when it is malformed. */
int comps_decode(struct comps *, const char *data, size_t len);

/* Append argv word w shell-quoted when it needs quoting. */
void key_quote_word(struct buf *, const char *w);

/* The key of an instance. */
void key_compute(const char *target, const char *const *wnames,
		 const char *const *wvalues, size_t nw, const struct comps *,
		 uint8_t out[16]);

/* Compare the components of an old key with the current ones. summary
 * gets "input bold changed, image changed"; details gets one line per
 * changed component, e.g. "image: a:3.1.0 → a:3.2.0" or
 * "command: --passes 3 → --passes 4" (no trailing newline on the last). */
void comps_diff(const struct comps *old, const struct comps *cur,
		struct buf *summary, struct buf *details);

#endif
