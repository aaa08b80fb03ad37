package index

import (
	"context"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/lockfile/indextest"
)

func TestRedact(t *testing.T) {
	tests := map[string]string{
		"https://user:secret@host/simple": "https://user:***@host/simple",
		"https://token@host/simple/":      "https://***@host/simple/",
		"https://host/simple/":            "https://host/simple/",
		"https://u:p@ho st/%zz":           "https://***@ho st/%zz",
		"not a url but has //me:pw@x.y/z": "not a url but has //***@x.y/z",
	}
	for in, want := range tests {
		got := Redact(in)
		if strings.Contains(got, "secret") || strings.Contains(got, ":p@") || strings.Contains(got, "token") || strings.Contains(got, "pw") {
			t.Errorf("Redact(%q) = %q leaks a credential", in, got)
		}
		if got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCredentialsNeverLeak checks every error path and every returned URL
// for the password of an authenticated index.
func TestCredentialsNeverLeak(t *testing.T) {
	srv := indextest.NewServer(indextest.WithBasicAuth("user", "secret"))
	defer srv.Close()
	srv.MustAddWheel(demo, indextest.WrongSHA256())
	srv.MustAddWheel(indextest.WheelSpec{Name: "other", Version: "1"}, indextest.WrongMetadataSHA256())
	authURL := strings.Replace(srv.URL, "http://", "http://user:secret@", 1)
	ctx := context.Background()

	c := newClient(t, authURL, WithRetries(1))
	if strings.Contains(c.URL(), "secret") {
		t.Errorf("URL() = %s", c.URL())
	}
	p, err := c.Project(ctx, "demo-pkg")
	if err != nil {
		t.Fatalf("Project with credentials: %v", err)
	}
	var errs []error
	for _, f := range p.Files {
		if strings.Contains(f.URL+f.Index, "secret") {
			t.Errorf("file URL leaks credentials: %s %s", f.URL, f.Index)
		}
		_, err := c.Fetch(ctx, f)
		errs = append(errs, err)
	}
	o, _ := c.Project(ctx, "other")
	_, err = c.Metadata(ctx, o.Files[0])
	errs = append(errs, err)
	_, err = c.Project(ctx, "missing")
	errs = append(errs, err)
	srv.InjectFault(indextest.ProjectPath("broken"), indextest.Fault{Status: 503})
	_, err = c.Project(ctx, "broken")
	errs = append(errs, err)

	wrong := newClient(t, strings.Replace(srv.URL, "http://", "http://user:wrongsecret@", 1))
	_, err = wrong.Project(ctx, "demo-pkg")
	errs = append(errs, err)
	dead := newClient(t, "http://user:secret@127.0.0.1:1/simple/", WithRetries(0))
	_, err = dead.Project(ctx, "demo-pkg")
	errs = append(errs, err)
	_, err = New("http://user:secret@host/%zz")
	errs = append(errs, err)
	_, err = New("ftp://user:secret@host/simple")
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("case %d: error leaks the password: %v", i, err)
		}
	}
}

// TestCredentialsStayOnTheirHost checks that a file on another host does not
// receive the index's credentials.
func TestCredentialsStayOnTheirHost(t *testing.T) {
	files := indextest.NewServer(indextest.WithBasicAuth("user", "secret"))
	defer files.Close()
	files.MustAddWheel(demo)
	pages := indextest.NewServer(indextest.WithBasicAuth("user", "secret"))
	defer pages.Close()
	c := newClient(t, strings.Replace(pages.URL, "http://", "http://user:secret@", 1), WithRetries(0))
	f := File{Filename: demo.Filename(), URL: files.FileURL(demo.Filename()), SHA256: sha256Hex(indextest.MustBuildWheel(demo)), Index: c.URL()}
	if _, err := c.Fetch(context.Background(), f); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("Fetch from another host = %v, want 401 (no credentials sent)", err)
	}
}
