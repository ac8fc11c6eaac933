/* Test support: the allocation entry points of the test binary, interposed so a test can count
   what one call allocates (the training step's "no allocation once warm"). Each forwards to
   glibc's own implementation (__libc_malloc and friends), so nothing else changes; counting is
   per thread and off unless a test turns it on. glibc only: elsewhere the counter reads -1. */
#include "allocation_counter.h"
#include <errno.h>
#include <stddef.h>

#if defined(__linux__) && defined(__GLIBC__)
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static _Thread_local int counting = 0;
static _Thread_local long allocations = 0;

void *malloc(size_t size) {
    if (counting) allocations++;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    if (counting) allocations++;
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    if (counting) allocations++;
    return __libc_realloc(pointer, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    if (counting) allocations++;
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    if (counting) allocations++;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

void allocation_counter_begin(void) {
    allocations = 0;
    counting = 1;
}

long allocation_counter_end(void) {
    counting = 0;
    return allocations;
}
#else
void allocation_counter_begin(void) {}
long allocation_counter_end(void) { return -1; }
#endif
