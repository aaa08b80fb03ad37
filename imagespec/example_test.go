package imagespec_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hfpack/hfpack/imagespec"
)

// The file the builder writes to /opt/hfpack/sidecar.json.
func ExampleConfig() {
	c := imagespec.Config{
		Python:        "/opt/hfpack/python/bin/python3",
		WorkerDir:     "/opt/hfpack/worker",
		ModelDir:      "/opt/hfpack/model",
		Handler:       "handler.py",
		Task:          "text-classification",
		MaxBatchSize:  16,
		MaxBatchDelay: imagespec.Duration(5 * time.Millisecond),
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	fmt.Println(string(b))
	// Output:
	// {
	//   "python": "/opt/hfpack/python/bin/python3",
	//   "worker-dir": "/opt/hfpack/worker",
	//   "model-dir": "/opt/hfpack/model",
	//   "handler": "handler.py",
	//   "task": "text-classification",
	//   "max-batch-size": 16,
	//   "max-batch-delay": "5ms"
	// }
}

func ExampleConfig_WithDefaults() {
	c := imagespec.Config{ModelDir: "/opt/hfpack/model"}.WithDefaults()
	fmt.Println(c.Host, c.Port, c.MaxBatchSize, c.MaxBatchDelay.D(), c.MaxQueue, c.RequestTimeout.D(), c.MaxRequestBytes, c.Validate())
	// Output: 0.0.0.0 8080 8 5ms 512 1m0s 1572864 <nil>
}
