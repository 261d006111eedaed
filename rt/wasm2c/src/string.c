/* The mem* and str* functions wasm2c's generated code and GCC call, for a port that has no
   other source of them (the SH-4's; the PlayStation's come from Rust's compiler-builtins, and
   must not be replaced there: these would then serve the Rust code too). Build with
   -fno-tree-loop-distribute-patterns, or GCC turns these loops back into calls to themselves. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
