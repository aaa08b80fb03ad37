package hub

import (
	"strings"
	"testing"
)

func FuzzParseModelInfo(f *testing.F) {
	f.Add([]byte(`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"config.json","size":10},{"rfilename":"model.safetensors","size":5,"lfs":{"sha256":"` + strings.Repeat("a", 64) + `","size":5,"pointerSize":134}}]}`))
	f.Add([]byte(`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"../../etc/passwd"}]}`))
	f.Add([]byte(`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"a","size":-5}]}`))
	f.Add([]byte(`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"a"},{"rfilename":"a"}]}`))
	f.Add([]byte(`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"a","lfs":{"oid":"sha256:zz"}}]}`))
	f.Add([]byte(`{"sha":"../x","siblings":null}`))
	f.Add([]byte(`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"/abs"},{"rfilename":"a\\b"},{"rfilename":"a//b"},{"rfilename":"\u0000"}]}`))
	f.Add([]byte(`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"a","blobId":"../../refs/x"},{"rfilename":"b","blobId":"0123456789ABCDEF0123456789abcdef01234567"},{"rfilename":"c","blobId":"0123456789abcdef0123456789abcdef01234567"}]}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, body []byte) {
		info, err := ParseModelInfo(body)
		if err != nil {
			return
		}
		if !IsCommit(info.Commit) {
			t.Fatalf("accepted commit %q", info.Commit)
		}
		for _, s := range info.Files {
			if ValidPath(s.Path) != nil || strings.Contains(s.Path, "..") && strings.Contains("/"+s.Path+"/", "/../") {
				t.Fatalf("accepted path %q", s.Path)
			}
			if s.SHA256 != "" && !isHex(s.SHA256, 64) {
				t.Fatalf("accepted sha256 %q", s.SHA256)
			}
			if s.Size < -1 {
				t.Fatalf("accepted size %d", s.Size)
			}
			// The git blob id names a file in the cache.
			if s.GitOID != "" && !isHex(s.GitOID, 40) {
				t.Fatalf("accepted git blob id %q", s.GitOID)
			}
		}
	})
}

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"hf://acme/model", "hf://gpt2", "hf://a/b/c", "hf://", "hf://a--b/c", "hf://-a/b", "hf://a/b@main",
		"hf://datasets/x/y", "https://huggingface.co/a/b", "hf://a/b.", "hf://" + strings.Repeat("a", 97), "hf://a/\u00e9", "hf://a/b\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseSource(s)
		if err != nil {
			return
		}
		if strings.Count(id, "/") > 1 || strings.Contains(id, "..") || strings.HasPrefix(id, "/") || len(id) > 96 {
			t.Fatalf("accepted repo id %q from %q", id, s)
		}
		for _, r := range id {
			if !(r == '/' || r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				t.Fatalf("accepted repo id %q with %q", id, r)
			}
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-9/10", "bytes 5-4/10", "bytes 0-9/*", "bytes 0-10/10", "bytes -1-5/10", "bytes +1-5/10",
		"bytes 0-99999999999999999999/1", "bits 0-1/2", "bytes 1-2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		first, last, total, err := ParseContentRange(s)
		if err != nil {
			return
		}
		if first < 0 || last < first || total >= 0 && last >= total || total < -1 {
			t.Fatalf("ParseContentRange(%q) = %d, %d, %d", s, first, last, total)
		}
	})
}

func FuzzPattern(f *testing.F) {
	for _, s := range []string{"*.safetensors", "[!a]*", "[", "[]]", "[!]", "a/", "[z-a]", "\\", "*[\\]*", "é?*"} {
		f.Add(s, "model.safetensors")
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if err := ValidPattern(pattern); err != nil {
			return
		}
		if _, err := (Selection{Include: []string{pattern}, Exclude: []string{pattern}}).Select([]string{name}); err != nil {
			t.Fatalf("a valid pattern %q failed to select: %v", pattern, err)
		}
	})
}
