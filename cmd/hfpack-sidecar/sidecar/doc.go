// Package sidecar is hfpack-sidecar: the Go process that serves the Vertex AI
// custom-container contract in front of hfpack's Python worker.
//
// It listens on $AIP_HTTP_PORT, answers $AIP_HEALTH_ROUTE (and /health) with
// 503 until the worker has loaded the model and 200 after, and serves
// $AIP_PREDICT_ROUTE (and /predict): {"instances": [...], "parameters": {...}}
// in, {"predictions": [...]} out. Instances of concurrent requests are
// gathered into batches (package batch), run by a supervised worker process
// (package worker) over a framed Unix-socket protocol (package protocol).
// Logs are JSON lines in Cloud Logging's shape; Prometheus metrics are served
// on a path or a port of their own. When $AIP_STORAGE_URI is set and the image
// carries no model, the model is first downloaded from it (package gcs).
//
// Config is the JSON file the builder writes into the image at
// /opt/hfpack/sidecar.json.
package sidecar
