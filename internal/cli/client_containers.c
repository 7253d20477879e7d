/* SPDX-License-Identifier: Apache-2.0 */
/* The `cfwin client` commands that read or change existing containers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "cli/client_cli.h"
#include "garden/json.h"

int cf_client_container_call(const cf_client_ctx *ctx, const char *method, const char *handle,
                             const char *suffix, const json_t *body, json_t **result, cf_err **err)
{
  cf_autofree char *escaped = cf_garden_escape(handle);
  cf_autofree char *path =
      cf_xasprintf("/containers/%s%s%s", escaped, suffix[0] != '\0' ? "/" : "", suffix);
  return cf_garden_client_call(&ctx->client, method, path, body, result, err);
}

/* --- Commands on one or more containers --- */

typedef int (*fetch_fn)(cf_client_ctx *ctx, const char *handle, json_t **result, cf_err **err);
typedef void (*print_fn)(FILE *out, const char *handle, const json_t *result);

/* Runs fetch for every handle. With --json prints one object that maps each
 * handle to the server's reply; otherwise prints each reply with print.
 * A failed handle is reported on stderr and makes the status 1, and the
 * other handles still run. */
static int run_per_handle(cf_client_ctx *ctx, const cf_client_args *args, fetch_fn fetch,
                          print_fn print, bool blank_line_between)
{
  json_t *all = json_object();
  int status = 0;
  size_t printed = 0;
  for (size_t i = 0; i < args->count; i++) {
    const char *handle = args->positionals[i];
    json_t *result = NULL;
    cf_err *err = NULL;
    if (fetch(ctx, handle, &result, &err) < 0) {
      status = cf_client_fail(ctx, err);
      continue;
    }
    if (ctx->json) {
      json_object_set_new(all, handle, result);
      continue;
    }
    if (blank_line_between && printed++ > 0) {
      fputc('\n', stdout);
    }
    print(stdout, handle, result);
    json_decref(result);
  }
  if (ctx->json) {
    cf_client_print_json(all);
  }
  json_decref(all);
  return status;
}

/* Parses the options and HANDLE... of a command, then runs fetch for each. */
static int per_handle_command(cf_client_ctx *ctx, cf_flag *flags, int count, int argc, char **argv,
                              fetch_fn fetch, print_fn print, bool blank_line_between)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, flags, count, argc, argv, 1, (size_t)argc, &args, &err);
  int status = 0;
  if (parsed < 0) {
    status = cf_client_fail(ctx, err);
  } else if (parsed == 0) {
    status = run_per_handle(ctx, &args, fetch, print, blank_line_between);
  }
  free(args.positionals);
  return status;
}

static void print_handle(FILE *out, const char *handle, const json_t *result)
{
  (void)result;
  fprintf(out, "%s\n", handle);
}

static int fetch_info(cf_client_ctx *ctx, const char *handle, json_t **result, cf_err **err)
{
  return cf_client_container_call(ctx, "GET", handle, "info", NULL, result, err);
}

static int fetch_metrics(cf_client_ctx *ctx, const char *handle, json_t **result, cf_err **err)
{
  return cf_client_container_call(ctx, "GET", handle, "metrics", NULL, result, err);
}

static int fetch_destroy(cf_client_ctx *ctx, const char *handle, json_t **result, cf_err **err)
{
  return cf_client_container_call(ctx, "DELETE", handle, "", NULL, result, err);
}

static bool stop_kill; /* --kill of the stop command */

static int fetch_stop(cf_client_ctx *ctx, const char *handle, json_t **result, cf_err **err)
{
  json_t *body = json_pack("{s:b}", "kill", stop_kill);
  int rc = cf_client_container_call(ctx, "PUT", handle, "stop", body, result, err);
  json_decref(body);
  return rc;
}

int cf_client_cmd_info(cf_client_ctx *ctx, int argc, char **argv)
{
  return per_handle_command(ctx, NULL, 0, argc, argv, fetch_info, cf_client_print_info, true);
}

int cf_client_cmd_metrics(cf_client_ctx *ctx, int argc, char **argv)
{
  return per_handle_command(ctx, NULL, 0, argc, argv, fetch_metrics, cf_client_print_metrics, true);
}

int cf_client_cmd_destroy(cf_client_ctx *ctx, int argc, char **argv)
{
  return per_handle_command(ctx, NULL, 0, argc, argv, fetch_destroy, print_handle, false);
}

int cf_client_cmd_stop(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_flag flags[] = {{"kill", CF_FLAG_BOOL, &stop_kill}};
  return per_handle_command(ctx, flags, 1, argc, argv, fetch_stop, print_handle, false);
}

/* --- list and the bulk commands --- */

/* Builds "/containers?k=v&..." from KEY=VALUE filters. */
static int list_path(const cf_flag_strings *filters, char **out, cf_err **err)
{
  cf_buf path;
  cf_buf_init(&path, 1024 * 1024);
  cf_buf_append_str(&path, "/containers", NULL);
  for (size_t i = 0; i < filters->count; i++) {
    cf_autofree char *key = NULL;
    const char *value = NULL;
    if (cf_client_split_pair("property", filters->values[i], &key, &value, err) < 0) {
      cf_buf_free(&path);
      return -1;
    }
    cf_autofree char *escaped_key = cf_garden_escape(key);
    cf_autofree char *escaped_value = cf_garden_escape(value);
    if (cf_buf_printf(&path, err, "%c%s=%s", i == 0 ? '?' : '&', escaped_key, escaped_value) < 0) {
      cf_buf_free(&path);
      return -1;
    }
  }
  *out = cf_buf_take(&path);
  return 0;
}

/* Builds "/containers/bulk_KIND?handles=h1%2Ch2" as the Go client does. */
static char *bulk_path(const char *kind, char **handles, size_t count)
{
  cf_buf path;
  cf_buf_init(&path, 16 * 1024 * 1024);
  cf_buf_printf(&path, NULL, "/containers/bulk_%s?handles=", kind);
  for (size_t i = 0; i < count; i++) {
    cf_autofree char *escaped = cf_garden_escape(handles[i]);
    cf_buf_printf(&path, NULL, "%s%s", i == 0 ? "" : "%2C", escaped);
  }
  return cf_buf_take(&path);
}

/* Fetches BulkInfo for the listed handles, for the list table. */
static json_t *list_bulk_info(cf_client_ctx *ctx, const json_t *handles)
{
  size_t count = json_array_size(handles);
  if (count == 0) {
    return NULL;
  }
  char **names = cf_xcalloc(count, sizeof(char *));
  for (size_t i = 0; i < count; i++) {
    names[i] = (char *)json_string_value(json_array_get(handles, i));
  }
  cf_autofree char *path = bulk_path("info", names, count);
  free(names);
  json_t *bulk = NULL;
  cf_err *err = NULL;
  if (cf_garden_client_call(&ctx->client, "GET", path, NULL, &bulk, &err) < 0) {
    /* The table then shows "-" for each state; the handles are still right. */
    cf_err_free(err);
    return json_object();
  }
  return bulk;
}

static int list_containers(cf_client_ctx *ctx, const cf_flag_strings *filters, bool quiet,
                           cf_err **err)
{
  cf_autofree char *path = NULL;
  json_t *result = NULL;
  if (list_path(filters, &path, err) < 0 ||
      cf_garden_client_call(&ctx->client, "GET", path, NULL, &result, err) < 0) {
    return -1;
  }
  json_t *handles = cf_json_get(result, "Handles");
  if (ctx->json) {
    cf_client_print_json(result);
  } else if (quiet) {
    cf_client_print_list(stdout, handles, NULL);
  } else {
    json_t *bulk = list_bulk_info(ctx, handles);
    cf_client_print_list(stdout, handles, bulk);
    json_decref(bulk);
  }
  json_decref(result);
  return 0;
}

int cf_client_cmd_list(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_flag_strings filters = {0};
  bool quiet = false;
  cf_flag flags[] = {{"property", CF_FLAG_STRINGS, &filters},
                     {"quiet", CF_FLAG_BOOL, &quiet},
                     {"q", CF_FLAG_BOOL, &quiet}};
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, flags, 3, argc, argv, 0, 0, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && list_containers(ctx, &filters, quiet, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  cf_flag_strings_clear(&filters);
  return status;
}

/* Prints each entry of a bulk reply: the value under value_key, or the
 * entry's error envelope. Returns 1 when an entry has an error. */
static int print_bulk(cf_client_ctx *ctx, const json_t *bulk, char **handles, size_t count,
                      const char *value_key, print_fn print)
{
  int status = 0;
  for (size_t i = 0; i < count; i++) {
    json_t *entry = cf_json_get(bulk, handles[i]);
    json_t *error = cf_json_get(entry, "Err");
    if (i > 0) {
      fputc('\n', stdout);
    }
    if (entry == NULL || json_is_object(error)) {
      const char *message = json_string_value(cf_json_get(error, "Message"));
      cf_err *err = NULL;
      cf_err_set(&err, CF_E_SYSTEM, "%s: %s", handles[i],
                 message != NULL ? message : "missing from the server's reply");
      status = cf_client_fail(ctx, err);
      continue;
    }
    print(stdout, handles[i], cf_json_get(entry, value_key));
  }
  return status;
}

static int bulk_command(cf_client_ctx *ctx, int argc, char **argv, const char *kind,
                        const char *value_key, print_fn print)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, NULL, 0, argc, argv, 1, (size_t)argc, &args, &err);
  if (parsed != 0) {
    free(args.positionals);
    return parsed > 0 ? 0 : cf_client_fail(ctx, err);
  }
  cf_autofree char *path = bulk_path(kind, args.positionals, args.count);
  json_t *bulk = NULL;
  int status = 0;
  if (cf_garden_client_call(&ctx->client, "GET", path, NULL, &bulk, &err) < 0) {
    status = cf_client_fail(ctx, err);
  } else if (ctx->json) {
    cf_client_print_json(bulk);
  } else {
    status = print_bulk(ctx, bulk, args.positionals, args.count, value_key, print);
  }
  json_decref(bulk);
  free(args.positionals);
  return status;
}

int cf_client_cmd_bulk_info(cf_client_ctx *ctx, int argc, char **argv)
{
  return bulk_command(ctx, argc, argv, "info", "Info", cf_client_print_info);
}

int cf_client_cmd_bulk_metrics(cf_client_ctx *ctx, int argc, char **argv)
{
  return bulk_command(ctx, argc, argv, "metrics", "Metrics", cf_client_print_metrics);
}

/* --- properties, limits, grace-time --- */

/* `properties HANDLE [get KEY | set KEY VALUE | remove KEY]` */
static int property_action(cf_client_ctx *ctx, const cf_client_args *args, cf_err **err)
{
  const char *handle = args->positionals[0];
  const char *action = args->count > 1 ? args->positionals[1] : "list";
  size_t expected = strcmp(action, "list") == 0 ? 1 : strcmp(action, "set") == 0 ? 4 : 3;
  bool known = strcmp(action, "list") == 0 || strcmp(action, "get") == 0 ||
               strcmp(action, "set") == 0 || strcmp(action, "remove") == 0;
  if (!known || args->count != expected) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid arguments: use `cfwin client properties HANDLE`, or add "
                      "get KEY, set KEY VALUE or remove KEY");
  }
  json_t *result = NULL;
  int rc = 0;
  if (strcmp(action, "list") == 0) {
    rc = cf_client_container_call(ctx, "GET", handle, "properties", NULL, &result, err);
  } else {
    cf_autofree char *escaped = cf_garden_escape(args->positionals[2]);
    cf_autofree char *suffix = cf_xasprintf("properties/%s", escaped);
    json_t *body =
        strcmp(action, "set") == 0 ? json_pack("{s:s}", "value", args->positionals[3]) : NULL;
    const char *method = strcmp(action, "get") == 0   ? "GET"
                         : strcmp(action, "set") == 0 ? "PUT"
                                                      : "DELETE";
    rc = cf_client_container_call(ctx, method, handle, suffix, body, &result, err);
    json_decref(body);
  }
  if (rc == 0 && ctx->json) {
    cf_client_print_json(result);
  } else if (rc == 0 && strcmp(action, "list") == 0) {
    cf_client_print_properties(stdout, result);
  } else if (rc == 0 && strcmp(action, "get") == 0) {
    const char *value = json_string_value(cf_json_get(result, "value"));
    printf("%s\n", value != NULL ? value : "");
  }
  json_decref(result);
  return rc;
}

int cf_client_cmd_properties(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, NULL, 0, argc, argv, 1, 4, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && property_action(ctx, &args, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  return status;
}

static const char *const limit_kinds[] = {"memory", "cpu", "disk", "bandwidth"};

static bool is_limit_kind(const char *name)
{
  for (size_t i = 0; i < sizeof(limit_kinds) / sizeof(limit_kinds[0]); i++) {
    if (strcmp(name, limit_kinds[i]) == 0) {
      return true;
    }
  }
  return false;
}

/* Fetches the named limit kinds (all four when none is named) into one object. */
static int fetch_limits(cf_client_ctx *ctx, const cf_client_args *args, cf_err **err)
{
  const char *handle = args->positionals[0];
  char *const *kinds = args->count > 1 ? args->positionals + 1 : (char *const *)limit_kinds;
  size_t count = args->count > 1 ? args->count - 1 : sizeof(limit_kinds) / sizeof(limit_kinds[0]);
  for (size_t i = 0; i < count; i++) {
    if (!is_limit_kind(kinds[i])) {
      return cf_err_set(err, CF_E_INVALID,
                        "unknown limit \"%s\": use memory, cpu, disk or bandwidth", kinds[i]);
    }
  }
  json_t *limits = json_object();
  for (size_t i = 0; i < count; i++) {
    cf_autofree char *suffix = cf_xasprintf("limits/%s", kinds[i]);
    json_t *limit = NULL;
    if (cf_client_container_call(ctx, "GET", handle, suffix, NULL, &limit, err) < 0) {
      json_decref(limits);
      return -1;
    }
    json_object_set_new(limits, kinds[i], limit);
  }
  if (ctx->json) {
    cf_client_print_json(limits);
  } else {
    cf_client_print_limits(stdout, handle, limits);
  }
  json_decref(limits);
  return 0;
}

int cf_client_cmd_limits(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, NULL, 0, argc, argv, 1, 5, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && fetch_limits(ctx, &args, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  return status;
}

static int set_grace_time(cf_client_ctx *ctx, const cf_client_args *args, cf_err **err)
{
  int64_t ns = 0;
  if (cf_parse_duration(args->positionals[1], &ns, err) < 0 || ns < 0) {
    cf_err_clear(err);
    return cf_err_set(err, CF_E_INVALID,
                      "invalid grace time \"%s\": use a duration such as 30s, 5m or 1h; 0 "
                      "means the container is never destroyed for being idle",
                      args->positionals[1]);
  }
  json_t *body = json_integer(ns);
  json_t *result = NULL;
  int rc =
      cf_client_container_call(ctx, "PUT", args->positionals[0], "grace_time", body, &result, err);
  if (rc == 0 && ctx->json) {
    cf_client_print_json(result);
  }
  json_decref(body);
  json_decref(result);
  return rc;
}

int cf_client_cmd_grace_time(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, NULL, 0, argc, argv, 2, 2, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && set_grace_time(ctx, &args, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  return status;
}

/* --- stream-in, stream-out --- */

static int read_stdin(void *ctx, char *data, size_t size, size_t *n, cf_err **err)
{
  (void)ctx;
  ssize_t got;
  do {
    got = read(0, data, size);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    return cf_err_sys(err, errno, "read the tar stream from stdin");
  }
  *n = (size_t)got;
  return 0;
}

static int write_stdout(void *ctx, const char *data, size_t len, cf_err **err)
{
  (void)ctx;
  if (cf_write_all(1, data, len, err) < 0) {
    return cf_err_wrap(err, "write the tar stream to stdout");
  }
  return 0;
}

typedef struct stream_options {
  const char *path;
  const char *user;
} stream_options;

static int stream_command(cf_client_ctx *ctx, int argc, char **argv, bool in)
{
  stream_options o = {0};
  cf_flag flags[] = {{in ? "to" : "from", CF_FLAG_STRING, &o.path},
                     {"user", CF_FLAG_STRING, &o.user}};
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, flags, 2, argc, argv, 1, 1, &args, &err);
  int rc = parsed;
  if (rc == 0 && o.path == NULL) {
    rc = cf_err_set(&err, CF_E_INVALID, "missing --%s PATH: use `cfwin client %s`",
                    in ? "to" : "from", cf_client_usage(ctx->command));
  }
  if (rc == 0 && in && isatty(0)) {
    rc = cf_err_set(&err, CF_E_INVALID,
                    "stdin is a terminal: redirect a tar file to it or pipe tar's output into it");
  }
  if (rc == 0 && !in && isatty(1)) {
    rc = cf_err_set(&err, CF_E_INVALID,
                    "stdout is a terminal: redirect the tar stream to a file or pipe it to tar");
  }
  if (rc == 0 && in) {
    rc = cf_garden_client_stream_in(&ctx->client, args.positionals[0], o.path, o.user, read_stdin,
                                    NULL, &err);
  } else if (rc == 0) {
    rc = cf_garden_client_stream_out(&ctx->client, args.positionals[0], o.path, o.user,
                                     write_stdout, NULL, &err);
  }
  free(args.positionals);
  return rc < 0 ? cf_client_fail(ctx, err) : 0;
}

int cf_client_cmd_stream_in(cf_client_ctx *ctx, int argc, char **argv)
{
  return stream_command(ctx, argc, argv, true);
}

int cf_client_cmd_stream_out(cf_client_ctx *ctx, int argc, char **argv)
{
  return stream_command(ctx, argc, argv, false);
}
