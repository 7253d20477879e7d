/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer writer of the Windows image backend with BackupWrite emulated,
 * for cfwin-winetest.exe only. Wine 8's BackupWrite is a stub that fails
 * with ERROR_NOT_SUPPORTED, so cfwin.exe cannot write a layer under Wine.
 * The emulation parses the backup stream (WIN32_STREAM_ID headers) and
 * writes the BACKUP_DATA stream's bytes with WriteFile. Security
 * descriptors, extended attributes, alternate data streams and reparse
 * data are read and dropped, so the Wine test checks file contents, not
 * those.
 */
#include <windows.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The fixed part of a WIN32_STREAM_ID: id, attributes, size, name size. */
#define STREAM_HEADER_BYTES 20

/* The parse state kept in BackupWrite's context between calls. */
typedef struct stream_state {
  unsigned char header[STREAM_HEADER_BYTES];
  size_t header_have;
  DWORD stream_id;
  unsigned long long name_left; /* bytes of the stream name still to skip */
  unsigned long long data_left; /* bytes of the stream's data still to come */
} stream_state;

static unsigned long long read_le(const unsigned char *bytes, int count)
{
  unsigned long long value = 0;
  for (int i = count - 1; i >= 0; i--) {
    value = (value << 8) | bytes[i];
  }
  return value;
}

/* Consumes header bytes; returns how many it took. */
static DWORD take_header(stream_state *state, const unsigned char *data, DWORD len)
{
  DWORD take = (DWORD)(STREAM_HEADER_BYTES - state->header_have);
  take = take < len ? take : len;
  memcpy(state->header + state->header_have, data, take);
  state->header_have += take;
  if (state->header_have == STREAM_HEADER_BYTES) {
    state->stream_id = (DWORD)read_le(state->header, 4);
    state->data_left = read_le(state->header + 8, 8);
    state->name_left = read_le(state->header + 16, 4);
    if (state->name_left == 0 && state->data_left == 0) {
      state->header_have = 0; /* an empty stream: the next header follows */
    }
  }
  return take;
}

/* Consumes name or data bytes; data of BACKUP_DATA goes into file. */
static BOOL take_body(HANDLE file, stream_state *state, const unsigned char *data, DWORD len,
                      DWORD *took)
{
  unsigned long long *left = state->name_left > 0 ? &state->name_left : &state->data_left;
  bool writes = left == &state->data_left && state->stream_id == BACKUP_DATA;
  DWORD take = *left < len ? (DWORD)*left : len;
  if (writes) {
    DWORD written = 0;
    if (!WriteFile(file, data, take, &written, NULL) || written != take) {
      return FALSE;
    }
  }
  *left -= take;
  if (state->name_left == 0 && state->data_left == 0) {
    state->header_have = 0;
  }
  *took = take;
  return TRUE;
}

static BOOL WINAPI emulated_backup_write(HANDLE file, LPBYTE buffer, DWORD len, LPDWORD written,
                                         BOOL abort, BOOL security, LPVOID *context)
{
  if (abort) {
    free(*context);
    *context = NULL;
    *written = 0;
    return TRUE;
  }
  if (*context == NULL) {
    *context = calloc(1, sizeof(stream_state));
    if (*context == NULL) {
      SetLastError(ERROR_NOT_ENOUGH_MEMORY);
      return FALSE;
    }
  }
  stream_state *state = *context;
  DWORD done = 0;
  while (done < len) {
    DWORD took = 0;
    if (state->header_have < STREAM_HEADER_BYTES) {
      took = take_header(state, buffer + done, len - done);
    } else if (!take_body(file, state, buffer + done, len - done, &took)) {
      return FALSE;
    }
    done += took;
  }
  *written = len;
  return TRUE;
}

#define BackupWrite emulated_backup_write
#include "../../internal/image/windows/layer_writer.c"
