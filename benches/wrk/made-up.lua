-- request-otp for made-up name/phone pairs, a new phone each time (0813 and 8 digits: the
-- thread's number, from OFFSET, then a counter), so no cooldown refuses one: each request leaves
-- a stand-in, one write (on Redis, one Lua script). Give each wrk process its own OFFSET (0-9).
local next_id = tonumber(os.getenv("OFFSET") or "0")
local counter = 0

-- `id` becomes a global of each thread.
setup = function(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

request = function()
  counter = counter + 1
  local phone = string.format("0813%d%07d", id, counter)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
    '{"nama":"Orang Lain","noHp":"' .. phone .. '"}')
end

