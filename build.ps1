<#
.SYNOPSIS
Builds cfwin.exe on a Windows host with MSYS2's mingw-w64 toolchain.

.DESCRIPTION
Finds MSYS2 (or installs it with winget when -InstallToolchain is given), installs the
MINGW64 packages the build needs with pacman, configures cmake/windows with CMake and
Ninja, builds cfwin.exe fully static, runs the checks that can run on this host and
creates the plugin names winc.exe, winc-network.exe, groot.exe and gdn.exe next to it as
hard links. MINGW64 uses the same GCC and msvcrt runtime as the mingw-w64 cross build on
Debian. The libraries come from MSYS2's packages, so cmake/deps/build-deps.sh, which
cross-compiles them from Debian's source packages, does not run here.

.EXAMPLE
.\build.ps1

.EXAMPLE
.\build.ps1 -Msys2Root D:\msys64 -BuildDir build-win -SkipTests
#>
[CmdletBinding()]
param(
  [string]$BuildDir = "build-windows",
  [string]$Msys2Root = "",
  # Install MSYS2 with winget when it is not found.
  [switch]$InstallToolchain,
  [switch]$SkipTests,
  [ValidateSet("Release", "RelWithDebInfo", "Debug")]
  [string]$Configuration = "Release",
  [int]$Jobs = [Environment]::ProcessorCount
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version 3.0

# MINGW64 packages: the compiler and build tools, and every library cfwin.exe links.
$Packages = @(
  "mingw-w64-x86_64-gcc",
  "mingw-w64-x86_64-cmake",
  "mingw-w64-x86_64-ninja",
  "mingw-w64-x86_64-pkgconf",
  "mingw-w64-x86_64-jansson",
  "mingw-w64-x86_64-sqlite3",
  "mingw-w64-x86_64-curl",
  "mingw-w64-x86_64-libarchive",
  "mingw-w64-x86_64-mbedtls",
  "mingw-w64-x86_64-libuv",
  "mingw-w64-x86_64-zlib",
  "mingw-w64-x86_64-zstd"
)
$PluginNames = @("winc.exe", "winc-network.exe", "groot.exe", "gdn.exe")

function Write-Step([string]$Message) {
  Write-Host "build.ps1: $Message"
}

function Invoke-Checked([string]$Program, [string[]]$Arguments) {
  & $Program @Arguments
  if ($LASTEXITCODE -ne 0) {
    throw "$Program $($Arguments -join ' ') failed with exit status $LASTEXITCODE"
  }
}

# Returns the MSYS2 root: -Msys2Root, $env:MSYS2_ROOT, or a usual install directory.
function Find-Msys2 {
  $candidates = @($Msys2Root, $env:MSYS2_ROOT, "C:\msys64", "C:\tools\msys64") | Where-Object { $_ }
  foreach ($candidate in $candidates) {
    if (Test-Path -PathType Leaf (Join-Path $candidate "usr\bin\pacman.exe")) {
      return (Resolve-Path $candidate).Path
    }
  }
  return $null
}

function Install-Msys2 {
  if (-not (Get-Command winget -ErrorAction SilentlyContinue)) {
    throw "MSYS2 is not installed and winget is missing; install MSYS2 from its website and pass -Msys2Root"
  }
  Write-Step "installing MSYS2 with winget"
  Invoke-Checked "winget" @("install", "--id", "MSYS2.MSYS2", "--exact", "--silent",
    "--accept-package-agreements", "--accept-source-agreements")
}

function Initialize-Toolchain {
  $root = Find-Msys2
  if ($null -eq $root -and $InstallToolchain) {
    Install-Msys2
    $root = Find-Msys2
  }
  if ($null -eq $root) {
    throw "MSYS2 not found in C:\msys64 or C:\tools\msys64; pass -Msys2Root DIR, set MSYS2_ROOT, or run with -InstallToolchain"
  }
  Write-Step "MSYS2 in $root"
  $env:MSYSTEM = "MINGW64"
  $env:PATH = (Join-Path $root "mingw64\bin") + ";" + (Join-Path $root "usr\bin") + ";" + $env:PATH
  Write-Step "installing or updating the MINGW64 packages"
  Invoke-Checked (Join-Path $root "usr\bin\pacman.exe") (@("-S", "--needed", "--noconfirm") + $Packages)
  return $root
}

function Invoke-Build([string]$Root) {
  $source = Join-Path $PSScriptRoot "cmake\windows"
  # The MINGW64 prefix holds the libraries' pkg-config files, so cmake/windows links
  # them and skips cmake/deps/build-deps.sh.
  $prefix = (Join-Path $Root "mingw64").Replace("\", "/")
  Write-Step "configuring $BuildDir"
  Invoke-Checked "cmake" @("-S", $source, "-B", $BuildDir, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=$Configuration",
    "-DCFWIN_WINDOWS_EXE=ON", "-DCFWIN_DEPS_PREFIX=$prefix")
  Write-Step "building"
  Invoke-Checked "cmake" @("--build", $BuildDir, "--parallel", "$Jobs")
}

# cfwin's unit and integration tests need Linux (namespaces, cgroups, the Debian test
# registry), so on Windows only the executables' own checks run.
function Invoke-Checks {
  $cfwin = Join-Path $BuildDir "cfwin.exe"
  Write-Step "checking $cfwin"
  Invoke-Checked $cfwin @("version")
  Invoke-Checked $cfwin @("help") | Out-Null
  # The check programs exit 1 when the Containers feature is missing, which is expected
  # on a build host, so their result is reported and does not fail the build.
  foreach ($check in @("cfwin-wincheck.exe", "cfwin-hcscheck.exe")) {
    $path = Join-Path $BuildDir $check
    if (Test-Path -PathType Leaf $path) {
      & $path
      if ($LASTEXITCODE -ne 0) {
        Write-Step "$check exited with status $($LASTEXITCODE), so this host lacks part of the container APIs"
      }
    }
  }
  $ctestFile = Join-Path $BuildDir "CTestTestfile.cmake"
  if (Test-Path -PathType Leaf $ctestFile) {
    Invoke-Checked "ctest" @("--test-dir", $BuildDir, "--output-on-failure")
  }
}

function New-PluginLinks {
  $cfwin = (Resolve-Path (Join-Path $BuildDir "cfwin.exe")).Path
  foreach ($name in $PluginNames) {
    $link = Join-Path $BuildDir $name
    Remove-Item -Force -ErrorAction SilentlyContinue -Path $link
    New-Item -ItemType HardLink -Path $link -Target $cfwin | Out-Null
  }
  Write-Step "made $($PluginNames -join ', ') in $BuildDir as hard links to cfwin.exe"
}

$root = Initialize-Toolchain
Invoke-Build $root
if (-not $SkipTests) {
  Invoke-Checks
}
New-PluginLinks
Write-Step "done: $(Join-Path $BuildDir 'cfwin.exe')"
