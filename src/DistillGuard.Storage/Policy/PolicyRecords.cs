namespace DistillGuard.Storage.Policy;

/// <summary>An analyst's standing decision about an account (allowlisted, suspended or cleared).</summary>
/// <param name="Band">The risk band at the time (cleared accounts stay quiet until the risk climbs above it).</param>
public sealed record AccountOverride(string AccountId, string Status, string Actor, string Reason, DateTimeOffset At, string? Band);

/// <summary>One entry of the review queue.</summary>
/// <param name="Status"><c>open</c>, <c>approved</c> (the account is suspended), <c>rejected</c> (a false positive: cleared) or <c>appealed</c> (open again).</param>
/// <param name="EvidenceJson">A snapshot of the assessment that opened the entry (reasons and figures, never prompt text).</param>
public sealed record ReviewItem(
    long Id,
    string AccountId,
    DateTimeOffset CreatedAt,
    string Band,
    double Score,
    string EvidenceJson,
    string Status,
    string? Actor = null,
    DateTimeOffset? DecidedAt = null,
    string? Reason = null);

/// <summary>One line of the append-only audit log: who did what to which account, when, why, on what evidence.</summary>
/// <param name="Actor"><c>system</c> for automatic actions, else the analyst.</param>
public sealed record AuditRecord(long Id, DateTimeOffset At, string? AccountId, string Actor, string Action, string Reason, string? EvidenceJson = null);

/// <summary>Review queue, account overrides and the audit log.</summary>
/// <remarks>Every state change is written in one transaction with its audit record, so the log never misses one.</remarks>
public interface IPolicyStore : IAsyncDisposable
{
    Task<IReadOnlyList<AccountOverride>> ListOverridesAsync(CancellationToken cancellationToken);

    /// <summary>Sets (or replaces) an account's override and appends the audit record.</summary>
    Task SetOverrideAsync(AccountOverride accountOverride, AuditRecord audit, CancellationToken cancellationToken);

    /// <summary>Removes an account's override (if any) and appends the audit record.</summary>
    Task RemoveOverrideAsync(string accountId, AuditRecord audit, CancellationToken cancellationToken);

    /// <summary>Opens a review entry unless the account already has one open or appealed; returns the entry either way.</summary>
    Task<(ReviewItem Item, bool Created)> OpenReviewAsync(ReviewItem item, AuditRecord audit, CancellationToken cancellationToken);

    Task<ReviewItem?> GetReviewAsync(long id, CancellationToken cancellationToken);

    /// <summary>Entries newest first, optionally of one status.</summary>
    Task<IReadOnlyList<ReviewItem>> ListReviewAsync(string? status, int limit, CancellationToken cancellationToken);

    /// <summary>Records a decision on an entry, with its audit record.</summary>
    Task<ReviewItem> DecideReviewAsync(long id, string status, string actor, string reason, DateTimeOffset at, AuditRecord audit, CancellationToken cancellationToken);

    Task AppendAuditAsync(AuditRecord audit, CancellationToken cancellationToken);

    /// <summary>Audit records newest first, optionally for one account.</summary>
    Task<IReadOnlyList<AuditRecord>> ListAuditAsync(string? accountId, int limit, CancellationToken cancellationToken);
}
