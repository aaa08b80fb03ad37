package gcs_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fakeGCS serves the two JSON API calls Download makes, from a map of
// object name to contents, two items per list page.
type fakeGCS struct {
	bucket  string
	objects map[string]string
	badCRC  map[string]bool
}

func (f *fakeGCS) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func crc(s string) string {
	b := binary.BigEndian.AppendUint32(nil, crc32.Checksum([]byte(s), crc32.MakeTable(crc32.Castagnoli)))
	return base64.StdEncoding.EncodeToString(b)
}

func (f *fakeGCS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	listPath := "/storage/v1/b/" + f.bucket + "/o"
	switch {
	case r.URL.Path == listPath:
		prefix := r.URL.Query().Get("prefix")
		var names []string
		for n := range f.objects {
			if strings.HasPrefix(n, prefix) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		start, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
		end := min(start+2, len(names))
		type item struct{ Name, Size, CRC32C string }
		page := struct {
			Items         []item `json:"items"`
			NextPageToken string `json:"nextPageToken,omitempty"`
		}{}
		for _, n := range names[start:end] {
			c := crc(f.objects[n])
			if f.badCRC[n] {
				c = crc("other")
			}
			page.Items = append(page.Items, item{n, strconv.Itoa(len(f.objects[n])), c})
		}
		if end < len(names) {
			page.NextPageToken = strconv.Itoa(end)
		}
		json.NewEncoder(w).Encode(page)
	case strings.HasPrefix(r.URL.Path, listPath+"/") && r.URL.Query().Get("alt") == "media":
		name := strings.TrimPrefix(r.URL.Path, listPath+"/")
		body, ok := f.objects[name]
		if !ok {
			http.Error(w, `{"error":{"code":404}}`, http.StatusNotFound)
			return
		}
		w.Write([]byte(body))
	default:
		http.Error(w, "unexpected "+r.URL.String(), http.StatusBadRequest)
	}
}
