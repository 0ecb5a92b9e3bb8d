/* curl_lazy.c - load libcurl on first use (see curl_lazy.h for why). */
#include <curl/curl.h>

#include "aws/curl_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct curl_api curl_api;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static CURLcode load_rc = CURLE_FAILED_INIT;
static char load_error[256];

/* dlsym returns void *; a function pointer cannot be assigned from it in
 * ISO C, so copy the bits (POSIX guarantees they fit). */
#define LOAD(field, name)                                                \
	do {                                                             \
		void *sym_ = dlsym(lib, name);                           \
		if (!sym_) {                                             \
			snprintf(load_error, sizeof load_error,          \
				 "libcurl has no '%s'", name);           \
			return;                                          \
		}                                                        \
		memcpy(&curl_api.field, &sym_, sizeof(sym_));            \
	} while (0)

static void load(void)
{
	void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *e = dlerror();
		snprintf(load_error, sizeof load_error, "cannot load libcurl: %s",
			 e ? e : "unknown error");
		return;
	}
	CURLcode (*global_init)(long);
	void *gi = dlsym(lib, "curl_global_init");
	if (!gi) {
		snprintf(load_error, sizeof load_error, "libcurl has no 'curl_global_init'");
		return;
	}
	memcpy(&global_init, &gi, sizeof(gi));
	curl_api.global_init = global_init;
	LOAD(easy_init, "curl_easy_init");
	LOAD(easy_setopt, "curl_easy_setopt");
	LOAD(easy_getinfo, "curl_easy_getinfo");
	LOAD(easy_perform, "curl_easy_perform");
	LOAD(easy_reset, "curl_easy_reset");
	LOAD(easy_cleanup, "curl_easy_cleanup");
	LOAD(easy_strerror, "curl_easy_strerror");
	LOAD(multi_init, "curl_multi_init");
	LOAD(multi_setopt, "curl_multi_setopt");
	LOAD(multi_add_handle, "curl_multi_add_handle");
	LOAD(multi_remove_handle, "curl_multi_remove_handle");
	LOAD(multi_perform, "curl_multi_perform");
	LOAD(multi_poll, "curl_multi_poll");
	LOAD(multi_socket_action, "curl_multi_socket_action");
	LOAD(multi_info_read, "curl_multi_info_read");
	LOAD(multi_cleanup, "curl_multi_cleanup");
	LOAD(multi_strerror, "curl_multi_strerror");
	LOAD(slist_append, "curl_slist_append");
	LOAD(slist_free_all, "curl_slist_free_all");
	load_rc = global_init(CURL_GLOBAL_DEFAULT);
	if (load_rc != CURLE_OK)
		snprintf(load_error, sizeof load_error, "libcurl global init failed (%d)", (int)load_rc);
}

CURLcode curl_lazy_global_init(long flags)
{
	(void)flags; /* the first call's CURL_GLOBAL_DEFAULT is what rapid uses */
	pthread_once(&load_once, load);
	return load_rc;
}

const char *curl_lazy_easy_strerror(CURLcode c)
{
	if (load_rc != CURLE_OK || !curl_api.easy_strerror)
		return load_error[0] ? load_error : "libcurl is not loaded";
	return curl_api.easy_strerror(c);
}

const char *curl_lazy_multi_strerror(CURLMcode c)
{
	if (load_rc != CURLE_OK || !curl_api.multi_strerror)
		return load_error[0] ? load_error : "libcurl is not loaded";
	return curl_api.multi_strerror(c);
}

struct curl_slist *curl_lazy_slist_append(struct curl_slist *l, const char *s)
{
	pthread_once(&load_once, load);
	if (load_rc != CURLE_OK)
		return NULL;
	return curl_api.slist_append(l, s);
}

void curl_lazy_slist_free_all(struct curl_slist *l)
{
	if (l && curl_api.slist_free_all)
		curl_api.slist_free_all(l);
}
