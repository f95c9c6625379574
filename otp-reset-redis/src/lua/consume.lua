
-- `PhoneRecords::consume`. ARGV: 1-8 rules, 9 now, 10 client key hex, 11 proof kind ('code' or
-- 'token'), 12 proof digest hex.
-- Returns { 'consumed', <code JSON> }, { 'notverified' }, { 'locked', retry_after_ms }, or what
-- `wrong_guess` returns.
read_rules(1)
local now = tonumber(ARGV[9])
local client, kind, proof = ARGV[10], ARGV[11], ARGV[12]
local rec = load()
if not rec then return corrupt() end

local function take()
  local code = rec.code
  rec.code = nil
  save(rec, now)
  return { 'consumed', cjson.encode(code) }
end

-- A reset token is proof enough whatever happened since it was handed out.
local code = rec.code
if kind == 'token' and code and now < code.e and code.v and code.t == proof then
  return take()
end
local locked = locked_for(rec, now)
if locked then return { 'locked', locked } end
local compared = false
if kind == 'code' then
  code = guessable_code(rec, client, now)
  if code then
    if code.d == proof then
      if not code.v then return { 'notverified' } end
      return take()
    end
    compared = true
  end
end
local answer = wrong_guess(rec, client, compared, now)
save(rec, now)
return answer
