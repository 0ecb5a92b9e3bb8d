/* mkmanifest.c - write a chunk's manifest.jsonl and manifest.idx with
 * runner/manifest.h's encoder, for the tests:
 *   mkmanifest JSONL IDX < LIST
 * LIST has one line per participant, in array index order:
 * ID<TAB>SPEC[<TAB>SPEC...], each SPEC an instance spec's JSON on one
 * line. Exit 0, 1 when the encoder refuses (its message on stderr), 2 on
 * a usage error. */
#include "lib/util.h"
#include "runner/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: mkmanifest JSONL IDX < LIST\n", stderr);
		return 2;
	}
	size_t len;
	char *text = read_file("/dev/stdin", &len);
	if (!text) {
		perror("mkmanifest: stdin");
		return 1;
	}
	struct manifest_entry *v = NULL;
	size_t n = 0, cap = 0;
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		GROW(v, cap, n + 1);
		const char **specs = NULL;
		size_t ns = 0, scap = 0;
		char *tab = strchr(line, '\t');
		v[n].participant = line;
		while (tab) {
			*tab = 0;
			char *s = tab + 1;
			tab = strchr(s, '\t');
			GROW(specs, scap, ns + 1);
			specs[ns++] = s;
		}
		v[n].specs = specs;
		v[n].nspecs = ns;
		n++;
	}
	struct buf j = {0}, x = {0};
	char *err = NULL;
	int ret = 0;
	if (manifest_encode(v, n, &j, &x, &err) < 0) {
		fprintf(stderr, "mkmanifest: %s\n", err);
		ret = 1;
	} else if (write_file_atomic(argv[1], j.data, j.len) < 0 || write_file_atomic(argv[2], x.data, x.len) < 0) {
		perror("mkmanifest: write");
		ret = 1;
	}
	for (size_t i = 0; i < n; i++)
		free((void *)v[i].specs);
	free(v);
	free(err);
	buf_free(&j);
	buf_free(&x);
	free(text);
	return ret;
}
