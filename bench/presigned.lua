-- wrk script: replays requests pre-signed by `loadgen --dump FILE` (each its own nonce), in
-- order, one per request, so wrk can drive certplan where loadgen cannot (HTTPS).
--   wrk -t1 -c64 -d10s -s bench/presigned.lua https://127.0.0.1:PORT/ -- FILE
-- Use one wrk thread (each thread would replay the same list). A pool shorter than the run
-- repeats its last request, which certplan refuses as a replay: the run then shows errors
-- ("Non-2xx"), never a silently wrong figure.
local requests = {}
local n = 0

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  for r in data:gmatch("([^%z]+)%z") do
    requests[#requests + 1] = r
  end
  assert(#requests > 0, "no requests in " .. args[1])
end

function request()
  if n < #requests then n = n + 1 end
  return requests[n]
end
