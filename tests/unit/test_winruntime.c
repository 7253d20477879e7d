/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the platform-neutral builders of the Windows runtime
 * backend (internal/runtime/winhcs.h), run natively on Linux. Expected
 * strings are written out literally from winc's tests and source, from
 * hcsshim's documents and from the rules of Go's encoding/json and
 * syscall.EscapeArg, as each comment names. None is produced by the code
 * under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/winhcs.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Asserts that err is set with code and a message containing part. */
static void assert_error(cf_err *err, enum cf_code code, const char *part)
{
  assert_non_null(err);
  if (strstr(err->message, part) == NULL) {
    fail_msg("message \"%s\" does not contain \"%s\"", err->message, part);
  }
  assert_int_equal(err->code, code);
}

static char *command_line(const char *const *args, size_t count)
{
  char *line = NULL;
  cf_err *err = NULL;
  if (cf_winrt_command_line(args, count, &line, &err) < 0) {
    fail_msg("command line: %s", err->message);
  }
  return line;
}

/* --- Command line (winc's makeCmdLine) --- */

static void command_line_unit_test_cases(void **state)
{
  /* The three examples of winc's unit tests. */
  static const char *const spaces[] = {"command with spaces.exe", "arg with spaces", "other arg"};
  static const char *const empty[] = {"command.exe", "", ""};
  static const char *const powershell[] = {"powershell.exe", "Write-Host 'hi'"};
  char *line = command_line(spaces, COUNT(spaces));
  assert_string_equal(line, "\"command with spaces.exe\" \"arg with spaces\" \"other arg\"");
  free(line);
  line = command_line(empty, COUNT(empty));
  assert_string_equal(line, "command.exe \"\" \"\"");
  free(line);
  line = command_line(powershell, COUNT(powershell));
  assert_string_equal(line, "powershell.exe \"Write-Host 'hi'\"");
  free(line);
}

static void command_line_exe_appended(void **state)
{
  static const struct {
    const char *arg0;
    const char *expected;
  } cases[] = {
      /* winc appends .exe: /tmp/sleep runs \tmp\sleep.exe. */
      {"/tmp/sleep", "\\tmp\\sleep.exe"},
      /* exec test: /Windows/System32/cmd still runs cmd.exe. */
      {"/Windows/System32/cmd", "\\Windows\\System32\\cmd.exe"},
      /* create test: a mounted executable run by Windows path. */
      {"C:\\tmp\\mountdest\\cmd", "C:\\tmp\\mountdest\\cmd.exe"},
      /* args[0] of winc's test base spec, and its exec error case. */
      {"waitfor", "waitfor.exe"},
      {"some-invalid-command", "some-invalid-command.exe"},
      /* A three-letter extension is kept, whatever it is. */
      {"cmd.exe", "cmd.exe"},
      {"C:\\tmp\\script.bat", "C:\\tmp\\script.bat"},
      {"setup.EXE", "setup.EXE"},
      /* Anything else is not an extension by winc's \.[a-zA-Z]{3}$ rule. */
      {"tool.ps1", "tool.ps1.exe"},
      {"archive.gz", "archive.gz.exe"},
      {"C:\\dir.abc\\tool", "C:\\dir.abc\\tool.exe"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char *argv0 = cf_winrt_argv0(cases[i].arg0);
    if (strcmp(argv0, cases[i].expected) != 0) {
      fail_msg("%s: got \"%s\", expected \"%s\"", cases[i].arg0, argv0, cases[i].expected);
    }
    free(argv0);
  }
}

static void command_line_start_test_process(void **state)
{
  /* start_test.go's process: cmd.exe /C "echo hello > C:\out.txt & waitfor ever /t 9999". */
  static const char *const args[] = {"cmd.exe", "/C",
                                     "echo hello > C:\\out.txt & waitfor ever /t 9999"};
  char *line = command_line(args, COUNT(args));
  assert_string_equal(line, "cmd.exe /C \"echo hello > C:\\out.txt & waitfor ever /t 9999\"");
  free(line);
}

static void command_line_quotes_and_backslashes(void **state)
{
  /* Go's syscall.EscapeArg doubles backslashes before a `"` and escapes
   * the `"`. In a quoted argument it doubles the trailing backslashes
   * before the closing quote. Other backslashes stay as they are. */
  static const struct {
    const char *arg;
    const char *expected;
  } cases[] = {
      {"a\"b", "a\\\"b"},
      {"a\\\"b", "a\\\\\\\"b"},
      {"C:\\dir\\", "C:\\dir\\"},
      {"C:\\my dir\\", "\"C:\\my dir\\\\\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"tab\there", "\"tab\there\""},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    const char *args[] = {"x.exe", cases[i].arg};
    char *line = command_line(args, 2);
    char *expected = cf_xasprintf("x.exe %s", cases[i].expected);
    if (strcmp(line, expected) != 0) {
      fail_msg("%s: got [%s], expected [%s]", cases[i].arg, line, expected);
    }
    free(expected);
    free(line);
  }
}

static void command_line_rejected(void **state)
{
  char *line = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_winrt_command_line(NULL, 0, &line, &err), -1);
  assert_error(err, CF_E_INVALID, "args must not be empty");
  cf_err_clear(&err);

  /* CreateProcess takes 32767 characters with the terminating NUL. */
  char *fits = malloc(32767);
  memset(fits, 'a', 32766 - 8);
  fits[32766 - 8] = '\0';
  const char *ok_args[] = {"cmd.exe", fits}; /* "cmd.exe " is 8 characters */
  assert_int_equal(cf_winrt_command_line(ok_args, 2, &line, &err), 0);
  assert_int_equal(strlen(line), 32766);
  free(line);
  fits[32766 - 8] = 'a';
  fits[32766 - 7] = '\0';
  assert_int_equal(cf_winrt_command_line(ok_args, 2, &line, &err), -1);
  assert_error(err, CF_E_LIMIT, "32766");
  cf_err_clear(&err);
  free(fits);
}

/* --- Paths and process.json checks (winc's config.go) --- */

static void container_path_conversion(void **state)
{
  static const struct {
    const char *input;
    const char *expected;
  } cases[] = {
      /* winc joins a path without a drive onto C: (cwd and mount destinations). */
      {"/Users", "C:\\Users"},
      {"/tmp/x", "C:\\tmp\\x"},
      /* The cwd of winc's test base spec and its exec test's --cwd. */
      {"C:\\", "C:\\"},
      {"C:\\Users", "C:\\Users"},
      /* Cleaning, as winc's filepath.Clean does. */
      {"C:\\Users\\", "C:\\Users"},
      {"//tmp//./a/../b", "C:\\tmp\\b"},
      {"/..", "C:\\"},
      {"D:/data", "D:\\data"},
      /* Relative and empty paths stay non-absolute, so validation rejects them. */
      {"x", "C:x"},
      {"", "C:."},
      {"../up", "C:..\\up"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char *path = cf_winrt_container_path(cases[i].input);
    if (strcmp(path, cases[i].expected) != 0) {
      fail_msg("\"%s\": got \"%s\", expected \"%s\"", cases[i].input, path, cases[i].expected);
    }
    free(path);
  }
  assert_true(cf_winrt_path_is_absolute("C:\\Users"));
  assert_false(cf_winrt_path_is_absolute("C:x"));
  assert_false(cf_winrt_path_is_absolute("\\Users"));
}

static void process_validate_accepts(void **state)
{
  static const char *const args[] = {"cmd.exe"};
  static const char *const env[] = {"var1=foo", "var2=bar", "EMPTY="};
  cf_winrt_process process = {
      .args = args, .arg_count = 1, .env = env, .env_count = 3, .cwd = "/Users"};
  cf_err *err = NULL;
  if (cf_winrt_process_validate(&process, &err) < 0) {
    fail_msg("%s", err->message);
  }
}

static void process_validate_messages(void **state)
{
  /* winc lists all problems, each on its own "\n\t" line, in this order. */
  static const char *const env[] = {"var1=foo", "novalue", "x"};
  cf_winrt_process process = {.args = NULL, .arg_count = 0, .env = env, .env_count = 3, .cwd = "x"};
  cf_err *err = NULL;
  assert_int_equal(cf_winrt_process_validate(&process, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  assert_string_equal(err->message, "process config is invalid:"
                                    "\n\tcwd \"C:x\" is not an absolute path"
                                    "\n\targs must not be empty"
                                    "\n\tenv \"novalue\" should be in the form of 'key=value'."
                                    "\n\tenv \"x\" should be in the form of 'key=value'.");
  cf_err_free(err);
}

/* --- ProcessParameters (hcsshim's schema, winc's process config) --- */

static char *process_json(const cf_winrt_process *process, const cf_hcs_process_options *options)
{
  char *json = NULL;
  cf_err *err = NULL;
  if (cf_hcs_process_json(process, options, &json, &err) < 0) {
    fail_msg("process json: %s", err->message);
  }
  return json;
}

static void process_json_reference_example(void **state)
{
  /* hcsshim's example ProcessParameters (internal/cmd), on one line. */
  static const char *const args[] = {"cmd.exe", "/c", "echo", "hi"};
  static const char *const env[] = {"PATH=C:\\Windows\\system32;C:\\Windows"};
  cf_winrt_process process = {.args = args,
                              .arg_count = 4,
                              .env = env,
                              .env_count = 1,
                              .cwd = "C:\\",
                              .user = "ContainerUser"};
  cf_hcs_process_options options = {.stdio_pipes = true};
  char *json = process_json(&process, &options);
  assert_string_equal(
      json, "{\"CommandLine\":\"cmd.exe /c echo hi\",\"User\":\"ContainerUser\","
            "\"WorkingDirectory\":\"C:\\\\\","
            "\"Environment\":{\"PATH\":\"C:\\\\Windows\\\\system32;C:\\\\Windows\"},"
            "\"EmulateConsole\":false,"
            "\"CreateStdInPipe\":true,\"CreateStdOutPipe\":true,\"CreateStdErrPipe\":true}");
  free(json);
}

static void process_json_detached_env_map(void **state)
{
  /* winc splits env at the first `=` into the Environment map and asks
   * for no pipes for a detached process; User is left out when
   * empty. Go's encoder sorts map keys, and a repeated key keeps its last
   * value. */
  static const char *const args[] = {"/tmp/sleep", "5"};
  static const char *const env[] = {"var2=bar", "var1=a=b", "var2=baz"};
  cf_winrt_process process = {
      .args = args, .arg_count = 2, .env = env, .env_count = 3, .cwd = "/Users"};
  cf_hcs_process_options options = {.stdio_pipes = false};
  char *json = process_json(&process, &options);
  assert_string_equal(json, "{\"CommandLine\":\"\\\\tmp\\\\sleep.exe 5\","
                            "\"WorkingDirectory\":\"C:\\\\Users\","
                            "\"Environment\":{\"var1\":\"a=b\",\"var2\":\"baz\"},"
                            "\"EmulateConsole\":false,\"CreateStdInPipe\":false,"
                            "\"CreateStdOutPipe\":false,\"CreateStdErrPipe\":false}");
  free(json);
}

static void process_json_tty_console_size(void **state)
{
  /* hcsshim's schema: EmulateConsole for a TTY (the StdErr pipe is
   * ignored), ConsoleSize [h,w]. */
  static const char *const args[] = {"powershell.exe"};
  cf_winrt_process process = {.args = args, .arg_count = 1, .cwd = "C:\\", .user = "vcap"};
  cf_hcs_process_options options = {
      .stdio_pipes = true, .tty = true, .console_height = 40, .console_width = 120};
  char *json = process_json(&process, &options);
  assert_string_equal(json, "{\"CommandLine\":\"powershell.exe\",\"User\":\"vcap\","
                            "\"WorkingDirectory\":\"C:\\\\\",\"Environment\":{},"
                            "\"EmulateConsole\":true,\"CreateStdInPipe\":true,"
                            "\"CreateStdOutPipe\":true,\"CreateStdErrPipe\":false,"
                            "\"ConsoleSize\":[40,120]}");
  free(json);
}

static void process_json_invalid(void **state)
{
  cf_winrt_process process = {.args = NULL, .arg_count = 0, .cwd = "C:\\"};
  cf_hcs_process_options options = {.stdio_pipes = true};
  char *json = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_hcs_process_json(&process, &options, &json, &err), -1);
  assert_error(err, CF_E_INVALID, "process config is invalid:\n\targs must not be empty");
  assert_null(json);
  cf_err_free(err);
}

/* --- ComputeSystem (hcsshim's schema 2.1, winc's container config) --- */

#define VOLUME "\\\\?\\Volume{6d2a1f44-0b6c-4b43-9d3e-6f1c2f4b8a10}\\"
#define VOLUME_JSON "\\\\\\\\?\\\\Volume{6d2a1f44-0b6c-4b43-9d3e-6f1c2f4b8a10}\\\\"
#define TOP_GUID "c4c2b1e0-5a0e-5a4f-9f3b-1c2d3e4f5a6b"
#define BASE_GUID "010df3e1-7918-5616-b7ed-f330ad22e0d8"
#define NS_GUID "a9211ba4-67ca-5fbc-80c9-6ab0baa08743"

static const cf_hcs_layer test_layers[] = {
    {TOP_GUID, "C:\\var\\vcap\\data\\groot\\layers\\8131874b"},
    {BASE_GUID, "C:\\var\\vcap\\data\\groot\\layers\\da2d8743"},
};

static cf_hcs_container_config full_config(const cf_hcs_mapped_dir *dirs, size_t dir_count)
{
  /* The values of a winc v1 container config (create with memory, CPU, a
   * mount and a shared network), in v2 form. */
  cf_hcs_container_config config = {
      .owner = "parent-handle",
      .hostname = "some-random-hostname",
      .layers = test_layers,
      .layer_count = COUNT(test_layers),
      .volume_path = VOLUME,
      .mapped_dirs = dirs,
      .mapped_dir_count = dir_count,
      .memory_limit = 128u * 1024 * 1024,
      .processor_weight = 8080,
      .network_namespace = NS_GUID,
  };
  return config;
}

static void container_json_full(void **state)
{
  static const cf_hcs_mapped_dir dirs[] = {
      {"C:\\Users\\x\\AppData\\Local\\Temp\\mountsource123", "C:\\mountdest", true},
      {"C:\\host\\rw", "C:\\tmp\\rw", false},
  };
  cf_hcs_container_config config = full_config(dirs, COUNT(dirs));
  char *json = NULL;
  cf_err *err = NULL;
  if (cf_hcs_container_json(&config, &json, &err) < 0) {
    fail_msg("%s", err->message);
  }
  assert_string_equal(
      json, "{\"Owner\":\"parent-handle\",\"SchemaVersion\":{\"Major\":2,\"Minor\":1},"
            "\"Container\":{\"GuestOs\":{\"HostName\":\"some-random-hostname\"},"
            "\"Storage\":{\"Layers\":["
            "{\"Id\":\"" TOP_GUID
            "\",\"Path\":\"C:\\\\var\\\\vcap\\\\data\\\\groot\\\\layers\\\\8131874b\"},"
            "{\"Id\":\"" BASE_GUID
            "\",\"Path\":\"C:\\\\var\\\\vcap\\\\data\\\\groot\\\\layers\\\\da2d8743\"}],"
            "\"Path\":\"" VOLUME_JSON "\"},"
            "\"MappedDirectories\":["
            "{\"HostPath\":\"C:\\\\Users\\\\x\\\\AppData\\\\Local\\\\Temp\\\\mountsource123\","
            "\"ContainerPath\":\"C:\\\\mountdest\",\"ReadOnly\":true},"
            "{\"HostPath\":\"C:\\\\host\\\\rw\",\"ContainerPath\":\"C:\\\\tmp\\\\rw\",\"ReadOnly\":"
            "false}],"
            "\"Processor\":{\"Weight\":8080},\"Memory\":{\"SizeInMB\":128},"
            "\"Networking\":{\"Namespace\":\"" NS_GUID "\"}}}");
  free(json);
}

static void container_json_minimal(void **state)
{
  /* Microsoft's sample container document: Owner, SchemaVersion
   * and Container.Storage only. */
  cf_hcs_container_config config = {
      .owner = "cfwin",
      .layers = test_layers + 1,
      .layer_count = 1,
      .volume_path = "\\\\?\\Volume{6d2a1f44-0b6c-4b43-9d3e-6f1c2f4b8a10}",
      .processor_maximum = 5000,
  };
  char *json = NULL;
  cf_err *err = NULL;
  if (cf_hcs_container_json(&config, &json, &err) < 0) {
    fail_msg("%s", err->message);
  }
  assert_string_equal(json,
                      "{\"Owner\":\"cfwin\",\"SchemaVersion\":{\"Major\":2,\"Minor\":1},"
                      "\"Container\":{\"Storage\":{\"Layers\":["
                      "{\"Id\":\"" BASE_GUID "\",\"Path\":\"C:\\\\var\\\\vcap\\\\data\\\\groot"
                      "\\\\layers\\\\da2d8743\"}],"
                      "\"Path\":\"\\\\\\\\?\\\\Volume{6d2a1f44-0b6c-4b43-9d3e-6f1c2f4b8a10}\"},"
                      "\"Processor\":{\"Maximum\":5000}}}");
  free(json);
}

static void container_json_memory_truncates(void **state)
{
  /* winc: MemoryMaximumInMB = limit/1024/1024, integer division. */
  cf_hcs_container_config config = full_config(NULL, 0);
  config.memory_limit = 200u * 1024 * 1024 - 1;
  char *json = NULL;
  assert_int_equal(cf_hcs_container_json(&config, &json, NULL), 0);
  assert_non_null(strstr(json, "\"Memory\":{\"SizeInMB\":199}"));
  assert_null(strstr(json, "MappedDirectories"));
  free(json);
}

static void container_json_rejected(void **state)
{
  static const cf_hcs_layer bad_layer[] = {{"not-a-guid", "C:\\layers\\x"}};
  static const cf_hcs_mapped_dir relative_dir[] = {{"C:\\src", "C:dest", true}};
  static const struct {
    const char *name;
    const char *part;
  } cases[] = {
      {"owner", "owner is empty"},
      {"no layers", "at least its base layer"},
      {"layer id", "layer 0: id \"not-a-guid\" is not a GUID"},
      {"volume", "volume path \"C:\\sandbox\""},
      {"volume guid", "volume path"},
      {"mapped dir", "container path \"C:dest\" is not an absolute Windows path"},
      {"weight range", "out of range"},
      {"weight and maximum", "set only one"},
      {"memory", "under the 1 MiB unit"},
      {"namespace", "network namespace \"ns\" is not a GUID"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    cf_hcs_container_config config = full_config(NULL, 0);
    switch (i) {
    case 0:
      config.owner = "";
      break;
    case 1:
      config.layer_count = 0;
      break;
    case 2:
      config.layers = bad_layer;
      config.layer_count = 1;
      break;
    case 3:
      config.volume_path = "C:\\sandbox";
      break;
    case 4:
      config.volume_path = "\\\\?\\Volume{6d2a1f44-0b6c-4b43-9d3e-6f1c2f4b8a1x}\\";
      break;
    case 5:
      config.mapped_dirs = relative_dir;
      config.mapped_dir_count = 1;
      break;
    case 6:
      config.processor_weight = 10001;
      break;
    case 7:
      config.processor_maximum = 100;
      break;
    case 8:
      config.memory_limit = 1024 * 1024 - 1;
      break;
    default:
      config.network_namespace = "ns";
      break;
    }
    char *json = NULL;
    cf_err *err = NULL;
    if (cf_hcs_container_json(&config, &json, &err) == 0) {
      fail_msg("%s: accepted: %s", cases[i].name, json);
    }
    assert_error(err, CF_E_INVALID, cases[i].part);
    assert_null(json);
    cf_err_free(err);
  }
}

/* --- Queries and small documents --- */

static void queries_and_modify_documents(void **state)
{
  /* winc's queries and hcsshim's signal and modify documents. */
  char *doc = cf_hcs_enumerate_query("some-id", false);
  assert_string_equal(doc, "{\"Ids\":[\"some-id\"]}");
  free(doc);
  doc = cf_hcs_enumerate_query("some-id", true);
  assert_string_equal(doc, "{\"Owners\":[\"some-id\"]}");
  free(doc);
  static const char *const stats[] = {"Statistics"};
  doc = cf_hcs_properties_query(stats, 1);
  assert_string_equal(doc, "{\"PropertyTypes\":[\"Statistics\"]}");
  free(doc);
  static const char *const both[] = {"Statistics", "ProcessList"};
  doc = cf_hcs_properties_query(both, 2);
  assert_string_equal(doc, "{\"PropertyTypes\":[\"Statistics\",\"ProcessList\"]}");
  free(doc);
  doc = cf_hcs_signal_options(CF_HCS_SIGNAL_CTRL_C);
  assert_string_equal(doc, "{\"Signal\":\"CtrlC\"}");
  free(doc);
  doc = cf_hcs_signal_options(CF_HCS_SIGNAL_CTRL_SHUTDOWN);
  assert_string_equal(doc, "{\"Signal\":\"CtrlShutdown\"}");
  free(doc);
  doc = cf_hcs_close_stdin_json();
  assert_string_equal(doc,
                      "{\"Operation\":\"CloseHandle\",\"CloseHandle\":{\"Handle\":\"StdIn\"}}");
  free(doc);
  doc = cf_hcs_console_size_json(25, 80);
  assert_string_equal(
      doc, "{\"Operation\":\"ConsoleSize\",\"ConsoleSize\":{\"Height\":25,\"Width\":80}}");
  free(doc);
}

/* --- Statistics and events --stats (winc's container.Stats) --- */

/* A Properties document with the field names of HCS ContainerProperties. */
static const char statistics_doc[] =
    "{\"Id\":\"c1\",\"State\":\"Running\",\"SystemType\":\"Container\",\"Stopped\":false,"
    " \"Statistics\": {\"Timestamp\":\"2024-03-01T10:00:00Z\",\"Uptime100ns\":5000,"
    "  \"Memory\":{\"MemoryUsageCommitBytes\":666,\"MemoryUsageCommitPeakBytes\":900,"
    "   \"MemoryUsagePrivateWorkingSetBytes\":500},"
    "  "
    "\"Processor\":{\"TotalRuntime100ns\":123,\"RuntimeUser100ns\":22,\"RuntimeKernel100ns\":101},"
    "  \"Storage\":{\"ReadCountNormalized\":1},\"Network\":[{\"EndpointId\":\"e\"}]}}";

static const char process_list_doc[] =
    "{\"Id\":\"c1\",\"ProcessList\":[{\"ProcessId\":1234,\"ImageName\":\"cmd.exe\","
    "\"CreateTimestamp\":\"2024-03-01T10:00:00Z\",\"KernelTime100ns\":1,\"UserTime100ns\":2,"
    "\"MemoryCommitBytes\":3}]}";

static void stats_events_output(void **state)
{
  /* winc multiplies total/kernel/user by 100 (its unit suite: 123 gives
   * 12300 ns), reports MemoryUsageCommitBytes as total_rss and the length
   * of ProcessList as current, in Go's 2-space MarshalIndent layout. */
  cf_hcs_stats stats = {0};
  cf_err *err = NULL;
  if (cf_hcs_stats_parse(statistics_doc, &stats, &err) < 0 ||
      cf_hcs_stats_parse(process_list_doc, &stats, &err) < 0) {
    fail_msg("%s", err->message);
  }
  assert_true(stats.has_statistics);
  assert_true(stats.has_process_list);
  char *json = NULL;
  assert_int_equal(cf_winrt_events_stats_json(&stats, &json, NULL), 0);
  assert_string_equal(json, "{\n"
                            "  \"data\": {\n"
                            "    \"cpu\": {\n"
                            "      \"usage\": {\n"
                            "        \"total\": 12300,\n"
                            "        \"kernel\": 10100,\n"
                            "        \"user\": 2200\n"
                            "      }\n"
                            "    },\n"
                            "    \"memory\": {\n"
                            "      \"raw\": {\n"
                            "        \"total_rss\": 666\n"
                            "      }\n"
                            "    },\n"
                            "    \"pids\": {\n"
                            "      \"current\": 1\n"
                            "    }\n"
                            "  }\n"
                            "}");
  free(json);
}

static void stats_zero_values_omitted(void **state)
{
  /* total_rss and current are omitempty in winc's struct; Go writes the
   * emptied objects as {}. */
  cf_hcs_stats stats = {0};
  assert_int_equal(cf_hcs_stats_parse("{\"Statistics\":{},\"ProcessList\":[]}", &stats, NULL), 0);
  assert_true(stats.has_statistics);
  assert_int_equal(stats.process_count, 0);
  char *json = NULL;
  assert_int_equal(cf_winrt_events_stats_json(&stats, &json, NULL), 0);
  assert_string_equal(json, "{\n"
                            "  \"data\": {\n"
                            "    \"cpu\": {\n"
                            "      \"usage\": {\n"
                            "        \"total\": 0,\n"
                            "        \"kernel\": 0,\n"
                            "        \"user\": 0\n"
                            "      }\n"
                            "    },\n"
                            "    \"memory\": {\n"
                            "      \"raw\": {}\n"
                            "    },\n"
                            "    \"pids\": {}\n"
                            "  }\n"
                            "}");
  free(json);
}

static void stats_parse_rejected(void **state)
{
  static const struct {
    const char *doc;
    const char *part;
  } cases[] = {
      {"", "not valid JSON"},
      {"{\"Statistics\":", "not valid JSON"},
      {"{\"a\":1} x", "not valid JSON"},
      {"{\"a\":\"\x01\"}", "not valid JSON"},
      {"{\"a\":tru}", "not valid JSON"},
      {"{\"Statistics\":{\"Processor\":{\"TotalRuntime100ns\":-1}}}", "non-negative integer"},
      {"{\"Statistics\":{\"Processor\":{\"RuntimeUser100ns\":1.5}}}", "expected an integer"},
      {"{\"Statistics\":{\"Memory\":{\"MemoryUsageCommitBytes\":18446744073709551616}}}",
       "larger than 2^64-1"},
      {"{\"ProcessList\":{}}", "expected an array"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    cf_hcs_stats stats = {0};
    cf_err *err = NULL;
    if (cf_hcs_stats_parse(cases[i].doc, &stats, &err) == 0) {
      fail_msg("accepted %s", cases[i].doc);
    }
    assert_error(err, CF_E_INVALID, cases[i].part);
    cf_err_free(err);
  }
}

static void stats_parse_depth_bounded(void **state)
{
  char doc[200];
  size_t n = 0;
  for (int i = 0; i < 70; i++) {
    doc[n++] = '[';
  }
  for (int i = 0; i < 70; i++) {
    doc[n++] = ']';
  }
  doc[n] = '\0';
  cf_hcs_stats stats = {0};
  cf_err *err = NULL;
  assert_int_equal(cf_hcs_stats_parse(doc, &stats, &err), -1);
  assert_error(err, CF_E_INVALID, "nested deeper than 64");
  cf_err_free(err);
}

static void stats_nanoseconds_overflow(void **state)
{
  cf_hcs_stats stats = {.total_runtime_100ns = UINT64_MAX / 100 + 1};
  char *json = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_winrt_events_stats_json(&stats, &json, &err), -1);
  assert_error(err, CF_E_LIMIT, "TotalRuntime100ns");
  assert_null(json);
  cf_err_free(err);
}

static void stats_last_duplicate_wins(void **state)
{
  /* Go's decoder keeps the last of repeated members. */
  cf_hcs_stats stats = {0};
  assert_int_equal(cf_hcs_stats_parse("{\"Statistics\":{\"Memory\":{\"MemoryUsageCommitBytes\":1,"
                                      "\"MemoryUsageCommitBytes\":2}}}",
                                      &stats, NULL),
                   0);
  assert_int_equal(stats.memory_commit_bytes, 2);
  assert_false(stats.has_process_list);
}

/* --- Process status and result documents (HCS ProcessStatus) --- */

static void process_status_parsed(void **state)
{
  bool exited = false;
  uint32_t code = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_hcs_process_status_parse(
                       "{\"ProcessId\":1234,\"Exited\":true,\"ExitCode\":5,\"LastWaitResult\":0}",
                       &exited, &code, &err),
                   0);
  assert_true(exited);
  assert_int_equal(code, 5);
  /* Exit codes are DWORDs: 0xC000013A is a Ctrl-C end. */
  assert_int_equal(cf_hcs_process_status_parse("{\"Exited\":true,\"ExitCode\":3221225786}", &exited,
                                               &code, &err),
                   0);
  assert_int_equal(code, 0xC000013Au);
  assert_int_equal(cf_hcs_process_status_parse("{\"Exited\":true}", &exited, &code, &err), -1);
  assert_error(err, CF_E_INVALID, "no ExitCode");
  cf_err_clear(&err);
  assert_int_equal(cf_hcs_process_status_parse("{\"ExitCode\":4294967296}", &exited, &code, &err),
                   -1);
  assert_error(err, CF_E_INVALID, "larger than 2^32-1");
  cf_err_clear(&err);
}

static void result_error_message_read(void **state)
{
  char *message = NULL;
  cf_hcs_result_error_message("{\"Error\":-2143878898,\"ErrorMessage\":\"The \\\"id\\\" \\u00e9\\n"
                              "is bad\",\"ErrorEvents\":[]}",
                              &message);
  assert_string_equal(message, "The \"id\" \xc3\xa9\nis bad");
  free(message);
  cf_hcs_result_error_message("{\"Error\":1}", &message);
  assert_null(message);
  cf_hcs_result_error_message("not json", &message);
  assert_null(message);
}

/* --- state (winc's OCI state output) --- */

static void state_json_created_and_running(void **state)
{
  char *json = cf_winrt_state_json("c1", "created", 0, "C:\\path\\to\\bundle");
  assert_string_equal(json, "{\n"
                            "  \"ociVersion\": \"1.2.1\",\n"
                            "  \"id\": \"c1\",\n"
                            "  \"status\": \"created\",\n"
                            "  \"bundle\": \"C:\\\\path\\\\to\\\\bundle\"\n"
                            "}");
  free(json);
  json = cf_winrt_state_json("c1", "running", 1234, "C:\\path\\to\\bundle");
  assert_string_equal(json, "{\n"
                            "  \"ociVersion\": \"1.2.1\",\n"
                            "  \"id\": \"c1\",\n"
                            "  \"status\": \"running\",\n"
                            "  \"pid\": 1234,\n"
                            "  \"bundle\": \"C:\\\\path\\\\to\\\\bundle\"\n"
                            "}");
  free(json);
}

static void state_json_go_escaping(void **state)
{
  /* Go's encoding/json escapes <, > and & as \u003c, \u003e, \u0026, other
   * control characters as \u00XX, and replaces invalid UTF-8 with \ufffd. */
  char *json = cf_winrt_state_json("a<b>&c", "stopped", 0, "C:\\x\x01\xff\"q\"");
  assert_string_equal(json, "{\n"
                            "  \"ociVersion\": \"1.2.1\",\n"
                            "  \"id\": \"a\\u003cb\\u003e\\u0026c\",\n"
                            "  \"status\": \"stopped\",\n"
                            "  \"bundle\": \"C:\\\\x\\u0001\\ufffd\\\"q\\\"\"\n"
                            "}");
  free(json);
}

/* --- Errors (winc's and hcsshim's messages, HCS codes) --- */

static void error_open_not_found(void **state)
{
  /* The message winc's events test matches for a missing container. */
  char *message = cf_hcs_error_message("OpenComputeSystem", "doesntexist", 0xC037010Eu, NULL);
  assert_string_equal(message, "hcs::OpenComputeSystem doesntexist: A virtual machine or "
                               "container with the specified identifier does not exist.");
  free(message);
  message = cf_hcs_error_message("System::Start", "c1", 0x80370118u, NULL);
  assert_string_equal(message,
                      "hcs::System::Start c1: HCS_E_OPERATION_TIMEOUT: the operation timed out");
  free(message);
  message = cf_hcs_error_message("CreateComputeSystem", "c1", 0x80004005u, "Unspecified error\r\n");
  assert_string_equal(message, "hcs::CreateComputeSystem c1: Unspecified error");
  free(message);
  message = cf_hcs_error_message("CreateComputeSystem", "c1", 0x80991234u, NULL);
  assert_string_equal(message, "hcs::CreateComputeSystem c1: HRESULT 0x80991234");
  free(message);
}

static void error_cleaned_exec_message(void **state)
{
  /* winc exec test "cleans errors returned from hcsshim": the exact stderr. */
  char *cleaned =
      cf_winrt_clean_error(0x80070002u, "The system cannot find the file specified.\r\n");
  char *argv0 = cf_winrt_argv0("some-invalid-command");
  char *message = cf_winrt_exec_error_message(cleaned, argv0, "c1");
  assert_string_equal(message, "The system cannot find the file specified.: could not start "
                               "command 'some-invalid-command.exe' in container: c1");
  free(message);
  free(argv0);
  free(cleaned);
}

static void error_cleaned_out_of_memory(void **state)
{
  /* winc's CleanError: 0x5AF, 0x6BE, 0x71A and 0x36B1 mean `not enough memory`, as
   * plain codes or wrapped in an HRESULT of FACILITY_WIN32. */
  static const uint32_t codes[] = {0x5AF,       0x6BE,       0x71A,       0x36B1,
                                   0x800705AFu, 0x800706BEu, 0x8007071Au, 0x800736B1u};
  for (size_t i = 0; i < COUNT(codes); i++) {
    char *cleaned = cf_winrt_clean_error(codes[i], "Some system text.");
    if (strcmp(cleaned, "not enough memory") != 0) {
      fail_msg("0x%X: got \"%s\"", (unsigned)codes[i], cleaned);
    }
    free(cleaned);
  }
  char *cleaned = cf_winrt_clean_error(0x800705B0u, "Other text.\r\n");
  assert_string_equal(cleaned, "Other text.");
  free(cleaned);
}

static void error_tolerated_codes(void **state)
{
  /* winc's tolerance rules for stop and kill. */
  assert_true(cf_hcs_hresult_is_stopped(0xC0370110u));
  assert_true(cf_hcs_hresult_is_stopped(0x80370110u));
  assert_true(cf_hcs_hresult_is_stopped(0xC037010Eu));
  assert_false(cf_hcs_hresult_is_stopped(0x80370118u));
  assert_true(cf_hcs_hresult_is_process_gone(0x80070005u));
  assert_true(cf_hcs_hresult_is_process_gone(0x8037011Fu));
  assert_false(cf_hcs_hresult_is_process_gone(0xC0370110u));
  assert_null(cf_hcs_hresult_text(0x80070002u));
}

/* --- Network namespace GUID --- */

static void uuid5_rfc_vector(void **state)
{
  /* RFC 9562 appendix A.4: UUIDv5 of "www.example.com" in the DNS
   * namespace 6ba7b810-9dad-11d1-80b4-00c04fd430c8. */
  static const uint8_t dns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                  0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  uint8_t bytes[16];
  char text[CF_HCS_GUID_STRLEN + 1];
  cf_winrt_uuid5(dns, "www.example.com", strlen("www.example.com"), bytes);
  cf_winrt_guid_format(bytes, text);
  assert_string_equal(text, "2ed6657d-e927-568b-95e1-2665a8aea6a2");
}

static void namespace_guid_of_handle(void **state)
{
  /* Expected values from Python's uuid.uuid5 with namespace
   * 74cfae1e-e03b-4be3-a39a-a683967083be. */
  static const struct {
    const char *handle;
    const char *guid;
  } cases[] = {
      {"c1", "a9211ba4-67ca-5fbc-80c9-6ab0baa08743"},
      {"C1", "7eb4f355-dbc2-58c7-a892-2b8bb2da9a5e"},
      {"app-1234_web.0", "5f631451-bcf5-5696-a7bb-558e8360669c"},
      {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
       "d2bd5b14-876e-5c7a-a25d-4c9b78acfb9d"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char guid[CF_HCS_GUID_STRLEN + 1];
    cf_hcs_network_namespace_guid(cases[i].handle, guid);
    assert_string_equal(guid, cases[i].guid);
    assert_true(cf_winrt_guid_valid(guid));
  }
}

static void guid_text_checked(void **state)
{
  assert_true(cf_winrt_guid_valid("010DF3E1-7918-5616-b7ed-f330ad22e0d8"));
  assert_false(cf_winrt_guid_valid("010df3e1-7918-5616-b7ed-f330ad22e0d"));
  assert_false(cf_winrt_guid_valid("010df3e1-7918-5616-b7ed-f330ad22e0d8}"));
  assert_false(cf_winrt_guid_valid("010df3e1_7918-5616-b7ed-f330ad22e0d8"));
  assert_false(cf_winrt_guid_valid("g10df3e1-7918-5616-b7ed-f330ad22e0d8"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(command_line_unit_test_cases),
      cmocka_unit_test(command_line_exe_appended),
      cmocka_unit_test(command_line_start_test_process),
      cmocka_unit_test(command_line_quotes_and_backslashes),
      cmocka_unit_test(command_line_rejected),
      cmocka_unit_test(container_path_conversion),
      cmocka_unit_test(process_validate_accepts),
      cmocka_unit_test(process_validate_messages),
      cmocka_unit_test(process_json_reference_example),
      cmocka_unit_test(process_json_detached_env_map),
      cmocka_unit_test(process_json_tty_console_size),
      cmocka_unit_test(process_json_invalid),
      cmocka_unit_test(container_json_full),
      cmocka_unit_test(container_json_minimal),
      cmocka_unit_test(container_json_memory_truncates),
      cmocka_unit_test(container_json_rejected),
      cmocka_unit_test(queries_and_modify_documents),
      cmocka_unit_test(stats_events_output),
      cmocka_unit_test(stats_zero_values_omitted),
      cmocka_unit_test(stats_parse_rejected),
      cmocka_unit_test(stats_parse_depth_bounded),
      cmocka_unit_test(stats_nanoseconds_overflow),
      cmocka_unit_test(stats_last_duplicate_wins),
      cmocka_unit_test(process_status_parsed),
      cmocka_unit_test(result_error_message_read),
      cmocka_unit_test(state_json_created_and_running),
      cmocka_unit_test(state_json_go_escaping),
      cmocka_unit_test(error_open_not_found),
      cmocka_unit_test(error_cleaned_exec_message),
      cmocka_unit_test(error_cleaned_out_of_memory),
      cmocka_unit_test(error_tolerated_codes),
      cmocka_unit_test(uuid5_rfc_vector),
      cmocka_unit_test(namespace_guid_of_handle),
      cmocka_unit_test(guid_text_checked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
