-- verify-otp with the right code on the phones of CODES (a file of "phone code" lines, written
-- by scale.sh from request-otp's testOTP), in turn. Every answer hands out a new reset token,
-- which the store writes: on Redis, one Lua script per request.
local requests = {}
local counter = 0

init = function(args)
  for line in io.lines(os.getenv("CODES")) do
    local phone, code = line:match("^(%S+) (%S+)$")
    requests[#requests + 1] = wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
      '{"noHp":"' .. phone .. '","otp":"' .. code .. '"}')
  end
  counter = math.random(#requests)
end

request = function()
  counter = counter % #requests + 1
  return requests[counter]
end
