-- wrk script: POST one instance, print "RESULT rps p50_ms p99_ms non2xx errors".
wrk.method = "POST"
wrk.body = '{"instances":[{"text":"hello world"}]}'
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n", summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
