/* Freestanding shim: assert() reports through the runtime and stops (status 134). */
#ifndef SH4RT_ASSERT_H
#define SH4RT_ASSERT_H
void sh4_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : sh4_assert_fail(#e, __FILE__, __LINE__))
#endif
#endif
