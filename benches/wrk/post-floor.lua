-- A POST with verify-otp's body to /post-floor, which answers JSON of verify-otp's size without
-- doing anything: what any JSON POST costs the HTTP stack here.
local request_bytes
init = function(args)
  request_bytes = wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
    '{"noHp":"081200007919","otp":"123456"}')
end
request = function()
  return request_bytes
end
