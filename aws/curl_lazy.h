/* curl_lazy.h - libcurl, loaded when the AWS layer first needs it.
 *
 * Linking libcurl maps it and some thirty libraries it depends on into
 * every rapid process (~6 ms and ~6 MB before main), although plan, check,
 * status and local builds never touch the network. Files of aws/ that call
 * libcurl include this header right after <curl/curl.h>: the curl_*
 * names below then go through a table filled by dlopen("libcurl.so.4")
 * on the first curl_global_init(). If the library cannot be loaded,
 * curl_global_init() fails with CURLE_FAILED_INIT and the strerror
 * functions say why; nothing else may be called then (the callers already
 * stop when curl_global_init fails). */
#ifndef RAPID_CURL_LAZY_H
#define RAPID_CURL_LAZY_H

#include <curl/curl.h>

struct curl_api {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode (*easy_perform)(CURL *);
	void (*easy_reset)(CURL *);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_perform)(CURLM *, int *);
	CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
	CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_cleanup)(CURLM *);
	const char *(*multi_strerror)(CURLMcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
};
extern struct curl_api curl_api;

/* Load libcurl (once, thread-safe) and run its global init. */
CURLcode curl_lazy_global_init(long flags);
/* Never NULL, also when libcurl could not be loaded. */
const char *curl_lazy_easy_strerror(CURLcode);
const char *curl_lazy_multi_strerror(CURLMcode);
/* Header lists may be built before anything else: these load libcurl
 * themselves (append returns NULL when it cannot be loaded). */
struct curl_slist *curl_lazy_slist_append(struct curl_slist *, const char *);
void curl_lazy_slist_free_all(struct curl_slist *);

#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init curl_lazy_global_init
#define curl_easy_strerror curl_lazy_easy_strerror
#define curl_multi_strerror curl_lazy_multi_strerror
#define curl_easy_init (*curl_api.easy_init)
#define curl_easy_setopt (*curl_api.easy_setopt)
#define curl_easy_getinfo (*curl_api.easy_getinfo)
#define curl_easy_perform (*curl_api.easy_perform)
#define curl_easy_reset (*curl_api.easy_reset)
#define curl_easy_cleanup (*curl_api.easy_cleanup)
#define curl_multi_init (*curl_api.multi_init)
#define curl_multi_setopt (*curl_api.multi_setopt)
#define curl_multi_add_handle (*curl_api.multi_add_handle)
#define curl_multi_remove_handle (*curl_api.multi_remove_handle)
#define curl_multi_perform (*curl_api.multi_perform)
#define curl_multi_poll (*curl_api.multi_poll)
#define curl_multi_socket_action (*curl_api.multi_socket_action)
#define curl_multi_info_read (*curl_api.multi_info_read)
#define curl_multi_cleanup (*curl_api.multi_cleanup)
#define curl_slist_append curl_lazy_slist_append
#define curl_slist_free_all curl_lazy_slist_free_all

#endif
