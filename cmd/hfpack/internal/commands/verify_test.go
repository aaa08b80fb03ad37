package commands

import (
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func TestParseVerify(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		in          string
		ref, layout string
	}{
		{d, "", ""},
		{"europe-west4-docker.pkg.dev/p/r/sst2@" + d, "europe-west4-docker.pkg.dev/p/r/sst2@" + d, ""},
		{"127.0.0.1:5000/sst2@" + d, "127.0.0.1:5000/sst2@" + d, ""},
		{"oci:out/sst2@" + d, "", "out/sst2"},
	}
	for _, tt := range tests {
		vt, err := parseVerify(tt.in)
		if err != nil || vt.digest.String() != d || vt.ref != tt.ref || vt.layout != tt.layout {
			t.Errorf("parseVerify(%q) = %+v, %v", tt.in, vt, err)
		}
	}
	for _, bad := range []string{"", "sha256:short", "latest", "repo:tag", "UPPER/x@" + d} {
		var ue usageError
		if _, err := parseVerify(bad); !errors.As(err, &ue) {
			t.Errorf("parseVerify(%q) = %v, want a usage error", bad, err)
		}
	}
}

// named builds an image from layers, naming each in its history as hfpack does.
func named(t *testing.T, names []string, layers []v1.Layer) v1.Image {
	t.Helper()
	img := empty.Image
	for i, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "hfpack: " + names[i]}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func TestDiffImages(t *testing.T) {
	layer := func() v1.Layer {
		l, err := random.Layer(64, "application/vnd.oci.image.layer.v1.tar")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	base, model, app, app2 := layer(), layer(), layer(), layer()
	published := named(t, []string{"base", "model-0", "app"}, []v1.Layer{base, model, app})
	tests := []struct {
		name    string
		rebuilt v1.Image
		want    []string
		notWant string
	}{
		{"handler changed", named(t, []string{"base", "model-0", "app"}, []v1.Layer{base, model, app2}),
			[]string{`layer 3 "app" differs`}, "model-0"},
		{"layer added", named(t, []string{"base", "model-0", "app", "extra"}, []v1.Layer{base, model, app, layer()}),
			[]string{`layer 4 "extra" is only in the rebuild`}, "app"},
		{"config only", withLabel(t, published), []string{"every layer matches"}, "layer 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := diffImages(tt.rebuilt, published)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("diffImages = %q, want it to contain %q", got, w)
				}
			}
			if strings.Contains(got, tt.notWant) {
				t.Errorf("diffImages = %q names %q, which did not change", got, tt.notWant)
			}
		})
	}
}

// withLabel returns img with a label added: the same layers, another config.
func withLabel(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Labels = map[string]string{"changed": "yes"}
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
