namespace DistillGuard.Detection.Campaigns;

/// <summary>How the campaign linker groups accounts; defaults are the shipped ones.</summary>
public sealed class CampaignOptions
{
    /// <summary>Groups smaller than this are not campaigns: per-account detection covers them, and small false links stay harmless.</summary>
    public int MinMembers { get; set; } = 5;

    /// <summary>Accounts created in the same bucket of this length count as one sign-up burst.</summary>
    public TimeSpan SignUpBurst { get; set; } = TimeSpan.FromDays(2);

    /// <summary>An account's template is dominant when it carries at least this share of the account's requests.</summary>
    public double TemplateShare { get; set; } = 0.3;

    /// <summary>…and at least this many requests.</summary>
    public int TemplateMinRequests { get; set; } = 3;

    /// <summary>Accounts idle for longer are forgotten (their links go with them).</summary>
    public TimeSpan IdleEviction { get; set; } = TimeSpan.FromDays(8);

    /// <summary>Throws when a value is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MinMembers, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(TemplateMinRequests, 1);
        if (TemplateShare is <= 0 or > 1 || double.IsNaN(TemplateShare))
        {
            throw new ArgumentOutOfRangeException(nameof(TemplateShare), TemplateShare, "Must be in (0, 1].");
        }

        if (SignUpBurst <= TimeSpan.Zero || IdleEviction <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(SignUpBurst), "Windows must be positive.");
        }
    }
}
