package baseimages

import (
	"fmt"
	"strings"
)

// python makes sure the image has the target Python: the base's own, or a
// relocatable runtime.
func (s *selector) python() {
	want, base := s.req.Python, s.out.Base
	if pythonMinor(want) != want {
		s.fail(&PythonError{Want: want, Where: "the request", Fix: "set the lock's target Python as MAJOR.MINOR, e.g. 3.11"})
		return
	}
	if base.Python == want && base.PythonPath != "" {
		s.out.PythonPath, s.out.HasPython = base.PythonPath, true
		s.reason("the base carries Python %s at %s", want, base.PythonPath)
		return
	}
	rt, ok := s.cat.Runtime(want, ArchX86_64)
	if !ok {
		s.fail(&PythonError{Want: want, Have: base.Python, Where: "base " + base.Ref, Fix: "target one of Python " + s.runtimeList() + " (hfpack's relocatable runtimes), or choose a base with Python " + want + " via [image] base"})
		return
	}
	if base.Glibc != "" && compareGlibc(base.Glibc, rt.Glibc) < 0 {
		s.fail(&GlibcError{Wheel: "Python runtime " + rt.URL, Needs: rt.Glibc, Base: base.Ref, Has: base.Glibc})
		return
	}
	if !rt.SHA256Verified {
		s.fail(&UnverifiedRuntimeError{Runtime: rt})
		return
	}
	s.out.Runtime = &rt
	s.out.PythonPath = rt.Interpreter()
	have := "has no Python"
	if base.Python != "" {
		have = "has Python " + base.Python
	}
	s.reason("the base %s, so hfpack adds the relocatable CPython %s runtime at %s", have, rt.Version, rt.Prefix)
}

func (s *selector) runtimeList() string {
	var v []string
	for _, r := range s.cat.Runtimes {
		if r.Arch == ArchX86_64 {
			v = append(v, r.Python)
		}
	}
	return strings.Join(v, ", ")
}

// env sets the image environment: the Python runtime first on PATH, the
// host driver Vertex mounts under /usr/local/nvidia, and the NVIDIA
// container variables on GPU images.
func (s *selector) env() {
	path := stdPath
	if s.out.Override && s.overridePath != "" {
		path = s.overridePath
	}
	var prefix []string
	if s.out.Runtime != nil {
		prefix = append(prefix, s.out.Runtime.Prefix+"/bin")
	}
	vars := map[string]string{}
	if s.acc.IsGPU() {
		prefix = append(prefix, nvidiaBin)
		if s.out.Base.IsGPU() {
			prefix = append(prefix, cudaBin)
		}
		vars["LD_LIBRARY_PATH"] = nvidiaLibPath
		vars["NVIDIA_VISIBLE_DEVICES"] = "all"
		vars["NVIDIA_DRIVER_CAPABILITIES"] = "compute,utility"
		if s.compat {
			vars["NVIDIA_DISABLE_REQUIRE"] = "1"
		}
		s.reason("PATH includes %s and LD_LIBRARY_PATH %s, where Vertex mounts the host driver", nvidiaBin, nvidiaLibPath)
	}
	vars["PATH"] = joinPath(prefix, path)
	for _, name := range []string{"LD_LIBRARY_PATH", "NVIDIA_DISABLE_REQUIRE", "NVIDIA_DRIVER_CAPABILITIES", "NVIDIA_VISIBLE_DEVICES", "PATH"} {
		if v, ok := vars[name]; ok {
			s.out.Env = append(s.out.Env, EnvVar{Name: name, Value: v})
		}
	}
}

// joinPath prepends the entries of prefix missing from path.
func joinPath(prefix []string, path string) string {
	have := strings.Split(path, ":")
	var add []string
	for _, p := range prefix {
		if !containsString(have, p) {
			add = append(add, p)
		}
	}
	if len(add) == 0 {
		return path
	}
	return strings.Join(add, ":") + ":" + path
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// String describes the selection in one line.
func (sel Selection) String() string {
	s := fmt.Sprintf("%s on %s", sel.Base.Ref, sel.Accelerator)
	if sel.Runtime != nil {
		s += " + CPython " + sel.Runtime.Version
	}
	return s
}
