/* The few libc functions wasm2c's generated code and GCC need. Build with
   -fno-tree-loop-distribute-patterns, or GCC turns these loops back into calls to themselves. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

void *memcpy(void *d, const void *s, size_t n)
{
  unsigned char *dp = d;
  const unsigned char *sp = s;
  if ((((uintptr_t)dp | (uintptr_t)sp) & 3) == 0) {   /* aligned word path */
    for (; n >= 4; n -= 4, dp += 4, sp += 4)
      *(uint32_t *)dp = *(const uint32_t *)sp;
  }
  while (n--)
    *dp++ = *sp++;
  return d;
}

void *memmove(void *d, const void *s, size_t n)
{
  unsigned char *dp = d;
  const unsigned char *sp = s;
  if (dp <= sp || dp >= sp + n)
    return memcpy(d, s, n);
  while (n--)
    dp[n] = sp[n];
  return d;
}

void *memset(void *d, int c, size_t n)
{
  unsigned char *dp = d;
  if (((uintptr_t)dp & 3) == 0) {
    uint32_t w = (unsigned char)c * 0x01010101u;
    for (; n >= 4; n -= 4, dp += 4)
      *(uint32_t *)dp = w;
  }
  while (n--)
    *dp++ = (unsigned char)c;
  return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
  const unsigned char *x = a, *y = b;
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i])
      return x[i] < y[i] ? -1 : 1;
  return 0;
}

size_t strlen(const char *s)
{
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

/* Math for wasm2c's float helpers (f32/f64 floor, ceil, trunc, nearest, abs,
   sqrt).  Works on the bit pattern; NaN/inf/huge values pass through. */
static double bits_to_d(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static uint64_t d_to_bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

double trunc(double x)
{
  uint64_t u = d_to_bits(x);
  int e = (int)((u >> 52) & 0x7ff) - 1023;
  if (e >= 52)
    return x;                               /* integral, inf or NaN */
  if (e < 0)
    return bits_to_d(u & 0x8000000000000000ull);   /* |x| < 1 -> +-0 */
  uint64_t m = 0x000fffffffffffffull >> e;
  return bits_to_d(u & ~m);
}

double floor(double x)
{
  double t = trunc(x);
  return (t > x) ? t - 1.0 : t;
}

double ceil(double x)
{
  double t = trunc(x);
  return (t < x) ? t + 1.0 : t;
}

double nearbyint(double x)                   /* round half to even */
{
  double a = fabs(x);
  if (!(a < 4503599627370496.0))             /* >= 2^52, inf or NaN */
    return x;
  double r = (a + 4503599627370496.0) - 4503599627370496.0;   /* FPU rounds to nearest-even */
  return __builtin_copysign(r, x);
}

double fabs(double x) { return bits_to_d(d_to_bits(x) & 0x7fffffffffffffffull); }
double sqrt(double x) { return __builtin_sqrt(x); }     /* fsqrt with -fno-math-errno */

float truncf(float x) { return (float)trunc(x); }
float floorf(float x) { return (float)floor(x); }
float ceilf(float x) { return (float)ceil(x); }
float nearbyintf(float x) { return (float)nearbyint(x); }
float fabsf(float x) { uint32_t u; memcpy(&u, &x, 4); u &= 0x7fffffffu; memcpy(&x, &u, 4); return x; }
float sqrtf(float x) { return (float)__builtin_sqrt((double)x); }   /* correctly rounded */
