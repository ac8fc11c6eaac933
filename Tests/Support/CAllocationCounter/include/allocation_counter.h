#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/* Counts heap allocations made by the calling thread between begin and end: the test binary's
   malloc, calloc, realloc, posix_memalign and aligned_alloc count, then forward to glibc's. */
void allocation_counter_begin(void);
/* Allocations since begin on this thread; stops counting. */
long allocation_counter_end(void);

#endif
