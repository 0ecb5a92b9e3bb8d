#include "runner/runner.h"
#include "lib/util.h"
int cmd_runner(int argc, char **argv) { (void)argc; (void)argv; warn("runner: not built yet"); return 2; }
