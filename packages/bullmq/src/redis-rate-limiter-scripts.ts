// The Lua scripts of RedisRateLimiter. Every decision is taken inside one script, on the server's clock (TIME, kept
// from going back: see `expire`), so workers on machines whose clocks disagree still share one window. Times are integer microseconds.
//
// KEYS[1] grants: sorted set, member = grant id, score = when it was granted
// KEYS[2] tokens: hash, grant id → tokens it counts
// KEYS[3] state:  hash, `tokens` (sum of KEYS[2]), `coolDownUntil`, `seq` (last grant id), `offset` (see `expire`)

/**
 * Shared prologue: the limiter's time, and the grants that left the window dropped. The limiter's clock is the server's
 * plus `offset` (in KEYS[3]), and never goes back: a server clock set back (by NTP, or by hand) would leave the grants
 * stamped before it in the future, counted until the clock caught up with them — every process stalled that long. It
 * carries on from the newest grant instead, at the pace of the server's clock.
 */
const expire = `
local time = redis.call('TIME')
local offset = tonumber(redis.call('HGET', KEYS[3], 'offset') or '0')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2]) + offset
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #newest > 0 and tonumber(newest[2]) > now then
  redis.call('HSET', KEYS[3], 'offset', offset + tonumber(newest[2]) - now)
  now = tonumber(newest[2])
end
local window = tonumber(ARGV[1])
local horizon = now - window
while true do
  local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', horizon, 'LIMIT', 0, 500)
  if #old == 0 then break end
  local amounts = redis.call('HMGET', KEYS[2], unpack(old))
  local freed = 0
  for i = 1, #amounts do freed = freed + (tonumber(amounts[i]) or 0) end
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('HDEL', KEYS[2], unpack(old))
  redis.call('HINCRBYFLOAT', KEYS[3], 'tokens', -freed)
end
local count = redis.call('ZCARD', KEYS[1])
local sum = tonumber(redis.call('HGET', KEYS[3], 'tokens') or '0')
if count == 0 and sum ~= 0 then
  -- Settled figures can leave rounding dust; an empty window holds exactly nothing.
  sum = 0
  redis.call('HSET', KEYS[3], 'tokens', 0)
end
local coolDownLeft = tonumber(redis.call('HGET', KEYS[3], 'coolDownUntil') or '0') - now
`

/** Keeps the limiter's keys as long as anything in them can matter. */
const keepAlive = `
local ttl = tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
`

/**
 * ARGV: window µs, keys' ttl ms, tokens, requests per window (0: none), tokens per window (0: none).
 * Returns `{1, grant id, granted at}` or `{0, µs to wait}`.
 */
export const acquireScript = `${expire}
local tokens = tonumber(ARGV[3])
local requestLimit = tonumber(ARGV[4])
local tokenLimit = tonumber(ARGV[5])
local wait = coolDownLeft
if requestLimit > 0 and count + 1 > requestLimit then
  -- The window holds requestLimit grants or more: the one whose leaving makes room.
  local entry = redis.call('ZRANGE', KEYS[1], count - requestLimit, count - requestLimit, 'WITHSCORES')
  wait = math.max(wait, tonumber(entry[2]) + window - now)
end
if tokenLimit > 0 and sum + tokens > tokenLimit then
  local freed = 0
  local start = 0
  local found = false
  while not found do
    local page = redis.call('ZRANGE', KEYS[1], start, start + 199, 'WITHSCORES')
    if #page == 0 then break end
    local ids = {}
    for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
    local amounts = redis.call('HMGET', KEYS[2], unpack(ids))
    for i = 1, #ids do
      freed = freed + (tonumber(amounts[i]) or 0)
      if sum - freed + tokens <= tokenLimit then
        wait = math.max(wait, tonumber(page[2 * i]) + window - now)
        found = true
        break
      end
    end
    start = start + 200
  end
  if not found and #newest > 0 then
    -- The running sum is kept by HINCRBYFLOAT, the walk adds in Lua: with fractional tokens the sum can stay a rounding
    -- step above all of its parts, and no leaving seems to make room. The window is full until its newest grant leaves,
    -- when it holds exactly nothing (never a grant on top of a full window, as not waiting at all would give).
    wait = math.max(wait, tonumber(newest[2]) + window - now)
  end
end
if wait > 0 then return {0, wait} end
local id = redis.call('HINCRBY', KEYS[3], 'seq', 1)
redis.call('ZADD', KEYS[1], now, id)
redis.call('HSET', KEYS[2], id, tokens)
redis.call('HINCRBYFLOAT', KEYS[3], 'tokens', tokens)
${keepAlive}
return {1, id, now}
`

/** ARGV: window µs, keys' ttl ms, grant id, granted at, tokens. Replaces a live grant's tokens. */
export const settleScript = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not score or tonumber(score) ~= tonumber(ARGV[4]) then return 0 end
local previous = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
redis.call('HSET', KEYS[2], ARGV[3], ARGV[5])
redis.call('HINCRBYFLOAT', KEYS[3], 'tokens', tonumber(ARGV[5]) - previous)
return 1
`

/** ARGV: window µs, keys' ttl ms, grant id, granted at. Takes back a grant that was never used (its waiter left). */
export const releaseScript = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not score or tonumber(score) ~= tonumber(ARGV[4]) then return 0 end
local previous = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
redis.call('ZREM', KEYS[1], ARGV[3])
redis.call('HDEL', KEYS[2], ARGV[3])
redis.call('HINCRBYFLOAT', KEYS[3], 'tokens', -previous)
return 1
`

/** ARGV: window µs, keys' ttl ms, cool-down µs. Extends the shared cool-down to now + the given time. */
export const coolDownScript = `${expire}
local untilTime = now + tonumber(ARGV[3])
if untilTime > now + coolDownLeft then
  redis.call('HSET', KEYS[3], 'coolDownUntil', untilTime)
  ${keepAlive}
end
return 1
`

/** ARGV: window µs. Returns `{requests, tokens (string), cool-down µs left}` in the current window. */
export const statusScript = `${expire}
return {count, tostring(sum), math.max(0, coolDownLeft)}
`
