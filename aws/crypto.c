/* crypto.c - SHA-256 and HMAC-SHA-256 over OpenSSL EVP (EVP_MD for digests,
 * EVP_MAC for HMAC: the OpenSSL 3 interfaces that are not deprecated).
 * Nothing here prints data: inputs may be secrets. */
#include "aws/crypto.h"

#include "lib/util.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

struct crypto_sha256 {
	EVP_MD_CTX *md;
};

/* The caller says what failed; OpenSSL's queue is left empty so that a
 * later call does not see this error. */
static int ossl_fail(const char *what)
{
	(void)what;
	ERR_clear_error();
	return -1;
}

int crypto_sha256(const void *data, size_t n, uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int len = 0;
	if (!EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) || len != CRYPTO_SHA256_LEN)
		return ossl_fail("SHA-256");
	return 0;
}

int crypto_sha256_hex(const void *data, size_t n, char out[CRYPTO_SHA256_HEX_LEN])
{
	uint8_t md[CRYPTO_SHA256_LEN];
	if (crypto_sha256(data, n, md) < 0)
		return -1;
	hex_encode(md, sizeof(md), out);
	return 0;
}

struct crypto_sha256 *crypto_sha256_new(void)
{
	struct crypto_sha256 *c = xcalloc(1, sizeof(*c));
	c->md = EVP_MD_CTX_new();
	if (!c->md || !EVP_DigestInit_ex(c->md, EVP_sha256(), NULL)) {
		ossl_fail("SHA-256");
		crypto_sha256_free(c);
		return NULL;
	}
	return c;
}

int crypto_sha256_update(struct crypto_sha256 *c, const void *data, size_t n)
{
	if (!EVP_DigestUpdate(c->md, data, n))
		return ossl_fail("SHA-256");
	return 0;
}

int crypto_sha256_final(struct crypto_sha256 *c, uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int len = 0;
	if (!EVP_DigestFinal_ex(c->md, out, &len) || len != CRYPTO_SHA256_LEN)
		return ossl_fail("SHA-256");
	return 0;
}

void crypto_sha256_free(struct crypto_sha256 *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

/* The HMAC algorithm is fetched once: fetching parses the provider tables,
 * which costs more than a short MAC. EVP_MAC objects are reference counted
 * and safe to share between threads once fetched. */
static EVP_MAC *hmac_alg(void)
{
	static EVP_MAC *mac;
	EVP_MAC *m = __atomic_load_n(&mac, __ATOMIC_ACQUIRE);
	if (!m) {
		EVP_MAC *expect = NULL;
		m = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (!m)
			return NULL;
		if (!__atomic_compare_exchange_n(&mac, &expect, m, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			EVP_MAC_free(m); /* another thread won */
			m = expect;
		}
	}
	return m;
}

int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
		       uint8_t out[CRYPTO_SHA256_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[2];
	EVP_MAC *mac = hmac_alg();
	EVP_MAC_CTX *ctx = NULL;
	size_t len = 0;
	int ret = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!mac || !(ctx = EVP_MAC_CTX_new(mac)) || !EVP_MAC_init(ctx, key, keylen, params) ||
	    !EVP_MAC_update(ctx, data, n) || !EVP_MAC_final(ctx, out, &len, CRYPTO_SHA256_LEN) ||
	    len != CRYPTO_SHA256_LEN) {
		ossl_fail("HMAC-SHA-256");
		goto out;
	}
	ret = 0;
out:
	EVP_MAC_CTX_free(ctx); /* also cleanses the key schedule */
	return ret;
}

void crypto_cleanse(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}
