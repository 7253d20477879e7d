<#
.SYNOPSIS
Installs cfwin on a Windows host as the Windows service "cfwin", or removes it.

.DESCRIPTION
install (the default) checks the Windows build, enables the Containers feature (and
restarts the host when Windows asks for it, then continues by itself), installs cfwin.exe
with its plugin names, creates the NAT network, imports the root filesystem and registers
and starts the service, which runs `cfwin serve`. Every step checks what is already there,
so running install again updates the binary and the service settings and changes nothing
else. uninstall destroys the containers through the Garden API, stops and deletes the
service, deletes the NAT network and removes the installed files; -RemoveData also removes
the depot. status prints what is installed.

Run it from an elevated Windows PowerShell 5.1 or PowerShell 7 prompt.

.EXAMPLE
.\install.ps1 -Source .\cfwin.exe -RootfsUri oci:///C:/rootfs/windows2019fs

.EXAMPLE
.\install.ps1 -Action uninstall -RemoveData
#>
[CmdletBinding()]
param(
  [ValidateSet("install", "uninstall", "status")]
  [string]$Action = "install",
  # The cfwin.exe to install.
  [string]$Source = (Join-Path $PSScriptRoot "cfwin.exe"),
  [string]$InstallDir = (Join-Path $env:ProgramFiles "cfwin"),
  # State directory: the SQLite store, layers, volumes and the network configuration.
  [string]$Depot = (Join-Path $env:ProgramData "cfwin"),
  # Image to import and use for containers that name none, e.g. oci:///C:/rootfs/windows2019fs.
  [string]$RootfsUri = "",
  [string]$ListenAddress = "127.0.0.1:7777",
  [string]$NetworkName = "cfwin",
  [string]$SubnetRange = "172.30.0.0/22",
  [string[]]$DnsServers = @(),
  [int]$MaxContainers = 75,
  [string]$ServiceName = "cfwin",
  # Do not restart the host when the Containers feature needs it; run install again after a restart.
  [switch]$NoRestart,
  # With uninstall: also remove the depot.
  [switch]$RemoveData
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version 3.0

# -DnsServers "a,b" arrives as one string from cmd.exe and from the resume task.
$DnsServers = @($DnsServers | ForEach-Object { $_ -split "," } | Where-Object { $_ -ne "" })

# Windows Server 2019 and Windows 10 1809 are build 17763, the first with HCS v2 and the
# container layer calls cfwin uses.
$MinimumBuild = 17763
$ResumeTaskName = "cfwin-install-resume"
$PluginNames = @("winc.exe", "winc-network.exe", "groot.exe", "gdn.exe")

function Write-Step([string]$Message) {
  Write-Host "cfwin install: $Message"
}

function Assert-Administrator {
  $identity = [Security.Principal.WindowsIdentity]::GetCurrent()
  $principal = New-Object Security.Principal.WindowsPrincipal($identity)
  if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw "install.ps1 must run as Administrator: start PowerShell with 'Run as administrator'"
  }
}

function Assert-WindowsBuild {
  $version = Get-ItemProperty -Path "HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
  $build = [int]$version.CurrentBuildNumber
  if ($build -lt $MinimumBuild) {
    throw "Windows build $build is too old: cfwin needs build $MinimumBuild (Windows Server 2019 or Windows 10 1809) or later"
  }
  Write-Step "Windows build $build ($($version.ProductName))"
}

function Test-ServerEdition {
  $productType = (Get-CimInstance -ClassName Win32_OperatingSystem).ProductType
  return $productType -ne 1
}

# Returns $true when the feature is enabled, $false when it was enabled now and Windows
# needs a restart to finish.
function Enable-ContainersFeature {
  if (Test-ServerEdition) {
    $feature = Get-WindowsFeature -Name Containers
    if ($feature.Installed) {
      Write-Step "the Containers feature is installed"
      return $true
    }
    Write-Step "installing the Containers feature"
    $result = Install-WindowsFeature -Name Containers
    if (-not $result.Success) {
      throw "Install-WindowsFeature Containers failed with exit code $($result.ExitCode)"
    }
    return -not ($result.RestartNeeded -eq "Yes")
  }
  $optional = Get-WindowsOptionalFeature -Online -FeatureName Containers
  if ($optional.State -eq "Enabled") {
    Write-Step "the Containers feature is enabled"
    return $true
  }
  Write-Step "enabling the Containers feature"
  $result = Enable-WindowsOptionalFeature -Online -FeatureName Containers -All -NoRestart
  return -not $result.RestartNeeded
}

# Quotes one argument for a Windows command line as CommandLineToArgvW and the C runtime
# split it: backslashes before a quote and at the end are doubled, quotes get a backslash.
function ConvertTo-ArgumentText([string]$Value) {
  $escaped = [regex]::Replace($Value, '(\\*)"', '$1$1\"')
  $escaped = [regex]::Replace($escaped, '(\\+)$', '$1$1')
  return '"' + $escaped + '"'
}

# Registers a task that runs this install again, as SYSTEM, after the restart.
function Register-ResumeTask {
  $scriptCopy = Join-Path $InstallDir "install.ps1"
  New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
  # A resumed install already runs from the copy.
  if ($PSCommandPath -ne $scriptCopy) {
    Copy-Item -Force -Path $PSCommandPath -Destination $scriptCopy
  }
  $arguments = @("-NoProfile", "-ExecutionPolicy", "Bypass", "-File", (ConvertTo-ArgumentText $scriptCopy))
  foreach ($name in @("Source", "InstallDir", "Depot", "RootfsUri", "ListenAddress", "NetworkName",
      "SubnetRange", "ServiceName")) {
    $value = (Get-Variable -Name $name).Value
    if ($value -ne "") {
      $arguments += @("-$name", (ConvertTo-ArgumentText $value))
    }
  }
  $arguments += @("-MaxContainers", "$MaxContainers")
  if ($DnsServers.Count -gt 0) {
    $arguments += @("-DnsServers", (ConvertTo-ArgumentText ($DnsServers -join ",")))
  }
  $taskAction = New-ScheduledTaskAction -Execute "powershell.exe" -Argument ($arguments -join " ")
  $trigger = New-ScheduledTaskTrigger -AtStartup
  $principal = New-ScheduledTaskPrincipal -UserId "SYSTEM" -LogonType ServiceAccount -RunLevel Highest
  Register-ScheduledTask -TaskName $ResumeTaskName -Action $taskAction -Trigger $trigger -Principal $principal -Force | Out-Null
}

function Unregister-ResumeTask {
  if (Get-ScheduledTask -TaskName $ResumeTaskName -ErrorAction SilentlyContinue) {
    Unregister-ScheduledTask -TaskName $ResumeTaskName -Confirm:$false
  }
}

function Get-CfwinService {
  return Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
}

function Stop-CfwinService {
  $service = Get-CfwinService
  if ($null -ne $service -and $service.Status -ne "Stopped") {
    Write-Step "stopping service $ServiceName"
    Stop-Service -Name $ServiceName -Force
    $service.WaitForStatus("Stopped", [TimeSpan]::FromSeconds(60))
  }
}

# Copies cfwin.exe when it changed and makes the plugin names hard links to it.
function Install-Binary {
  if (-not (Test-Path -PathType Leaf $Source)) {
    throw "cfwin executable $Source not found; pass -Source PATH"
  }
  New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
  $target = Join-Path $InstallDir "cfwin.exe"
  $sourceHash = (Get-FileHash -Algorithm SHA256 -Path $Source).Hash
  $current = ""
  if (Test-Path -PathType Leaf $target) {
    $current = (Get-FileHash -Algorithm SHA256 -Path $target).Hash
  }
  if ($current -ne $sourceHash) {
    Stop-CfwinService
    Write-Step "installing $target (SHA-256 $sourceHash)"
    foreach ($name in $PluginNames) {
      Remove-Item -Force -ErrorAction SilentlyContinue -Path (Join-Path $InstallDir $name)
    }
    Copy-Item -Force -Path $Source -Destination $target
  }
  foreach ($name in $PluginNames) {
    $link = Join-Path $InstallDir $name
    if (-not (Test-Path -PathType Leaf $link)) {
      New-Item -ItemType HardLink -Path $link -Target $target | Out-Null
    }
  }
  & $target version
  if ($LASTEXITCODE -ne 0) {
    throw "$target version failed with exit status $LASTEXITCODE"
  }
}

function Get-NetworkConfigPath {
  return Join-Path $Depot "network\interface.json"
}

function Get-Gateway([string]$Cidr) {
  $parts = $Cidr.Split("/")
  if ($parts.Count -ne 2) {
    throw "invalid -SubnetRange $Cidr`: expected an IPv4 CIDR such as 172.30.0.0/22"
  }
  $bytes = ([System.Net.IPAddress]::Parse($parts[0])).GetAddressBytes()
  if ($bytes.Count -ne 4) {
    throw "invalid -SubnetRange $Cidr`: only IPv4 subnets are supported"
  }
  [Array]::Reverse($bytes)
  $gateway = [BitConverter]::GetBytes([uint32]([BitConverter]::ToUInt32($bytes, 0) + 1))
  [Array]::Reverse($gateway)
  return (New-Object System.Net.IPAddress -ArgumentList (, $gateway)).ToString()
}

# Writes the network role's config file and creates the NAT network from it. The network
# role keeps an existing network of that name and subnet, and fails for another subnet.
function New-NatNetwork {
  $gateway = Get-Gateway $SubnetRange
  $dns = @($DnsServers)
  if ($dns.Count -eq 0) {
    $dns = @($gateway)
  }
  $config = [ordered]@{
    network_name = $NetworkName
    subnet_range = $SubnetRange
    gateway_address = $gateway
    dns_servers = $dns
    state_dir = $Depot
  }
  $path = Get-NetworkConfigPath
  New-Item -ItemType Directory -Force -Path (Split-Path $path) | Out-Null
  Set-Content -Path $path -Encoding Ascii -Value ($config | ConvertTo-Json)
  Write-Step "creating NAT network $NetworkName ($SubnetRange, gateway $gateway)"
  & (Join-Path $InstallDir "winc-network.exe") --configFile $path --action create
  if ($LASTEXITCODE -ne 0) {
    throw "winc-network --action create failed with exit status $LASTEXITCODE"
  }
}

function Import-Rootfs {
  if ($RootfsUri -eq "") {
    Write-Step "no -RootfsUri given; containers must name their image"
    return
  }
  Write-Step "importing $RootfsUri into $Depot"
  & (Join-Path $InstallDir "cfwin.exe") image --driver-store $Depot pull $RootfsUri
  if ($LASTEXITCODE -ne 0) {
    throw "cfwin image pull $RootfsUri failed with exit status $LASTEXITCODE"
  }
}

function Get-ServeCommandLine {
  $parts = $ListenAddress.Split(":")
  if ($parts.Count -ne 2) {
    throw "invalid -ListenAddress $ListenAddress`: expected IPv4:PORT such as 127.0.0.1:7777"
  }
  $arguments = @(
    "serve",
    "--depot", $Depot,
    "--bind-ip", $parts[0],
    "--bind-port", $parts[1],
    "--max-containers", "$MaxContainers",
    "--network-name", $NetworkName,
    "--network-pool", $SubnetRange
  )
  foreach ($server in $DnsServers) {
    $arguments += @("--dns-server", $server)
  }
  if ($RootfsUri -ne "") {
    $arguments += @("--default-rootfs", $RootfsUri)
  }
  $exe = Join-Path $InstallDir "cfwin.exe"
  return (@($exe) + $arguments | ForEach-Object { ConvertTo-ArgumentText $_ }) -join " "
}

# Creates the service, or updates its command line when it differs, and starts it. The
# service manager restarts cfwin 5 s after each failure.
# NOTE: cfwin serve logs to stdout, which a service does not have, so its log is lost
# until cfwin writes a log file when it runs as a service.
function Register-CfwinService {
  $commandLine = Get-ServeCommandLine
  $service = Get-CfwinService
  if ($null -eq $service) {
    Write-Step "registering service $ServiceName"
    New-Service -Name $ServiceName -BinaryPathName $commandLine -DisplayName "cfwin Garden server" `
      -Description "Garden API for Cloud Foundry containers (cfwin serve)" -StartupType Automatic | Out-Null
  } else {
    $key = "HKLM:\SYSTEM\CurrentControlSet\Services\$ServiceName"
    if ((Get-ItemProperty -Path $key -Name ImagePath).ImagePath -ne $commandLine) {
      Write-Step "updating the command line of service $ServiceName"
      Stop-CfwinService
      # Written to the registry directly: Windows PowerShell 5.1 does not escape the
      # quotes inside an argument it passes to sc.exe.
      Set-ItemProperty -Path $key -Name ImagePath -Value $commandLine
    }
    Set-Service -Name $ServiceName -StartupType Automatic
  }
  & sc.exe failure $ServiceName reset= 86400 actions= restart/5000/restart/5000/restart/5000 | Out-Null
  if ($LASTEXITCODE -ne 0) {
    throw "sc.exe failure $ServiceName failed with exit status $LASTEXITCODE"
  }
  if ((Get-CfwinService).Status -ne "Running") {
    Start-Service -Name $ServiceName
  }
  Write-Step "service $ServiceName is $((Get-CfwinService).Status)"
}

function Install-Cfwin {
  Assert-Administrator
  Assert-WindowsBuild
  if (-not (Test-Path -PathType Leaf $Source)) {
    throw "cfwin executable $Source not found; pass -Source PATH"
  }
  # Absolute, because the install may continue after a restart in another directory.
  $script:Source = (Resolve-Path -Path $Source).Path
  if (-not (Enable-ContainersFeature)) {
    if ($NoRestart) {
      Write-Step "restart Windows, then run install.ps1 again with the same arguments"
      exit 3010
    }
    Register-ResumeTask
    Write-Step "restarting to finish enabling Containers; the install continues after the restart"
    Restart-Computer -Force
    exit 0
  }
  Unregister-ResumeTask
  Install-Binary
  New-Item -ItemType Directory -Force -Path $Depot | Out-Null
  New-NatNetwork
  Import-Rootfs
  Register-CfwinService
  Write-Step "done: the Garden API listens on $ListenAddress"
}

# Destroys every container through the Garden API while the service still runs.
function Remove-Containers {
  $service = Get-CfwinService
  if ($null -eq $service -or $service.Status -ne "Running") {
    return
  }
  # A server listening on every address is reached through loopback.
  $base = "http://" + ($ListenAddress -replace "^0\.0\.0\.0:", "127.0.0.1:")
  try {
    $list = Invoke-RestMethod -Method Get -Uri "$base/containers"
    foreach ($handle in @($list.Handles)) {
      Write-Step "destroying container $handle"
      Invoke-RestMethod -Method Delete -Uri "$base/containers/$([Uri]::EscapeDataString($handle))" | Out-Null
    }
  } catch {
    Write-Warning "destroying the containers through $base failed: $_. Containers may remain; Get-ComputeProcess lists them."
  }
}

function Uninstall-Cfwin {
  Assert-Administrator
  Unregister-ResumeTask
  Remove-Containers
  Stop-CfwinService
  if ($null -ne (Get-CfwinService)) {
    Write-Step "deleting service $ServiceName"
    & sc.exe delete $ServiceName | Out-Null
    if ($LASTEXITCODE -ne 0) {
      throw "sc.exe delete $ServiceName failed with exit status $LASTEXITCODE"
    }
  }
  $wincNetwork = Join-Path $InstallDir "winc-network.exe"
  $config = Get-NetworkConfigPath
  if ((Test-Path -PathType Leaf $wincNetwork) -and (Test-Path -PathType Leaf $config)) {
    Write-Step "deleting the NAT network"
    & $wincNetwork --configFile $config --action delete
    if ($LASTEXITCODE -ne 0) {
      throw "winc-network --action delete failed with exit status $LASTEXITCODE"
    }
  }
  if (Test-Path $InstallDir) {
    Write-Step "removing $InstallDir"
    Remove-Item -Recurse -Force -Path $InstallDir
  }
  if ($RemoveData -and (Test-Path $Depot)) {
    Write-Step "removing $Depot"
    Remove-Item -Recurse -Force -Path $Depot
  }
  Write-Step "uninstalled"
}

function Show-Status {
  $exe = Join-Path $InstallDir "cfwin.exe"
  if (Test-Path -PathType Leaf $exe) {
    & $exe version
  } else {
    Write-Step "cfwin.exe is not installed in $InstallDir"
  }
  $service = Get-CfwinService
  if ($null -eq $service) {
    Write-Step "service $ServiceName is not registered"
  } else {
    Write-Step "service $ServiceName is $($service.Status)"
  }
}

switch ($Action) {
  "install" {
    Install-Cfwin
  }
  "uninstall" {
    Uninstall-Cfwin
  }
  "status" {
    Show-Status
  }
}
