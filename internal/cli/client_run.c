/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cfwin client run` and `attach`: the local stdin goes to the process on a
 * thread of its own, stdout and stderr come back on the calling thread,
 * and a watcher thread turns terminal resizes and interrupt signals into
 * messages. The command's exit status is the process's.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "cli/client_cli.h"
#include "garden/json.h"

/*
 * The process the helper threads talk to. It is static because the stdin
 * thread may still be blocked in a read after the process has exited. The
 * command then returns without waiting for that thread, and the program
 * exits, so the object must outlive the command.
 */
typedef struct run_session {
  cf_garden_process process;
  const cf_garden_client *client;
  const char *handle; /* borrowed from argv */
  bool tty;
  atomic_int interrupts;
} run_session;

static run_session session;

static int write_fd(int fd, const char *data, size_t len, cf_err **err)
{
  if (cf_write_all(fd, data, len, err) < 0) {
    return cf_err_wrap(err, "write process output to %s", fd == 1 ? "stdout" : "stderr");
  }
  return 0;
}

static int write_stdout(void *ctx, const char *data, size_t len, cf_err **err)
{
  (void)ctx;
  return write_fd(1, data, len, err);
}

static int write_stderr(void *ctx, const char *data, size_t len, cf_err **err)
{
  (void)ctx;
  return write_fd(2, data, len, err);
}

/* Copies stdin to the process until end of file, then closes its stdin.
 * A read error ends the copy without closing, as the Go client does. */
static void *pump_stdin(void *arg)
{
  run_session *s = arg;
  char data[65536 + 4];
  size_t carried = 0; /* bytes of a UTF-8 character cut by the last read */
  for (;;) {
    ssize_t n = read(0, data + carried, sizeof(data) - 4 - carried);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      cf_err *err = NULL;
      if (n == 0 && carried > 0) {
        cf_garden_process_send_stdin(&s->process, data, carried, &err);
      }
      if (n == 0) {
        cf_garden_process_close_stdin(&s->process, &err);
      }
      cf_err_free(err);
      return NULL;
    }
    size_t total = carried + (size_t)n;
    size_t complete = cf_garden_utf8_complete_len(data, total);
    cf_err *err = NULL;
    if (complete > 0 && cf_garden_process_send_stdin(&s->process, data, complete, &err) < 0) {
      cf_err_free(err); /* the control connection is gone; wait() reports why */
      return NULL;
    }
    carried = total - complete;
    memmove(data, data + complete, carried);
  }
}

static void send_window_size(void *arg)
{
  run_session *s = arg;
  unsigned columns = 0;
  unsigned rows = 0;
  cf_err *err = NULL;
  if (cf_client_term_size(&columns, &rows)) {
    cf_garden_process_resize(&s->process, columns, rows, &err);
  }
  cf_err_free(err);
}

/* Sends a signal to the process. Once its stdin is closed the server reads
 * nothing more on the run's control connection, so the signal then travels
 * over a new attach of its own. */
static int send_signal(run_session *s, enum cf_garden_signal signal, cf_err **err)
{
  cf_err *first = NULL;
  if (cf_garden_process_signal(&s->process, signal, &first) == 0) {
    return 0;
  }
  if (first->code != CF_E_BUSY) {
    *err = first;
    return -1;
  }
  cf_err_free(first);
  cf_garden_process extra;
  cf_garden_process_init(&extra);
  int rc = cf_garden_process_attach(s->client, s->handle, s->process.process_id, &extra, err);
  if (rc == 0) {
    rc = cf_garden_process_signal(&extra, signal, err);
  }
  cf_garden_process_clear(&extra);
  return rc;
}

/* The first interrupt sends SIGTERM, the second SIGKILL, the third ends
 * this program and leaves the process running on the server. */
static void forward_interrupt(void *arg)
{
  run_session *s = arg;
  int count = atomic_fetch_add(&s->interrupts, 1) + 1;
  cf_err *err = NULL;
  int rc = 0;
  if (count == 1) {
    rc = send_signal(s, CF_GARDEN_SIGNAL_TERMINATE, &err);
  } else if (count == 2) {
    rc = send_signal(s, CF_GARDEN_SIGNAL_KILL, &err);
  } else {
    cf_client_term_leave_raw();
    fprintf(stderr, "cfwin client: interrupted; process %s keeps running on the server\n",
            s->process.process_id);
    _exit(130);
  }
  if (rc < 0) {
    fprintf(stderr, "cfwin client: cannot signal process %s: %s\n", s->process.process_id,
            err->message);
    cf_err_free(err);
  }
}

static const cf_client_term_events events = {
    .resized = send_window_size,
    .interrupted = forward_interrupt,
    .ctx = &session,
};

/* Starts the watcher and the stdin thread, waits for the exit status and
 * prints a failure. Returns the process's exit status, or 1. */
static int stream_process(cf_client_ctx *ctx, const char *handle, bool forward_stdin)
{
  cf_err *err = NULL;
  session.client = &ctx->client;
  session.handle = handle;
  if (cf_client_term_watch(&events) < 0) {
    fprintf(stderr, "cfwin client %s: cannot watch signals; Ctrl-C ends only cfwin client\n",
            ctx->command);
  }
  if (session.tty && cf_client_term_stdin_is_tty()) {
    cf_client_term_enter_raw();
  }
  pthread_t thread;
  if (forward_stdin && pthread_create(&thread, NULL, pump_stdin, &session) == 0) {
    pthread_detach(thread);
  } else if (forward_stdin) {
    cf_client_term_leave_raw();
    cf_err_set(&err, CF_E_SYSTEM, "cannot start the thread that forwards stdin");
    return cf_client_fail(ctx, err);
  }
  int exit_status = 0;
  int rc = cf_garden_process_wait(&ctx->client, &session.process, write_stdout, write_stderr, NULL,
                                  &exit_status, &err);
  cf_client_term_leave_raw();
  if (rc < 0) {
    return cf_client_fail(ctx, err);
  }
  return exit_status;
}

/* --- run --- */

typedef struct run_options {
  bool tty;
  const char *user;
  const char *dir;
  cf_flag_strings env;
  const char *id;
  const char *image;
  bool detach;
} run_options;

static json_t *tty_spec(void)
{
  unsigned columns = 0;
  unsigned rows = 0;
  if (!cf_client_term_stdin_is_tty() || !cf_client_term_size(&columns, &rows)) {
    return json_object(); /* the server's default, 80x24 */
  }
  return json_pack("{s:{s:I, s:I}}", "window_size", "columns", (json_int_t)columns, "rows",
                   (json_int_t)rows);
}

/* Builds a ProcessSpec with its keys in the Go client's order. */
static int build_process_spec(const run_options *o, const cf_client_args *args, json_t **out,
                              cf_err **err)
{
  json_t *spec = json_object();
  if (o->id != NULL) {
    json_object_set_new(spec, "id", json_string(o->id));
  }
  json_object_set_new(spec, "path", json_string(args->rest[0]));
  json_t *argv = json_array();
  for (int i = 1; i < args->rest_count; i++) {
    json_array_append_new(argv, json_string(args->rest[i]));
  }
  json_object_set_new(spec, "args", argv);
  json_t *env = json_array();
  for (size_t i = 0; i < o->env.count; i++) {
    if (strchr(o->env.values[i], '=') == NULL || o->env.values[i][0] == '=') {
      json_decref(env);
      json_decref(spec);
      return cf_err_set(err, CF_E_INVALID, "invalid --env \"%s\": use NAME=VALUE",
                        o->env.values[i]);
    }
    json_array_append_new(env, json_string(o->env.values[i]));
  }
  json_object_set_new(spec, "env", env);
  if (o->dir != NULL) {
    json_object_set_new(spec, "dir", json_string(o->dir));
  }
  if (o->user != NULL) {
    json_object_set_new(spec, "user", json_string(o->user));
  }
  json_object_set_new(spec, "rlimits", json_object());
  if (o->tty) {
    json_object_set_new(spec, "tty", tty_spec());
  }
  json_t *image = json_object();
  if (o->image != NULL) {
    json_object_set_new(image, "uri", json_string(o->image));
  }
  json_object_set_new(spec, "image", image);
  *out = spec;
  return 0;
}

static int start_process(cf_client_ctx *ctx, const run_options *o, const cf_client_args *args,
                         cf_err **err)
{
  if (args->rest == NULL || args->rest_count == 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "missing the program: use `cfwin client run HANDLE [options] -- PATH "
                      "[ARG...]`");
  }
  json_t *spec = NULL;
  if (build_process_spec(o, args, &spec, err) < 0) {
    return -1;
  }
  int rc = cf_garden_process_run(&ctx->client, args->positionals[0], spec, &session.process, err);
  json_decref(spec);
  return rc;
}

static void print_detached(const cf_client_ctx *ctx)
{
  if (ctx->json) {
    json_t *ids = json_pack("{s:s, s:s}", "process_id", session.process.process_id, "stream_id",
                            session.process.stream_id);
    cf_client_print_json(ids);
    json_decref(ids);
  } else {
    printf("%s\n", session.process.process_id);
  }
}

int cf_client_cmd_run(cf_client_ctx *ctx, int argc, char **argv)
{
  run_options o = {0};
  cf_flag flags[] = {
      {"tty", CF_FLAG_BOOL, &o.tty},       {"user", CF_FLAG_STRING, &o.user},
      {"dir", CF_FLAG_STRING, &o.dir},     {"env", CF_FLAG_STRINGS, &o.env},
      {"id", CF_FLAG_STRING, &o.id},       {"image", CF_FLAG_STRING, &o.image},
      {"detach", CF_FLAG_BOOL, &o.detach},
  };
  cf_client_args args;
  bool help = false;
  cf_err *err = NULL;
  cf_garden_process_init(&session.process);
  int rc = cf_client_parse_args(ctx, flags, 7, argc, argv, &args, &help, &err);
  if (rc == 0 && help) {
    cf_flag_strings_clear(&o.env);
    free(args.positionals);
    return cf_client_cmd_help_of(ctx->command);
  }
  if (rc == 0 && args.count != 1) {
    rc = cf_err_set(&err, CF_E_INVALID,
                    "%s: use `cfwin client run HANDLE [options] -- PATH [ARG...]`",
                    args.count == 0 ? "missing HANDLE" : "more than one HANDLE before --");
  }
  if (rc == 0) {
    rc = start_process(ctx, &o, &args, &err);
  }
  session.tty = o.tty;
  cf_flag_strings_clear(&o.env);
  const char *handle = args.count > 0 ? args.positionals[0] : NULL; /* points into argv */
  free(args.positionals);
  if (rc < 0) {
    return cf_client_fail(ctx, err);
  }
  if (o.detach) {
    print_detached(ctx);
    return 0;
  }
  return stream_process(ctx, handle, true);
}

/* --- attach --- */

int cf_client_cmd_attach(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_client_args args;
  bool help = false;
  cf_err *err = NULL;
  cf_garden_process_init(&session.process);
  int rc = cf_client_parse_args(ctx, NULL, 0, argc, argv, &args, &help, &err);
  if (rc == 0 && help) {
    free(args.positionals);
    return cf_client_cmd_help_of(ctx->command);
  }
  if (rc == 0 && args.count != 2) {
    rc = cf_err_set(&err, CF_E_INVALID,
                    "expected HANDLE and PROCESS_ID: use `cfwin client attach HANDLE PROCESS_ID`");
  }
  if (rc == 0) {
    rc = cf_garden_process_attach(&ctx->client, args.positionals[0], args.positionals[1],
                                  &session.process, &err);
  }
  const char *handle = args.count > 0 ? args.positionals[0] : NULL; /* points into argv */
  free(args.positionals);
  if (rc < 0) {
    return cf_client_fail(ctx, err);
  }
  return stream_process(ctx, handle, false);
}
