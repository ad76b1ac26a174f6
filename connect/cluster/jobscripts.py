"""The job engine's Lua scripts (jobdb.py explains the keys they work on).

Each runs atomically in Redis, so its checks and its writes cannot interleave with another instance's.
``ARGV`` values arrive as strings; ``KEYS`` and ``ARGV`` of each are listed above it.
"""

# KEYS: job, index, stream, events, in flight. ARGV: id, rec, created, queued data, client, max per client, max in flight,
# workflow (on the stream entry too, so the queue's statistics count waiting jobs per workflow without reading records)
ENQUEUE = """
local mine = tonumber(redis.call('HGET', KEYS[5], ARGV[5]) or '0')
local total = tonumber(redis.call('HGET', KEYS[5], '*') or '0')
if mine >= tonumber(ARGV[6]) then return {'client', mine} end
if total >= tonumber(ARGV[7]) then return {'queue', total} end
redis.call('HINCRBY', KEYS[5], ARGV[5], 1)
redis.call('HINCRBY', KEYS[5], '*', 1)
redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'status', 'queued', 'attempt', 0, 'owner', '', 'seq', 1, 'client', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('XADD', KEYS[4], '*', 'seq', 1, 'name', 'queued', 'data', ARGV[4])
redis.call('XADD', KEYS[3], '*', 'job', ARGV[1], 'workflow', ARGV[8] or '')
return {'ok', total + 1}
"""

# The end of a job gives its client's run back (once: the field goes). KEYS[1]: job; `inflight`: the hash.
_GIVE_BACK = """
local function give_back(inflight)
  local client = redis.call('HGET', KEYS[1], 'client')
  if client then
    redis.call('HDEL', KEYS[1], 'client')
    if tonumber(redis.call('HINCRBY', inflight, client, -1)) <= 0 then redis.call('HDEL', inflight, client) end
    redis.call('HINCRBY', inflight, '*', -1)
  end
end
"""

# KEYS: job, stream. ARGV: group, entry id, me, max attempts
TAKE = """
local function settled()  -- acked and deleted: the stream holds only jobs not ended
  redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[2], ARGV[2])
end
if redis.call('EXISTS', KEYS[1]) == 0 then settled() return {'gone'} end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then
  settled() return {'done'}
end
local attempt = tonumber(redis.call('HGET', KEYS[1], 'attempt'))
local previous = redis.call('HGET', KEYS[1], 'owner')
local history = cjson.decode(redis.call('HGET', KEYS[1], 'history') or '[]')
if attempt > 0 then
  table.insert(history, {attempt = attempt, instance = previous, reason = 'lease_expired'})
  redis.call('HSET', KEYS[1], 'history', cjson.encode(history))
end
redis.call('HSET', KEYS[1], 'owner', ARGV[3])
local verdict = 'run'
if attempt >= tonumber(ARGV[4]) then verdict = 'dead' else attempt = attempt + 1 end
redis.call('HSET', KEYS[1], 'attempt', attempt)
return {verdict, attempt, redis.call('HGET', KEYS[1], 'rec'), redis.call('HGET', KEYS[1], 'history') or '[]',
        redis.call('HGET', KEYS[1], 'cancel') or ''}
"""

_FENCE = """
local function mine()
  return redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HGET', KEYS[1], 'attempt') == ARGV[2]
end
local function ended()
  local s = redis.call('HGET', KEYS[1], 'status')
  return s == 'succeeded' or s == 'failed' or s == 'cancelled'
end
"""

# KEYS: job, stream. ARGV: me, attempt, group, entry id
RENEW = (
    _FENCE
    + """
if not mine() or ended() then return 0 end
redis.call('XCLAIM', KEYS[2], ARGV[3], ARGV[1], 0, ARGV[4], 'JUSTID')
return 1
"""
)

# KEYS: job, events. ARGV: me, attempt, name, data, progress ('' keeps it)
EVENT = (
    _FENCE
    + """
if not mine() or ended() then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
-- at most about 5000 kept, as on one machine (run/events.py): a long run of progress steps does not grow it forever
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 5000, '*', 'seq', seq, 'name', ARGV[3], 'data', ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[5]) end
return seq
"""
)

# KEYS: job. ARGV: me, attempt, rec, status, "after" (the committer's own updates once ended: its webhook's state)
UPDATE = (
    _FENCE
    + """
if not mine() or (ended() and ARGV[5] ~= 'after') then return 0 end
redis.call('HSET', KEYS[1], 'rec', ARGV[3], 'status', ARGV[4])
return 1
"""
)

# KEYS: job, events, stream, index, in flight. ARGV: me, attempt, rec, status, final data, group, entry id, ttl, job id
COMMIT = (
    _FENCE
    + _GIVE_BACK
    + """
if not mine() or ended() then return 0 end
give_back(KEYS[5])
redis.call('HSET', KEYS[1], 'rec', ARGV[3], 'status', ARGV[4])
redis.call('HDEL', KEYS[1], 'progress')
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], '*', 'seq', seq, 'name', ARGV[4], 'data', ARGV[5])
if ARGV[7] ~= '' then
  redis.call('XACK', KEYS[3], ARGV[6], ARGV[7])
  redis.call('XDEL', KEYS[3], ARGV[7])
end
local ttl = tonumber(ARGV[8])
if redis.call('HGET', KEYS[1], 'deleted') == '1' then
  ttl = 60
  redis.call('ZREM', KEYS[4], ARGV[9])
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return 1
"""
)

# KEYS: job, events, in flight. ARGV: reason, cancelled record, final data, ttl
CANCEL = (
    _GIVE_BACK
    + """
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return 'gone' end
if s == 'succeeded' or s == 'failed' or s == 'cancelled' then return 'ended' end
if redis.call('HGET', KEYS[1], 'owner') == '' then
  give_back(KEYS[3])
  redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'status', 'cancelled', 'cancel', ARGV[1])
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('XADD', KEYS[2], '*', 'seq', seq, 'name', 'cancelled', 'data', ARGV[3])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
  return 'cancelled'
end
if not redis.call('HGET', KEYS[1], 'cancel') then redis.call('HSET', KEYS[1], 'cancel', ARGV[1]) end
return 'asked'
"""
)

# A worker that cannot run a job (it lacks a node class or model file: cluster/fitness.py) hands it back
# instead of failing it: the refusal is recorded once per instance in ``refused`` (JSON list of
# {instance, missing}), the entry is acked and added again at the stream's end for another worker, and
# ``attempt`` is not touched. Once every live worker has refused it, it is this worker's to fail
# (owner=me, attempt+1: the fenced COMMIT of the end follows). A job gone or ended is acked.
# KEYS: job, stream. ARGV: group, entry id, me, live worker ids (JSON list), what I lack (JSON list; '' if recorded), job id
REFUSE = """
local function settled()
  redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[2], ARGV[2])
end
if redis.call('EXISTS', KEYS[1]) == 0 then settled() return {'done'} end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then settled() return {'done'} end
local refused = cjson.decode(redis.call('HGET', KEYS[1], 'refused') or '[]')
local by = {}
for _, r in ipairs(refused) do by[r.instance] = true end
if not by[ARGV[3]] and ARGV[5] ~= '' then
  table.insert(refused, {instance = ARGV[3], missing = cjson.decode(ARGV[5])})
  by[ARGV[3]] = true
  redis.call('HSET', KEYS[1], 'refused', cjson.encode(refused))
end
local everyone = true
for _, w in ipairs(cjson.decode(ARGV[4])) do
  if not by[w] then everyone = false end
end
if everyone and by[ARGV[3]] then
  local attempt = tonumber(redis.call('HGET', KEYS[1], 'attempt')) + 1
  redis.call('HSET', KEYS[1], 'owner', ARGV[3], 'attempt', attempt)
  return {'fail', attempt, redis.call('HGET', KEYS[1], 'rec'), redis.call('HGET', KEYS[1], 'refused')}
end
settled()
redis.call('XADD', KEYS[2], '*', 'job', ARGV[6])
return {'handed'}
"""
