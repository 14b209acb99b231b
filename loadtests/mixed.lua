-- wrk script: a weighted mix of requests from a file, optionally paced, counting statuses.
-- Usage: wrk -t1 -s mixed.lua URL -- requests.tsv api-key [pause-ms]
-- Each line of requests.tsv: METHOD<TAB>PATH<TAB>BODY (BODY may be empty).
local requests = {}
local pause = 0
statuses = {}

function init(args)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = args[2]
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
    if method then
      if #body == 0 then body = nil end
      requests[#requests + 1] = wrk.format(method, path, nil, body)
    end
  end
  pause = tonumber(args[3] or "0")
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function request()
  return requests[math.random(#requests)]
end

function delay()
  return pause
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[#counts + 1] = string.format('"%d": %d', status, count)
    end
  end
  io.write(string.format(
    'RESULT {"requests": %d, "rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "socket_errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(counts, ", ")))
end
