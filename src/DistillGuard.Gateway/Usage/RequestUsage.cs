using DistillGuard.Storage.Accounts;

namespace DistillGuard.Gateway.Usage;

/// <summary>What one inference request did, filled in as it runs and written to the usage log when it ends.</summary>
/// <remarks>Owned by one request; not thread-safe.</remarks>
internal sealed class RequestUsage
{
    public required string RequestId { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required long StartTimestamp { get; init; }
    public required string Endpoint { get; init; }

    /// <summary>The API the request came by (see <see cref="DistillGuard.Usage.UsageEvent.Api"/>).</summary>
    public required string Api { get; init; }
    public AuthenticatedAccount? Caller { get; set; }
    public string? Model { get; set; }

    /// <summary>The model as a metric label: set only once a backend serves it, so unknown names never become a series.</summary>
    public string? ServedModel { get; set; }

    /// <summary>True once the whole answer was written (last byte, or [DONE]): a disconnect after it is not an abort.</summary>
    public bool Completed { get; set; }

    /// <summary>True when the upstream reported the token counts itself; otherwise they are the gateway's estimate.</summary>
    public bool UsageReported { get; set; }
    public bool Stream { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public int? MaxTokens { get; set; }
    public int N { get; set; } = 1;
    public bool Logprobs { get; set; }
    public int? TopLogprobs { get; set; }
    public bool Echo { get; set; }
    public long? Seed { get; set; }
    public int StopCount { get; set; }
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }
    public double? TimeToFirstTokenMs { get; set; }
    public string? FinishReason { get; set; }
    public string? PromptText { get; set; }

    /// <summary>Set when a stream fails after its 200 status was sent: the status the failure maps to.</summary>
    public int? StatusOverride { get; set; }

    public string? ErrorCode { get; set; }

    /// <summary>The response-ladder decision in force for the caller when the request arrived.</summary>
    public DistillGuard.Policy.Ladder.PolicyDecision? Decision { get; set; }

    /// <summary>Content chunks relayed from an upstream stream so far: the token estimate until its usage arrives.</summary>
    public int StreamedChunks { get; set; }

    /// <summary>Debits tokens from the caller's rate limits as they flow; null when the caller is not limited.</summary>
    public Action<long>? TokenMeter { get; set; }

    /// <summary>Gives back what admission reserved (tokens not used, the in-flight lease) once the request ended; called once.</summary>
    public Action<RequestUsage>? Settlement { get; set; }

    /// <summary>Tokens the request used so far: the prompt, then the completion (or the chunks relayed, if more).</summary>
    public long TokensCounted => (long)PromptTokens + Math.Max(CompletionTokens, StreamedChunks);

    private long _metered;

    /// <summary>Runs <see cref="Settlement"/>, if any, once.</summary>
    public void Settle()
    {
        var settlement = Settlement;
        Settlement = null;
        settlement?.Invoke(this);
    }

    /// <summary>Passes the tokens counted since the last call to <see cref="TokenMeter"/> (prompt, then completion as it streams).</summary>
    public void FlushTokenMeter()
    {
        if (TokenMeter is null)
        {
            return;
        }

        var counted = TokensCounted;
        if (counted > _metered)
        {
            TokenMeter(counted - _metered);
            _metered = counted;
        }
    }
}
