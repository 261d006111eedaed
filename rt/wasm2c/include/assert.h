/* Freestanding shim: assert() reports through the console's port and stops. */
#ifndef FLIGHT_WASM_ASSERT_H
#define FLIGHT_WASM_ASSERT_H
void flight_wasm_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : flight_wasm_assert_fail(#e, __FILE__, __LINE__))
#endif
#endif
