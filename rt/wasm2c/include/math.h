/* Freestanding shim: the math functions wasm2c's generated code refers to (src/math.c; sqrt
   and sqrtf come from the console's port). */
#ifndef FLIGHT_WASM_MATH_H
#define FLIGHT_WASM_MATH_H
#define isnan(x) __builtin_isnan(x)
#define signbit(x) __builtin_signbit(x)
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
double floor(double);
float floorf(float);
double ceil(double);
float ceilf(float);
double trunc(double);
float truncf(float);
double nearbyint(double);
float nearbyintf(float);
double fabs(double);
float fabsf(float);
double sqrt(double);
float sqrtf(float);
double copysign(double, double);
float copysignf(float, float);
#endif
