package builder

import (
	"sort"
	"strings"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// imageConfig computes the config a Plan sets on top of the base's.
func imageConfig(in Inputs) Config {
	env := envMap(in.Base.Env)
	if in.Base.GPU {
		if env["PATH"] == "" {
			env["PATH"] = defaultPath
		}
		env["PATH"] = appendList(env["PATH"], "/usr/local/nvidia/bin")
		env["LD_LIBRARY_PATH"] = appendList(env["LD_LIBRARY_PATH"], "/usr/local/nvidia/lib64")
	}
	for k, v := range envMap(in.Env) {
		env[k] = v
	}
	labels := map[string]string{}
	for k, v := range in.Labels {
		labels[k] = v
	}
	set := func(k, v string) {
		if v != "" {
			labels[k] = v
		}
	}
	set(LabelManifestDigest, in.ManifestDigest)
	set(LabelLockDigest, in.LockDigest)
	set(LabelVersion, in.Version)
	set(LabelBaseDigest, in.Base.Digest)
	if !strings.HasPrefix(in.Base.Ref, OCILayoutPrefix) {
		// A layout path is local to one machine: recording it would make the
		// digest depend on where the base was unpacked.
		set(LabelBaseName, in.Base.Ref)
	}
	set(LabelPackages, packageList(in.Wheels))
	return Config{
		Entrypoint:   []string{SidecarImagePath},
		User:         in.User,
		Env:          envList(env),
		ExposedPorts: []string{Port},
		WorkingDir:   in.WorkingDir,
		Labels:       labels,
	}
}

// packageList is "name==version" of every wheel, sorted, comma-separated.
func packageList(ws []Wheel) string {
	var pkgs []string
	for _, w := range ws {
		pkgs = append(pkgs, w.Name+"=="+w.Version)
	}
	sort.Strings(pkgs)
	return strings.Join(pkgs, ",")
}

// envMap parses KEY=VALUE entries; later entries win.
func envMap(kvs []string) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// envList returns m as KEY=VALUE entries sorted by key.
func envList(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + m[k]
	}
	return out
}

// appendList appends dir to a colon-separated list unless it is there.
func appendList(list, dir string) string {
	if list == "" {
		return dir
	}
	for _, d := range strings.Split(list, ":") {
		if d == dir {
			return list
		}
	}
	return list + ":" + dir
}
