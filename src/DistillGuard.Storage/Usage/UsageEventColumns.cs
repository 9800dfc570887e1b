namespace DistillGuard.Storage.Usage;

/// <summary>The columns of <c>usage_events</c> every store writes and reads, in the order of their ordinals.</summary>
/// <remarks>One list for SQLite and PostgreSQL: a column added here is bound, copied and read by both stores at the same index.</remarks>
internal static class UsageEventColumns
{
    public const string List = """
        request_id, ts, account_id, key_id, client_address, user_agent, endpoint, model, stream, temperature, top_p,
        max_tokens, n, logprobs, top_logprobs, seed, stop_count, prompt_tokens, completion_tokens, latency_ms, ttft_ms,
        status, error_code, finish_reason, prompt_text, echo, api
        """;

    /// <summary>Checks the fields every store requires before anything of the batch is written.</summary>
    /// <exception cref="ArgumentException">An event is null or has no request id or endpoint; names its index.</exception>
    public static void Validate(IReadOnlyList<DistillGuard.Usage.UsageEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i] ?? throw new ArgumentException($"Usage event {i} of the batch is null.", nameof(events));
            if (string.IsNullOrEmpty(e.RequestId))
            {
                throw new ArgumentException($"Usage event {i} of the batch has no RequestId.", nameof(events));
            }

            if (e.Endpoint is null)
            {
                throw new ArgumentException($"Usage event {i} ({e.RequestId}) of the batch has no Endpoint.", nameof(events));
            }
        }
    }

    /// <summary>Reads one row selected as <see cref="List"/>; <paramref name="timestamp"/> is column 1 in the store's own encoding.</summary>
    public static DistillGuard.Usage.UsageEvent Read(System.Data.Common.DbDataReader r, DateTimeOffset timestamp) => new()
    {
        RequestId = r.GetString(0),
        Timestamp = timestamp,
        AccountId = r.IsDBNull(2) ? null : r.GetString(2),
        KeyId = r.IsDBNull(3) ? null : r.GetString(3),
        ClientAddress = r.IsDBNull(4) ? null : r.GetString(4),
        UserAgent = r.IsDBNull(5) ? null : r.GetString(5),
        Endpoint = r.GetString(6),
        Model = r.IsDBNull(7) ? null : r.GetString(7),
        Stream = r.GetBoolean(8),
        Temperature = r.IsDBNull(9) ? null : r.GetDouble(9),
        TopP = r.IsDBNull(10) ? null : r.GetDouble(10),
        MaxTokens = r.IsDBNull(11) ? null : r.GetInt32(11),
        N = r.GetInt32(12),
        Logprobs = r.GetBoolean(13),
        TopLogprobs = r.IsDBNull(14) ? null : r.GetInt32(14),
        Seed = r.IsDBNull(15) ? null : r.GetInt64(15),
        StopCount = r.GetInt32(16),
        PromptTokens = r.GetInt32(17),
        CompletionTokens = r.GetInt32(18),
        LatencyMs = r.GetDouble(19),
        TimeToFirstTokenMs = r.IsDBNull(20) ? null : r.GetDouble(20),
        Status = r.GetInt32(21),
        ErrorCode = r.IsDBNull(22) ? null : r.GetString(22),
        FinishReason = r.IsDBNull(23) ? null : r.GetString(23),
        PromptText = r.IsDBNull(24) ? null : r.GetString(24),
        Echo = r.GetBoolean(25),
        Api = r.IsDBNull(26) ? null : r.GetString(26),
    };
}
