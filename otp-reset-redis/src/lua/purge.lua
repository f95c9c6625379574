
-- `PhoneLedger::purge` and `StandIns::purge` on one phone. ARGV: 1-8 rules, 9 now.
-- Returns how many codes went.
read_rules(1)
local now = tonumber(ARGV[9])
if redis.call('TYPE', key).ok ~= 'string' then return 0 end
local rec = load()
if not rec then return corrupt() end

local purged = 0
-- `PhoneLedger::purge`
ledger_forget_stale(rec, now)
if rec.code and now >= rec.code.e then
  rec.code = nil
  purged = purged + 1
end
-- `StandIns::purge`
stand_ins_forget_stale(rec.si, now)
local kept = {}
for _, pair in ipairs(rec.si.pairs) do
  if pair.c and now >= pair.c.e then
    pair.c = nil
    purged = purged + 1
  end
  if pair.c or #pair.s > 0 then kept[#kept + 1] = pair end
end
rec.si.pairs = kept
save(rec, now)
return purged
