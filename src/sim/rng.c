/*
 * rng.c - the world's random source: xoshiro256** seeded through splitmix64 from the
 * configured seed. Every random choice of a run (scheduling, fault knobs, ephemeral port
 * starts) comes from here, so one seed fixes the run.
 */
#include "world_internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void rng_seed(vmcisim *sim, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        sim->rng[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t sim_rand(vmcisim *sim)
{
    uint64_t *s = sim->rng;
    uint64_t r = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

uint64_t sim_rand_below(vmcisim *sim, uint64_t n)
{
    /* Lemire's multiply-shift with rejection: unbiased. */
    __uint128_t m = (__uint128_t)sim_rand(sim) * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            m = (__uint128_t)sim_rand(sim) * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

bool sim_chance(vmcisim *sim, double p)
{
    if (p <= 0.0)
        return false;
    if (p >= 1.0)
        return true;
    return (double)(sim_rand(sim) >> 11) * 0x1.0p-53 < p;
}
