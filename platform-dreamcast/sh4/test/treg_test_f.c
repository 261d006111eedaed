/* The sh_treg_combine miscompile in isolation. The build compiles this file at -O2 with the
   plugin (image rttest) and without it (image rttest-noplugin). Without the plugin GCC 12.2
   emits a bare `bf` for the test of treg_flag (no load, no `tst`), so whether treg_hit() runs
   depends on the T bit the caller left behind. */
int treg_flag;
int treg_calls;

__attribute__((noinline)) void treg_hit(void) { treg_calls++; }

void treg_maybe_call(void)
{
  if (treg_flag)
    treg_hit();
}
