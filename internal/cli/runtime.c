/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime role, winc-compatible: `winc [global options] COMMAND ...`,
 * also `cfwin runtime ...`. Flags follow urfave/cli as winc uses it; log
 * lines are runc-style JSON (level, msg, time with 9 fractional digits, and
 * fields) on --log or --log-handle, which Guardian parses; every fatal error
 * is logged and printed on stderr, and the exit status is 1 (3 for an
 * unknown command).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "cli/cli_internal.h"
#include "cli/logrus.h"
#include "cli/runtime_cli.h"

#ifdef _WIN32
#define DEFAULT_ROOT "C:\\ProgramData\\winc"
#define PATH_SEPARATORS "\\/"
#define NULL_DEVICE "NUL"
#else
#define DEFAULT_ROOT "/run/cfwin/runtime"
#define PATH_SEPARATORS "/"
#define NULL_DEVICE "/dev/null"
#endif

/* ---- logging ---- */

static cf_logrus rt_log = {.fd = -1, .json = true};

static void log_line(const char *level, const char *msg, json_t *fields)
{
  cf_logrus_line(&rt_log, level, msg, fields);
}

void rt_log_debug(const char *msg, const char *id, const char *key, const char *value)
{
  if (!rt_log.debug) {
    return;
  }
  json_t *fields = json_object();
  if (id != NULL) {
    json_object_set_new(fields, "containerId", json_string(id));
  }
  if (key != NULL && value != NULL) {
    json_object_set_new(fields, key, json_string(value));
  }
  log_line("debug", msg, fields);
}

void rt_log_error(const char *msg)
{
  log_line("error", msg, json_object());
}

/* Logs the error, prints it on stderr and returns exit status 1. */
static int fatal(const char *msg)
{
  rt_log_error(msg);
  fprintf(stderr, "%s\n", msg);
  return 1;
}

static int fatal_err(cf_err *err)
{
  int rc = fatal(err->message);
  cf_err_free(err);
  return rc;
}

/* ---- flags ---- */

/* True when name (without dashes, up to len) is one of flag->names. */
static bool flag_has_name(const rt_flag *flag, const char *name, size_t len)
{
  const char *p = flag->names;
  while (*p != '\0') {
    size_t n = strcspn(p, ",");
    if (n == len && strncmp(p, name, len) == 0) {
      return true;
    }
    p += n + (p[n] == ',' ? 1 : 0);
  }
  return false;
}

static rt_flag *find_flag(rt_flag *flags, size_t count, const char *name, size_t len)
{
  for (size_t i = 0; i < count; i++) {
    if (flag_has_name(&flags[i], name, len)) {
      return &flags[i];
    }
  }
  return NULL;
}

static int set_flag(rt_flag *flag, const char *name, size_t len, const char *value, cf_err **err)
{
  switch (flag->type) {
  case RT_FLAG_STRING:
    *(const char **)flag->target = value;
    return 0;
  case RT_FLAG_BOOL:
    if (value == NULL || strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
      *(bool *)flag->target = true;
    } else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
      *(bool *)flag->target = false;
    } else {
      return cf_err_set(err, CF_E_INVALID, "invalid boolean value \"%s\" for -%.*s: parse error",
                        value, (int)len, name);
    }
    return 0;
  case RT_FLAG_STRINGS: {
    rt_strings *strings = flag->target;
    strings->values = cf_xrealloc(strings->values, (strings->count + 1) * sizeof(char *));
    strings->values[strings->count++] = value;
    return 0;
  }
  }
  return 0;
}

/* Parses one option at argv[*i]; advances *i past its value. */
static int parse_option(rt_flag *flags, size_t count, int argc, char **argv, int *i, bool *help,
                        cf_err **err)
{
  const char *arg = argv[*i];
  const char *name = arg + (arg[1] == '-' ? 2 : 1);
  const char *eq = strchr(name, '=');
  size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
  rt_flag *flag = find_flag(flags, count, name, len);
  if (flag == NULL &&
      ((len == 4 && strncmp(name, "help", 4) == 0) || (len == 1 && name[0] == 'h'))) {
    *help = true;
    return 0;
  }
  if (flag == NULL) {
    return cf_err_set(err, CF_E_INVALID, "flag provided but not defined: -%.*s", (int)len, name);
  }
  const char *value = eq != NULL ? eq + 1 : NULL;
  if (value == NULL && flag->type != RT_FLAG_BOOL) {
    if (*i + 1 >= argc) {
      return cf_err_set(err, CF_E_INVALID, "flag needs an argument: -%.*s", (int)len, name);
    }
    value = argv[++*i];
  }
  return set_flag(flag, name, len, value, err);
}

/* Parses argv[start..argc) into flags. Positional arguments go to *args
 * (pointers into argv). Without reorder, parsing stops at the first
 * positional argument and the rest are positional. */
static int parse_flags(rt_flag *flags, size_t count, bool reorder, int argc, char **argv, int start,
                       char ***args, int *arg_count, bool *help, cf_err **err)
{
  *args = cf_xcalloc((size_t)(argc - start) + 1, sizeof(char *));
  *arg_count = 0;
  bool options_done = false;
  for (int i = start; i < argc; i++) {
    const char *arg = argv[i];
    bool is_option = !options_done && arg[0] == '-' && arg[1] != '\0';
    if (is_option && strcmp(arg, "--") == 0) {
      options_done = true;
      continue;
    }
    if (!is_option) {
      (*args)[(*arg_count)++] = argv[i];
      options_done = options_done || !reorder;
      continue;
    }
    if (parse_option(flags, count, argc, argv, &i, help, err) < 0) {
      return -1;
    }
  }
  return 0;
}

/* ---- help ---- */

static void print_flags(FILE *out, const rt_flag *flags, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    cf_autofree char *names = cf_xstrdup(flags[i].names);
    cf_buf text;
    cf_buf_init(&text, 4096);
    char *save = NULL;
    for (char *n = strtok_r(names, ",", &save); n != NULL; n = strtok_r(NULL, ",", &save)) {
      cf_buf_printf(&text, NULL, "%s%s%s", text.len > 0 ? ", " : "", strlen(n) > 1 ? "--" : "-", n);
    }
    if (flags[i].type != RT_FLAG_BOOL) {
      cf_buf_printf(&text, NULL, " value");
    }
    fprintf(out, "   %-28s %s\n", text.data, flags[i].usage);
    cf_buf_free(&text);
  }
}

static void print_command_help(FILE *out, const char *program, const rt_command *command)
{
  fprintf(out, "NAME:\n   %s %s - %s\n\nUSAGE:\n   %s %s [command options] %s\n\nOPTIONS:\n",
          program, command->name, command->usage, program, command->name, command->arguments);
  print_flags(out, command->flags, command->flag_count);
}

static bool show_help;
static bool debug_flag;
static const char *log_path = "";
static const char *log_handle = "";
static const char *log_format = "json";
static const char *root = DEFAULT_ROOT;
static const char *image_store = "";
static const char *credential_spec = "";
static const char *config_file = "";

static rt_flag global_flags[] = {
    {"debug", RT_FLAG_BOOL, &debug_flag, "enable debug output for logging"},
    {"log", RT_FLAG_STRING, &log_path,
     "set the log file path where internal debug information "
     "is written"},
    {"log-handle", RT_FLAG_STRING, &log_handle, "set the inherited descriptor to write logs to"},
    {"log-format", RT_FLAG_STRING, &log_format,
     "set the format used by logs ('json' (default) "
     "or 'text')"},
    {"root", RT_FLAG_STRING, &root,
     "root directory for storage of container state (default: " DEFAULT_ROOT ")"},
    {"image-store", RT_FLAG_STRING, &image_store, "ignored"},
    {"credential-spec", RT_FLAG_STRING, &credential_spec,
     "path to a gMSA credential spec file "
     "(Windows only)"},
    {"config-file", RT_FLAG_STRING, &config_file, "path to a config file (Windows gMSA only)"},
};

#define GLOBAL_FLAG_COUNT (sizeof(global_flags) / sizeof(global_flags[0]))

static void print_app_help(FILE *out, const char *program)
{
  fprintf(out,
          "NAME:\n   %s - Open Container Initiative runtime for Windows (cfwin, %s)\n"
          "\nUSAGE:\n   %s [global options] command [command options] [arguments...]\n"
          "\nCOMMANDS:\n",
          program, rt_backend_name, program);
  for (size_t i = 0; i < rt_command_count; i++) {
    fprintf(out, "     %-10s %s\n", rt_commands[i].name, rt_commands[i].usage);
  }
  fprintf(out, "     %-10s %s\n\nGLOBAL OPTIONS:\n", "help, h",
          "Shows a list of commands or help for one command");
  print_flags(out, global_flags, GLOBAL_FLAG_COUNT);
  fprintf(out, "   %-28s %s\n", "--help, -h", "show help");
}

/* ---- set-up before every command ---- */

static int open_log_file(const char *path, cf_err **err)
{
  if (path[0] == '\0' || strcmp(path, NULL_DEVICE) == 0) {
    return 0;
  }
  cf_autofree char *dir = cf_xstrdup(path);
  char *slash = NULL;
  for (char *p = dir; *p != '\0'; p++) {
    if (strchr(PATH_SEPARATORS, *p) != NULL) {
      slash = p;
    }
  }
  if (slash != NULL && slash != dir) {
    *slash = '\0';
    // An existing parent is left alone, so a Windows drive ("C:") is
    // never passed to mkdir.
    struct stat st;
    if (stat(dir, &st) < 0 && cf_mkdir_p(dir, 0755, err) < 0) {
      return -1;
    }
  }
  rt_log.fd = open(path, O_CREAT | O_WRONLY | O_APPEND | O_SYNC | O_CLOEXEC, 0644);
  if (rt_log.fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  return 0;
}

static int use_log_handle(const char *text, cf_err **err)
{
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  /* strtoull skips blanks and negates a leading minus; winc's parser takes
   * digits only. */
  if (errno != 0 || end == text || *end != '\0' || text[0] < '0' || text[0] > '9') {
    return cf_err_set(err, CF_E_INVALID, "invalid value \"%s\" for flag -log-handle: parse error",
                      text);
  }
  if (value == 0) {
    return 0;
  }
  return rt_log_handle_fd(value, &rt_log.fd, err);
}

static int configure_logging(cf_err **err)
{
  rt_log.debug = debug_flag;
  if (strcmp(log_format, "json") == 0) {
    rt_log.json = true;
  } else if (strcmp(log_format, "text") == 0) {
    rt_log.json = false;
  } else {
    return cf_err_set(err, CF_E_INVALID, "invalid log format %s", log_format);
  }
  bool handle_given = log_handle[0] != '\0' && strcmp(log_handle, "0") != 0;
  if (log_path[0] != '\0' && handle_given) {
    return cf_err_set(err, CF_E_INVALID, "only one of --log and --log-handle can be passed");
  }
  return handle_given ? use_log_handle(log_handle, err) : open_log_file(log_path, err);
}

/* winc requires the credential spec to exist and the config file to parse;
 * both configure gMSA, which Linux containers do not have, so neither is
 * used further. */
static int check_windows_files(cf_err **err)
{
  struct stat st;
  if (credential_spec[0] != '\0' && stat(credential_spec, &st) < 0) {
    return cf_err_sys(err, errno, "Error with provided --credential-spec %s", credential_spec);
  }
  if (config_file[0] == '\0') {
    return 0;
  }
  json_error_t jerr;
  json_t *config = json_load_file(config_file, 0, &jerr);
  if (config == NULL) {
    return cf_err_set(err, CF_E_INVALID, "config-file: %s", jerr.text);
  }
  json_decref(config);
  return 0;
}

int rt_open_store(rt_context *ctx, cf_err **err)
{
  if (ctx->store != NULL) {
    return 0;
  }
  if (cf_mkdir_p(ctx->root, 0755, err) < 0) {
    return cf_err_wrap(err, "create root %s", ctx->root);
  }
  return cf_store_open(ctx->root, &ctx->store, err);
}

/* ---- dispatch ---- */

static const rt_command *find_command(const char *name)
{
  for (size_t i = 0; i < rt_command_count; i++) {
    if (strcmp(rt_commands[i].name, name) == 0) {
      return &rt_commands[i];
    }
  }
  return NULL;
}

/* runc's checkArgs: "Incorrect Usage." and the command help on stdout. */
static int check_args(const char *program, const rt_command *command, int count)
{
  const char *rule = NULL;
  if (command->rule == RT_ARGS_EXACT && count != command->arg_count) {
    rule = "exactly";
  } else if (command->rule != RT_ARGS_EXACT && count < command->arg_count) {
    rule = "a minimum of";
  } else if (command->rule == RT_ARGS_RANGE && count > command->arg_count + 1) {
    rule = "a maximum of";
  }
  if (rule == NULL) {
    return 0;
  }
  printf("Incorrect Usage.\n\n");
  print_command_help(stdout, program, command);
  cf_autofree char *msg =
      cf_xasprintf("%s: \"%s\" requires %s %d argument(s)", program, command->name, rule,
                   strcmp(rule, "a maximum of") == 0 ? command->arg_count + 1 : command->arg_count);
  return fatal(msg);
}

static int run_help(const char *program, int argc, char **argv, int start)
{
  if (start >= argc) {
    print_app_help(stdout, program);
    return 0;
  }
  const rt_command *command = find_command(argv[start]);
  if (command == NULL) {
    fprintf(stderr, "No help topic for '%s'\n", argv[start]);
    return 3;
  }
  print_command_help(stdout, program, command);
  return 0;
}

static int run_command(rt_context *ctx, const rt_command *command, int argc, char **argv, int start)
{
  char **args = NULL;
  int arg_count = 0;
  bool help = false;
  cf_err *err = NULL;
  int rc;
  if (parse_flags(command->flags, command->flag_count, command->reorder, argc, argv, start, &args,
                  &arg_count, &help, &err) < 0) {
    printf("Incorrect Usage: %s\n\n", err->message);
    print_command_help(stdout, ctx->program, command);
    rc = fatal_err(err);
  } else if (help) {
    print_command_help(stdout, ctx->program, command);
    rc = 0;
  } else if (check_args(ctx->program, command, arg_count) != 0) {
    rc = 1;
  } else {
    ctx->command = command;
    rc = command->run(ctx, arg_count, args);
  }
  free(args);
  return rc;
}

static int run_runtime(const char *program, int argc, char **argv, int start)
{
  char **args = NULL;
  int arg_count = 0;
  cf_err *err = NULL;
  if (parse_flags(global_flags, GLOBAL_FLAG_COUNT, false, argc, argv, start, &args, &arg_count,
                  &show_help, &err) < 0) {
    printf("Incorrect Usage. %s\n\n", err->message);
    print_app_help(stdout, program);
    free(args);
    return fatal_err(err);
  }
  int first = argc - arg_count;
  free(args);
  if (show_help || first >= argc) {
    print_app_help(stdout, program);
    return 0;
  }
  if (configure_logging(&err) < 0 || check_windows_files(&err) < 0) {
    return fatal_err(err);
  }
  if (strcmp(argv[first], "help") == 0 || strcmp(argv[first], "h") == 0) {
    return run_help(program, argc, argv, first + 1);
  }
  const rt_command *command = find_command(argv[first]);
  if (command == NULL) {
    cf_autofree char *msg = cf_xasprintf("No help topic for '%s'", argv[first]);
    fatal(msg);
    return 3;
  }
  rt_context ctx = {.program = program, .root = root};
  int rc = run_command(&ctx, command, argc, argv, first + 1);
  cf_store_close(ctx.store);
  return rc;
}

int cf_cli_runtime(int argc, char **argv, int start)
{
  int rc = run_runtime(argv[0], argc, argv, start);
  if (rt_log.fd > 2) {
    close(rt_log.fd);
  }
  return rc;
}

/* Commands report failures through this: logs and prints, returns 1. */
int rt_fail(cf_err *err)
{
  return fatal_err(err);
}
