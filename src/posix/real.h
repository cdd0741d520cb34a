/*
 * real.h - reaching the C library's own functions from the interposer.
 *
 * libvmcisim.a defines libc names (socket, read, pthread_create, time, ...) so that a program
 * linked with it runs its calls on the simulation without a source change. Each such wrapper
 * decides whether the call is the simulation's (a simulated process thread, a simulated
 * descriptor); if not, it hands the call on unchanged to the next definition of the name in
 * the link order, the C library's, found once with dlsym(RTLD_NEXT). The same code works when
 * the library is preloaded into a program that was not linked with it.
 *
 * Library code outside src/posix must never call an interposed name expecting the C library:
 * it would re-enter the interposer. It calls REAL(name)(...) instead (or a name listed in
 * real_names.h, which the build force-includes for those files).
 */
#ifndef VMCISIM_POSIX_REAL_H
#define VMCISIM_POSIX_REAL_H

#include <stddef.h>

/* The C library's definition of `name` (after this library in the lookup order), resolved on
 * first use and cached in *slot. Aborts with a message if the name cannot be found: a wrapper
 * that cannot reach the real function must not pretend to have done the call. */
void *vmcisim_real_lookup(const char *name, void **slot);

/* REAL(socket) is a pointer with socket's own type, e.g. REAL(socket)(AF_UNIX, ...). */
#define REAL(name)                                                                           \
    (__extension__({                                                                         \
        static void *real_slot_;                                                             \
        void *real_fn_ = __atomic_load_n(&real_slot_, __ATOMIC_ACQUIRE);                     \
        if (__builtin_expect(real_fn_ == NULL, 0))                                           \
            real_fn_ = vmcisim_real_lookup(#name, &real_slot_);                              \
        (__typeof__(&name))real_fn_;                                                          \
    }))

#endif /* VMCISIM_POSIX_REAL_H */
