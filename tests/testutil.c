#include "testutil.h"

#include <stdlib.h>

#include "assemble.h"
#include "sim/sim.h"

vmcisim *tu_world(uint64_t seed)
{
    struct vmcisim_config cfg = {.seed = seed};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    return sim;
}

vmcisim *tu_world_rt(void)
{
    struct vmcisim_config cfg = {.seed = 1, .realtime = 1};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    return sim;
}

int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

int tu_seed_count(void)
{
    const char *e = getenv("VMCISIM_TEST_SEEDS");
    int n = e ? atoi(e) : 0;
    return n > 0 ? n : 5;
}

vmcisim *tu_world_stack(uint64_t seed)
{
    struct vmcisim_config cfg = {.seed = seed};
    vmcisim *sim = sim_create_without_sockets(&cfg);
    ck_assert_ptr_nonnull(sim);
    return sim;
}
