/* crypto.h - SHA-256 and HMAC-SHA-256 through OpenSSL's EVP interface, for
 * SigV4 and payload hashes. Every function returns 0, or -1 when OpenSSL
 * fails (nothing printed: the caller reports what it was computing). */
#ifndef RAPID_AWS_CRYPTO_H
#define RAPID_AWS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
/* Hex of a SHA-256 digest plus its NUL. */
#define CRYPTO_SHA256_HEX_LEN 65

/* SHA-256 of n bytes into out. */
int crypto_sha256(const void *data, size_t n, uint8_t out[CRYPTO_SHA256_LEN]);
/* Lowercase hex SHA-256 of n bytes into out (64 characters and a NUL). */
int crypto_sha256_hex(const void *data, size_t n, char out[CRYPTO_SHA256_HEX_LEN]);

/* Incremental SHA-256, for bodies read in pieces (files, upload parts). */
struct crypto_sha256;
/* A fresh context; NULL if OpenSSL cannot make one. */
struct crypto_sha256 *crypto_sha256_new(void);
int crypto_sha256_update(struct crypto_sha256 *, const void *data, size_t n);
/* Finish into out; the context may not be updated again, only freed. */
int crypto_sha256_final(struct crypto_sha256 *, uint8_t out[CRYPTO_SHA256_LEN]);
/* NULL is a no-op. */
void crypto_sha256_free(struct crypto_sha256 *);

/* HMAC-SHA-256 of n bytes under a key of keylen bytes into out. */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
		       uint8_t out[CRYPTO_SHA256_LEN]);

/* Overwrite n bytes in a way the compiler keeps (for keys and secrets). */
void crypto_cleanse(void *p, size_t n);

#endif
