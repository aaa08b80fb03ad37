package indextest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hfpack/hfpack/lockfile/indextest"
)

func ExampleNewServer() {
	srv := indextest.NewServer(indextest.HTMLOnly())
	defer srv.Close()
	srv.MustAddWheel(indextest.WheelSpec{Name: "torch", Version: "2.4.1+cu121", Tag: "cp311-cp311-linux_x86_64", RequiresDist: []string{"filelock"}})
	srv.AddFile("sdist-only", "sdist_only-1.0.tar.gz", []byte("not a wheel"))
	srv.InjectFault(indextest.ProjectPath("flaky"), indextest.Fault{Status: 503, Times: 2})

	resp, err := http.Get(srv.URL + "torch/")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Header.Get("Content-Type"))
	fmt.Println(strings.Contains(string(page), "torch-2.4.1+cu121-cp311-cp311-linux_x86_64.whl</a>"))
	// Output:
	// text/html
	// true
}
