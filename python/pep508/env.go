package pep508

import "strings"

// Environment is the set of marker variables of the interpreter a
// requirement will be installed for. For hfpack that is the target image's
// interpreter, never the host's.
type Environment struct {
	PythonVersion                string // python_version, "3.11"
	PythonFullVersion            string // python_full_version, "3.11.10"
	OSName                       string // os_name, "posix"
	SysPlatform                  string // sys_platform, "linux"
	PlatformRelease              string // platform_release (kernel release; unknown for an image)
	PlatformSystem               string // platform_system, "Linux"
	PlatformVersion              string // platform_version
	PlatformMachine              string // platform_machine, "x86_64"
	PlatformPythonImplementation string // platform_python_implementation, "CPython"
	ImplementationName           string // implementation_name, "cpython"
	ImplementationVersion        string // implementation_version, "3.11.10"
	// Extra is the extra being evaluated (markers of the form
	// `extra == "torch"`); empty for a project's unconditional dependencies.
	Extra string
}

// LinuxEnvironment returns the environment of CPython pythonFullVersion
// ("3.11.10") on Linux for machine ("x86_64" or "aarch64"): the target of a
// hfpack image.
func LinuxEnvironment(pythonFullVersion, machine string) Environment {
	short := pythonFullVersion
	if parts := strings.SplitN(pythonFullVersion, ".", 3); len(parts) >= 2 {
		short = parts[0] + "." + parts[1]
	}
	return Environment{
		PythonVersion:                short,
		PythonFullVersion:            pythonFullVersion,
		OSName:                       "posix",
		SysPlatform:                  "linux",
		PlatformSystem:               "Linux",
		PlatformMachine:              machine,
		PlatformPythonImplementation: "CPython",
		ImplementationName:           "cpython",
		ImplementationVersion:        pythonFullVersion,
	}
}

// markerVariables maps every accepted variable spelling, including the
// legacy dotted ones setuptools still emits, to its PEP 508 name.
var markerVariables = map[string]string{
	"python_version":                 "python_version",
	"python_full_version":            "python_full_version",
	"os_name":                        "os_name",
	"os.name":                        "os_name",
	"sys_platform":                   "sys_platform",
	"sys.platform":                   "sys_platform",
	"platform_release":               "platform_release",
	"platform_system":                "platform_system",
	"platform_version":               "platform_version",
	"platform.version":               "platform_version",
	"platform_machine":               "platform_machine",
	"platform.machine":               "platform_machine",
	"platform_python_implementation": "platform_python_implementation",
	"platform.python_implementation": "platform_python_implementation",
	"python_implementation":          "platform_python_implementation",
	"implementation_name":            "implementation_name",
	"implementation_version":         "implementation_version",
	"extra":                          "extra",
}

// Get returns the value of the marker variable with the given PEP 508 name
// and whether the name is one.
func (e Environment) Get(name string) (string, bool) {
	switch markerVariables[name] {
	case "python_version":
		return e.PythonVersion, true
	case "python_full_version":
		return e.PythonFullVersion, true
	case "os_name":
		return e.OSName, true
	case "sys_platform":
		return e.SysPlatform, true
	case "platform_release":
		return e.PlatformRelease, true
	case "platform_system":
		return e.PlatformSystem, true
	case "platform_version":
		return e.PlatformVersion, true
	case "platform_machine":
		return e.PlatformMachine, true
	case "platform_python_implementation":
		return e.PlatformPythonImplementation, true
	case "implementation_name":
		return e.ImplementationName, true
	case "implementation_version":
		return e.ImplementationVersion, true
	case "extra":
		return e.Extra, true
	}
	return "", false
}
