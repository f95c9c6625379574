-- Logins with a wrong password: one argon2id verification each, the password-hashing load.
local users = tonumber(os.getenv("USERS") or "100000")
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local phone = string.format("0812%08d", counter % users)
  return wrk.format(nil, nil, nil, '{"noHp":"' .. phone .. '","password":"salah-sekali"}')
end
