-- Applies one batch of item changes and records the partition's progress, atomically.
-- KEYS[1]: the group's offsets hash; KEYS[2]: the cache's versions hash (item key -> newest version);
-- KEYS[3]: the table's sweeps (entity -> version below which a re-snapshot found no item);
-- KEYS[4..n]: item hashes (all in one hash slot: {table}).
-- ARGV[1]: offsets field (topic:partition; empty: store no progress), ARGV[2]: next offset, ARGV[3]: TTL in ms (0 = none),
-- then four values per item: version, op ("set" or "del"), JSON document, entity.
-- A change is applied only when its version is newer than the item's: versions are decimal integer
-- strings of up to 77 digits, compared by length and then text (Lua numbers would lose digits).
local function newer(candidate, current)
  if not current then return true end
  if #candidate ~= #current then return #candidate > #current end
  return candidate > current
end

-- The TTL only bounds what readers see: an item's entry (document or tombstone) may expire, but its
-- version stays in the versions hash without expiry, so a replay of an older change (a dead letter,
-- a reset group) can neither resurrect a deleted item nor cache a stale document for an expired one.
-- This script writes an item's version to both places at once, so a recorded version is never below
-- the entry's own; only entries written before the versions hash existed carry theirs alone, and the
-- entry is read only when nothing is recorded (one call per item instead of two).
local function known(index)
  local recorded = redis.call('HGET', KEYS[2], KEYS[index])
  if recorded then return recorded end
  return redis.call('HGET', KEYS[index], 'v')
end

-- A change below its entity's sweep is of an item a re-snapshot did not find: it arrives late (a lagging
-- partition, a replay) and must not bring the item back. Each entity's sweep is read once per batch.
local sweeps = {}
local function swept(version, entity)
  local sweep = sweeps[entity]
  if sweep == nil then
    sweep = redis.call('HGET', KEYS[3], entity)
    sweeps[entity] = sweep
  end
  return sweep and newer(sweep, version)
end

local ttl = tonumber(ARGV[3])
local applied = 0
for index = 4, #KEYS do
  local base = 4 + (index - 4) * 4
  local version, op, doc, entity = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local current = known(index)
  if not swept(version, entity) and newer(version, current) then
    redis.call('HSET', KEYS[2], KEYS[index], version)
    -- An item never written before has no field of the other kind to remove.
    if op == 'set' then
      redis.call('HSET', KEYS[index], 'v', version, 'doc', doc)
      if current then redis.call('HDEL', KEYS[index], 'deleted') end
    else
      -- A tombstone, not a missing key: readers can tell a deleted item from one not cached.
      redis.call('HSET', KEYS[index], 'v', version, 'deleted', '1')
      if current then redis.call('HDEL', KEYS[index], 'doc') end
    end
    if ttl > 0 then redis.call('PEXPIRE', KEYS[index], ttl) end
    applied = applied + 1
  end
end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return applied
