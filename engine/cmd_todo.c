/* Placeholder entry points replaced as the engine lands. */
#include "engine/cmd.h"
#include "lib/util.h"
int cmd_plan(int argc, char **argv) { (void)argc; (void)argv; warn("plan: not built yet"); return 1; }
int cmd_build(int argc, char **argv) { (void)argc; (void)argv; warn("build: not built yet"); return 1; }
int cmd_status(int argc, char **argv) { (void)argc; (void)argv; warn("status: not built yet"); return 1; }
int cmd_graph(int argc, char **argv) { (void)argc; (void)argv; warn("graph: not built yet"); return 1; }
int cmd_check(int argc, char **argv) { (void)argc; (void)argv; warn("check: not built yet"); return 1; }
