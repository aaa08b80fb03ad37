// Package builder turns hfpack's resolved inputs into a Plan and a Plan into
// an OCI image, without a container daemon.
//
// Building is split in two, as ko does: NewPlan computes a pure,
// JSON-marshalable Plan that names every input by content hash, every
// layer's contents and cache key, and the image config; Build writes the
// layers the cache does not already hold (in parallel, one streaming pass
// each) and assembles the image on its base. Build is one Backend
// (Embedded); package builder/llb is the other, on a BuildKit daemon. Sending
// the image somewhere is the job of package builder/publish, the same for
// both.
//
// Layers, oldest first, in order of change rate: the base (by reference,
// never rewritten), site-packages (each large wheel in a layer of its own,
// then the rest), the model (large files in layers of their
// own or a few balanced groups, then one layer of small files), the app
// (worker, handler, configuration) and the sidecar binary.
package builder
