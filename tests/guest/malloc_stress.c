/* malloc_stress.c — checks malloc/free/realloc/calloc over 1 B .. 1 MiB (incl. mmap-served sizes): contents survive, calloc zeroes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBLOCKS 300

static uint64_t lcg_state = 12345;

static uint32_t lcg(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(lcg_state >> 33);
}

static unsigned char pattern(size_t block, size_t i)
{
    return (unsigned char)(block * 31 + i * 7 + (i >> 8));
}

static void fail(const char *what, size_t block, size_t i)
{
    printf("FAIL: %s block=%zu offset=%zu\n", what, block, i);
    exit(1);
}

static void fill(unsigned char *p, size_t n, size_t block)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(block, i);
}

static uint64_t check(const unsigned char *p, size_t n, size_t block, const char *what)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != pattern(block, i))
            fail(what, block, i);
        sum = sum * 1099511628211ULL + p[i];
    }
    return sum;
}

/* Sizes from 1 byte to 1 MiB, log-uniform so small and mmap-sized blocks both appear. */
static size_t random_size(void)
{
    unsigned shift = lcg() % 21;          /* 0 .. 20 → up to 1 MiB */
    size_t base = (size_t)1 << shift;
    size_t n = base + lcg() % base;
    return n > (1u << 20) ? (1u << 20) : n;
}

int main(void)
{
    static unsigned char *blocks[NBLOCKS];
    static size_t sizes[NBLOCKS];
    static size_t order[NBLOCKS];
    uint64_t checksum = 0;
    size_t big = 0;

    /* 1. Allocate and fill, including a few fixed edge sizes. */
    static const size_t fixed[] = {1, 2, 15, 16, 24, 127, 128, 4095, 4096, 4097,
                                   131071, 131072, 131073, 262144, 1048575, 1048576};
    size_t nfixed = sizeof fixed / sizeof fixed[0];
    for (size_t b = 0; b < NBLOCKS; b++) {
        sizes[b] = b < nfixed ? fixed[b] : random_size();
        if (sizes[b] >= 128 * 1024)
            big++;
        blocks[b] = malloc(sizes[b]);
        if (blocks[b] == NULL)
            fail("malloc", b, 0);
        fill(blocks[b], sizes[b], b);
    }

    /* 2. Verify everything, then free half in a scrambled order (Fisher-Yates with the LCG). */
    for (size_t b = 0; b < NBLOCKS; b++) {
        checksum ^= check(blocks[b], sizes[b], b, "initial");
        order[b] = b;
    }
    for (size_t i = NBLOCKS - 1; i > 0; i--) {
        size_t j = lcg() % (i + 1);
        size_t t = order[i]; order[i] = order[j]; order[j] = t;
    }
    for (size_t i = 0; i < NBLOCKS / 2; i++) {
        size_t b = order[i];
        free(blocks[b]);
        blocks[b] = NULL;
    }

    /* 3. Reallocate the freed slots with new sizes, realloc the survivors (grow or shrink). */
    for (size_t b = 0; b < NBLOCKS; b++) {
        if (blocks[b] == NULL) {
            sizes[b] = random_size();
            blocks[b] = malloc(sizes[b]);
            if (blocks[b] == NULL)
                fail("malloc2", b, 0);
            fill(blocks[b], sizes[b], b);
            continue;
        }
        size_t newsize = (lcg() & 1) ? sizes[b] * 2 + 1 : sizes[b] / 3 + 1;
        if (newsize > (1u << 20))
            newsize = 1u << 20;
        unsigned char *p = realloc(blocks[b], newsize);
        if (p == NULL)
            fail("realloc", b, 0);
        size_t keep = newsize < sizes[b] ? newsize : sizes[b];
        check(p, keep, b, "realloc kept contents");
        blocks[b] = p;
        sizes[b] = newsize;
        fill(p, newsize, b);
    }

    /* 4. calloc must hand back zeroed memory even where freed, dirty memory is reused. */
    for (size_t i = 0; i < NBLOCKS; i += 2) {
        size_t b = order[i];
        free(blocks[b]);
        size_t n = random_size();
        unsigned char *p = calloc(n, 1);
        if (p == NULL)
            fail("calloc", b, 0);
        for (size_t k = 0; k < n; k++)
            if (p[k] != 0)
                fail("calloc not zeroed", b, k);
        blocks[b] = p;
        sizes[b] = n;
        fill(p, n, b);
    }

    /* 5. Final verification and free everything in scrambled order. */
    for (size_t b = 0; b < NBLOCKS; b++)
        checksum = checksum * 31 + check(blocks[b], sizes[b], b, "final");
    for (size_t i = 0; i < NBLOCKS; i++)
        free(blocks[order[NBLOCKS - 1 - i]]);

    printf("blocks=%d big=%zu checksum=%016llx\n", NBLOCKS, big, (unsigned long long)checksum);
    printf("ok\n");
    return 0;
}
