namespace DistillGuard.Usage;

/// <summary>One inference request as the gateway saw it: who, when, what was asked, what it cost.</summary>
public sealed record UsageEvent
{
    /// <summary>Request id (also returned to the client as the completion id), unique per request.</summary>
    public required string RequestId { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public string? AccountId { get; init; }
    public string? KeyId { get; init; }
    public string? ClientAddress { get; init; }
    public string? UserAgent { get; init; }
    /// <summary>
    /// "chat.completions", "completions", "count_tokens" or "models": the endpoint the request was served as. A Messages
    /// or Responses request is served as "chat.completions", so detection reads it as the same kind of request.
    /// </summary>
    public required string Endpoint { get; init; }

    /// <summary>The API the request came by: "chat.completions", "completions", "responses", "messages" or "models".</summary>
    public string? Api { get; init; }
    public string? Model { get; init; }
    public bool Stream { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? MaxTokens { get; init; }
    public int N { get; init; } = 1;
    public bool Logprobs { get; init; }
    public int? TopLogprobs { get; init; }

    /// <summary>The prompt was echoed back (completions <c>echo</c>); with logprobs it returns the prompt's log-probabilities too.</summary>
    public bool Echo { get; init; }
    public long? Seed { get; init; }
    public int StopCount { get; init; }
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    public double LatencyMs { get; init; }
    public double? TimeToFirstTokenMs { get; init; }
    /// <summary>HTTP status returned to the client.</summary>
    public int Status { get; init; }
    /// <summary>OpenAI-style error code when <see cref="Status"/> is not 2xx.</summary>
    public string? ErrorCode { get; init; }
    public string? FinishReason { get; init; }
    /// <summary>The prompt text; kept only for the configured retention, then purged.</summary>
    public string? PromptText { get; init; }

    /// <summary>
    /// True when the gateway's own policy refused the request before the model saw it (verification asked, account
    /// suspended): the defence's answer, not the client's behaviour, so detection does not read it as a short answer.
    /// </summary>
    public bool RefusedByPolicy => Status == 403 && ErrorCode is PolicyRefusals.VerificationRequired or PolicyRefusals.AccountSuspended;
}

/// <summary>The error codes of the responses the policy ladder refuses with.</summary>
public static class PolicyRefusals
{
    /// <summary>Friction band: identity verification asked before more requests are served.</summary>
    public const string VerificationRequired = "verification_required";

    /// <summary>Suspended after review.</summary>
    public const string AccountSuspended = "account_suspended";
}
