namespace DistillGuard.Detection.Campaigns;

/// <summary>How the campaign linker groups accounts; defaults are the shipped ones.</summary>
public sealed class CampaignOptions
{
    /// <summary>Groups smaller than this are not campaigns: per-account detection covers them, and small false links stay harmless.</summary>
    public int MinMembers { get; set; } = 5;

    /// <summary>Accounts created in the same bucket of this length count as one sign-up burst.</summary>
    public TimeSpan SignUpBurst { get; set; } = TimeSpan.FromDays(2);

    /// <summary>
    /// A sign-up burst on one template and client links only when it holds at least this share of all accounts seen with
    /// that template and client: a fleet is created at once, a popular harness's users sign up every day.
    /// </summary>
    public double SignUpBurstShare { get; set; } = 0.5;

    /// <summary>An account's template is dominant when it carries at least this share of the account's requests.</summary>
    public double TemplateShare { get; set; } = 0.3;

    /// <summary>…and at least this many requests.</summary>
    public int TemplateMinRequests { get; set; } = 3;

    /// <summary>Accounts idle for longer are forgotten (their links go with them).</summary>
    public TimeSpan IdleEviction { get; set; } = TimeSpan.FromDays(8);

    /// <summary>Time bucket of synchronised activity: SynchroTrap's ⟨account, target, time⟩ actions match within one bucket (research/detection.md §5.4 uses 10 minutes).</summary>
    public TimeSpan SyncBucket { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Buckets two accounts must share on one template before their timing links them: one or two coincide by chance for any two busy users.</summary>
    public int SyncMinSharedBuckets { get; set; } = 3;

    /// <summary>Jaccard similarity of two accounts' bucket sets on one template at or above which their activity is synchronised.</summary>
    public double SyncJaccard { get; set; } = 0.5;

    /// <summary>
    /// An account whose template buckets fill more than this share of the buckets between its first and last one is
    /// always on (a cron job, an agent polling every few minutes), not bursting in step: two such accounts would look
    /// synchronised only because both are busy all the time.
    /// </summary>
    public double SyncMaxDutyCycle { get; set; } = 0.5;

    /// <summary>History pooled when a campaign forms: the detector's own window (seven days of hourly ring).</summary>
    public TimeSpan HistoryWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>A campaign's pool is rebuilt from the usage log when it has grown by this factor since the last build; smaller gains add the new members' history only.</summary>
    public double PoolRebuildGrowth { get; set; } = 1.5;

    /// <summary>Throws when a value is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MinMembers, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(TemplateMinRequests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(SyncMinSharedBuckets, 2);
        if (TemplateShare is <= 0 or > 1 || double.IsNaN(TemplateShare))
        {
            throw new ArgumentOutOfRangeException(nameof(TemplateShare), TemplateShare, "Must be in (0, 1].");
        }

        if (SignUpBurstShare is <= 0 or > 1 || double.IsNaN(SignUpBurstShare) || SyncJaccard is <= 0 or > 1 || double.IsNaN(SyncJaccard) || SyncMaxDutyCycle is <= 0 or > 1 || double.IsNaN(SyncMaxDutyCycle))
        {
            throw new ArgumentOutOfRangeException(nameof(SyncJaccard), "Shares must be in (0, 1].");
        }

        if (PoolRebuildGrowth <= 1 || double.IsNaN(PoolRebuildGrowth))
        {
            throw new ArgumentOutOfRangeException(nameof(PoolRebuildGrowth), PoolRebuildGrowth, "Must be above 1.");
        }

        if (SignUpBurst <= TimeSpan.Zero || IdleEviction <= TimeSpan.Zero || SyncBucket <= TimeSpan.Zero || HistoryWindow <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(SignUpBurst), "Windows must be positive.");
        }
    }
}
