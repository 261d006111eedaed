/* Inputs shared by rttest.c (SH-4) and gen_expect.c (host). */
#include <stdint.h>
static const uint64_t CASE_A[] = {
  0, 1, 2, 7, 10, 1000000007ull, 0xffffffffull, 0x100000000ull, 0x123456789abcdef0ull,
  0x8000000000000000ull, 0xffffffffffffffffull, 0x7fffffffffffffffull, 0xfffffffffffffff6ull,
  1ull << 53, (1ull << 53) + 1, (1ull << 54) + 3, 0x00000001ffffffffull, 0xdeadbeefcafef00dull,
  12345678901234567ull, 0x0000000080000000ull,
};
static const uint64_t CASE_B[] = {
  10, 3, 10, 2, 10, 10, 0x10000ull, 0xffffffffull, 0x1234ull, 0xffffffffffffffffull,
  7, 0x100000000ull, 3, 33, 5, 0x7fffffffffffffffull, 0x80000000ull, 0xfffffff1ull,
  1000000000ull, 0xfffffffffffffff9ull,
};
#define NCASES (sizeof CASE_A / sizeof CASE_A[0])
static const double CASE_D[] = {
  0.0, 0.5, 1.0, -1.0, 2.5, -2.5, 3.9999, 4294967295.0, 4294967296.5, -4294967297.75,
  9007199254740993.0, 1e18, -1e18, 9.2e18, -9.2e18, 1.8e19, 123456789.987654321,
};
#define NDCASES (sizeof CASE_D / sizeof CASE_D[0])

/* Results per integer case, in this order. */
enum { R_UDIV, R_UMOD, R_SDIV, R_SMOD, R_SHL, R_SHR, R_SAR, R_CLZ, R_CTZ, R_POP,
       R_U2D, R_S2D, R_U2F, R_S2F, NR };
/* Results per double case. */
enum { D_FIX, D_FIXU, D_FLOOR, D_CEIL, D_TRUNC, D_NEAR, D_SQRT, NDR };

#define BITS_D(x) ({ double _d = (x); uint64_t _u; __builtin_memcpy(&_u, &_d, 8); _u; })
#define BITS_F(x) ({ float _f = (x); uint32_t _u; __builtin_memcpy(&_u, &_f, 4); (uint64_t)_u; })

static uint64_t int_result(int op, uint64_t a, uint64_t b)
{
  /* volatile keeps GCC from folding at compile time: the helpers must run */
  volatile uint64_t va = a, vb = b;
  a = va; b = vb;
  int64_t sa = (int64_t)a, sb = (int64_t)b;
  int s = (int)(b & 63);
  switch (op) {
  case R_UDIV: return a / b;
  case R_UMOD: return a % b;
  case R_SDIV: return (sa == INT64_MIN && sb == -1) ? 0 : (uint64_t)(sa / sb);
  case R_SMOD: return (sa == INT64_MIN && sb == -1) ? 0 : (uint64_t)(sa % sb);
  case R_SHL: return a << s;
  case R_SHR: return a >> s;
  case R_SAR: return (uint64_t)(sa >> s);
  case R_CLZ: return a ? (uint64_t)__builtin_clzll(a) : 64;
  case R_CTZ: return a ? (uint64_t)__builtin_ctzll(a) : 64;
  case R_POP: return (uint64_t)__builtin_popcountll(a);
  case R_U2D: return BITS_D((double)a);
  case R_S2D: return BITS_D((double)sa);
  case R_U2F: return BITS_F((float)a);
  case R_S2F: return BITS_F((float)sa);
  }
  return 0;
}

static double floor_(double), ceil_(double), trunc_(double), near_(double), sqrt_(double);

static uint64_t dbl_result(int op, double d)
{
  volatile double vd = d;
  d = vd;
  switch (op) {
  case D_FIX: return (d >= 0x1p63 || d < -0x1p63) ? 0 : (uint64_t)(int64_t)d;
  case D_FIXU: return d < 0 ? 0 : (uint64_t)d;
  case D_FLOOR: return BITS_D(floor_(d));
  case D_CEIL: return BITS_D(ceil_(d));
  case D_TRUNC: return BITS_D(trunc_(d));
  case D_NEAR: return BITS_D(near_(d));
  case D_SQRT: return BITS_D(d < 0 ? 0.0 : sqrt_(d));
  }
  return 0;
}
