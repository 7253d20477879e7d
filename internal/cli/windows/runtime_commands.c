/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime role's commands in cfwin.exe, on the HCS backend
 * (runtime/windows). `state` and `events --stats` query the compute system
 * through computecore.dll. Every other command first loads computecore.dll,
 * so a host without the Containers feature gets that error, and then fails
 * with a message naming the command, because its Windows implementation is
 * not written yet.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/mem.h"
#include "cli/runtime_cli.h"
#include "runtime/windows/hcs.h"

#define FLAGS(array) array, sizeof(array) / sizeof(array[0])

static bool stats_flag;

/* Opens the compute system of id after loading computecore.dll. */
static int open_system(const rt_context *ctx, cf_hcs_api *api, const char *id,
                       cf_hcs_system **system, cf_err **err)
{
  if (cf_hcs_api_load(api, err) < 0) {
    return cf_err_wrap(err, "%s %s", ctx->command->name, id);
  }
  if (cf_hcs_system_open(api, id, system, err) < 0) {
    cf_hcs_api_unload(api);
    return -1;
  }
  return 0;
}

static void close_system(cf_hcs_api *api, cf_hcs_system *system)
{
  cf_hcs_system_close(system);
  cf_hcs_api_unload(api);
}

static int cmd_state(rt_context *ctx, int argc, char **argv)
{
  cf_hcs_api api;
  cf_hcs_system *system = NULL;
  cf_err *err = NULL;
  if (open_system(ctx, &api, argv[0], &system, &err) < 0) {
    return rt_fail(err);
  }
  bool exited = false;
  int rc = cf_hcs_system_wait(system, 0, &exited, &err);
  close_system(&api, system);
  if (rc < 0) {
    return rt_fail(err);
  }
  // NOTE: winc reads the init's pid and the bundle from its state
  // directory, which this build does not write yet, so both are left out.
  cf_autofree char *json = cf_winrt_state_json(argv[0], exited ? "stopped" : "running", 0, "");
  fputs(json, stdout);
  return 0;
}

static int cmd_events(rt_context *ctx, int argc, char **argv)
{
  if (!stats_flag) {
    cf_err *err = NULL;
    cf_err_set(&err, CF_E_NOT_IMPLEMENTED,
               "events: only --stats is supported by cfwin.exe on Windows; run `events --stats %s`",
               argv[0]);
    return rt_fail(err);
  }
  cf_hcs_api api;
  cf_hcs_system *system = NULL;
  cf_err *err = NULL;
  if (open_system(ctx, &api, argv[0], &system, &err) < 0) {
    return rt_fail(err);
  }
  cf_hcs_stats stats;
  int rc = cf_hcs_system_stats(system, &stats, &err);
  close_system(&api, system);
  cf_autofree char *json = NULL;
  if (rc < 0 || cf_winrt_events_stats_json(&stats, &json, &err) < 0) {
    return rt_fail(err);
  }
  puts(json);
  return 0;
}

/* Loads computecore.dll, then rejects the command, which has no Windows
 * implementation in cfwin.exe yet. */
static int cmd_not_supported(rt_context *ctx, int argc, char **argv)
{
  cf_hcs_api api;
  cf_err *err = NULL;
  if (cf_hcs_api_load(&api, &err) < 0) {
    cf_err_wrap(&err, "%s", ctx->command->name);
    return rt_fail(err);
  }
  cf_hcs_api_unload(&api);
  cf_err_set(&err, CF_E_NOT_IMPLEMENTED,
             "%s: not supported on Windows by cfwin.exe yet; use winc.exe for this command",
             ctx->command->name);
  return rt_fail(err);
}

static rt_flag events_flags[] = {
    {"stats", RT_FLAG_BOOL, &stats_flag, "display the container's stats then exit"},
};

const rt_command rt_commands[] = {
    {"create", "create a container (not supported yet)", "<container-id>", NULL, 0, true,
     RT_ARGS_EXACT, 1, cmd_not_supported},
    {"delete", "delete a container (not supported yet)", "<container-id>", NULL, 0, true,
     RT_ARGS_EXACT, 1, cmd_not_supported},
    {"events", "display container stats", "<container-id>", FLAGS(events_flags), true,
     RT_ARGS_EXACT, 1, cmd_events},
    {"exec", "execute new process inside the container (not supported yet)",
     "<container-id> <command> [args...]", NULL, 0, false, RT_ARGS_MIN, 1, cmd_not_supported},
    {"kill", "send a signal to the container's process (not supported yet)",
     "<container-id> [signal]", NULL, 0, true, RT_ARGS_RANGE, 1, cmd_not_supported},
    {"list", "list containers (not supported yet)", "", NULL, 0, true, RT_ARGS_EXACT, 0,
     cmd_not_supported},
    {"run", "create and run a container (not supported yet)", "<container-id>", NULL, 0, false,
     RT_ARGS_EXACT, 1, cmd_not_supported},
    {"start", "execute the user defined process in a created container (not supported yet)",
     "<container-id>", NULL, 0, false, RT_ARGS_MIN, 1, cmd_not_supported},
    {"state", "output the state of a container", "<container-id>", NULL, 0, true, RT_ARGS_EXACT, 1,
     cmd_state},
};
const size_t rt_command_count = sizeof(rt_commands) / sizeof(rt_commands[0]);
const char rt_backend_name[] = "HCS backend";
