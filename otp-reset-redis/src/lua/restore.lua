
-- `PhoneLedger::restore`. ARGV: 1 now, 2 the code's JSON as `consume` returned it, 3 margin.
-- Returns 1 when put back, 0 otherwise. Takes no rules: the key keeps the expiry the last step
-- gave it, made long enough for the code.
local now = tonumber(ARGV[1])
local ok, record = pcall(cjson.decode, ARGV[2])
if not ok or type(record) ~= 'table' or type(record.e) ~= 'number' then
  return redis.error_reply('CORRUPT the code to restore cannot be read')
end
local rec = load()
if not rec then return corrupt() end

local has_live_code = rec.code and now < rec.code.e
if has_live_code or now >= record.e then return 0 end
rec.code = record
local ttl = until_(now, record.e) + MARGIN_MS
local kept = redis.call('PTTL', key)
if kept > ttl then ttl = kept end
redis.call('SET', key, cjson.encode(rec), 'PX', string.format('%.0f', ttl))
return 1
