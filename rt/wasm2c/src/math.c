/* The rounding functions wasm2c's float helpers call (f32/f64 floor, ceil, trunc, nearest,
   abs, copysign), in plain C on the bit pattern, so they serve hard and soft float alike; NaN, infinities
   and values too large to have a fraction pass through. sqrt and sqrtf are the port's (the
   SH-4's FPU instruction; on the PlayStation compiler-builtins' correctly rounded ones). */
#include <stdint.h>
#include <string.h>
#include <math.h>

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
  double r = (a + 4503599627370496.0) - 4503599627370496.0;   /* rounds to nearest-even */
  return __builtin_copysign(r, x);
}

double fabs(double x) { return bits_to_d(d_to_bits(x) & 0x7fffffffffffffffull); }

float truncf(float x) { return (float)trunc(x); }
float floorf(float x) { return (float)floor(x); }
float ceilf(float x) { return (float)ceil(x); }
float nearbyintf(float x) { return (float)nearbyint(x); }
float fabsf(float x) { uint32_t u; memcpy(&u, &x, 4); u &= 0x7fffffffu; memcpy(&x, &u, 4); return x; }
double copysign(double x, double y)
{
  return bits_to_d((d_to_bits(x) & 0x7fffffffffffffffull) | (d_to_bits(y) & 0x8000000000000000ull));
}
float copysignf(float x, float y)
{
  uint32_t u, v;
  memcpy(&u, &x, 4);
  memcpy(&v, &y, 4);
  u = (u & 0x7fffffffu) | (v & 0x80000000u);
  memcpy(&x, &u, 4);
  return x;
}
