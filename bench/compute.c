/* compute.c — deterministic compute-bound benchmark: a small prime sieve plus integer hashing; prints the result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIEVE_N 2000000
#define HASH_ROUNDS 250000000

static unsigned char composite[SIEVE_N + 1];

static uint64_t sieve(void)
{
    uint64_t count = 0, sum = 0;
    memset(composite, 0, sizeof composite);
    for (uint64_t i = 2; i <= SIEVE_N; i++) {
        if (composite[i])
            continue;
        count++;
        sum += i;
        for (uint64_t j = i * i; j <= SIEVE_N; j += i)
            composite[j] = 1;
    }
    return count * 1000003 ^ sum;
}

static uint64_t hash_chain(uint64_t rounds)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (uint64_t i = 0; i < rounds; i++) {
        h ^= i;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h = (h << 7) | (h >> 57);
    }
    return h;
}

int main(int argc, char **argv)
{
    /* An optional scale factor (default 1) for slower or faster machines. */
    uint64_t scale = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    uint64_t result = 0;
    for (uint64_t s = 0; s < scale; s++)
        result ^= sieve() + hash_chain(HASH_ROUNDS);
    printf("compute result=%016llx\n", (unsigned long long)result);
    return 0;
}
