-- verify-otp with the right code, on PHONES of the seeded phones (0812 + 8 digits) in turn.
-- Every answer hands out a new reset token, which the store writes (the JSON store syncs it)
-- before answering, so each request is a write however long the run. PHONES (4096) stands for
-- the phones in the middle of a reset: request-otp parsed their numbers moments before.
local users = tonumber(os.getenv("USERS") or "100000")
local phones = math.min(tonumber(os.getenv("PHONES") or "4096"), users)
local requests = {}
local counter = 0

init = function(args)
  for i = 1, phones do
    local phone = string.format("0812%08d", (i * 7919) % users)
    requests[i] = wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
      '{"noHp":"' .. phone .. '","otp":"123456"}')
  end
end

request = function()
  counter = counter % phones + 1
  return requests[counter]
end
