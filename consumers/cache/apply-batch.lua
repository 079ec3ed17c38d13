-- Applies one batch of item changes and records the partition's progress, atomically.
-- KEYS[1]: the group's offsets hash; KEYS[2]: the cache's versions hash (item key -> newest version);
-- KEYS[3]: the table's sweeps (entity -> version below which a re-snapshot found no item);
-- KEYS[4..n]: item hashes (all in one hash slot: {table}).
-- ARGV[1]: offsets field (topic:partition; empty: store no progress), ARGV[2]: next offset, ARGV[3]: TTL in ms (0 = none),
-- then four values per item: version, op ("set" or "del"), JSON document, entity.
-- A change is applied only when its version is newer than the item's: versions are decimal integer
-- strings of up to 40 digits, compared by length and then text (Lua numbers would lose digits).
local function newer(candidate, current)
  if not current then return true end
  if #candidate ~= #current then return #candidate > #current end
  return candidate > current
end

-- The TTL only bounds what readers see: an item's entry (document or tombstone) may expire, but its
-- version stays in the versions hash without expiry, so a replay of an older change (a dead letter,
-- a reset group) can neither resurrect a deleted item nor cache a stale document for an expired one.
-- Entries written before the versions hash existed carry their version themselves.
local function known(index)
  local recorded = redis.call('HGET', KEYS[2], KEYS[index])
  local cached = redis.call('HGET', KEYS[index], 'v')
  if cached and newer(cached, recorded) then return cached end
  return recorded
end

-- A change below its entity's sweep is of an item a re-snapshot did not find: it arrives late (a lagging
-- partition, a replay) and must not bring the item back.
local function swept(version, entity)
  local sweep = redis.call('HGET', KEYS[3], entity)
  return sweep and newer(sweep, version)
end

local ttl = tonumber(ARGV[3])
local applied = 0
for index = 4, #KEYS do
  local base = 4 + (index - 4) * 4
  local version, op, doc, entity = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  if not swept(version, entity) and newer(version, known(index)) then
    redis.call('HSET', KEYS[2], KEYS[index], version)
    if op == 'set' then
      redis.call('HSET', KEYS[index], 'v', version, 'doc', doc)
      redis.call('HDEL', KEYS[index], 'deleted')
    else
      -- A tombstone, not a missing key: readers can tell a deleted item from one not cached.
      redis.call('HSET', KEYS[index], 'v', version, 'deleted', '1')
      redis.call('HDEL', KEYS[index], 'doc')
    end
    if ttl > 0 then redis.call('PEXPIRE', KEYS[index], ttl) end
    applied = applied + 1
  end
end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return applied
