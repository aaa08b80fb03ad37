package worker

// State is the lifecycle stage of the worker.
type State string

// States, in the order a healthy start passes through them.
const (
	StateStarting   State = "starting"   // process starting, not yet connected
	StateLoading    State = "loading"    // connected, loading the handler and model
	StateReady      State = "ready"      // answering batches
	StateRestarting State = "restarting" // exited or killed, waiting out the backoff
	StateCrashLoop  State = "crash-loop" // restarting after repeated consecutive failures
	StateStopped    State = "stopped"    // supervisor stopped
)

// Status is a snapshot of the supervisor, as the health route reports it.
type Status struct {
	State     State  `json:"state"`
	Reason    string `json:"reason,omitempty"`     // why the worker is not ready
	Restarts  int    `json:"restarts"`             // worker restarts since the sidecar started
	LastError string `json:"last_error,omitempty"` // why the worker last stopped, kept after recovery
	PID       int    `json:"pid,omitempty"`        // worker process id, when running
	Python    string `json:"python,omitempty"`     // worker's Python version, once connected

	// Worker and Devices identify one worker of several: its index and the
	// CUDA_VISIBLE_DEVICES it was started with ("" when not pinned).
	Worker  int    `json:"worker,omitempty"`
	Devices string `json:"cuda_visible_devices,omitempty"`
	// Workers is every worker's own status, in order, when the pool has several; the
	// fields above then sum them up.
	Workers []Status `json:"workers,omitempty"`
}

// Ready reports whether a prediction sent now would be served.
func (s Status) Ready() bool { return s.State == StateReady }
