/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stand-in computecore.dll for tests under Wine, which has none. It
 * exports every Host Compute Service call that cf_hcs_api_load() requires,
 * so loading succeeds, and each call fails with E_NOTIMPL. Only the names
 * match the real exports: a caller that passes arguments gets the error
 * without any of them being read, because the Windows x64 calling
 * convention leaves the argument registers and stack to the caller.
 */
#include <windows.h>

#define MOCK_HCS_CALL(name)                                                                        \
  __declspec(dllexport) HRESULT WINAPI name(void)                                                  \
  {                                                                                                \
    return E_NOTIMPL;                                                                              \
  }

MOCK_HCS_CALL(HcsCreateOperation)
MOCK_HCS_CALL(HcsCloseOperation)
MOCK_HCS_CALL(HcsWaitForOperationResult)
MOCK_HCS_CALL(HcsWaitForOperationResultAndProcessInfo)
MOCK_HCS_CALL(HcsCancelOperation)
MOCK_HCS_CALL(HcsEnumerateComputeSystems)
MOCK_HCS_CALL(HcsCreateComputeSystem)
MOCK_HCS_CALL(HcsOpenComputeSystem)
MOCK_HCS_CALL(HcsCloseComputeSystem)
MOCK_HCS_CALL(HcsStartComputeSystem)
MOCK_HCS_CALL(HcsShutDownComputeSystem)
MOCK_HCS_CALL(HcsTerminateComputeSystem)
MOCK_HCS_CALL(HcsGetComputeSystemProperties)
MOCK_HCS_CALL(HcsSetComputeSystemCallback)
MOCK_HCS_CALL(HcsCreateProcess)
MOCK_HCS_CALL(HcsOpenProcess)
MOCK_HCS_CALL(HcsCloseProcess)
MOCK_HCS_CALL(HcsSignalProcess)
MOCK_HCS_CALL(HcsTerminateProcess)
MOCK_HCS_CALL(HcsModifyProcess)
MOCK_HCS_CALL(HcsSetProcessCallback)
