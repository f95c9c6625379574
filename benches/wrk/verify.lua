-- verify-otp with a wrong code, each request on the next of the seeded phones (0812 + 8 digits),
-- so every attempt is counted and written, as in production.
local users = tonumber(os.getenv("USERS") or "100000")
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local phone = string.format("0812%08d", (counter * 7919) % users)
  return wrk.format(nil, nil, nil, '{"noHp":"' .. phone .. '","otp":"654321"}')
end
