/* sqrt and sqrtf, which the shared math shim (math.h) declares: the FPU's fsqrt, correctly
   rounded (-fno-math-errno keeps GCC from calling back into these). */
#include <math.h>

double sqrt(double x) { return __builtin_sqrt(x); }
float sqrtf(float x) { return (float)__builtin_sqrt((double)x); } /* correctly rounded */
