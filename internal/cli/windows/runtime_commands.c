/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime role's commands in cfwin.exe on HCS v2 (computecore.dll) and
 * HCN v2 (computenetwork.dll): winc's create, start, run, exec, delete,
 * state and events, plus runc's kill, list and ps. Output shapes and error
 * texts are winc's (runc's for the three runc commands). The container
 * lifecycle is in runtime_container.c, the status in runtime_state.c and
 * attached stdio in runtime_stdio.c.
 */
#include <io.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "cli/runtime_cli.h"
#include "cli/windows/runtime_win.h"
#include "image/windows/win.h"

#define FLAGS(array) array, sizeof(array) / sizeof(array[0])

static const char *bundle_flag = "";
static const char *pid_file_flag = "";
static bool no_new_keyring_flag;
static bool detach_flag;
static bool force_flag;
static bool stats_flag;
static const char *process_flag = "";
static const char *cwd_flag = "";
static const char *user_flag = "";
static rt_strings env_flag;
static bool tty_flag;
static const char *format_flag = "table";
static bool quiet_flag;

/* ---- helpers ---- */

static int load_api(const rt_context *ctx, cf_hcs_api *api, const char *id, cf_err **err)
{
  if (cf_hcs_api_load(api, err) < 0) {
    return cf_err_wrap(err, "%s%s%s", ctx->command->name, id[0] != '\0' ? " " : "", id);
  }
  return 0;
}

/* The process a bundle's config.json gives. */
static cf_winrt_process bundle_process(const cf_bundle_process *process)
{
  return (cf_winrt_process){
      .args = (const char *const *)process->args,
      .arg_count = process->arg_count,
      .env = (const char *const *)process->env,
      .env_count = process->env_count,
      .cwd = process->cwd,
      .user = process->username,
  };
}

/* Records the started process, or the failed start, as winc's SetSuccess
 * and SetFailure do. */
static int record_start(rt_context *ctx, const char *id, cf_hcs_process *process, cf_err **err)
{
  if (process == NULL) {
    return cf_store_runtime_set_process(ctx->store, id, 0, 0, true, err);
  }
  DWORD pid = cf_hcs_process_pid(process);
  uint64_t start_time = 0;
  if (wrt_process_start_time(pid, &start_time, err) < 0) {
    cf_store_runtime_set_process(ctx->store, id, 0, 0, true, NULL);
    return -1;
  }
  return cf_store_runtime_set_process(ctx->store, id, pid, start_time, false, err);
}

/* winc's start: the created container's own process, with stdio pipes
 * when attached. */
static int start_container(rt_context *ctx, const cf_hcs_api *api, const char *id, bool attach,
                           cf_hcs_process **out, cf_err **err)
{
  wrt_container container;
  if (wrt_container_get(ctx, api, id, &container, err) < 0) {
    return -1;
  }
  bool created = strcmp(container.status, WRT_STATUS_CREATED) == 0;
  bool claimed = false;
  if (created && cf_store_runtime_claim_start(ctx->store, id, &claimed, err) < 0) {
    wrt_container_clear(&container);
    return -1;
  }
  if (!claimed) {
    const char *status = created ? WRT_STATUS_RUNNING : container.status;
    wrt_container_clear(&container);
    return cf_err_set(err, CF_E_INVALID, "cannot start a container in the %s state", status);
  }
  cf_bundle bundle;
  int rc = wrt_bundle_load(id, container.record.bundle, &bundle, err);
  wrt_container_clear(&container);
  if (rc < 0) {
    record_start(ctx, id, NULL, NULL);
    return -1;
  }
  cf_winrt_process process = bundle_process(&bundle.process);
  rc = wrt_process_start(api, id, &process, attach, out, err);
  cf_bundle_clear(&bundle);
  if (rc < 0) {
    record_start(ctx, id, NULL, NULL);
    return -1;
  }
  // NOTE: winc also mounts the container volume at C:\proc\<pid>\root
  // here (SetVolumeMountPointW); cfwin.exe does not yet.
  if (record_start(ctx, id, *out, err) < 0 ||
      wrt_write_pid_file(pid_file_flag, cf_hcs_process_pid(*out), err) < 0) {
    cf_hcs_process_close(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

/* Waits for an attached process and returns its exit code, or 1 after
 * reporting an error. */
static int attach_and_wait(cf_hcs_process *process)
{
  cf_err *err = NULL;
  uint32_t exit_code = 0;
  int rc = wrt_process_attach(process, &exit_code, &err);
  cf_hcs_process_close(process);
  return rc < 0 ? rt_fail(err) : (int)exit_code;
}

/* ---- create, start, run ---- */

static int create_container(rt_context *ctx, const cf_hcs_api *api, const char *id, cf_err **err)
{
  rt_log_debug("creating container", id, "bundle", bundle_flag);
  cf_bundle bundle;
  if (wrt_bundle_load(id, bundle_flag, &bundle, err) < 0) {
    return -1;
  }
  int rc = wrt_container_create(ctx, api, id, &bundle, err);
  cf_bundle_clear(&bundle);
  return rc;
}

static int cmd_create(rt_context *ctx, int argc, char **argv)
{
  cf_hcs_api api;
  cf_err *err = NULL;
  if (load_api(ctx, &api, argv[0], &err) < 0) {
    return rt_fail(err);
  }
  // NOTE: create starts no process on Windows, so --pid-file has nothing
  // to write yet; winc accepts it on run and start, where it is written.
  int rc = create_container(ctx, &api, argv[0], &err);
  cf_hcs_api_unload(&api);
  return rc < 0 ? rt_fail(err) : 0;
}

static int cmd_start(rt_context *ctx, int argc, char **argv)
{
  cf_hcs_api api;
  cf_err *err = NULL;
  if (load_api(ctx, &api, argv[0], &err) < 0) {
    return rt_fail(err);
  }
  rt_log_debug("starting container", argv[0], "pidFile", pid_file_flag);
  // winc's start creates pipes it never reads, so HCS keeps a handle to
  // the process; the pipes close when this command exits.
  cf_hcs_process *process = NULL;
  int rc = start_container(ctx, &api, argv[0], true, &process, &err);
  cf_hcs_process_close(process);
  cf_hcs_api_unload(&api);
  return rc < 0 ? rt_fail(err) : 0;
}

static int cmd_run(rt_context *ctx, int argc, char **argv)
{
  const char *id = argv[0];
  cf_hcs_api api;
  cf_err *err = NULL;
  if (load_api(ctx, &api, id, &err) < 0) {
    return rt_fail(err);
  }
  rt_log_debug("running container", id, "detach", detach_flag ? "true" : "false");
  cf_hcs_process *process = NULL;
  if (create_container(ctx, &api, id, &err) < 0) {
    cf_hcs_api_unload(&api);
    return rt_fail(err);
  }
  if (start_container(ctx, &api, id, !detach_flag, &process, &err) < 0) {
    /* As runc does, a run whose start fails removes what its create made. */
    cf_err *cleanup_err = NULL;
    if (wrt_container_delete(ctx, &api, id, true, &cleanup_err) < 0) {
      cf_autofree char *message =
          cf_xasprintf("remove container %s after its failed start: %s", id, cleanup_err->message);
      rt_log_error(message);
      cf_err_free(cleanup_err);
    }
    cf_hcs_api_unload(&api);
    return rt_fail(err);
  }
  if (detach_flag) {
    cf_hcs_process_close(process);
    cf_hcs_api_unload(&api);
    return 0;
  }
  int code = attach_and_wait(process);
  if (wrt_container_delete(ctx, &api, id, true, &err) < 0) {
    rt_fail(err);
    code = code != 0 ? code : 1;
  }
  cf_hcs_api_unload(&api);
  return code;
}

/* ---- exec ---- */

/* The process of exec: -p's process.json, or winc's empty spec with cwd
 * C:\, then the flags and positional arguments on top. */
static int exec_process(int argc, char **argv, cf_bundle_process *spec, cf_err **err)
{
  if (process_flag[0] != '\0') {
    if (cf_process_load(process_flag, spec, err) < 0) {
      return -1;
    }
  } else {
    memset(spec, 0, sizeof(*spec));
    spec->cwd = cf_xstrdup("C:\\");
  }
  if (argc > 1) {
    cf_strv_free(spec->args, spec->arg_count);
    spec->args = cf_xcalloc((size_t)argc, sizeof(char *));
    for (int i = 1; i < argc; i++) {
      spec->args[i - 1] = cf_xstrdup(argv[i]);
    }
    spec->arg_count = (size_t)argc - 1;
  }
  if (cwd_flag[0] != '\0') {
    free(spec->cwd);
    spec->cwd = cf_xstrdup(cwd_flag);
  }
  if (env_flag.count > 0) {
    cf_strv_free(spec->env, spec->env_count);
    spec->env = cf_xcalloc(env_flag.count + 1, sizeof(char *));
    for (size_t i = 0; i < env_flag.count; i++) {
      spec->env[i] = cf_xstrdup(env_flag.values[i]);
    }
    spec->env_count = env_flag.count;
  }
  if (user_flag[0] != '\0') {
    free(spec->username);
    spec->username = cf_xstrdup(user_flag);
  }
  return 0;
}

static int cmd_exec(rt_context *ctx, int argc, char **argv)
{
  const char *id = argv[0];
  cf_err *err = NULL;
  cf_bundle_process spec;
  if (exec_process(argc, argv, &spec, &err) < 0) {
    return rt_fail(err);
  }
  // winc never sets EmulateConsole, so -t and process.terminal are
  // accepted and the process gets pipes, as with winc.
  if (tty_flag || spec.terminal) {
    rt_log_debug("terminal ignored: Windows processes get pipes", id, NULL, NULL);
  }
  cf_hcs_api api;
  if (load_api(ctx, &api, id, &err) < 0) {
    cf_bundle_process_clear(&spec);
    return rt_fail(err);
  }
  cf_winrt_process process = bundle_process(&spec);
  cf_hcs_process *started = NULL;
  int rc = wrt_process_start(&api, id, &process, !detach_flag, &started, &err);
  cf_bundle_process_clear(&spec);
  if (rc == 0 && wrt_write_pid_file(pid_file_flag, cf_hcs_process_pid(started), &err) < 0) {
    cf_hcs_process_close(started);
    rc = -1;
  }
  if (rc < 0) {
    cf_hcs_api_unload(&api);
    return rt_fail(err);
  }
  char pid_text[16];
  snprintf(pid_text, sizeof(pid_text), "%lu", (unsigned long)cf_hcs_process_pid(started));
  rt_log_debug("process started", id, "pid", pid_text);
  int code = 0;
  if (detach_flag) {
    cf_hcs_process_close(started);
  } else {
    code = attach_and_wait(started);
  }
  cf_hcs_api_unload(&api);
  return code;
}

/* ---- delete, kill ---- */

static int cmd_delete(rt_context *ctx, int argc, char **argv)
{
  cf_hcs_api api;
  cf_err *err = NULL;
  if (load_api(ctx, &api, argv[0], &err) < 0) {
    return rt_fail(err);
  }
  rt_log_debug("deleting container", argv[0], "force", force_flag ? "true" : "false");
  int rc = wrt_container_delete(ctx, &api, argv[0], force_flag, &err);
  cf_hcs_api_unload(&api);
  return rc < 0 ? rt_fail(err) : 0;
}

/* Signals of kill: a process-isolated Windows process can only be sent a
 * console control event or terminated. */
static int parse_signal(const char *text, bool *terminate, enum cf_hcs_signal *signal, cf_err **err)
{
  const char *name = strncmp(text, "SIG", 3) == 0 ? text + 3 : text;
  *terminate = false;
  if (strcmp(name, "KILL") == 0 || strcmp(name, "9") == 0) {
    *terminate = true;
  } else if (strcmp(name, "TERM") == 0 || strcmp(name, "15") == 0) {
    *signal = CF_HCS_SIGNAL_CTRL_SHUTDOWN;
  } else if (strcmp(name, "INT") == 0 || strcmp(name, "2") == 0) {
    *signal = CF_HCS_SIGNAL_CTRL_C;
  } else {
    return cf_err_set(err, CF_E_INVALID,
                      "unknown signal \"%s\": Windows containers take KILL (terminate), TERM "
                      "(CTRL_SHUTDOWN_EVENT) or INT (CTRL_C_EVENT)",
                      text);
  }
  return 0;
}

static int signal_process(const cf_hcs_api *api, const char *id, DWORD pid, bool terminate,
                          enum cf_hcs_signal signal, cf_err **err)
{
  cf_hcs_system *system = NULL;
  cf_hcs_process *process = NULL;
  if (cf_hcs_system_open(api, id, &system, err) < 0) {
    return -1;
  }
  int rc = cf_hcs_process_open(system, pid, &process, err);
  if (rc == 0) {
    rc =
        terminate ? cf_hcs_process_kill(process, err) : cf_hcs_process_signal(process, signal, err);
    cf_hcs_process_close(process);
  }
  cf_hcs_system_close(system);
  return rc;
}

static int kill_container(rt_context *ctx, const cf_hcs_api *api, const char *id,
                          const char *signal_text, cf_err **err)
{
  bool terminate = false;
  enum cf_hcs_signal signal = CF_HCS_SIGNAL_CTRL_SHUTDOWN;
  if (parse_signal(signal_text, &terminate, &signal, err) < 0) {
    return -1;
  }
  wrt_container container;
  if (wrt_container_get(ctx, api, id, &container, err) < 0) {
    return -1;
  }
  bool running = strcmp(container.status, WRT_STATUS_RUNNING) == 0;
  DWORD pid = (DWORD)container.record.pid;
  wrt_container_clear(&container);
  if (!running) {
    return cf_err_set(err, CF_E_INVALID, "container not running");
  }
  rt_log_debug("signalling container process", id, "signal", signal_text);
  return signal_process(api, id, pid, terminate, signal, err);
}

static int cmd_kill(rt_context *ctx, int argc, char **argv)
{
  cf_hcs_api api;
  cf_err *err = NULL;
  if (load_api(ctx, &api, argv[0], &err) < 0) {
    return rt_fail(err);
  }
  int rc = kill_container(ctx, &api, argv[0], argc > 1 ? argv[1] : "SIGTERM", &err);
  cf_hcs_api_unload(&api);
  return rc < 0 ? rt_fail(err) : 0;
}

/* ---- state, events ---- */

static int cmd_state(rt_context *ctx, int argc, char **argv)
{
  cf_hcs_api api;
  cf_err *err = NULL;
  if (load_api(ctx, &api, argv[0], &err) < 0) {
    return rt_fail(err);
  }
  wrt_container container;
  int rc = wrt_container_get(ctx, &api, argv[0], &container, &err);
  cf_hcs_api_unload(&api);
  if (rc < 0) {
    return rt_fail(err);
  }
  bool running = strcmp(container.status, WRT_STATUS_RUNNING) == 0;
  cf_autofree char *json =
      cf_winrt_state_json(argv[0], container.status, running ? (uint32_t)container.record.pid : 0,
                          container.record.bundle);
  wrt_container_clear(&container);
  fputs(json, stdout);
  return 0;
}

/* Opens the compute system of id after loading computecore.dll. */
static int open_system(const rt_context *ctx, cf_hcs_api *api, const char *id,
                       cf_hcs_system **system, cf_err **err)
{
  if (load_api(ctx, api, id, err) < 0) {
    return -1;
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

/* winc's events: the stats are read either way; only --stats prints them,
 * so without it the command checks that the container exists. */
static int cmd_events(rt_context *ctx, int argc, char **argv)
{
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
  if (stats_flag) {
    fputs(json, stdout);
  }
  return 0;
}

/* ---- list, ps ---- */

static char *created_text(int64_t ns)
{
  time_t sec = (time_t)(ns / 1000000000);
  struct tm tm;
  gmtime_s(&tm, &sec);
  char text[40];
  size_t n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(text + n, sizeof(text) - n, ".%09lldZ", (long long)(ns % 1000000000));
  return cf_xstrdup(text);
}

/* One container for list: runc's JSON object. A container whose status
 * cannot be read (its compute system is gone) is listed as stopped. */
static json_t *list_entry(rt_context *ctx, const cf_hcs_api *api, const char *id)
{
  wrt_container container;
  cf_err *err = NULL;
  if (wrt_container_get(ctx, api, id, &container, &err) < 0) {
    cf_err_free(err);
    memset(&container, 0, sizeof(container));
    if (cf_store_runtime_get(ctx->store, id, &container.record, NULL) < 0) {
      return NULL;
    }
    container.status = WRT_STATUS_STOPPED;
  }
  bool running = strcmp(container.status, WRT_STATUS_RUNNING) == 0;
  cf_autofree char *created = created_text(container.record.created_at_ns);
  json_t *entry = json_pack(
      "{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "ociVersion", CF_OCI_RUNTIME_VERSION, "id", id,
      "pid", (json_int_t)(running ? container.record.pid : 0), "status", container.status, "bundle",
      container.record.bundle, "rootfs", "", "created", created, "owner", "");
  wrt_container_clear(&container);
  return entry;
}

static json_t *list_entries(rt_context *ctx, const cf_hcs_api *api, cf_err **err)
{
  char **ids = NULL;
  size_t count = 0;
  if (rt_open_store(ctx, err) < 0 ||
      cf_store_runtime_list(ctx->store, NULL, &ids, &count, err) < 0) {
    return NULL;
  }
  json_t *list = json_array();
  for (size_t i = 0; i < count; i++) {
    json_t *entry = list_entry(ctx, api, ids[i]);
    if (entry != NULL) {
      json_array_append_new(list, entry);
    }
  }
  cf_strv_free(ids, count);
  return list;
}

static void print_cell(const char *text, size_t width, bool last)
{
  if (last) {
    printf("%s\n", text);
  } else {
    printf("%-*s", (int)width, text);
  }
}

static char *cell_text(json_t *value)
{
  return json_is_string(value) ? cf_xstrdup(json_string_value(value))
                               : json_dumps(value, JSON_ENCODE_ANY);
}

/* Prints rows with Go's tabwriter layout runc uses: minimum width 12,
 * padding 3. */
static void print_table(const char *const *header, json_t *rows, const char *const *keys,
                        size_t columns)
{
  size_t width[8] = {0};
  for (size_t c = 0; c < columns; c++) {
    width[c] = strlen(header[c]);
  }
  size_t r;
  json_t *row;
  json_array_foreach(rows, r, row)
  {
    for (size_t c = 0; c < columns; c++) {
      cf_autofree char *text = cell_text(json_object_get(row, keys[c]));
      width[c] = strlen(text) > width[c] ? strlen(text) : width[c];
    }
  }
  for (size_t c = 0; c < columns; c++) {
    width[c] = width[c] + 3 > 12 ? width[c] + 3 : 12;
    print_cell(header[c], width[c], c + 1 == columns);
  }
  json_array_foreach(rows, r, row)
  {
    for (size_t c = 0; c < columns; c++) {
      cf_autofree char *text = cell_text(json_object_get(row, keys[c]));
      print_cell(text, width[c], c + 1 == columns);
    }
  }
}

static int check_format(cf_err **err)
{
  if (strcmp(format_flag, "table") != 0 && strcmp(format_flag, "json") != 0) {
    return cf_err_set(err, CF_E_INVALID, "invalid format option");
  }
  return 0;
}

static void print_list(json_t *list)
{
  if (quiet_flag) {
    size_t i;
    json_t *entry;
    json_array_foreach(list, i, entry)
    {
      printf("%s\n", json_string_value(json_object_get(entry, "id")));
    }
  } else if (strcmp(format_flag, "json") == 0) {
    cf_autofree char *text = json_dumps(list, JSON_COMPACT);
    printf("%s\n", json_array_size(list) > 0 ? text : "null");
  } else {
    static const char *const header[] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
    static const char *const keys[] = {"id", "pid", "status", "bundle", "created", "owner"};
    print_table(header, list, keys, 6);
  }
}

static int cmd_list(rt_context *ctx, int argc, char **argv)
{
  cf_err *err = NULL;
  cf_hcs_api api;
  if (check_format(&err) < 0 || load_api(ctx, &api, "", &err) < 0) {
    return rt_fail(err);
  }
  json_t *list = list_entries(ctx, &api, &err);
  cf_hcs_api_unload(&api);
  if (list == NULL) {
    return rt_fail(err);
  }
  print_list(list);
  json_decref(list);
  return 0;
}

/* The ProcessList of a compute system as rows of pid and image name. */
static int process_rows(cf_hcs_system *system, json_t **rows, cf_err **err)
{
  const char *types[] = {"ProcessList"};
  cf_autofree char *query = cf_hcs_properties_query(types, 1);
  cf_autofree char *doc = NULL;
  if (cf_hcs_system_properties(system, query, &doc, err) < 0) {
    return -1;
  }
  json_error_t jerr;
  json_t *properties = json_loads(doc, 0, &jerr);
  json_t *list = json_object_get(properties, "ProcessList");
  *rows = json_array();
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item)
  {
    json_t *image = json_object_get(item, "ImageName");
    json_array_append_new(*rows,
                          json_pack("{s:O, s:s}", "pid", json_object_get(item, "ProcessId"), "cmd",
                                    json_is_string(image) ? json_string_value(image) : ""));
  }
  json_decref(properties);
  return 0;
}

static void print_processes(json_t *rows)
{
  if (strcmp(format_flag, "json") == 0) {
    json_t *pids = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
      json_array_append(pids, json_object_get(row, "pid"));
    }
    cf_autofree char *text = json_dumps(pids, JSON_COMPACT);
    printf("%s\n", text);
    json_decref(pids);
    return;
  }
  static const char *const header[] = {"PID", "CMD"};
  static const char *const keys[] = {"pid", "cmd"};
  print_table(header, rows, keys, 2);
}

static int cmd_ps(rt_context *ctx, int argc, char **argv)
{
  cf_hcs_api api;
  cf_err *err = NULL;
  if (check_format(&err) < 0 || load_api(ctx, &api, argv[0], &err) < 0) {
    return rt_fail(err);
  }
  wrt_container container;
  cf_hcs_system *system = NULL;
  json_t *rows = NULL;
  int rc = wrt_container_get(ctx, &api, argv[0], &container, &err);
  if (rc == 0) {
    wrt_container_clear(&container);
    rc = cf_hcs_system_open(&api, argv[0], &system, &err);
  }
  if (rc == 0) {
    rc = process_rows(system, &rows, &err);
    cf_hcs_system_close(system);
  }
  cf_hcs_api_unload(&api);
  if (rc < 0) {
    return rt_fail(err);
  }
  print_processes(rows);
  json_decref(rows);
  return 0;
}

/* ---- --log-handle ---- */

int rt_log_handle_fd(unsigned long long value, int *fd, cf_err **err)
{
  // Guardian passes the decimal value of an inherited pipe HANDLE.
  HANDLE handle = (HANDLE)(uintptr_t)value;
  DWORD flags = 0;
  if (value > UINTPTR_MAX || !GetHandleInformation(handle, &flags)) {
    cf_autofree char *text = cf_hcs_system_message(ERROR_INVALID_HANDLE);
    return cf_err_set(err, CF_E_INVALID, "log handle %llu invalid: %s", value,
                      text != NULL ? text : "The handle is invalid.");
  }
  *fd = _open_osfhandle((intptr_t)handle, 0);
  if (*fd < 0) {
    return cf_err_set(err, CF_E_SYSTEM, "log handle %llu: no C runtime descriptor for it", value);
  }
  return 0;
}

/* ---- the command table ---- */

static rt_flag create_flags[] = {
    {"bundle,b", RT_FLAG_STRING, &bundle_flag, "path to the root of the bundle directory"},
    {"pid-file", RT_FLAG_STRING, &pid_file_flag, "accepted; create starts no process to record"},
    {"no-new-keyring", RT_FLAG_BOOL, &no_new_keyring_flag, "ignored"},
};
static rt_flag start_flags[] = {
    {"pid-file", RT_FLAG_STRING, &pid_file_flag, "file to write the process id to"},
};
static rt_flag run_flags[] = {
    {"bundle,b", RT_FLAG_STRING, &bundle_flag, "path to the root of the bundle directory"},
    {"detach,d", RT_FLAG_BOOL, &detach_flag, "detach from the container's process"},
    {"pid-file", RT_FLAG_STRING, &pid_file_flag, "file to write the process id to"},
    {"no-new-keyring", RT_FLAG_BOOL, &no_new_keyring_flag, "ignored"},
};
static rt_flag exec_flags[] = {
    {"process,p", RT_FLAG_STRING, &process_flag, "path to the process.json"},
    {"pid-file", RT_FLAG_STRING, &pid_file_flag, "file to write the process id to"},
    {"detach,d", RT_FLAG_BOOL, &detach_flag, "detach from the container's process"},
    {"cwd", RT_FLAG_STRING, &cwd_flag, "current working directory in the container"},
    {"user,u", RT_FLAG_STRING, &user_flag, "user to run the process as (a Windows user name)"},
    {"env,e", RT_FLAG_STRINGS, &env_flag, "set environment variables (repeatable)"},
    {"tty,t", RT_FLAG_BOOL, &tty_flag, "accepted and ignored: Windows processes get pipes"},
};
static rt_flag delete_flags[] = {
    {"force,f", RT_FLAG_BOOL, &force_flag,
     "delete a running container; no error when it does not exist"},
};
static rt_flag events_flags[] = {
    {"stats", RT_FLAG_BOOL, &stats_flag, "display the container's stats then exit"},
};
static rt_flag list_flags[] = {
    {"format,f", RT_FLAG_STRING, &format_flag, "select one of: table or json"},
    {"quiet,q", RT_FLAG_BOOL, &quiet_flag, "display only container IDs"},
};
static rt_flag ps_flags[] = {
    {"format,f", RT_FLAG_STRING, &format_flag, "select one of: table or json"},
};

const rt_command rt_commands[] = {
    {"create", "create a container", "<container-id>", FLAGS(create_flags), true, RT_ARGS_EXACT, 1,
     cmd_create},
    {"delete", "delete a container and the resources it holds", "<container-id>",
     FLAGS(delete_flags), true, RT_ARGS_EXACT, 1, cmd_delete},
    {"events", "display container stats", "<container-id>", FLAGS(events_flags), true,
     RT_ARGS_EXACT, 1, cmd_events},
    {"exec", "execute new process inside the container", "<container-id> <command> [args...]",
     FLAGS(exec_flags), false, RT_ARGS_MIN, 1, cmd_exec},
    {"kill", "send a signal (KILL, TERM or INT) to the container's process",
     "<container-id> [signal]", NULL, 0, true, RT_ARGS_RANGE, 1, cmd_kill},
    {"list", "list containers", "", FLAGS(list_flags), true, RT_ARGS_EXACT, 0, cmd_list},
    {"ps", "list the processes of a container", "<container-id>", FLAGS(ps_flags), true,
     RT_ARGS_EXACT, 1, cmd_ps},
    {"run", "create and run a container", "<container-id>", FLAGS(run_flags), false, RT_ARGS_EXACT,
     1, cmd_run},
    {"start", "execute the user defined process in a created container", "<container-id>",
     FLAGS(start_flags), false, RT_ARGS_MIN, 1, cmd_start},
    {"state", "output the state of a container", "<container-id>", NULL, 0, true, RT_ARGS_EXACT, 1,
     cmd_state},
};
const size_t rt_command_count = sizeof(rt_commands) / sizeof(rt_commands[0]);
const char rt_backend_name[] = "HCS backend";
