/* Freestanding shim: alloca is GCC's builtin. */
#ifndef SH4RT_ALLOCA_H
#define SH4RT_ALLOCA_H
#define alloca __builtin_alloca
#endif
