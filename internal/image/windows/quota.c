/* SPDX-License-Identifier: Apache-2.0 */
/* FSRM hard quotas on a writable layer's volume, the way groot's quota.dll
 * sets them: IFsrmQuotaManager::CreateQuota on the volume root, a VT_UI8
 * QuotaLimit, Commit. ole32 and oleaut32 exist on every Windows host; the
 * FSRM service itself needs the FS-Resource-Manager feature. */
#define COBJMACROS
#include "image/windows/win.h"

#include <fsrmerr.h>
#include <fsrmquota.h>
#include <oleauto.h>

/* CLSID_FsrmQuotaManager {90dcab7f-347c-4bfc-b543-540326305fbe} and
 * IID_IFsrmQuotaManager {8bb68c7d-19d8-4ffb-809e-be4fc1734014}, defined
 * here because mingw-w64 ships no import library that holds them. */
static const CLSID quota_manager_clsid = {
    0x90dcab7f, 0x347c, 0x4bfc, {0xb5, 0x43, 0x54, 0x03, 0x26, 0x30, 0x5f, 0xbe}};
static const IID quota_manager_iid = {
    0x8bb68c7d, 0x19d8, 0x4ffb, {0x80, 0x9e, 0xbe, 0x4f, 0xc1, 0x73, 0x40, 0x14}};

typedef struct com_session {
  bool initialized; /* CoUninitialize is owed */
  IFsrmQuotaManager *manager;
} com_session;

static int session_open(com_session *session, cf_err **err)
{
  session->initialized = false;
  session->manager = NULL;
  HRESULT hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
  if (SUCCEEDED(hr)) {
    session->initialized = true;
  } else if (hr != RPC_E_CHANGED_MODE) {
    /* RPC_E_CHANGED_MODE: the thread already uses COM in another mode,
     * which works for this out-of-process server too. */
    return cf_win_hr_error(err, hr, "CoInitializeEx");
  }
  hr = CoCreateInstance(&quota_manager_clsid, NULL, CLSCTX_LOCAL_SERVER, &quota_manager_iid,
                        (void **)&session->manager);
  if (FAILED(hr)) {
    cf_win_hr_error(err, hr,
                    "create the FSRM quota manager (is the FS-Resource-Manager feature "
                    "installed?)");
    if (session->initialized) {
      CoUninitialize();
    }
    return -1;
  }
  return 0;
}

static void session_close(com_session *session)
{
  if (session->manager != NULL) {
    IFsrmQuotaManager_Release(session->manager);
  }
  if (session->initialized) {
    CoUninitialize();
  }
}

static HRESULT create_quota(IFsrmQuotaManager *manager, BSTR path, uint64_t limit)
{
  IFsrmQuota *quota = NULL;
  HRESULT hr = IFsrmQuotaManager_CreateQuota(manager, path, &quota);
  if (FAILED(hr)) {
    return hr;
  }
  VARIANT value;
  VariantInit(&value);
  V_VT(&value) = VT_UI8;
  V_UI8(&value) = limit;
  hr = IFsrmQuota_put_QuotaLimit(quota, value);
  if (SUCCEEDED(hr)) {
    hr = IFsrmQuota_Commit(quota);
  }
  IFsrmQuota_Release(quota);
  return hr;
}

int cf_fsrm_set_quota(const wchar_t *path, uint64_t limit, cf_err **err)
{
  com_session session;
  if (session_open(&session, err) < 0) {
    return -1;
  }
  BSTR bpath = SysAllocString(path);
  HRESULT hr = create_quota(session.manager, bpath, limit);
  SysFreeString(bpath);
  session_close(&session);
  if (FAILED(hr)) {
    return cf_win_hr_error(err, hr, "set the FSRM quota");
  }
  return 0;
}

/* Reads a numeric VARIANT property as an unsigned 64-bit number. */
static HRESULT variant_u64(VARIANT *value, uint64_t *out)
{
  VARIANT converted;
  VariantInit(&converted);
  HRESULT hr = VariantChangeType(&converted, value, 0, VT_UI8);
  if (SUCCEEDED(hr)) {
    *out = V_UI8(&converted);
  }
  VariantClear(&converted);
  VariantClear(value);
  return hr;
}

static HRESULT read_quota(IFsrmQuota *quota, uint64_t *used, uint64_t *limit)
{
  VARIANT value;
  VariantInit(&value);
  HRESULT hr = IFsrmQuota_get_QuotaUsed(quota, &value);
  if (SUCCEEDED(hr)) {
    hr = variant_u64(&value, used);
  }
  if (SUCCEEDED(hr)) {
    VariantInit(&value);
    hr = IFsrmQuota_get_QuotaLimit(quota, &value);
  }
  if (SUCCEEDED(hr)) {
    hr = variant_u64(&value, limit);
  }
  return hr;
}

int cf_fsrm_quota_used(const wchar_t *path, uint64_t *used, uint64_t *limit, bool *found,
                       cf_err **err)
{
  *used = 0;
  *limit = 0;
  *found = false;
  com_session session;
  if (session_open(&session, err) < 0) {
    return -1;
  }
  BSTR bpath = SysAllocString(path);
  IFsrmQuota *quota = NULL;
  HRESULT hr = IFsrmQuotaManager_GetQuota(session.manager, bpath, &quota);
  SysFreeString(bpath);
  if (SUCCEEDED(hr)) {
    *found = true;
    hr = read_quota(quota, used, limit);
    IFsrmQuota_Release(quota);
  } else if (hr == FSRM_E_NOT_FOUND) {
    hr = S_OK;
  }
  session_close(&session);
  if (FAILED(hr)) {
    return cf_win_hr_error(err, hr, "read the FSRM quota");
  }
  return 0;
}
