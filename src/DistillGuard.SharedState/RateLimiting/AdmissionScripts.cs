namespace DistillGuard.SharedState.RateLimiting;

/// <summary>
/// The Lua scripts that keep a key's four token buckets and its in-flight leases on a Redis-protocol server, so that
/// every check and its debit happen in one step no other gateway can interleave with.
/// </summary>
/// <remarks>
/// The arithmetic is <see cref="DistillGuard.Policy.RateLimiting.TokenBucketRateLimiter"/>'s: a bucket of capacity C
/// refills continuously at C per window, starts full, and is stored as a level and the time it was last seen. Both
/// keys a script touches carry the same hash tag, so the scripts also run on a cluster. Times are the callers'
/// clocks in Unix milliseconds; a clock behind the stored time refills nothing rather than draining.
/// KEYS[1] is the bucket hash, KEYS[2] the lease sorted set (member: lease id, score: expiry). ARGV[1] is now,
/// ARGV[2..5] the capacities of requests/minute, tokens/minute, requests/day, tokens/day (-1 for no limit).
/// </remarks>
internal static class AdmissionScripts
{
    // Reads the buckets, refills them to now, and defines save() to write them back. Idle buckets vanish after a day
    // and a minute (86,460,000 ms): by then every one of them is full again.
    private const string Prelude = """
        local now = tonumber(ARGV[1])
        local caps = { tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]) }
        local windows = { 60000, 60000, 86400000, 86400000 }
        local fields = { 'rm', 'tm', 'rd', 'td' }
        local stored = redis.call('HMGET', KEYS[1], 'rm', 'tm', 'rd', 'td', 't')
        local last = tonumber(stored[5])
        local elapsed = 0
        if last ~= nil and now > last then elapsed = now - last end
        if last == nil or now > last then last = now end
        local levels = {}
        for i = 1, 4 do
          local cap = caps[i]
          if cap >= 0 then
            local level = tonumber(stored[i])
            if level == nil then
              levels[i] = cap
            else
              levels[i] = math.min(cap, level + cap * elapsed / windows[i])
            end
          end
        end
        local function save()
          for i = 1, 4 do
            if caps[i] >= 0 then
              redis.call('HSET', KEYS[1], fields[i], string.format('%.17g', levels[i]))
            else
              redis.call('HDEL', KEYS[1], fields[i])
            end
          end
          redis.call('HSET', KEYS[1], 't', string.format('%d', last))
          redis.call('PEXPIRE', KEYS[1], 86460000)
        end

        """;

    /// <summary>
    /// Admits one request or refuses it unchanged. ARGV[6] requests to count, ARGV[7] tokens to reserve, ARGV[8] the
    /// lease id ('' for none), ARGV[9] the most leases, ARGV[10] the lease's lifetime in ms. Returns admitted (1/0), the
    /// refusing limit (RateLimitKind), retry-after ms, then limit, remaining and reset ms for requests and for tokens.
    /// </summary>
    internal const string Admit = Prelude + """
        local requests = tonumber(ARGV[6])
        local tokens = tonumber(ARGV[7])
        local refusal = 0
        local retry = 0
        local function check(i, need, kind)
          local cap = caps[i]
          if cap < 0 or levels[i] >= need then return end
          local wait = math.ceil((math.max(need, 1e-9) - levels[i]) / cap * windows[i])
          if wait > retry then
            retry = wait
            refusal = kind
          end
        end
        if requests > 0 then
          check(1, requests, 1)
          check(3, requests, 3)
        end
        local need = math.max(tokens, 1e-300)
        check(2, math.min(need, caps[2]), 2)
        check(4, math.min(need, caps[4]), 4)
        local lease = ARGV[8]
        if refusal == 0 and lease ~= '' then
          redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
          if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[9]) then
            refusal = 5
            retry = 1000
          end
        end
        if refusal == 0 then
          for i = 1, 4 do
            if caps[i] >= 0 then
              if i == 1 or i == 3 then levels[i] = levels[i] - requests else levels[i] = levels[i] - tokens end
            end
          end
          if lease ~= '' then
            local expiry = tonumber(ARGV[10])
            redis.call('ZADD', KEYS[2], now + expiry, lease)
            if redis.call('PTTL', KEYS[2]) < expiry then redis.call('PEXPIRE', KEYS[2], expiry) end
          end
        end
        save()
        local function status(a, b)
          local best = nil
          for _, i in ipairs({ a, b }) do
            if caps[i] >= 0 then
              local remaining = math.max(0, math.floor(levels[i]))
              if best == nil or remaining < best[2] then
                best = { caps[i], remaining, math.ceil(math.max(0, caps[i] - levels[i]) / caps[i] * windows[i]) }
              end
            end
          end
          return best or { 0, 0, 0 }
        end
        local r = status(1, 3)
        local t = status(2, 4)
        local admitted = 0
        if refusal == 0 then admitted = 1 end
        return { admitted, refusal, retry, r[1], r[2], r[3], t[1], t[2], t[3] }
        """;

    /// <summary>
    /// Settles a request (or meters tokens as they flow): ARGV[6] tokens to debit (negative refunds), ARGV[7] the lease
    /// id to give back ('' for none). A refund is capped at the capacity like any refill.
    /// </summary>
    internal const string Settle = Prelude + """
        if ARGV[7] ~= '' then redis.call('ZREM', KEYS[2], ARGV[7]) end
        local debit = tonumber(ARGV[6])
        if debit ~= 0 and (caps[2] >= 0 or caps[4] >= 0) then
          for _, i in ipairs({ 2, 4 }) do
            if caps[i] >= 0 then levels[i] = math.min(caps[i], levels[i] - debit) end
          end
          save()
        end
        return 0
        """;

    /// <summary>Counts a key's unexpired leases. ARGV[1] is now.</summary>
    internal const string InFlight = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]))
        return redis.call('ZCARD', KEYS[1])
        """;
}
