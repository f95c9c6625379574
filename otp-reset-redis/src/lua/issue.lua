
-- `PhoneRecords::issue`. ARGV: 1-8 rules, 9 now, 10 otp id, 11 digest hex, 12 user id ('' for a
-- stand-in), 13 pair key hex, 14 lang code.
-- Returns { 'issued' } or { 'cooldown' | 'cap' | 'locked', retry_after_ms }.
read_rules(1)
local now = tonumber(ARGV[9])
local rec = load()
if not rec then return corrupt() end

local MAX_PAIRS = tonumber(ARGV[15])

-- `StandIns::least_recently_issued` (`min_by_key` keeps the first of equals; no send is
-- earlier than any).
local function least_recently_issued(si)
  local oldest_index, oldest = nil, nil
  for index, pair in ipairs(si.pairs) do
    local last = pair.s[#pair.s] or -1
    if not oldest or last < oldest then
      oldest_index, oldest = index, last
    end
  end
  return oldest_index
end

-- `StandIns::issue`.
local function stand_ins_issue(si, pair_key, record)
  local index = nil
  for i, kept in ipairs(si.pairs) do
    if kept.p == pair_key then index = i break end
  end
  if not index then
    if #si.pairs >= MAX_PAIRS then
      local oldest = least_recently_issued(si)
      if oldest then table.remove(si.pairs, oldest) end
    end
    si.pairs[#si.pairs + 1] = { p = pair_key, s = {} }
    index = #si.pairs
  end
  local stand_in = si.pairs[index]
  local refusal = send_refusal(stand_in.s, now)
  if refusal then return refusal end
  stand_in.s[#stand_in.s + 1] = now
  stand_in.c = record
  return { 'issued' }
end

ledger_forget_stale(rec, now)
stand_ins_forget_stale(rec.si, now)
local answer
local locked = locked_for(rec, now)
if locked then
  answer = { 'locked', locked }
else
  local record = {
    id = ARGV[10], d = ARGV[11], l = ARGV[14],
    i = now, e = now + R.code_ttl, a = {}, v = false,
  }
  if ARGV[12] ~= '' then record.u = ARGV[12] end
  if not record.u then
    answer = stand_ins_issue(rec.si, ARGV[13], record)
  else
    answer = send_refusal(rec.sends, now)
    if not answer then
      rec.sends[#rec.sends + 1] = now
      rec.code = record
      answer = { 'issued' }
    end
  end
end
save(rec, now)
return answer
