
-- `PhoneRecords::verify`. ARGV: 1-8 rules, 9 now, 10 client key hex, 11 candidate digest hex,
-- 12 reset token digest hex.
-- Returns { 'locked', retry_after_ms }, { 'verified', otp_id }, or what `wrong_guess` returns.
read_rules(1)
local now = tonumber(ARGV[9])
local client, candidate, reset_token = ARGV[10], ARGV[11], ARGV[12]
local rec = load()
if not rec then return corrupt() end

local locked = locked_for(rec, now)
if locked then return { 'locked', locked } end
local compared = false
local code = guessable_code(rec, client, now)
if code then
  if code.d == candidate then
    code.v = true
    code.t = reset_token
    forget_failures(rec)
    save(rec, now)
    return { 'verified', code.id }
  end
  compared = true
end
local answer = wrong_guess(rec, client, compared, now)
save(rec, now)
return answer
