/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime role's commands: winc's create, start, run, exec, delete,
 * state and events, plus runc's kill, list and ps. Output shapes and error
 * texts are winc's (runc's for the three runc commands).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "cli/linux/runtime_tty.h"
#include "cli/runtime_cli.h"
#include "runtime/bundle.h"
#include "runtime/lifecycle.h"
#include "runtime/runtime.h"

/* ---- helpers ---- */

static int write_pid_file(const char *path, pid_t pid, cf_err **err)
{
  if (path == NULL || path[0] == '\0') {
    return 0;
  }
  char text[32];
  int len = snprintf(text, sizeof(text), "%d", (int)pid);
  return cf_write_file_atomic(path, text, (size_t)len, 0644, err);
}

/* stdio for a detached process: the null device, as winc starts it
 * without pipes. */
static void null_stdio(int fds[3])
{
  for (int i = 0; i < 3; i++) {
    fds[i] = open("/dev/null", i == 0 ? O_RDONLY | O_CLOEXEC : O_WRONLY | O_CLOEXEC);
  }
}

/* stdio for an attached process: the caller's own streams, so stdin's end
 * of file reaches the process directly. A closed stream becomes the null
 * device. */
static void attached_stdio(int fds[3], bool opened[3])
{
  for (int i = 0; i < 3; i++) {
    opened[i] = fcntl(i, F_GETFD) < 0;
    fds[i] = opened[i] ? open("/dev/null", O_RDWR | O_CLOEXEC) : i;
  }
}

static void close_stdio(int fds[3], const bool *opened)
{
  for (int i = 0; i < 3; i++) {
    if (opened == NULL || opened[i]) {
      cf_closep(&fds[i]);
    }
  }
}

static const int forwarded_signals[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
                                        SIGUSR1, SIGUSR2, SIGWINCH};

void rt_forwarded_signals(sigset_t *set)
{
  sigemptyset(set);
  for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++) {
    sigaddset(set, forwarded_signals[i]);
  }
}

/* Blocks the forwarded signals, so they queue for wait_attached() instead
 * of ending the runtime. */
static void block_forwarded(void)
{
  sigset_t set;
  rt_forwarded_signals(&set);
  sigprocmask(SIG_BLOCK, &set, NULL);
}

/* Waits for an attached process, forwarding signals to it. Returns its
 * exit code, 128+signal when killed, or -1 with *err. */
static int wait_attached(cf_process *process, cf_err **err)
{
  sigset_t set;
  rt_forwarded_signals(&set);
  cf_autoclose int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (sfd < 0) {
    return cf_err_sys(err, errno, "open signalfd");
  }
  for (;;) {
    struct pollfd fds[2] = {{.fd = process->pidfd, .events = POLLIN},
                            {.fd = sfd, .events = POLLIN}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) {
      return cf_err_sys(err, errno, "wait for process %d", (int)process->pid);
    }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo info;
      if (read(sfd, &info, sizeof(info)) == sizeof(info)) {
        cf_runtime_process_signal(process, (int)info.ssi_signo, NULL);
      }
    }
    bool exited = false;
    int status = 0;
    if ((fds[0].revents & POLLIN) && cf_runtime_process_wait(process, &exited, &status, err) < 0) {
      return -1;
    }
    if (exited) {
      return status;
    }
  }
}

/* Waits for an attached process: through the terminal relay when it has a
 * terminal (only then is stdin_fd open), else forwarding signals. */
static int wait_process(cf_process *process, cf_err **err)
{
  return process->stdin_fd >= 0 ? rt_tty_relay(process, err) : wait_attached(process, err);
}

static int get_record(rt_context *ctx, const char *id, cf_runtime_record *record, cf_err **err)
{
  if (rt_open_store(ctx, err) < 0) {
    return -1;
  }
  return cf_store_runtime_get(ctx->store, id, record, err);
}

/* ---- terminals ---- */

static const char *console_socket_flag;

static bool has_console_socket(void)
{
  return console_socket_flag != NULL && console_socket_flag[0] != '\0';
}

/* A terminal needs someone to take its master: the attached runtime, or a
 * console socket when detached. A console socket needs a terminal. */
static int check_terminal(bool terminal, bool detach, cf_err **err)
{
  if (terminal && detach && !has_console_socket()) {
    return cf_err_set(err, CF_E_INVALID,
                      "process.terminal needs an attached process or --console-socket");
  }
  if (!terminal && has_console_socket()) {
    return cf_err_set(err, CF_E_INVALID,
                      "--console-socket needs a process with a terminal: set process.terminal");
  }
  if (!detach && has_console_socket()) {
    return cf_err_set(err, CF_E_INVALID, "--console-socket needs a detached process: add --detach");
  }
  return 0;
}

/* ---- create, start, run ---- */

static const char *bundle_flag;
static const char *pid_file_flag;
static bool no_new_keyring_flag;
static bool detach_flag;

/* Creates the container; with check_process (run), first checks that the
 * bundle's terminal setting fits the run flags, so a run that cannot start
 * its process creates nothing. */
static int create_container(rt_context *ctx, const char *id, bool check_process, cf_err **err)
{
  rt_log_debug("creating container", id, "bundle", bundle_flag);
  cf_bundle bundle;
  if (cf_bundle_load(id, bundle_flag, CF_BUNDLE_LINUX, &bundle, err) < 0) {
    return -1;
  }
  int rc = 0;
  if (check_process && bundle.has_process) {
    rc = check_terminal(bundle.process.terminal, detach_flag, err);
  }
  if (rc == 0) {
    rc = rt_open_store(ctx, err);
  }
  if (rc == 0) {
    rc = cf_lifecycle_create(ctx->store, id, &bundle, err);
  }
  cf_bundle_clear(&bundle);
  return rc;
}

static int cmd_create(rt_context *ctx, int argc, char **argv)
{
  cf_err *err = NULL;
  if (create_container(ctx, argv[0], false, &err) < 0) {
    return rt_fail(err);
  }
  return 0;
}

/* A detached process gets the null device as stdio, or a terminal whose
 * master goes to the console socket. */
static int start_detached(rt_context *ctx, const char *id, cf_err **err)
{
  int fds[3];
  null_stdio(fds);
  cf_start_options options = {
      .stdio = fds,
      .detach = true,
      .terminal_allowed = has_console_socket(),
  };
  cf_process process;
  int rc = cf_lifecycle_start(ctx->store, id, &options, &process, err);
  close_stdio(fds, NULL);
  if (rc < 0) {
    return -1;
  }
  /* Only a process with a terminal has a master descriptor. */
  bool terminal = process.stdin_fd >= 0;
  if (has_console_socket() && !terminal) {
    rc = check_terminal(false, true, err);
  } else if (terminal) {
    rc = rt_tty_send_console(console_socket_flag, &process, err);
  }
  if (rc < 0) {
    cf_runtime_process_signal(&process, SIGKILL, NULL);
  } else {
    rt_log_debug("started process", id, "pidFile", pid_file_flag);
    rc = write_pid_file(pid_file_flag, process.pid, err);
  }
  cf_process_close(&process);
  return rc;
}

static int cmd_start(rt_context *ctx, int argc, char **argv)
{
  cf_err *err = NULL;
  if (rt_open_store(ctx, &err) < 0 || start_detached(ctx, argv[0], &err) < 0) {
    return rt_fail(err);
  }
  return 0;
}

/* Attached run: the process gets the runtime's stdio; the container is
 * deleted when it exits, and its status is the runtime's. */
static int run_attached(rt_context *ctx, const char *id)
{
  cf_err *err = NULL;
  int fds[3];
  bool opened[3];
  attached_stdio(fds, opened);
  cf_start_options options = {.stdio = fds, .detach = false, .terminal_allowed = true};
  rt_tty_size(&options.default_rows, &options.default_columns);
  cf_process process;
  int status = cf_lifecycle_start(ctx->store, id, &options, &process, &err);
  close_stdio(fds, opened);
  if (status == 0) {
    status = write_pid_file(pid_file_flag, process.pid, &err);
    if (status == 0) {
      status = wait_process(&process, &err);
    }
    cf_process_close(&process);
  }
  cf_err *delete_err = NULL;
  if (cf_lifecycle_delete(ctx->store, id, true, &delete_err) < 0) {
    rt_fail(delete_err);
  }
  return status < 0 ? rt_fail(err) : status;
}

static int cmd_run(rt_context *ctx, int argc, char **argv)
{
  const char *id = argv[0];
  cf_err *err = NULL;
  if (!detach_flag) {
    block_forwarded();
  }
  if (create_container(ctx, id, true, &err) < 0) {
    return rt_fail(err);
  }
  if (!detach_flag) {
    return run_attached(ctx, id);
  }
  if (start_detached(ctx, id, &err) < 0) {
    return rt_fail(err);
  }
  return 0;
}

/* ---- exec ---- */

static const char *process_flag;
static const char *cwd_flag;
static const char *user_flag;
static rt_strings env_flag;
static bool tty_flag;

/* The process spec: the -p file or an empty one with cwd "/", then the
 * flags and arguments that are given. */
static int exec_process(int argc, char **argv, cf_bundle_process *process, cf_err **err)
{
  if (process_flag != NULL && process_flag[0] != '\0') {
    if (cf_process_load(process_flag, process, err) < 0) {
      return -1;
    }
  } else {
    *process = (cf_bundle_process){.cwd = cf_xstrdup("/")};
  }
  if (argc > 1) {
    cf_strv_free(process->args, process->arg_count);
    process->args = cf_xcalloc((size_t)argc, sizeof(char *));
    for (int i = 1; i < argc; i++) {
      process->args[i - 1] = cf_xstrdup(argv[i]);
    }
    process->arg_count = (size_t)argc - 1;
  }
  if (cwd_flag != NULL && cwd_flag[0] != '\0') {
    free(process->cwd);
    process->cwd = cf_xstrdup(cwd_flag);
  }
  if (env_flag.count > 0) {
    cf_strv_free(process->env, process->env_count);
    process->env = cf_xcalloc(env_flag.count + 1, sizeof(char *));
    for (size_t i = 0; i < env_flag.count; i++) {
      process->env[i] = cf_xstrdup(env_flag.values[i]);
    }
    process->env_count = env_flag.count;
  }
  if (user_flag != NULL && user_flag[0] != '\0') {
    free(process->username);
    process->username = cf_xstrdup(user_flag);
  }
  process->terminal = process->terminal || tty_flag;
  if (cf_process_check(process, CF_BUNDLE_LINUX, err) < 0) {
    return -1;
  }
  return check_terminal(process->terminal, detach_flag, err);
}

static int exec_in(rt_context *ctx, const char *id, cf_bundle_process *bundle_process,
                   cf_process *process, cf_err **err)
{
  cf_runtime_record record;
  if (get_record(ctx, id, &record, err) < 0) {
    return -1;
  }
  cf_container_init init = cf_lifecycle_init(&record);
  bool alive = record.init_pid > 0 && cf_runtime_container_alive(&init);
  void *config = NULL;
  int loaded = alive ? cf_lifecycle_load_config(record.bundle, &config, err) : 0;
  cf_runtime_record_clear(&record);
  if (!alive) {
    return cf_err_set(err, CF_E_INVALID, "cannot exec in a stopped container: %s", id);
  }
  if (loaded < 0) {
    return -1;
  }
  char user[32];
  cf_process_spec spec;
  if (cf_lifecycle_process_spec(bundle_process, user, &spec, err) < 0) {
    json_decref(config);
    return -1;
  }
  int fds[3] = {-1, -1, -1};
  bool opened[3] = {true, true, true};
  bool default_size = spec.terminal_rows == 0 && spec.terminal_columns == 0;
  if (spec.terminal) {
    if (!detach_flag && default_size) {
      rt_tty_size(&spec.terminal_rows, &spec.terminal_columns);
    }
  } else if (detach_flag) {
    null_stdio(fds);
  } else {
    attached_stdio(fds, opened);
  }
  spec.stdio = spec.terminal ? NULL : fds;
  spec.detach = detach_flag;
  /* The process gets the bundle's capabilities, rlimits and seccomp. */
  spec.oci_config = config;
  int rc = cf_runtime_exec(&init, &spec, process, err);
  json_decref(config);
  close_stdio(fds, opened);
  if (rc < 0) {
    cf_lifecycle_could_not_start(err, spec.path, id);
  }
  return rc;
}

static int cmd_exec(rt_context *ctx, int argc, char **argv)
{
  const char *id = argv[0];
  cf_err *err = NULL;
  cf_bundle_process bundle_process;
  if (!detach_flag) {
    block_forwarded();
  }
  if (exec_process(argc, argv, &bundle_process, &err) < 0) {
    cf_bundle_process_clear(&bundle_process);
    return rt_fail(err);
  }
  cf_process process;
  int rc = exec_in(ctx, id, &bundle_process, &process, &err);
  cf_bundle_process_clear(&bundle_process);
  if (rc < 0) {
    return rt_fail(err);
  }
  int status = 0;
  if (detach_flag && process.stdin_fd >= 0) {
    status = rt_tty_send_console(console_socket_flag, &process, &err);
  }
  if (status < 0) {
    cf_runtime_process_signal(&process, SIGKILL, NULL);
    cf_process_close(&process);
    return rt_fail(err);
  }
  rt_log_debug("started process", id, "pidFile", pid_file_flag);
  status = write_pid_file(pid_file_flag, process.pid, &err);
  if (status == 0 && !detach_flag) {
    status = wait_process(&process, &err);
  }
  cf_process_close(&process);
  return status < 0 ? rt_fail(err) : status;
}

/* ---- delete, state, events ---- */

static bool force_flag;

static int cmd_delete(rt_context *ctx, int argc, char **argv)
{
  cf_err *err = NULL;
  rt_log_debug("deleting container", argv[0], NULL, NULL);
  if (rt_open_store(ctx, &err) < 0 ||
      cf_lifecycle_delete(ctx->store, argv[0], force_flag, &err) < 0) {
    return rt_fail(err);
  }
  return 0;
}

/* Prints JSON with Go's MarshalIndent layout and no trailing newline. */
static void print_json(json_t *json)
{
  cf_autofree char *text = json_dumps(json, JSON_INDENT(2));
  fputs(text, stdout);
  json_decref(json);
}

static int cmd_state(rt_context *ctx, int argc, char **argv)
{
  cf_err *err = NULL;
  cf_runtime_record record;
  if (get_record(ctx, argv[0], &record, &err) < 0) {
    return rt_fail(err);
  }
  json_t *state = json_pack("{s:s, s:s, s:s}", "ociVersion", CF_OCI_RUNTIME_VERSION, "id",
                            record.id, "status", cf_lifecycle_status(&record));
  if (record.pid != 0) {
    json_object_set_new(state, "pid", json_integer(record.pid));
  }
  json_object_set_new(state, "bundle", json_string(record.bundle));
  print_json(state);
  cf_runtime_record_clear(&record);
  return 0;
}

static bool stats_flag;
static bool oom_flag;

/* Prints the sums over /proc for a container without a cgroup. */
static void print_proc_stats(const cf_container_stats *stats)
{
  print_json(json_pack("{s:{s:{s:{s:I, s:I, s:I}}, s:{s:{s:I}}, s:{s:I}}}", "data", "cpu", "usage",
                       "total", (json_int_t)stats->cpu_total_ns, "kernel",
                       (json_int_t)stats->cpu_kernel_ns, "user", (json_int_t)stats->cpu_user_ns,
                       "memory", "raw", "total_rss", (json_int_t)stats->memory_rss, "pids",
                       "current", (json_int_t)stats->pids));
}

/* Prints the cgroup statistics, or the /proc sums when there is no cgroup. */
static int print_stats(const char *id, const cf_container_stats *proc_stats, cf_err **err)
{
  cf_autofree char *json = NULL;
  cf_err *stats_err = NULL;
  if (cf_runtime_container_stats_json(id, &json, &stats_err) == 0) {
    fputs(json, stdout);
    return 0;
  }
  if (stats_err->code != CF_E_NOT_FOUND) {
    cf_err_free(*err);
    *err = stats_err;
    return -1;
  }
  cf_err_free(stats_err);
  print_proc_stats(proc_stats);
  return 0;
}

/* Prints runc's OOM event line when the OOM killer has killed a process of
 * the container. */
static int print_oom(const char *id, cf_err **err)
{
  cf_container_usage usage;
  cf_err *usage_err = NULL;
  if (cf_runtime_container_usage(id, &usage, &usage_err) < 0) {
    bool no_cgroup = usage_err->code == CF_E_NOT_FOUND;
    if (!no_cgroup) {
      cf_err_free(*err);
      *err = usage_err;
      return -1;
    }
    cf_err_free(usage_err);
    return 0;
  }
  if (usage.memory_oom_kills > 0) {
    json_t *event = json_pack("{s:s, s:s}", "type", "oom", "id", id);
    cf_autofree char *line = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(event);
    printf("%s\n", line);
  }
  return 0;
}

static int cmd_events(rt_context *ctx, int argc, char **argv)
{
  cf_err *err = NULL;
  cf_runtime_record record;
  if (get_record(ctx, argv[0], &record, &err) < 0) {
    return rt_fail(err);
  }
  cf_container_init init = cf_lifecycle_init(&record);
  cf_runtime_record_clear(&record);
  cf_container_stats stats;
  if (cf_runtime_container_stats(&init, &stats, &err) < 0) {
    return rt_fail(err);
  }
  if (oom_flag && print_oom(argv[0], &err) < 0) {
    return rt_fail(err);
  }
  if (stats_flag && print_stats(argv[0], &stats, &err) < 0) {
    return rt_fail(err);
  }
  return 0;
}

/* ---- kill, list, ps (runc's) ---- */

static bool all_flag;

static const struct {
  const char *name;
  int number;
} signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},   {"BUS", SIGBUS},       {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM},     {"CHLD", SIGCHLD},
    {"CONT", SIGCONT}, {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"VTALRM", SIGVTALRM}, {"IO", SIGIO},
    {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

/* Parses "9", "KILL" or "SIGKILL" (any case), as runc does. */
static int parse_signal(const char *text, int *sig, cf_err **err)
{
  char *end = NULL;
  long number = strtol(text, &end, 10);
  if (end != text && *end == '\0' && number > 0 && number < NSIG) {
    *sig = (int)number;
    return 0;
  }
  const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
  for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++) {
    if (strcasecmp(name, signal_names[i].name) == 0) {
      *sig = signal_names[i].number;
      return 0;
    }
  }
  return cf_err_set(err, CF_E_INVALID, "unknown signal \"%s\"", text);
}

static int kill_all(const cf_container_init *init, int sig, cf_err **err)
{
  cf_autofree pid_t *pids = NULL;
  size_t count = 0;
  if (cf_runtime_container_pids(init, &pids, &count, err) < 0) {
    return -1;
  }
  for (size_t i = 0; i < count; i++) {
    kill(pids[i], sig);
  }
  return 0;
}

static int kill_container(rt_context *ctx, const char *id, const char *signal_text, cf_err **err)
{
  int sig = SIGTERM;
  if (signal_text != NULL && parse_signal(signal_text, &sig, err) < 0) {
    return -1;
  }
  cf_runtime_record record;
  if (get_record(ctx, id, &record, err) < 0) {
    return -1;
  }
  const char *status = cf_lifecycle_status(&record);
  cf_container_init init = cf_lifecycle_init(&record);
  pid_t pid = (pid_t)record.pid;
  uint64_t start_time = record.start_time;
  cf_runtime_record_clear(&record);
  if (all_flag && strcmp(status, CF_STATUS_STOPPED) != 0) {
    return kill_all(&init, sig, err);
  }
  if (strcmp(status, CF_STATUS_RUNNING) != 0) {
    return cf_err_set(err, CF_E_INVALID, "container not running");
  }
  return cf_runtime_pid_signal(pid, start_time, sig, err);
}

static int cmd_kill(rt_context *ctx, int argc, char **argv)
{
  cf_err *err = NULL;
  if (kill_container(ctx, argv[0], argc > 1 ? argv[1] : NULL, &err) < 0) {
    return rt_fail(err);
  }
  return 0;
}

static const char *format_flag = "table";
static bool quiet_flag;

static char *created_text(int64_t ns)
{
  time_t sec = (time_t)(ns / 1000000000);
  struct tm tm;
  gmtime_r(&sec, &tm);
  char text[40];
  size_t n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(text + n, sizeof(text) - n, ".%09lldZ", (long long)(ns % 1000000000));
  return cf_xstrdup(text);
}

static char *owner_text(const char *bundle)
{
  struct stat st;
  if (stat(bundle, &st) < 0) {
    return cf_xstrdup("");
  }
  /* No NSS in a static binary: root by name, any other user by number. */
  return st.st_uid == 0 ? cf_xstrdup("root") : cf_xasprintf("#%u", (unsigned)st.st_uid);
}

/* One container for list: runc's JSON object. */
static json_t *list_entry(const cf_runtime_record *record)
{
  const char *status = cf_lifecycle_status(record);
  json_int_t pid = strcmp(status, CF_STATUS_RUNNING) == 0 ? record->pid : 0;
  cf_autofree char *created = created_text(record->created_at_ns);
  cf_autofree char *owner = owner_text(record->bundle);
  return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "ociVersion", CF_OCI_RUNTIME_VERSION,
                   "id", record->id, "pid", pid, "status", status, "bundle", record->bundle,
                   "rootfs", "", "created", created, "owner", owner);
}

static json_t *list_entries(rt_context *ctx, cf_err **err)
{
  char **ids = NULL;
  size_t count = 0;
  if (rt_open_store(ctx, err) < 0 ||
      cf_store_runtime_list(ctx->store, NULL, &ids, &count, err) < 0) {
    return NULL;
  }
  json_t *list = json_array();
  for (size_t i = 0; i < count; i++) {
    cf_runtime_record record;
    if (cf_store_runtime_get(ctx->store, ids[i], &record, NULL) == 0) {
      json_array_append_new(list, list_entry(&record));
      cf_runtime_record_clear(&record);
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
      cf_autofree char *text = json_is_string(json_object_get(row, keys[c]))
                                   ? cf_xstrdup(json_string_value(json_object_get(row, keys[c])))
                                   : json_dumps(json_object_get(row, keys[c]), JSON_ENCODE_ANY);
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
      json_t *value = json_object_get(row, keys[c]);
      cf_autofree char *text = json_is_string(value) ? cf_xstrdup(json_string_value(value))
                                                     : json_dumps(value, JSON_ENCODE_ANY);
      print_cell(text, width[c], c + 1 == columns);
    }
  }
}

static int cmd_list(rt_context *ctx, int argc, char **argv)
{
  cf_err *err = NULL;
  if (strcmp(format_flag, "table") != 0 && strcmp(format_flag, "json") != 0) {
    cf_err_set(&err, CF_E_INVALID, "invalid format option");
    return rt_fail(err);
  }
  json_t *list = list_entries(ctx, &err);
  if (list == NULL) {
    return rt_fail(err);
  }
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
  json_decref(list);
  return 0;
}

/* Reads the uid, parent pid and command line of a process for ps. */
static json_t *ps_row(pid_t pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "re");
  long uid = -1;
  long ppid = 0;
  char line[512];
  while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, "Uid:", 4) == 0) {
      sscanf(line + 4, "%ld", &uid);
    } else if (strncmp(line, "PPid:", 5) == 0) {
      sscanf(line + 5, "%ld", &ppid);
    }
  }
  if (f != NULL) {
    fclose(f);
  }
  snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
  char cmd[4096] = "";
  f = fopen(path, "re");
  size_t n = f != NULL ? fread(cmd, 1, sizeof(cmd) - 1, f) : 0;
  if (f != NULL) {
    fclose(f);
  }
  for (size_t i = 0; i + 1 < n; i++) {
    cmd[i] = cmd[i] == '\0' ? ' ' : cmd[i];
  }
  cmd[n] = '\0';
  return json_pack("{s:I, s:I, s:I, s:s}", "uid", (json_int_t)uid, "pid", (json_int_t)pid, "ppid",
                   (json_int_t)ppid, "cmd", cmd);
}

static int cmd_ps(rt_context *ctx, int argc, char **argv)
{
  cf_err *err = NULL;
  cf_runtime_record record;
  if (get_record(ctx, argv[0], &record, &err) < 0) {
    return rt_fail(err);
  }
  cf_container_init init = cf_lifecycle_init(&record);
  cf_runtime_record_clear(&record);
  cf_autofree pid_t *pids = NULL;
  size_t count = 0;
  if (cf_runtime_container_pids(&init, &pids, &count, &err) < 0) {
    return rt_fail(err);
  }
  if (strcmp(format_flag, "json") == 0) {
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++) {
      json_array_append_new(list, json_integer(pids[i]));
    }
    cf_autofree char *text = json_dumps(list, JSON_COMPACT);
    printf("%s\n", text);
    json_decref(list);
    return 0;
  }
  if (strcmp(format_flag, "table") != 0) {
    cf_err_set(&err, CF_E_INVALID, "invalid format option");
    return rt_fail(err);
  }
  json_t *rows = json_array();
  for (size_t i = 0; i < count; i++) {
    json_array_append_new(rows, ps_row(pids[i]));
  }
  static const char *const header[] = {"UID", "PID", "PPID", "CMD"};
  static const char *const keys[] = {"uid", "pid", "ppid", "cmd"};
  print_table(header, rows, keys, 4);
  json_decref(rows);
  return 0;
}

/* ---- --log-handle ---- */

int rt_log_handle_fd(unsigned long long value, int *fd, cf_err **err)
{
  // fstat fails with EBADF on a descriptor that is not open.
  struct stat st;
  if (value > 1024 * 1024 || fstat((int)value, &st) < 0) {
    return cf_err_sys(err, value > 1024 * 1024 ? EBADF : errno, "log handle %llu invalid", value);
  }
  *fd = (int)value;
  return 0;
}

/* ---- the command table ---- */

#define FLAGS(array) array, sizeof(array) / sizeof(array[0])

static rt_flag create_flags[] = {
    {"bundle,b", RT_FLAG_STRING, &bundle_flag, "path to the root of the bundle directory"},
    {"no-new-keyring", RT_FLAG_BOOL, &no_new_keyring_flag, "ignored"},
};
static rt_flag start_flags[] = {
    {"pid-file", RT_FLAG_STRING, &pid_file_flag, "file to write the process id to"},
    {"console-socket", RT_FLAG_STRING, &console_socket_flag,
     "unix socket that receives the terminal master of a process with process.terminal"},
};
static rt_flag run_flags[] = {
    {"bundle,b", RT_FLAG_STRING, &bundle_flag, "path to the root of the bundle directory"},
    {"detach,d", RT_FLAG_BOOL, &detach_flag, "detach from the container's process"},
    {"pid-file", RT_FLAG_STRING, &pid_file_flag, "file to write the process id to"},
    {"no-new-keyring", RT_FLAG_BOOL, &no_new_keyring_flag, "ignored"},
    {"console-socket", RT_FLAG_STRING, &console_socket_flag,
     "unix socket that receives the terminal master of a detached process with process.terminal"},
};
static rt_flag exec_flags[] = {
    {"process,p", RT_FLAG_STRING, &process_flag, "path to the process.json"},
    {"pid-file", RT_FLAG_STRING, &pid_file_flag, "file to write the process id to"},
    {"detach,d", RT_FLAG_BOOL, &detach_flag, "detach from the container's process"},
    {"cwd", RT_FLAG_STRING, &cwd_flag, "current working directory in the container"},
    {"user,u", RT_FLAG_STRING, &user_flag, "user to run the process as (name or uid:gid)"},
    {"env,e", RT_FLAG_STRINGS, &env_flag, "set environment variables (repeatable)"},
    {"tty,t", RT_FLAG_BOOL, &tty_flag, "give the process a terminal (process.terminal)"},
    {"console-socket", RT_FLAG_STRING, &console_socket_flag,
     "unix socket that receives the terminal master of a detached process with a terminal"},
};
static rt_flag delete_flags[] = {
    {"force,f", RT_FLAG_BOOL, &force_flag, "no error when the container does not exist"},
};
static rt_flag events_flags[] = {
    {"stats", RT_FLAG_BOOL, &stats_flag, "display the container's stats then exit"},
    {"oom", RT_FLAG_BOOL, &oom_flag,
     "print runc's {\"type\":\"oom\"} line if the OOM killer killed a process, then exit"},
};
static rt_flag kill_flags[] = {
    {"all,a", RT_FLAG_BOOL, &all_flag, "send the signal to every process of the container"},
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
    {"kill", "send a signal to the container's process", "<container-id> [signal]",
     FLAGS(kill_flags), true, RT_ARGS_RANGE, 1, cmd_kill},
    {"list", "list containers", "", FLAGS(list_flags), true, RT_ARGS_EXACT, 0, cmd_list},
    {"ps", "list the processes of a container", "<container-id>", FLAGS(ps_flags), true,
     RT_ARGS_MIN, 1, cmd_ps},
    {"run", "create and run a container", "<container-id>", FLAGS(run_flags), false, RT_ARGS_EXACT,
     1, cmd_run},
    {"start", "execute the user defined process in a created container", "<container-id>",
     FLAGS(start_flags), false, RT_ARGS_MIN, 1, cmd_start},
    {"state", "output the state of a container", "<container-id>", NULL, 0, true, RT_ARGS_EXACT, 1,
     cmd_state},
};

const size_t rt_command_count = sizeof(rt_commands) / sizeof(rt_commands[0]);
const char rt_backend_name[] = "Linux backend";
