/* hash.h - XXH3-128 of a file's bytes: the one hash that input
 * fingerprints and output records share. Canonical (big-endian) bytes. */
#ifndef RAPID_HASH_H
#define RAPID_HASH_H

#include <stdint.h>
#include <xxhash.h>

/* Bytes read at a time; a caller's reusable buffer has this size. */
#define HASH_CHUNK ((size_t)1 << 20)

/* A new XXH3 state; exits on out of memory. Free with XXH3_freeState. */
XXH3_state_t *hash_state_new(void);
/* Hash what fd holds from its current offset, with a reusable state and a
 * HASH_CHUNK buffer; *n is the byte count. 0, or -1 with errno. */
int hash_fd(int fd, XXH3_state_t *xs, uint8_t *buf, uint8_t out[16], uint64_t *n);
/* Hash the file at path. 0, or -1 with errno (the file is not left open). */
int hash_file(const char *path, uint8_t out[16], uint64_t *size);

#endif
