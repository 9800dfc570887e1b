using DistillGuard.Detection.Engine;

namespace DistillGuard.Detection.Campaigns;

/// <summary>What the account store knows about an account that can link it to others.</summary>
/// <param name="Org">The declared organisation: accounts of one declared org are one customer, never a hidden campaign.</param>
/// <param name="PaymentFingerprintHash">Keyed hash of the payment instrument (never the raw value).</param>
public sealed record CampaignIdentity(string AccountId, string? Org, string? Tier, bool Verified, string? PaymentFingerprintHash, DateTimeOffset? CreatedAt);

/// <summary>The kinds of link between accounts, strongest first.</summary>
public enum CampaignLinkKind
{
    /// <summary>One payment instrument behind accounts of different (or no) declared organisations.</summary>
    SharedPayment,

    /// <summary>One client /24 (IPv6 /48) and one dominant prompt template.</summary>
    NetworkAndTemplate,

    /// <summary>One dominant prompt template, one client library, and sign-ups in one burst.</summary>
    TemplateAndSignUpBurst,

    /// <summary>One dominant template and one client fingerprint, sent in the same short time buckets (SynchroTrap's loosely synchronised actions).</summary>
    SynchronizedTemplate,

    /// <summary>One client fingerprint (user agent and request-field signature), one client /24, and sign-ups in one burst.</summary>
    ClientNetworkSignUpBurst,
}

/// <summary>One artifact accounts can share, as the linker indexes it.</summary>
/// <param name="Artifact">What is shared, safe to show an analyst.</param>
/// <param name="Bucket">Distinguishes index entries with the same shown artifact (the LSH band of a synchronised-activity key).</param>
internal readonly record struct LinkKey(CampaignLinkKind Kind, string Artifact, ulong Bucket = 0);

/// <summary>A campaign that formed or gained members at a link pass: whose history its pool still lacks.</summary>
/// <param name="NewMembers">Members that were not in the campaign before this pass.</param>
/// <param name="RebuildPool">True when the pool is new or has grown enough to be rebuilt from every member's history in time order.</param>
public sealed record CampaignChange(string CampaignId, IReadOnlyList<string> NewMembers, bool RebuildPool);

/// <summary>One shared artifact that joined accounts into a campaign.</summary>
/// <param name="Artifact">What is shared, safe to show an analyst (a hash or a network prefix, never prompt text).</param>
/// <param name="Accounts">Members of the campaign that share it.</param>
public sealed record CampaignLink(CampaignLinkKind Kind, string Artifact, int Accounts)
{
    public string Code => Kind switch
    {
        CampaignLinkKind.SharedPayment => "shared_payment",
        CampaignLinkKind.NetworkAndTemplate => "shared_network_template",
        CampaignLinkKind.SynchronizedTemplate => "synchronized_template",
        CampaignLinkKind.ClientNetworkSignUpBurst => "client_network_signup_burst",
        _ => "template_signup_burst",
    };
}

/// <summary>A group of accounts the linker believes one operator runs.</summary>
/// <param name="Id">Stable while the group's first member (by id) stays in it.</param>
/// <param name="Members">Every linked account, in id order.</param>
/// <param name="LinkScore">How strongly the members are tied together, in [0, 1] (not how risky they are).</param>
/// <param name="Links">The shared artifacts, most members first.</param>
/// <param name="Fringe">
/// Members that share only one kind of artifact (say, a payment fingerprint) with the rest: a shared card or a
/// colliding hash is the classic false link, so these get a discounted campaign band and are never suspended with the campaign.
/// </param>
public sealed record Campaign(string Id, IReadOnlyList<string> Members, double LinkScore, IReadOnlyList<CampaignLink> Links, string Cohort, IReadOnlySet<string> Fringe)
{
    /// <summary>True when <paramref name="accountId"/> shares at least two kinds of artifact with other members.</summary>
    public bool IsCore(string accountId) => !Fringe.Contains(accountId);
}

/// <summary>A campaign and the detector's view of its pooled traffic.</summary>
/// <param name="Pooled">The per-account detector run on the members' traffic as if it were one account (null: not yet seen).</param>
/// <param name="ReviewThreshold">The cohort's calibrated review threshold.</param>
/// <param name="FrictionThreshold">The cohort's calibrated friction threshold.</param>
public sealed record CampaignAssessment(Campaign Campaign, AccountAssessment? Pooled, double ReviewThreshold, double FrictionThreshold)
{
    public double Evidence => Pooled?.Evidence ?? 0;

    /// <summary>False while the pooled traffic is too thin to score.</summary>
    public bool Sufficient => Pooled is { Level: not "insufficient_evidence" };

    /// <summary><c>insufficient_evidence</c>, <c>low</c>, <c>review</c> or <c>friction</c>.</summary>
    public string Level => Pooled?.Level ?? "insufficient_evidence";
}
