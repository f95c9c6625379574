-- One phone's records, as otp_reset's `PhoneRecords` keeps them, in one key (KEYS[1]): the
-- real user's `PhoneLedger` and the phone's `StandIns`, as one JSON document:
--
--   { code = <code>?, sends = [ms...], f = <failures>, fa = <last failure ms>?,
--     si = { pairs = [ { p = <pair hex>, c = <code>?, s = [ms...] } ... ], f = ..., fa = ...? } }
--   <code> = { id = "<otp id>", d = "<digest hex>", u = "<user id>"?, l = "<lang>",
--              i = <issued ms>, e = <expires ms>, a = [ ["<client hex>", n] ... ],
--              v = <verified>, t = "<reset token digest hex>"? }
--
-- Keys (`ClientKey`, `PairKey`), digests and ids are strings: Lua numbers are doubles. Instants
-- are milliseconds since the epoch, from the caller (ARGV), never from Redis's clock; they stay
-- below 10^14 (the year 5138), which cjson writes exactly. An absent field is left out, never
-- null (cjson reads null as a userdata). cjson writes an empty array as `{}`, which reads back
-- as the same empty table.
--
-- Every function below mirrors the Rust function named in its comment, line by line; the
-- conformance suite of otp_reset pins that both give the same answers.

local key = KEYS[1]

-- How long past the last instant anything limits it the key lives on, in ms (the last ARGV of
-- every script): server clocks may disagree by a little.
local MARGIN_MS = tonumber(ARGV[#ARGV])

-- `OtpRules`, in ms, from ARGV[first..first+7].
local R = {}
local function read_rules(first)
  R.code_ttl = tonumber(ARGV[first])
  R.max_attempts = tonumber(ARGV[first + 1])
  R.resend_cooldown = tonumber(ARGV[first + 2])
  R.max_sends = tonumber(ARGV[first + 3])
  R.send_window = tonumber(ARGV[first + 4])
  R.lockout_threshold = tonumber(ARGV[first + 5])
  R.lockout_base = tonumber(ARGV[first + 6])
  R.lockout_max = tonumber(ARGV[first + 7])
end

-- The phone's records, empty (`PhoneLedger::default`, `StandIns::default`) when the key is
-- missing; nil when the key holds what this script cannot read.
local function load()
  local raw = redis.call('GET', key)
  if not raw then
    return { sends = {}, f = 0, si = { pairs = {}, f = 0 } }
  end
  local ok, rec = pcall(cjson.decode, raw)
  if not ok or type(rec) ~= 'table' then
    return nil
  end
  rec.sends = rec.sends or {}
  rec.f = rec.f or 0
  rec.si = rec.si or { pairs = {}, f = 0 }
  rec.si.pairs = rec.si.pairs or {}
  rec.si.f = rec.si.f or 0
  for _, pair in ipairs(rec.si.pairs) do
    pair.s = pair.s or {}
  end
  if type(rec.sends) ~= 'table' or type(rec.si.pairs) ~= 'table' then
    return nil
  end
  return rec
end

local function corrupt()
  return redis.error_reply('CORRUPT the phone record at ' .. key .. ' cannot be read')
end

local function max(a, b)
  if a > b then return a end
  return b
end

-- `Timestamp::until`: how long from `now` until `later`, or zero when it has passed.
local function until_(now, later)
  return max(later - now, 0)
end

-- `Attempts::by`.
local function attempts_by(attempts, client)
  for _, entry in ipairs(attempts) do
    if entry[1] == client then return entry[2] end
  end
  return 0
end

-- `Attempts::count`.
local function attempts_count(attempts, client)
  for _, entry in ipairs(attempts) do
    if entry[1] == client then
      entry[2] = entry[2] + 1
      return entry[2]
    end
  end
  attempts[#attempts + 1] = { client, 1 }
  return 1
end

-- `ledger::forget_stale_sends`: drops the leading sends that no longer count against the window
-- or the cooldown.
local function forget_stale_sends(sends, now)
  local kept, stale = {}, true
  for _, sent in ipairs(sends) do
    if stale and now >= max(sent + R.send_window, sent + R.resend_cooldown) then
      -- still in the stale prefix
    else
      stale = false
      kept[#kept + 1] = sent
    end
  end
  return kept
end

-- `ledger::send_refusal`: the cap within the window, then the cooldown; nil when a send is allowed.
local function send_refusal(sends, now)
  local cap = R.max_sends
  if #sends >= cap then
    local oldest = sends[#sends - cap + 1] or now
    return { 'cap', until_(now, oldest + R.send_window) }
  end
  local last = sends[#sends]
  if last then
    local until_at = last + R.resend_cooldown
    if now < until_at then
      return { 'cooldown', until_(now, until_at) }
    end
  end
  return nil
end

-- `PhoneLedger::forget_stale`.
local function ledger_forget_stale(rec, now)
  rec.sends = forget_stale_sends(rec.sends, now)
  if rec.fa and now >= rec.fa + R.lockout_max then
    rec.f = 0
    rec.fa = nil
  end
end

-- `StandIns::forget_stale`.
local function stand_ins_forget_stale(si, now)
  for _, pair in ipairs(si.pairs) do
    pair.s = forget_stale_sends(pair.s, now)
  end
  if si.fa and now >= si.fa + R.lockout_max then
    si.f = 0
    si.fa = nil
  end
end

-- `OtpRules::lockout_after`: nil below the threshold, else the base doubled per failure beyond
-- it, at most the maximum.
local function lockout_after(failures)
  if failures < R.lockout_threshold then return nil end
  local beyond = failures - R.lockout_threshold
  if beyond > 31 then beyond = 31 end
  local lockout = R.lockout_base * (2 ^ beyond)
  if lockout > R.lockout_max then lockout = R.lockout_max end
  return lockout
end

-- `PhoneRecords::failures`.
local function failures(rec)
  return rec.f + rec.si.f
end

-- `PhoneRecords::locked_for`: how long the phone stays locked out, or nil.
local function locked_for(rec, now)
  local lockout = lockout_after(failures(rec))
  if not lockout then return nil end
  local last = rec.fa
  if rec.si.fa and (not last or rec.si.fa > last) then last = rec.si.fa end
  if not last then return nil end
  local until_at = last + lockout
  if now < until_at then return until_(now, until_at) end
  return nil
end

-- `PhoneRecords::forget_failures`.
local function forget_failures(rec)
  rec.f = 0
  rec.fa = nil
  rec.si.f = 0
  rec.si.fa = nil
end

-- `PhoneRecords::guessable_code`: the real code if live and `client` has attempts left on it.
local function guessable_code(rec, client, now)
  local code = rec.code
  if code and now < code.e and attempts_by(code.a, client) < R.max_attempts then
    return code
  end
  return nil
end

-- `StandIns::newest_issued`.
local function stand_ins_newest_issued(si)
  local newest = nil
  for _, pair in ipairs(si.pairs) do
    if pair.c and (not newest or pair.c.i > newest) then newest = pair.c.i end
  end
  return newest
end

-- `StandIns::newest_code` (`max_by_key` keeps the last of equals).
local function stand_ins_newest_code(si)
  local newest = nil
  for _, pair in ipairs(si.pairs) do
    if pair.c and (not newest or pair.c.i >= newest.i) then newest = pair.c end
  end
  return newest
end

-- `PhoneRecords::wrong_guess`: answers a guess that proved nothing by the phone's newest code,
-- real or stand-in, and counts it there. Returns { 'nocode' }, { 'expired' }, { 'exhausted' }
-- or { 'mismatch', attempts_left, consecutive_failures }.
local function wrong_guess(rec, client, compared, now)
  local real_issued = rec.code and rec.code.i
  local stand_in_issued = stand_ins_newest_issued(rec.si)
  local on_real
  if not real_issued and not stand_in_issued then
    return { 'nocode' }
  elseif real_issued and stand_in_issued then
    on_real = real_issued >= stand_in_issued
  else
    on_real = real_issued ~= nil
  end
  if compared and not on_real and rec.code then
    attempts_count(rec.code.a, client)
  end
  local code
  if on_real then code = rec.code else code = stand_ins_newest_code(rec.si) end
  if not code then return { 'nocode' } end
  if now >= code.e then return { 'expired' } end
  local attempts_left = nil
  if attempts_by(code.a, client) < R.max_attempts then
    attempts_left = max(R.max_attempts - attempts_count(code.a, client), 0)
  end
  if on_real or compared then
    rec.f = rec.f + 1
    rec.fa = now
  else
    rec.si.f = rec.si.f + 1
    rec.si.fa = now
  end
  if not attempts_left then return { 'exhausted' } end
  return { 'mismatch', attempts_left, failures(rec) }
end

-- `PhoneLedger::is_empty` and `StandIns::is_empty` together: nothing left that limits or
-- answers anything, so the key goes.
local function is_empty(rec)
  return rec.code == nil and #rec.sends == 0 and rec.f == 0
    and #rec.si.pairs == 0 and rec.si.f == 0
end

-- The last instant anything in the records limits or answers anything: a code's expiry, each
-- send's window and cooldown, the failures' `lockout_max` after the last one. (No Rust mirror:
-- it is the key's Redis lifetime.)
local function limits_until(rec)
  local last = 0
  local function code_until(code)
    if code and code.e > last then last = code.e end
  end
  local function sends_until(sends)
    for _, sent in ipairs(sends) do
      last = max(last, max(sent + R.send_window, sent + R.resend_cooldown))
    end
  end
  local function failures_until(f, fa)
    if f > 0 and fa then last = max(last, fa + R.lockout_max) end
  end
  code_until(rec.code)
  sends_until(rec.sends)
  failures_until(rec.f, rec.fa)
  for _, pair in ipairs(rec.si.pairs) do
    code_until(pair.c)
    sends_until(pair.s)
  end
  failures_until(rec.si.f, rec.si.fa)
  return last
end

-- Keeps the records with an expiry at the last instant they limit anything (plus a margin),
-- relative to the caller's `now`; deletes the key when they are empty.
local function save(rec, now)
  if is_empty(rec) then
    redis.call('DEL', key)
    return
  end
  local ttl = until_(now, limits_until(rec)) + MARGIN_MS
  redis.call('SET', key, cjson.encode(rec), 'PX', string.format('%.0f', ttl))
end
