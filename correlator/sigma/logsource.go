package sigma

import (
	"fmt"
	"sort"
	"strings"
)

// Source is one kind of event that serves a Sigma log source: the channels
// it is logged to (any of them) and its event IDs (any of them; none means
// every event of the channels), other fields it must have, and how the
// rules' field names map onto its fields.
type Source struct {
	Channels   []string
	EventIDs   []int
	Conditions map[string][]string // field → any of these values (case-insensitive)
	FieldMap   map[string]string   // rule field → event field
}

// LogSources maps Sigma log sources to the events that serve them. Its
// zero value is empty; WindowsLogSources is SigmaHQ's table.
type LogSources struct {
	Categories map[string][]Source // category → sources, for product windows
	Services   map[string][]string // service → channels, for product windows
}

const sysmonChannel = "Microsoft-Windows-Sysmon/Operational"

// WindowsLogSources returns the log source table of SigmaHQ's regression
// runner (THOR's configuration, tests/thor.yml in the SigmaHQ repository),
// completed with the services of the taxonomy appendix it lacks: each
// category of Sysmon's events, process_creation also from Security 4688
// with its field mapping, the PowerShell categories, Defender's antivirus
// events, and the channel of each service.
func WindowsLogSources() *LogSources {
	sysmon := func(ids ...int) []Source {
		return []Source{{Channels: []string{sysmonChannel}, EventIDs: ids}}
	}
	ps := []string{"Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"}
	cats := map[string][]Source{
		"process_creation": {
			{Channels: []string{sysmonChannel}, EventIDs: []int{1}},
			{Channels: []string{"Security"}, EventIDs: []int{4688},
				FieldMap: map[string]string{"Image": "NewProcessName", "ParentImage": "ParentProcessName"}},
		},
		"file_change":               sysmon(2),
		"network_connection":        sysmon(3),
		"sysmon_status":             sysmon(4, 16),
		"process_termination":       sysmon(5),
		"driver_load":               sysmon(6),
		"image_load":                sysmon(7),
		"create_remote_thread":      sysmon(8),
		"raw_access_thread":         sysmon(9),
		"process_access":            sysmon(10),
		"file_event":                sysmon(11),
		"registry_event":            sysmon(12, 13, 14),
		"registry_add":              {{Channels: []string{sysmonChannel}, EventIDs: []int{12}, Conditions: map[string][]string{"EventType": {"CreateKey"}}}},
		"registry_delete":           {{Channels: []string{sysmonChannel}, EventIDs: []int{12}, Conditions: map[string][]string{"EventType": {"DeleteKey", "DeleteValue"}}}},
		"registry_set":              sysmon(13),
		"registry_rename":           sysmon(14),
		"create_stream_hash":        sysmon(15),
		"pipe_created":              sysmon(17, 18),
		"wmi_event":                 sysmon(19, 20, 21),
		"dns_query":                 sysmon(22),
		"file_delete":               sysmon(23),
		"clipboard_change":          sysmon(24),
		"clipboard_capture":         sysmon(24),
		"process_tampering":         sysmon(25),
		"file_delete_detected":      sysmon(26),
		"file_block_executable":     sysmon(27),
		"file_block_shredding":      sysmon(28),
		"file_executable_detected":  sysmon(29),
		"sysmon_error":              sysmon(255),
		"ps_module":                 {{Channels: ps, EventIDs: []int{4103}}},
		"ps_script":                 {{Channels: ps, EventIDs: []int{4104}}},
		"ps_classic_start":          {{Channels: []string{"Windows PowerShell"}, EventIDs: []int{400}}},
		"ps_classic_provider_start": {{Channels: []string{"Windows PowerShell"}, EventIDs: []int{600}}},
		"ps_classic_script":         {{Channels: []string{"Windows PowerShell"}, EventIDs: []int{800}}},
		"antivirus": {{Channels: []string{"Microsoft-Windows-Windows Defender/Operational"},
			EventIDs: []int{1006, 1007, 1008, 1009, 1010, 1011, 1012, 1017, 1018, 1019, 1115, 1116},
			FieldMap: map[string]string{"Signature": "ThreatName", "Filename": "Path"}}},
	}
	services := map[string][]string{
		"application":            {"Application"},
		"application-experience": {"Microsoft-Windows-Application-Experience/Program-Telemetry", "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant"},
		"applocker":              {"Microsoft-Windows-AppLocker/MSI and Script", "Microsoft-Windows-AppLocker/EXE and DLL", "Microsoft-Windows-AppLocker/Packaged app-Deployment", "Microsoft-Windows-AppLocker/Packaged app-Execution"},
		"appmodel-runtime":       {"Microsoft-Windows-AppModel-Runtime/Admin"},
		"appxdeployment-server":  {"Microsoft-Windows-AppXDeploymentServer/Operational"},
		"appxpackaging-om":       {"Microsoft-Windows-AppxPackaging/Operational"},
		"bitlocker":              {"Microsoft-Windows-BitLocker/BitLocker Management"},
		"bits-client":            {"Microsoft-Windows-Bits-Client/Operational"},
		"capi2":                  {"Microsoft-Windows-CAPI2/Operational"},
		"certificateservicesclient-lifecycle-system": {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"},
		"codeintegrity-operational":                  {"Microsoft-Windows-CodeIntegrity/Operational"},
		"dhcp":                                       {"Microsoft-Windows-DHCP-Server/Operational"},
		"diagnosis-scripted":                         {"Microsoft-Windows-Diagnosis-Scripted/Operational"},
		"dns-client":                                 {"Microsoft-Windows-DNS Client Events/Operational"},
		"dns-server":                                 {"DNS Server"},
		"dns-server-analytic":                        {"Microsoft-Windows-DNS-Server/Analytical"},
		"dns-server-audit":                           {"Microsoft-Windows-DNS-Server/Audit"},
		"driver-framework":                           {"Microsoft-Windows-DriverFrameworks-UserMode/Operational"},
		"firewall-as":                                {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"},
		"hyper-v-worker":                             {"Microsoft-Windows-Hyper-V-Worker"},
		"iis-configuration":                          {"Microsoft-IIS-Configuration/Operational"},
		"kernel-event-tracing":                       {"Microsoft-Windows-Kernel-EventTracing"},
		"kernel-shimengine":                          {"Microsoft-Windows-Kernel-ShimEngine/Operational", "Microsoft-Windows-Kernel-ShimEngine/Diagnostic"},
		"ldap":                                       {"Microsoft-Windows-LDAP-Client/Debug"},
		"lsa-server":                                 {"Microsoft-Windows-LSA/Operational"},
		"microsoft-servicebus-client":                {"Microsoft-ServiceBus-Client/Operational", "Microsoft-ServiceBus-Client/Admin"},
		"msexchange-management":                      {"MSExchange Management"},
		"ntfs":                                       {"Microsoft-Windows-Ntfs/Operational"},
		"ntlm":                                       {"Microsoft-Windows-NTLM/Operational"},
		"openssh":                                    {"OpenSSH/Operational"},
		"powershell":                                 ps,
		"powershell-classic":                         {"Windows PowerShell"},
		"printservice-admin":                         {"Microsoft-Windows-PrintService/Admin"},
		"printservice-operational":                   {"Microsoft-Windows-PrintService/Operational"},
		"security":                                   {"Security"},
		"security-mitigations":                       {"Microsoft-Windows-Security-Mitigations/Kernel Mode", "Microsoft-Windows-Security-Mitigations/User Mode"},
		"sense":                                      {"Microsoft-Windows-SENSE/Operational"},
		"servicebus-client":                          {"Microsoft-ServiceBus-Client/Operational", "Microsoft-ServiceBus-Client/Admin"},
		"shell-core":                                 {"Microsoft-Windows-Shell-Core/Operational"},
		"smbclient-connectivity":                     {"Microsoft-Windows-SmbClient/Connectivity"},
		"smbclient-security":                         {"Microsoft-Windows-SmbClient/Security"},
		"smbserver-connectivity":                     {"Microsoft-Windows-SMBServer/Connectivity"},
		"sysmon":                                     {sysmonChannel},
		"system":                                     {"System"},
		"taskscheduler":                              {"Microsoft-Windows-TaskScheduler/Operational"},
		"terminalservices-localsessionmanager":       {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"},
		"vhdmp":                                      {"Microsoft-Windows-VHDMP/Operational"},
		"windefend":                                  {"Microsoft-Windows-Windows Defender/Operational"},
		"wmi":                                        {"Microsoft-Windows-WMI-Activity/Operational"},
	}
	return &LogSources{Categories: cats, Services: services}
}

// LogSourceError says that a rule's log source is not in the table.
type LogSourceError struct{ LogSource LogSource }

func (e *LogSourceError) Error() string {
	return fmt.Sprintf("log source %s is not supported (no Windows channel or event ID serves it)", e.LogSource)
}

// Resolve returns the sources of a rule's log source. A category and a
// service together narrow the category's sources to the service's
// channels.
func (t *LogSources) Resolve(ls LogSource) ([]Source, error) {
	product := strings.ToLower(ls.Product)
	if product != "" && product != "windows" {
		return nil, &LogSourceError{ls}
	}
	cat, svc := strings.ToLower(ls.Category), strings.ToLower(ls.Service)
	var chans []string
	if svc != "" {
		var ok bool
		if chans, ok = t.Services[svc]; !ok {
			return nil, &LogSourceError{ls}
		}
	}
	if cat == "" {
		if svc == "" {
			if product == "windows" {
				// product: windows alone: every Windows event.
				return []Source{{}}, nil
			}
			return nil, &LogSourceError{ls}
		}
		return []Source{{Channels: chans}}, nil
	}
	srcs, ok := t.Categories[cat]
	if !ok {
		return nil, &LogSourceError{ls}
	}
	if svc == "" {
		return srcs, nil
	}
	var out []Source
	for _, s := range srcs {
		for _, c := range s.Channels {
			if contains(chans, c) {
				n := s
				n.Channels = []string{c}
				out = append(out, n)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, &LogSourceError{ls}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// Names lists the categories and services of the table, sorted, for
// documentation and errors.
func (t *LogSources) Names() (categories, services []string) {
	for c := range t.Categories {
		categories = append(categories, c)
	}
	for s := range t.Services {
		services = append(services, s)
	}
	sort.Strings(categories)
	sort.Strings(services)
	return categories, services
}
