namespace DistillGuard.Lab.Simulation;

/// <summary>What an archetype decided to send at one instant; the engine turns it into a recorded usage event.</summary>
internal sealed record PlannedRequest
{
    public required DateTimeOffset Timestamp { get; init; }
    public required IReadOnlyList<ChatTurn> Messages { get; init; }
    /// <summary>Tokens the answer would run to if nothing capped it (per choice).</summary>
    public required int AnswerTokens { get; init; }
    public int? MaxTokens { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int N { get; init; } = 1;
    public bool Logprobs { get; init; }
    public int? TopLogprobs { get; init; }
    public long? Seed { get; init; }
    public IReadOnlyList<string>? Stop { get; init; }
    public bool Stream { get; init; }
    public string? SessionId { get; init; }
    /// <summary>Per-request label; null takes the account's.</summary>
    public bool? IsAttacker { get; init; }
    /// <summary>The model asked for; null takes the scenario's.</summary>
    public string? Model { get; init; }
}
