package pylock_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/hfpack/hfpack/lockfile/pylock"
)

func ExampleMarshal() {
	l := &pylock.Lock{
		LockVersion: pylock.LockVersion,
		CreatedBy:   pylock.CreatedBy,
		Packages: []pylock.Package{{
			Name: "Filelock", Version: "3.16.1", Index: "https://pypi.org/simple/",
			Wheels: []pylock.Wheel{{
				Name: "filelock-3.16.1-py3-none-any.whl", URL: "https://files.example/filelock-3.16.1-py3-none-any.whl",
				UploadTime: time.Date(2024, 9, 17, 19, 2, 45, 0, time.UTC), Size: 16163, SHA256: strings.Repeat("0", 64),
			}},
		}},
	}
	out, err := pylock.Marshal(l)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	// Output:
	// lock-version = "1.0"
	// extras = []
	// dependency-groups = []
	// default-groups = []
	// created-by = "hfpack"
	//
	// [[packages]]
	// name = "filelock"
	// version = "3.16.1"
	// index = "https://pypi.org/simple/"
	//
	// [[packages.wheels]]
	// name = "filelock-3.16.1-py3-none-any.whl"
	// url = "https://files.example/filelock-3.16.1-py3-none-any.whl"
	// upload-time = 2024-09-17T19:02:45Z
	// size = 16163
	// hashes = { sha256 = "0000000000000000000000000000000000000000000000000000000000000000" }
}
