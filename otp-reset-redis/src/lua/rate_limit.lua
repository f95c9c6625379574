-- GCRA over several keys at once: the request is counted on every key only if every key
-- allows it. KEYS: the counters (one Cluster slot: they share a hash tag). ARGV: per key, its
-- emission interval and its burst tolerance, in microseconds. The clock is Redis's own (one
-- clock for every server instance). Returns { 1, 0 } when allowed, { 0, wait_us } when not.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local wait = 0
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if tat < now then tat = now end
  if tat - now > tolerance then
    local key_wait = tat - now - tolerance
    if key_wait > wait then wait = key_wait end
  end
  tats[i] = tat + interval
end
if wait > 0 then return { 0, wait } end
for i = 1, #KEYS do
  local ttl_ms = math.floor((tats[i] - now) / 1000) + 1
  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', string.format('%.0f', ttl_ms))
end
return { 1, 0 }
