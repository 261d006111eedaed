// GCC plugin for Debian's sh4-linux-gnu-gcc 12.2: switch off the SH pass
// "sh_treg_combine" (and its numbered instances sh_treg_combine2/3), which at
// -O1 and above deletes the load+compare that feeds a conditional branch
// (e.g. `if (global) f();` becomes a bare `bf`).  -fdisable-rtl-... does not
// reach these target-inserted passes, so gate them off from a plugin.
#include "gcc-plugin.h"
#include "plugin-version.h"
#include "tree-pass.h"
#include <cstring>

int plugin_is_GPL_compatible;

static void override_gate(void *gcc_data, void *)
{
  // gcc_data points to the bool gate result of current_pass.
  if (current_pass && current_pass->name
      && strncmp(current_pass->name, "sh_treg_combine", 15) == 0)
    *(bool *) gcc_data = false;
}

int plugin_init(struct plugin_name_args *info, struct plugin_gcc_version *ver)
{
  if (!plugin_default_version_check(ver, &gcc_version))
    return 1;
  register_callback(info->base_name, PLUGIN_OVERRIDE_GATE, override_gate, nullptr);
  return 0;
}
