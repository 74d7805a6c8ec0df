/* memeater: the guest workload program of the zswaplab VM harness.
 *
 * A long-lived process driven line by line over stdin/stdout by zswaplab/vm/guest.py, so that one process
 * (one cgroup member) can allocate, re-read and free memory across several scenario steps.
 *
 * Commands (one per line; every command gets exactly one reply line starting with "ok " or "err "):
 *   alloc <region> <npages> <pattern> [seed]   mmap npages anonymous 4 KiB pages (no THP), fill them
 *   touch <region> [first [count]]             read every page of the range and verify its content
 *   free <region>                              munmap the region
 *   quit                                       exit 0
 * Patterns (content is a pure function of (pattern, seed, page index), so it can be verified after swap):
 *   zero    zero-filled pages (never stored by zswap on 6.12: the swap core's zeromap takes them)
 *   byte    one 'a' byte at offset 0, rest zero (test_zswap.c allocate_bytes)
 *   half    first half bytes (char)i, second half zero (test_zswap.c attempt_writeback)
 *   ratioN  first 4096/N bytes pseudo-random, the rest a repeating text; 8-byte unique page header
 *   random  the whole page pseudo-random (incompressible)
 * Replies: "ok alloc <region> <npages>", "ok touch <region> checked=<n> bad=<b>", "ok free <region>".
 * Build: gcc -O2 -static -o memeater memeater.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096UL
#define MAXREG 64

struct region {
	char name[32];
	char *mem;
	size_t npages;
	char pattern[16];
	uint64_t seed;
};

static struct region regions[MAXREG];
static const char text[] = "zswaplab-memeater-pattern-0123456789abcdefghijklmnopqrstuvwxyz-";

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Write the expected content of page i into buf; returns 0, or -1 for an unknown pattern. */
static int gen_page(const struct region *r, size_t i, unsigned char *buf)
{
	uint64_t s = r->seed * 1000003ULL + i;
	if (!strcmp(r->pattern, "zero")) {
		memset(buf, 0, PG);
	} else if (!strcmp(r->pattern, "byte")) {
		memset(buf, 0, PG);
		buf[0] = 'a';
	} else if (!strcmp(r->pattern, "half")) {
		for (size_t j = 0; j < PG; j++)
			buf[j] = j < PG / 2 ? (unsigned char)j : 0;
	} else if (!strcmp(r->pattern, "random")) {
		for (size_t j = 0; j < PG; j += 8) {
			uint64_t v = splitmix(&s);
			memcpy(buf + j, &v, 8);
		}
	} else if (!strncmp(r->pattern, "ratio", 5)) {
		long ratio = strtol(r->pattern + 5, 0, 10);
		if (ratio < 1)
			return -1;
		size_t rnd = (PG / (size_t)ratio) & ~7UL;
		for (size_t j = 0; j < rnd; j += 8) {
			uint64_t v = splitmix(&s);
			memcpy(buf + j, &v, 8);
		}
		for (size_t j = rnd; j < PG; j++)
			buf[j] = (unsigned char)text[(j + i) % (sizeof(text) - 1)];
		uint64_t hdr = (r->seed << 32) ^ (i + 1);
		memcpy(buf, &hdr, 8);
	} else {
		return -1;
	}
	return 0;
}

static struct region *find(const char *name)
{
	for (int k = 0; k < MAXREG; k++)
		if (regions[k].mem && !strcmp(regions[k].name, name))
			return &regions[k];
	return 0;
}

static void cmd_alloc(const char *name, size_t npages, const char *pattern, uint64_t seed)
{
	static unsigned char buf[PG];
	struct region *r = 0;
	if (find(name)) {
		printf("err alloc %s exists\n", name);
		return;
	}
	for (int k = 0; k < MAXREG && !r; k++)
		if (!regions[k].mem)
			r = &regions[k];
	if (!r || npages == 0 || strlen(name) >= sizeof(r->name) || strlen(pattern) >= sizeof(r->pattern)) {
		printf("err alloc %s bad arguments\n", name);
		return;
	}
	char *mem = mmap(0, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		printf("err alloc %s mmap failed\n", name);
		return;
	}
	madvise(mem, npages * PG, MADV_NOHUGEPAGE);
	strcpy(r->name, name);
	strcpy(r->pattern, pattern);
	r->npages = npages;
	r->seed = seed;
	r->mem = mem;
	for (size_t i = 0; i < npages; i++) {
		if (gen_page(r, i, buf)) {
			munmap(mem, npages * PG);
			r->mem = 0;
			printf("err alloc %s unknown pattern %s\n", name, pattern);
			return;
		}
		if (!strcmp(pattern, "zero"))
			mem[i * PG] = 0; /* fault the page in without making it non-zero */
		else
			memcpy(mem + i * PG, buf, PG);
	}
	printf("ok alloc %s %zu\n", name, npages);
}

static void cmd_touch(const char *name, size_t first, size_t count)
{
	static unsigned char buf[PG];
	struct region *r = find(name);
	if (!r) {
		printf("err touch %s no such region\n", name);
		return;
	}
	if (first > r->npages)
		first = r->npages;
	if (count > r->npages - first)
		count = r->npages - first;
	size_t bad = 0;
	for (size_t i = first; i < first + count; i++) {
		gen_page(r, i, buf);
		if (memcmp(r->mem + i * PG, buf, PG))
			bad++;
	}
	printf("ok touch %s checked=%zu bad=%zu\n", name, count, bad);
}

int main(void)
{
	char line[256], a[64], b[64], c[64], d[64], e[64];
	setvbuf(stdout, 0, _IOLBF, 0);
	printf("ok ready %d\n", (int)getpid());
	while (fgets(line, sizeof line, stdin)) {
		int n = sscanf(line, "%63s %63s %63s %63s %63s", a, b, c, d, e);
		if (n < 1)
			continue;
		if (!strcmp(a, "alloc") && n >= 4) {
			cmd_alloc(b, strtoul(c, 0, 10), d, n >= 5 ? strtoull(e, 0, 10) : 1);
		} else if (!strcmp(a, "touch") && n >= 2) {
			cmd_touch(b, n >= 3 ? strtoul(c, 0, 10) : 0, n >= 4 ? strtoul(d, 0, 10) : (size_t)-1);
		} else if (!strcmp(a, "free") && n >= 2) {
			struct region *r = find(b);
			if (!r) {
				printf("err free %s no such region\n", b);
				continue;
			}
			munmap(r->mem, r->npages * PG);
			r->mem = 0;
			printf("ok free %s\n", b);
		} else if (!strcmp(a, "quit")) {
			printf("ok quit\n");
			return 0;
		} else {
			printf("err unknown command\n");
		}
	}
	return 0;
}
