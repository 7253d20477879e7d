/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A mock vmcompute.dll for the Wine integration check. NameToGuid derives
 * a GUID a test can compute by hand: the bytes of the name, zero-padded or
 * cut to 16, in network order ("layer-a" gives
 * 6c617965-722d-6100-0000-000000000000). The layer calls are not mocked
 * and fail with E_NOTIMPL.
 */
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "mock_host.h"

#define EXPORT __declspec(dllexport)

EXPORT HRESULT WINAPI NameToGuid(PCWSTR name, GUID *guid)
{
  char *text = mock_utf8(name);
  mock_record("NameToGuid", text, NULL);
  HRESULT hr = mock_injected_failure("NameToGuid");
  if (FAILED(hr)) {
    free(text);
    return hr;
  }
  unsigned char bytes[16] = {0};
  size_t len = strlen(text);
  memcpy(bytes, text, len < 16 ? len : 16);
  free(text);
  guid->Data1 = (DWORD)bytes[0] << 24 | (DWORD)bytes[1] << 16 | (DWORD)bytes[2] << 8 | bytes[3];
  guid->Data2 = (WORD)(bytes[4] << 8 | bytes[5]);
  guid->Data3 = (WORD)(bytes[6] << 8 | bytes[7]);
  memcpy(guid->Data4, bytes + 8, 8);
  return S_OK;
}

#define NOT_MOCKED(name)                                                                           \
  EXPORT HRESULT WINAPI name(void)                                                                 \
  {                                                                                                \
    return E_NOTIMPL;                                                                              \
  }

NOT_MOCKED(LayerExists)
NOT_MOCKED(ImportLayer)
NOT_MOCKED(CreateSandboxLayer)
NOT_MOCKED(ExpandSandboxSize)
NOT_MOCKED(ActivateLayer)
NOT_MOCKED(PrepareLayer)
NOT_MOCKED(GetLayerMountPath)
NOT_MOCKED(UnprepareLayer)
NOT_MOCKED(DeactivateLayer)
NOT_MOCKED(DestroyLayer)
NOT_MOCKED(ProcessBaseImage)
NOT_MOCKED(ProcessUtilityImage)
