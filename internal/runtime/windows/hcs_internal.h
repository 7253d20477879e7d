/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the files of the Windows runtime backend. */
#ifndef CFWIN_RUNTIME_WINDOWS_HCS_INTERNAL_H
#define CFWIN_RUNTIME_WINDOWS_HCS_INTERNAL_H

#include "runtime/windows/hcs.h"

struct cf_hcs_system {
  const cf_hcs_api *api;
  HCS_SYSTEM handle;
  char *id;
  HANDLE exited; /* manual-reset event set by the SystemExited callback */
};

/* Sets *err from a failed HCS call in hcsshim's form,
 * "hcs::<call> <id>: <text>[: <ErrorMessage of result>]", with
 * CF_E_NOT_FOUND for a compute system that does not exist, else
 * CF_E_SYSTEM. result (UTF-16, may be NULL) is the call's result document.
 * Returns -1. */
int cf_hcs_call_error(cf_err **err, const char *call, const char *id, HRESULT hr,
                      const wchar_t *result);

/* Waits for an operation whose tracked call returned hr, cancels it when
 * it times out, and closes it. On success *result (when not NULL) gets
 * the result document as UTF-8, or NULL when there is none; *hr_out (when
 * not NULL) gets the final HRESULT. Errors go through cf_hcs_call_error. */
int cf_hcs_finish(const cf_hcs_api *api, HCS_OPERATION op, HRESULT hr, DWORD timeout_ms,
                  const char *call, const char *id, char **result, HRESULT *hr_out, cf_err **err);

/* Creates an operation for one tracked call; fails with CF_E_SYSTEM. */
int cf_hcs_operation(const cf_hcs_api *api, const char *call, HCS_OPERATION *op, cf_err **err);

/* FormatMessage's text for code, or NULL; free with free(). */
char *cf_hcs_system_message(DWORD code);

#endif
