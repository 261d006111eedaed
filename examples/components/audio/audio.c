/* The example's audio mixer, in C (clang --target=wasm32): four square-wave voices mixed into
   a 512-sample buffer every frame, in integers; returns the buffer's hash. It misbehaves on
   purpose: every 100th frame (99, 199, ...) it writes one word just past its memory, which the
   check stops (`write outside its memory`); without checks the word lands in the guard gap
   after its segment. */

#define SAMPLES 512
#define VOICES 4

static short mix[SAMPLES];
static unsigned phase[VOICES];
static const unsigned step[VOICES] = {0x01000000u / 80, 0x01000000u / 60, 0x01000000u / 45, 0x01000000u / 30};

static unsigned fnv(unsigned hash, const unsigned char *p, unsigned n)
{
  for (unsigned i = 0; i < n; i++)
    hash = (hash ^ p[i]) * 0x01000193u;
  return hash;
}

__attribute__((export_name("frame"))) int frame(int n)
{
  int volume = 1000 + (n % 64) * 50;
  for (int i = 0; i < SAMPLES; i++) {
    int sum = 0;
    for (int v = 0; v < VOICES; v++) {
      phase[v] += step[v] * (unsigned)(1 + (n >> 6) % 3);
      sum += (phase[v] & 0x00800000u) ? volume : -volume;
    }
    if (sum > 32767) sum = 32767;
    if (sum < -32768) sum = -32768;
    mix[i] = (short)sum;
  }
  if (n % 100 == 99) {
    volatile int *past = (volatile int *)(__builtin_wasm_memory_size(0) * 65536u + 16u);
    *past = n;
  }
  return (int)fnv(0x811c9dc5u, (const unsigned char *)mix, sizeof mix);
}
