using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Lab.Simulation;

/// <summary>One simulated request as the gateway would record it, with its ground-truth labels.</summary>
/// <param name="Event">The usage event exactly as the gateway's usage log would hold it.</param>
/// <param name="Archetype">The archetype name (one of <see cref="TrafficSimulator.Archetypes"/>).</param>
/// <param name="IsAttacker">True when this request is distillation or extraction traffic.</param>
/// <param name="CampaignId">The campaign (operator) the account belongs to, or null for independent accounts.</param>
/// <param name="Authorised">True for distillation-like traffic the provider has licensed.</param>
/// <remarks>
/// For a reseller account <see cref="IsAttacker"/> is per request (its real customers' requests are false), while
/// <see cref="Account"/>'s <see cref="SimulatedAccount.IsAttacker"/> is the account-level label.
/// </remarks>
public sealed record LabelledEvent(UsageEvent Event, string Archetype, bool IsAttacker, string? CampaignId, bool Authorised)
{
    /// <summary>The account's stable attributes (the same instance for every event of one account when generated).</summary>
    public SimulatedAccount? Account { get; init; }

    /// <summary>The chat messages sent, in order, so the request can be replayed; the usage event's prompt text joins their contents with '\n'.</summary>
    public IReadOnlyList<ChatTurn>? Messages { get; init; }

    /// <summary>The stop sequences sent (the usage event keeps only their count).</summary>
    public IReadOnlyList<string>? Stop { get; init; }

    /// <summary>Session (conversation) id within the account; turns of one session share it.</summary>
    public string? SessionId { get; init; }
}

/// <summary>One chat message of a simulated request.</summary>
/// <param name="Role">"system", "user" or "assistant".</param>
/// <param name="Content">The message text.</param>
public sealed record ChatTurn(string Role, string Content);
