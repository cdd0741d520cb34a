/*
 * link_all.c - makes the linker take every interposing file of src/posix (see
 * VMCISIM_POSIX_ANCHOR in posix_internal.h). world.c refers to vmcisim_posix_link_all.
 * A new file of src/posix adds its anchor here.
 */
#define ANCHORS(X)                                                                           \
    X(threads) X(sync) X(sem) X(sleep_time) X(random) X(signal) X(exit) X(poll) X(select)     \
    X(epoll) X(sock_calls) X(fd_calls)

#define DECLARE(f) extern const char vmcisim_posix_anchor_##f;
ANCHORS(DECLARE)

#define REFER(f) &vmcisim_posix_anchor_##f,
const char *const vmcisim_posix_link_all[] = {ANCHORS(REFER)};
