/* Freestanding shim: alloca is GCC's builtin. */
#ifndef FLIGHT_WASM_ALLOCA_H
#define FLIGHT_WASM_ALLOCA_H
#define alloca __builtin_alloca
#endif
