/* 64-bit integer helpers, replacing libgcc's: the __udivdi3 & co. of Debian's SH-4 libgcc
   12.2 give wrong results (2 / 10 = 0xfffefffe), and test/rttest.c shows it on every run. The
   link puts these objects before libgcc, so libgcc's members with these names are never pulled
   in. Only 32-bit operations, constant shifts and libgcc's assembly 32-bit division
   (__udivsi3_i4i) are used inside. Checked against host-computed values by test/rttest.c. */
#include <stdint.h>

typedef union { uint64_t u; struct { uint32_t lo, hi; } w; } dw;   /* little endian */

int __clzsi2(uint32_t x)
{
  int n = 0;
  if (x == 0) return 32;
  if (!(x & 0xffff0000u)) { n += 16; x <<= 16; }
  if (!(x & 0xff000000u)) { n += 8; x <<= 8; }
  if (!(x & 0xf0000000u)) { n += 4; x <<= 4; }
  if (!(x & 0xc0000000u)) { n += 2; x <<= 2; }
  if (!(x & 0x80000000u)) { n += 1; }
  return n;
}

int __ctzsi2(uint32_t x)
{
  int n = 0;
  if (x == 0) return 32;
  if (!(x & 0x0000ffffu)) { n += 16; x >>= 16; }
  if (!(x & 0x000000ffu)) { n += 8; x >>= 8; }
  if (!(x & 0x0000000fu)) { n += 4; x >>= 4; }
  if (!(x & 0x00000003u)) { n += 2; x >>= 2; }
  if (!(x & 0x00000001u)) { n += 1; }
  return n;
}

int __popcountsi2(uint32_t x)
{
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0f0f0f0fu;
  return (int)((x * 0x01010101u) >> 24);
}

int __clzdi2(uint64_t x)
{
  dw v = { .u = x };
  return v.w.hi ? __clzsi2(v.w.hi) : 32 + __clzsi2(v.w.lo);
}

int __ctzdi2(uint64_t x)
{
  dw v = { .u = x };
  return v.w.lo ? __ctzsi2(v.w.lo) : 32 + __ctzsi2(v.w.hi);
}

int __popcountdi2(uint64_t x)
{
  dw v = { .u = x };
  return __popcountsi2(v.w.lo) + __popcountsi2(v.w.hi);
}

uint64_t __ashldi3(uint64_t a, int s)
{
  dw v = { .u = a }, r;
  s &= 63;
  if (s == 0) return a;
  if (s >= 32) { r.w.hi = v.w.lo << (s - 32); r.w.lo = 0; }
  else { r.w.hi = (v.w.hi << s) | (v.w.lo >> (32 - s)); r.w.lo = v.w.lo << s; }
  return r.u;
}

uint64_t __lshrdi3(uint64_t a, int s)
{
  dw v = { .u = a }, r;
  s &= 63;
  if (s == 0) return a;
  if (s >= 32) { r.w.lo = v.w.hi >> (s - 32); r.w.hi = 0; }
  else { r.w.lo = (v.w.lo >> s) | (v.w.hi << (32 - s)); r.w.hi = v.w.hi >> s; }
  return r.u;
}

int64_t __ashrdi3(int64_t a, int s)
{
  dw v = { .u = (uint64_t)a }, r;
  s &= 63;
  if (s == 0) return a;
  if (s >= 32) { r.w.lo = (uint32_t)((int32_t)v.w.hi >> (s - 32)); r.w.hi = (uint32_t)((int32_t)v.w.hi >> 31); }
  else { r.w.lo = (v.w.lo >> s) | (v.w.hi << (32 - s)); r.w.hi = (uint32_t)((int32_t)v.w.hi >> s); }
  return (int64_t)r.u;
}

/* Shift-subtract long division; 32/32 fast path.  d == 0 is never reached
   from wasm2c code (it traps first); here it yields q = ~0, r = n. */
uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
  dw nn = { .u = n }, dd = { .u = d };
  uint64_t q = 0;
  if (nn.w.hi == 0 && dd.w.hi == 0) {
    if (dd.w.lo == 0) { if (rem) *rem = n; return ~0ull; }
    uint32_t q32 = nn.w.lo / dd.w.lo;
    if (rem) *rem = nn.w.lo - q32 * dd.w.lo;
    return q32;
  }
  if (d == 0) { if (rem) *rem = n; return ~0ull; }
  if (d > n) { if (rem) *rem = n; return 0; }
  int sh = __clzdi2(d) - __clzdi2(n);       /* 0..63, d << sh <= n */
  d = __ashldi3(d, sh);
  for (int i = 0; i <= sh; i++) {
    q <<= 1;
    if (n >= d) { n -= d; q |= 1; }
    d >>= 1;
  }
  if (rem) *rem = n;
  return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d) { return __udivmoddi4(n, d, 0); }
uint64_t __umoddi3(uint64_t n, uint64_t d) { uint64_t r; __udivmoddi4(n, d, &r); return r; }

int64_t __divdi3(int64_t a, int64_t b)
{
  uint64_t ua = a < 0 ? -(uint64_t)a : (uint64_t)a;
  uint64_t ub = b < 0 ? -(uint64_t)b : (uint64_t)b;
  uint64_t q = __udivmoddi4(ua, ub, 0);
  return (int64_t)(((a < 0) != (b < 0)) ? -q : q);
}

int64_t __moddi3(int64_t a, int64_t b)
{
  uint64_t ua = a < 0 ? -(uint64_t)a : (uint64_t)a;
  uint64_t ub = b < 0 ? -(uint64_t)b : (uint64_t)b;
  uint64_t r;
  __udivmoddi4(ua, ub, &r);
  return (int64_t)(a < 0 ? -r : r);            /* remainder takes the dividend's sign */
}

/* int64 <-> floating point (also C in libgcc, so also replaced).
   Rounding: one rounding step each, as IEEE requires. */
#define TWO32 4294967296.0
#define TWO31 2147483648.0

static uint32_t d2u32(double x)     /* 0 <= x < 2^32, truncating; ftrc is signed */
{
  return x >= TWO31 ? (uint32_t)(int32_t)(x - TWO31) + 0x80000000u : (uint32_t)(int32_t)x;
}

double __floatundidf(uint64_t a)
{
  dw v = { .u = a };
  /* hi*2^32 is exact, (double)lo is exact: the single add rounds once. */
  return (double)v.w.hi * TWO32 + (double)v.w.lo;
}

double __floatdidf(int64_t a)
{
  return a < 0 ? -__floatundidf(-(uint64_t)a) : __floatundidf((uint64_t)a);
}

float __floatundisf(uint64_t a)
{
  if (a >> 53) {                              /* keep a sticky bit: no double rounding */
    uint64_t s = (a >> 11) | ((a & 0x7ff) != 0);
    return (float)(__floatundidf(s) * 2048.0);
  }
  return (float)__floatundidf(a);             /* exact in double, then one rounding */
}

float __floatdisf(int64_t a)
{
  return a < 0 ? -__floatundisf(-(uint64_t)a) : __floatundisf((uint64_t)a);
}

uint64_t __fixunsdfdi(double x)              /* truncates; out of range is UB (wasm2c checks first) */
{
  if (!(x >= 1.0))
    return 0;
  uint32_t hi = d2u32(x * (1.0 / TWO32));
  uint32_t lo = d2u32(x - (double)hi * TWO32);   /* exact */
  dw v;
  v.w.hi = hi;
  v.w.lo = lo;
  return v.u;
}

int64_t __fixdfdi(double x)
{
  return x < 0 ? (int64_t)-__fixunsdfdi(-x) : (int64_t)__fixunsdfdi(x);
}

uint64_t __fixunssfdi(float x) { return __fixunsdfdi((double)x); }
int64_t __fixsfdi(float x) { return __fixdfdi((double)x); }
