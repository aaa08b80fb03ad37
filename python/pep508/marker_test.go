package pep508

import "testing"

func TestMarkerEvaluate(t *testing.T) {
	linux := LinuxEnvironment("3.11.10", "x86_64")
	tests := []struct {
		marker string
		env    Environment
		want   bool
	}{
		{`sys_platform == "linux"`, linux, true},
		{`sys_platform == "win32"`, linux, false},
		{`sys_platform == "darwin" or platform_system == "Windows"`, linux, false},
		{`platform_system == "Linux" and platform_machine == "x86_64"`, linux, true},
		{`platform_machine == "aarch64"`, linux, false},
		{`platform_machine == "aarch64"`, LinuxEnvironment("3.11.10", "aarch64"), true},
		{`os_name == "nt"`, linux, false},
		{`os.name == "posix"`, linux, true},
		{`implementation_name == "cpython"`, linux, true},
		{`platform_python_implementation != "PyPy"`, linux, true},
		// Versions compare as PEP 440 versions, not strings.
		{`python_version >= "3.9"`, linux, true},
		{`python_version < "3.9"`, linux, false},
		{`python_version > "3.8"`, linux, true},
		{`python_version == "3.11"`, linux, true},
		{`python_version == "3.11.*"`, linux, true},
		{`python_version ~= "3.10"`, linux, true},
		{`python_version ~= "3.12"`, linux, false},
		{`python_full_version >= "3.11.4"`, linux, true},
		{`python_full_version < "3.11.4"`, linux, false},
		{`python_full_version >= "3.11.0rc1"`, linux, true},
		{`"3.9" <= python_version`, linux, true},
		{`python_version != "3.11"`, linux, false},
		{`python_version in "3.10 3.11 3.12"`, linux, true},
		{`python_version not in "3.8 3.9"`, linux, true},
		{`"linux" in sys_platform`, linux, true},
		// Strings where a side is not a version.
		{`platform_release >= "5.1"`, Environment{PlatformRelease: "5.15.0-1019-gcp"}, true},
		{`platform_release < "5.1"`, Environment{PlatformRelease: "5.15.0-1019-gcp"}, false},
		{`os_name ~= "posix"`, linux, false},
		{`os_name < "q"`, linux, true},
		// Extras compare normalised.
		{`extra == "torch"`, linux, false},
		{`extra == "torch"`, Environment{Extra: "torch"}, true},
		{`extra == "Sentence_Piece"`, Environment{Extra: "sentence-piece"}, true},
		{`extra != "torch"`, Environment{Extra: "vision"}, true},
		{`(python_version < "3.9" or sys_platform == "linux") and extra == "gpu"`, func() Environment { e := linux; e.Extra = "gpu"; return e }(), true},
	}
	for _, tt := range tests {
		t.Run(tt.marker, func(t *testing.T) {
			m, err := ParseMarker(tt.marker)
			if err != nil {
				t.Fatalf("ParseMarker(%q): %v", tt.marker, err)
			}
			if got := m.Evaluate(tt.env); got != tt.want {
				t.Errorf("%s: Evaluate = %t, want %t", tt.marker, got, tt.want)
			}
		})
	}
}

func TestLinuxEnvironment(t *testing.T) {
	env := LinuxEnvironment("3.11.10", "x86_64")
	want := map[string]string{
		"python_version": "3.11", "python_full_version": "3.11.10", "sys_platform": "linux",
		"platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
		"implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": "",
	}
	for name, w := range want {
		if got, ok := env.Get(name); !ok || got != w {
			t.Errorf("Get(%q) = %q, %t, want %q", name, got, ok, w)
		}
	}
	if _, ok := env.Get("nonsense"); ok {
		t.Error(`Get("nonsense") reports a variable`)
	}
}

func TestMarkerStringQuotes(t *testing.T) {
	m := MustParseMarker(`platform_version == 'has "quotes"'`)
	if got, want := m.String(), `platform_version == 'has "quotes"'`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if again := MustParseMarker(m.String()).String(); again != m.String() {
		t.Errorf("round trip %s -> %s", m, again)
	}
}
