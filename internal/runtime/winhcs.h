/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Platform-neutral builders of the Windows runtime backend. They cover the
 * HCS schema v2 documents for a process-isolated container and its
 * processes, and winc's command-line, path and process.json rules. They
 * also produce the output of winc's `state` and `events --stats`, parse
 * HCS property documents, word HCS errors and derive the network namespace
 * GUID of a handle.
 *
 * These functions are compiled and unit-tested on every platform. They use
 * only base (buf, err, mem) and the C library, never jansson, because the
 * mingw-w64 cross build has no jansson. Strings are UTF-8; the files in
 * windows/ convert them to UTF-16 at the DLL call. JSON strings are escaped
 * as Go's encoding/json escapes them, so documents match what winc and
 * hcsshim send byte for byte.
 */
#ifndef CFWIN_RUNTIME_WINHCS_H
#define CFWIN_RUNTIME_WINHCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Length of a GUID in registry form without braces. */
#define CF_HCS_GUID_STRLEN 36

/* Time limits of the HCS calls: hcsshim's 4 minutes for create and start,
 * winc's 1 minute for shutdown and again for terminate. */
#define CF_HCS_TIMEOUT_CREATE_MS 240000u
#define CF_HCS_TIMEOUT_STOP_MS 60000u

/* --- Compute system document --- */

/* One read-only parent layer: the GUID string NameToGuid gives for the
 * folder's base name, and the folder. */
typedef struct cf_hcs_layer {
  const char *id;
  const char *path;
} cf_hcs_layer;

/* A host directory mapped into the container. container_path is a Windows
 * path as cf_winrt_container_path returns it. */
typedef struct cf_hcs_mapped_dir {
  const char *host_path;
  const char *container_path;
  bool read_only;
} cf_hcs_mapped_dir;

typedef struct cf_hcs_container_config {
  const char *owner;          /* required: the caller, or the parent handle of a sidecar */
  const char *hostname;       /* NULL or "": left out */
  const cf_hcs_layer *layers; /* nearest parent first, base layer last; at least one */
  size_t layer_count;
  const char *volume_path; /* the writable layer, \\?\Volume{GUID}\ */
  const cf_hcs_mapped_dir *mapped_dirs;
  size_t mapped_dir_count;
  uint64_t memory_limit;         /* bytes; 0: no limit, else at least 1 MiB */
  uint32_t processor_weight;     /* 0: left out, else 1..10000 */
  uint32_t processor_maximum;    /* 0: left out, else 1..10000 (percent × 100) */
  const char *network_namespace; /* HCN namespace GUID, or NULL/"" for none */
} cf_hcs_container_config;

/* Builds the HCS schema 2.1 ComputeSystem document of a process-isolated
 * container:
 * {"Owner":..,"SchemaVersion":{"Major":2,"Minor":1},"Container":{
 *   "GuestOs":{"HostName":..},"Storage":{"Layers":[{"Id":..,"Path":..}],"Path":..},
 *   "MappedDirectories":[{"HostPath":..,"ContainerPath":..,"ReadOnly":..}],
 *   "Processor":{"Weight":..,"Maximum":..},"Memory":{"SizeInMB":..},
 *   "Networking":{"Namespace":..}}}
 * Optional members are left out when unset. Memory.SizeInMB is the limit
 * divided by 1 MiB, rounded down, as winc computes MemoryMaximumInMB.
 * ShouldTerminateOnLastHandleClosed is never set, because the container
 * must outlive the `create` process that made it. Fails with CF_E_INVALID
 * naming the field for a missing owner or layer, a layer id that is not a
 * GUID, a volume path not of the form \\?\Volume{GUID}\, a namespace that
 * is not a GUID, out-of-range processor values or both of them set (hcsshim
 * rejects weight and maximum together for process isolation), or a memory
 * limit under 1 MiB. */
int cf_hcs_container_json(const cf_hcs_container_config *config, char **out, cf_err **err);

/* --- Processes --- */

/* A process.json after exec's overrides. */
typedef struct cf_winrt_process {
  const char *const *args;
  size_t arg_count;
  const char *const *env; /* "KEY=VALUE" */
  size_t env_count;
  const char *cwd;  /* as given; see cf_winrt_container_path */
  const char *user; /* NULL or "": HCS's default user */
} cf_winrt_process;

/* Converts a container path as winc does. `/` becomes `\`, and a path
 * without a drive letter is joined onto `C:`. Cleaning then removes
 * repeated separators, `.` and `..` with the component before it, and drops
 * `..` above the root. "/Users" gives "C:\Users", "x" gives "C:x", and ""
 * gives "C:.". */
char *cf_winrt_container_path(const char *path);

/* True for a path with a drive letter followed by `\` or `/`. */
bool cf_winrt_path_is_absolute(const char *path);

/* Checks a process as winc's `exec` and `start` do, on the converted cwd.
 * On failure the CF_E_INVALID message is "process config is invalid:"
 * followed by one "\n\t<problem>" per problem, in this order:
 * `cwd "<cwd>" is not an absolute path`, `args must not be empty`,
 * `env "<entry>" should be in the form of 'key=value'.` (one per entry
 * without `=`). */
int cf_winrt_process_validate(const cf_winrt_process *process, cf_err **err);

/* Returns args[0] as it enters the command line: cleaned (`/` becomes `\`)
 * and with `.exe` appended unless its base name ends in `.` and three
 * ASCII letters. "/tmp/sleep" gives "\tmp\sleep.exe". */
char *cf_winrt_argv0(const char *arg0);

/* Builds the Windows command line of args (arg_count >= 1): args[0] through
 * cf_winrt_argv0, then every argument quoted by the rules of Go's
 * syscall.EscapeArg (quotes around an empty argument or one containing a
 * space or tab; backslashes before a `"` doubled and the `"` escaped), joined
 * with spaces. Fails with CF_E_INVALID for no arguments and with
 * CF_E_LIMIT past 32767 characters, the CreateProcess maximum. */
int cf_winrt_command_line(const char *const *args, size_t arg_count, char **out, cf_err **err);

/* Options of the ProcessParameters document. */
typedef struct cf_hcs_process_options {
  bool stdio_pipes;        /* CreateStdInPipe/StdOutPipe/StdErrPipe */
  bool tty;                /* EmulateConsole; HCS then has no separate stderr pipe */
  uint16_t console_height; /* with tty and both sizes set: ConsoleSize [height,width] */
  uint16_t console_width;
} cf_hcs_process_options;

/* Builds the HCS ProcessParameters document of a validated process:
 * {"CommandLine":..,"User":..,"WorkingDirectory":..,"Environment":{..},
 *  "EmulateConsole":..,"CreateStdInPipe":..,"CreateStdOutPipe":..,
 *  "CreateStdErrPipe":..[,"ConsoleSize":[h,w]]}
 * User is left out when empty. Each env entry is split at its first `=`.
 * A later entry replaces an earlier one with the same key. Keys are sorted
 * by byte value, because Go's encoder orders winc's map that way. The
 * working directory goes through cf_winrt_container_path. */
int cf_hcs_process_json(const cf_winrt_process *process, const cf_hcs_process_options *options,
                        char **out, cf_err **err);

/* --- Queries and small documents --- */

/* The HcsEnumerateComputeSystems query {"Ids":["<id>"]} (by_owner false)
 * or {"Owners":["<id>"]} (sidecars of a container). */
char *cf_hcs_enumerate_query(const char *id, bool by_owner);

/* The HcsGetComputeSystemProperties query {"PropertyTypes":[..]}, e.g. with
 * "Statistics" or "ProcessList". */
char *cf_hcs_properties_query(const char *const *types, size_t count);

/* Signals of HcsSignalProcess for a Windows container process. */
enum cf_hcs_signal {
  CF_HCS_SIGNAL_CTRL_C,
  CF_HCS_SIGNAL_CTRL_BREAK,
  CF_HCS_SIGNAL_CTRL_CLOSE,
  CF_HCS_SIGNAL_CTRL_LOGOFF,
  CF_HCS_SIGNAL_CTRL_SHUTDOWN,
};

/* {"Signal":"CtrlC"} and the other four names. */
char *cf_hcs_signal_options(enum cf_hcs_signal signal);

/* HcsModifyProcess documents:
 * {"Operation":"CloseHandle","CloseHandle":{"Handle":"StdIn"}} and
 * {"Operation":"ConsoleSize","ConsoleSize":{"Height":h,"Width":w}}. */
char *cf_hcs_close_stdin_json(void);
char *cf_hcs_console_size_json(uint16_t height, uint16_t width);

/* HcsShutDownComputeSystem, HcsTerminateComputeSystem and
 * HcsTerminateProcess take no options document: NULL, as hcsshim passes. */

/* --- Property documents --- */

/* The numbers `events --stats` reports, in HCS units. */
typedef struct cf_hcs_stats {
  uint64_t total_runtime_100ns;  /* Statistics.Processor.TotalRuntime100ns */
  uint64_t runtime_kernel_100ns; /* Statistics.Processor.RuntimeKernel100ns */
  uint64_t runtime_user_100ns;   /* Statistics.Processor.RuntimeUser100ns */
  uint64_t memory_commit_bytes;  /* Statistics.Memory.MemoryUsageCommitBytes */
  uint64_t process_count;        /* number of ProcessList entries */
  bool has_statistics;
  bool has_process_list;
} cf_hcs_stats;

/* Reads a Properties document into *stats, keeping what it does not
 * contain: call it once with the Statistics result and once with the
 * ProcessList result. Missing numbers count as 0, as Go's decoder leaves
 * them. Fails with CF_E_INVALID for malformed JSON, a document over 4 MiB
 * or nested deeper than 64, and for a number that is negative, fractional
 * or over 2^64-1. */
int cf_hcs_stats_parse(const char *doc, cf_hcs_stats *stats, cf_err **err);

/* winc's `events --stats` output (2-space indent, no trailing newline):
 * data.cpu.usage.total/kernel/user in nanoseconds (100 ns units × 100),
 * data.memory.raw.total_rss = commit bytes, data.pids.current = process
 * count; total_rss and current are left out when 0, as winc's omitempty
 * fields are. Fails with CF_E_LIMIT when a time in nanoseconds passes
 * 2^64-1. */
int cf_winrt_events_stats_json(const cf_hcs_stats *stats, char **out, cf_err **err);

/* Reads a ProcessStatus document, {"ProcessId":..,"Exited":..,"ExitCode":..,
 * "LastWaitResult":..}, the EventData of a ProcessExited event and the
 * result of HcsWaitForProcessExit. Fails with CF_E_INVALID when it is
 * malformed or ExitCode is missing or over 2^32-1. */
int cf_hcs_process_status_parse(const char *doc, bool *exited, uint32_t *exit_code, cf_err **err);

/* Reads the "ErrorMessage" string of an HCS result document, if any, into
 * *message (NULL when absent or the document is malformed). */
void cf_hcs_result_error_message(const char *doc, char **message);

/* --- winc's state output --- */

/* The OCI state winc's `state` prints, 2-space indent, no trailing newline:
 * {"ociVersion":"1.2.1","id":..,"status":..,"pid":..,"bundle":..}, with
 * pid left out when 0. status is "created", "running" or "stopped". */
char *cf_winrt_state_json(const char *id, const char *status, uint32_t pid, const char *bundle);

/* --- Errors --- */

/* Description of an HCS HRESULT that Windows has no message text for, as
 * hcsshim words it where winc's callers match the text
 * (0xC037010E: "A virtual machine or container with the specified
 * identifier does not exist."), or NULL. */
const char *cf_hcs_hresult_text(uint32_t hr);

/* hcsshim's form of a failed call on a compute system:
 * "hcs::<call> <id>: <text>", where text is cf_hcs_hresult_text(hr), else
 * system_message without trailing line breaks, else "HRESULT 0x%08X". */
char *cf_hcs_error_message(const char *call, const char *id, uint32_t hr,
                           const char *system_message);

/* Returns winc's cleaned text of a CreateProcess failure. It is "not enough
 * memory" when hr is, or wraps, Win32 error 0x5AF (ERROR_COMMITMENT_LIMIT),
 * 0x6BE (RPC_S_CALL_FAILED), 0x71A (RPC_S_CALL_FAILED_DNE) or 0x36B1 (an
 * SxS error), which winc reads as a container out of memory. Otherwise it
 * is the text cf_hcs_error_message uses. */
char *cf_winrt_clean_error(uint32_t hr, const char *system_message);

/* "<cleaned>: could not start command '<argv0>' in container: <id>", where
 * argv0 is the name after cf_winrt_argv0. */
char *cf_winrt_exec_error_message(const char *cleaned, const char *argv0, const char *id);

/* True for the HRESULTs of a compute system that is already stopped or
 * gone (0xC0370110, 0x80370110, 0xC037010E), which shutdown and terminate
 * treat as success. */
bool cf_hcs_hresult_is_stopped(uint32_t hr);

/* True for the HRESULTs of HcsTerminateProcess on a process that has
 * already exited: E_ACCESSDENIED (0x80070005) and 0x8037011F. */
bool cf_hcs_hresult_is_process_gone(uint32_t hr);

/* --- Network namespace GUID --- */

/* Writes the UUID version 5 (RFC 9562: SHA-1 over the namespace's 16 bytes
 * and the name) of name in namespace ns into out, both in network byte
 * order. */
void cf_winrt_uuid5(const uint8_t ns[16], const char *name, size_t name_len, uint8_t out[16]);

/* The namespace of cfwin's network namespace GUIDs,
 * 74cfae1e-e03b-4be3-a39a-a683967083be, fixed forever: changing it would
 * orphan the namespaces of running containers. */
extern const uint8_t cf_hcs_network_namespace_ns[16];

/* Writes the HCN namespace GUID of a container handle, lowercase registry
 * form without braces, into out: the version 5 UUID of the handle's bytes
 * in cf_hcs_network_namespace_ns. The runtime creates the namespace with
 * this GUID and the network role, a separate process, finds it from the
 * handle alone. Deterministic and case-sensitive, as handles are. */
void cf_hcs_network_namespace_guid(const char *handle, char out[CF_HCS_GUID_STRLEN + 1]);

/* Formats 16 bytes in network order as a GUID string. */
void cf_winrt_guid_format(const uint8_t bytes[16], char out[CF_HCS_GUID_STRLEN + 1]);

/* Checks CF_HCS_GUID_STRLEN characters of GUID text (hex digits, dashes
 * at 8, 13, 18 and 23) followed by the end of the string. */
bool cf_winrt_guid_valid(const char *text);

#endif
