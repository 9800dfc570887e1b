using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Prompts;
using DistillGuard.Detection.Scoring;
using DistillGuard.Usage;

namespace DistillGuard.Detection.Campaigns;

/// <summary>
/// Links accounts one operator runs (hydra fleets, resellers' account pools) through shared artifacts, and scores each
/// group's pooled traffic with the per-account detector.
/// </summary>
/// <remarks>
/// <para>Links are conjunctions chosen so that legitimate crowds do not satisfy them: a payment instrument shared across
/// declared organisations; one client /24 <em>and</em> one dominant prompt template; one template, one client library
/// <em>and</em> sign-ups in one burst. A university NAT, a company's egress subnet or a popular harness prompt alone
/// never links, and accounts of one declared organisation are one customer, not a hidden campaign. Linked accounts are
/// joined by union-find (a thresholded single linkage, as SynchroTrap's connected components), each union keeping the
/// artifact that caused it; groups under <see cref="CampaignOptions.MinMembers"/> are not campaigns.</para>
/// <para>Pooled traffic: from the moment an account is a member, its requests also feed a second
/// <see cref="DetectionEngine"/> under the campaign's id, so a fleet of accounts sending ten requests each is scored like
/// one heavy account against the same calibrated thresholds. When two campaigns merge, the surviving id keeps its pool.</para>
/// <para>Thread-safe: observation and rebuilds take one lock (off the request path); readers see an immutable snapshot.</para>
/// </remarks>
public sealed class CampaignGraph
{
    private readonly object _gate = new();
    private readonly Dictionary<string, AccountArtifacts> _accounts = new(StringComparer.Ordinal);
    private readonly CampaignOptions _options;
    private readonly DetectionEngine _pooled;
    private volatile Snapshot _snapshot = Snapshot.Empty;

    public CampaignGraph(DetectionCalibration calibration, CampaignOptions? options = null, DetectionOptions? detection = null)
    {
        _options = options ?? new CampaignOptions();
        _options.Validate();
        _pooled = new DetectionEngine(calibration, detection);
    }

    /// <summary>The calibration pooled traffic is scored against.</summary>
    public DetectionCalibration Calibration
    {
        get => _pooled.Calibration;
        set => _pooled.Calibration = value;
    }

    public CampaignOptions Options => _options;

    /// <summary>The campaigns of the last <see cref="Rebuild"/>.</summary>
    public IReadOnlyList<Campaign> Campaigns => _snapshot.Campaigns;

    /// <summary>Accounts with state.</summary>
    public int AccountCount
    {
        get
        {
            lock (_gate)
            {
                return _accounts.Count;
            }
        }
    }

    /// <summary>Records what the account store knows about an account (payment hash, org, sign-up time).</summary>
    public void SetIdentity(CampaignIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        lock (_gate)
        {
            Artifacts(identity.AccountId).Identity = identity;
        }
    }

    /// <summary>True when an identity has been recorded for the account.</summary>
    public bool HasIdentity(string accountId)
    {
        lock (_gate)
        {
            return _accounts.TryGetValue(accountId, out var a) && a.Identity is not null;
        }
    }

    /// <summary>Folds one usage event into its account's artifacts, and into its campaign's pool when it is a member.</summary>
    public void Observe(UsageEvent usageEvent)
    {
        ArgumentNullException.ThrowIfNull(usageEvent);
        if (string.IsNullOrEmpty(usageEvent.AccountId) || usageEvent.Endpoint is not ("chat.completions" or "completions"))
        {
            return;
        }

        // The template key is the skeleton's head (system prompt, instruction opening), as the per-account detector reads it.
        var template = usageEvent.PromptText is { Length: > 0 } text ? PromptAnalysis.Analyse(text, []).PrefixHash : 0;
        string? campaign;
        lock (_gate)
        {
            Artifacts(usageEvent.AccountId).Observe(usageEvent.Timestamp, usageEvent.ClientAddress, usageEvent.UserAgent, template);
            campaign = _snapshot.Membership.GetValueOrDefault(usageEvent.AccountId);
        }

        if (campaign is not null)
        {
            _pooled.Observe(usageEvent with { AccountId = campaign });
        }
    }

    /// <summary>The campaign an account belongs to (as of the last rebuild), or null.</summary>
    public string? CampaignOf(string accountId) => _snapshot.Membership.GetValueOrDefault(accountId);

    /// <summary>The campaign with this id (as of the last rebuild), or null.</summary>
    public Campaign? Find(string campaignId) => _snapshot.ById.GetValueOrDefault(campaignId);

    /// <summary>Re-links every account from its current artifacts, forgets idle accounts, and publishes the campaigns.</summary>
    public IReadOnlyList<Campaign> Rebuild(DateTimeOffset now)
    {
        lock (_gate)
        {
            foreach (var (id, artifacts) in _accounts)
            {
                if (artifacts.LastSeen != DateTimeOffset.MinValue && artifacts.LastSeen < now - _options.IdleEviction)
                {
                    _accounts.Remove(id);
                }
            }

            var snapshot = Link([.. _accounts.Values]);
            foreach (var campaign in snapshot.Campaigns)
            {
                _pooled.SetProfile(campaign.Id, ProfileOf(campaign.Cohort));
            }

            _snapshot = snapshot;
        }

        _pooled.Prune(now);
        return _snapshot.Campaigns;
    }

    /// <summary>Scores one campaign's pooled traffic at <paramref name="now"/>; null when the campaign is unknown.</summary>
    public CampaignAssessment? Assess(string campaignId, DateTimeOffset now)
    {
        if (Find(campaignId) is not { } campaign)
        {
            return null;
        }

        var thresholds = _pooled.Calibration.ThresholdsFor(campaign.Cohort);
        return new CampaignAssessment(campaign, _pooled.Assess(campaignId, now), thresholds.Review, thresholds.Friction);
    }

    /// <summary>Scores every campaign of the last rebuild.</summary>
    public IReadOnlyList<CampaignAssessment> AssessAll(DateTimeOffset now) =>
        [.. _snapshot.Campaigns.Select(c => Assess(c.Id, now)!)];

    private AccountArtifacts Artifacts(string accountId)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_accounts, accountId, out _);
        return slot ??= new AccountArtifacts(accountId);
    }

    private Snapshot Link(AccountArtifacts[] accounts)
    {
        var forest = new UnionFind(accounts.Length);
        var groups = new Dictionary<(CampaignLinkKind Kind, string Key), List<int>>();
        for (var i = 0; i < accounts.Length; i++)
        {
            foreach (var key in Keys(accounts[i]))
            {
                ref var members = ref CollectionsMarshal.GetValueRefOrAddDefault(groups, key, out _);
                (members ??= []).Add(i);
            }
        }

        var joined = new List<(CampaignLinkKind Kind, string Key, List<int> Members)>();
        foreach (var ((kind, key), members) in groups)
        {
            if (members.Count < 2 || OneDeclaredOrg(accounts, members))
            {
                continue;
            }

            for (var j = 1; j < members.Count; j++)
            {
                forest.Union(members[0], members[j]);
            }

            joined.Add((kind, key, members));
        }

        var byRoot = new Dictionary<int, List<int>>();
        for (var i = 0; i < accounts.Length; i++)
        {
            if (forest.SizeOf(i) >= _options.MinMembers)
            {
                ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(byRoot, forest.Find(i), out _);
                (list ??= []).Add(i);
            }
        }

        var links = new Dictionary<int, List<CampaignLink>>();
        foreach (var (kind, key, members) in joined)
        {
            var root = forest.Find(members[0]);
            if (byRoot.ContainsKey(root))
            {
                ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(links, root, out _);
                (list ??= []).Add(new CampaignLink(kind, key, members.Count));
            }
        }

        var campaigns = new List<Campaign>(byRoot.Count);
        foreach (var (root, indices) in byRoot)
        {
            var members = indices.Select(i => accounts[i].AccountId).Order(StringComparer.Ordinal).ToArray();
            var campaignLinks = links[root].OrderByDescending(l => l.Accounts).ThenBy(l => l.Kind).ThenBy(l => l.Artifact, StringComparer.Ordinal).ToArray();
            campaigns.Add(new Campaign(IdOf(members[0]), members, LinkScore(campaignLinks, members.Length), campaignLinks, CohortOf(accounts, indices), Fringe(accounts, indices)));
        }

        campaigns.Sort(static (a, b) => b.Members.Count != a.Members.Count ? b.Members.Count.CompareTo(a.Members.Count) : string.CompareOrdinal(a.Id, b.Id));
        return new Snapshot(campaigns);
    }

    private IEnumerable<(CampaignLinkKind, string)> Keys(AccountArtifacts account)
    {
        if (account.Identity?.PaymentFingerprintHash is { Length: > 0 } payment)
        {
            yield return (CampaignLinkKind.SharedPayment, "payment " + payment);
        }

        var template = account.DominantTemplate(_options.TemplateShare, _options.TemplateMinRequests);
        if (template == 0)
        {
            yield break;
        }

        var templateName = template.ToString("x16", CultureInfo.InvariantCulture)[..8];
        if (account.Network is { } network)
        {
            yield return (CampaignLinkKind.NetworkAndTemplate, $"network {network}, template {templateName}");
        }

        if (account.Identity?.CreatedAt is { } created && account.UserAgent is { } agent)
        {
            var bucket = created.UtcTicks / _options.SignUpBurst.Ticks;
            var from = new DateTimeOffset(bucket * _options.SignUpBurst.Ticks, TimeSpan.Zero);
            yield return (CampaignLinkKind.TemplateAndSignUpBurst,
                string.Create(CultureInfo.InvariantCulture, $"template {templateName}, client '{agent}', signed up {from:yyyy-MM-dd HH:mm} + {_options.SignUpBurst.TotalHours:0} h"));
        }
    }

    /// <summary>
    /// Members corroborated by fewer than two kinds of shared artifact — payment, /24, dominant template, sign-up burst —
    /// within their campaign (guilt by association, discounted: detection.md §5.4).
    /// </summary>
    private HashSet<string> Fringe(AccountArtifacts[] accounts, List<int> indices)
    {
        var payment = Counts(indices, i => accounts[i].Identity?.PaymentFingerprintHash);
        var network = Counts(indices, i => accounts[i].Network);
        var template = Counts(indices, i => Template(accounts[i]));
        var burst = Counts(indices, i => Burst(accounts[i]));
        var fringe = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in indices)
        {
            var kinds = Shared(payment, accounts[i].Identity?.PaymentFingerprintHash) + Shared(network, accounts[i].Network)
                + Shared(template, Template(accounts[i])) + Shared(burst, Burst(accounts[i]));
            if (kinds < 2)
            {
                fringe.Add(accounts[i].AccountId);
            }
        }

        return fringe;

        static Dictionary<string, int> Counts(List<int> indices, Func<int, string?> key)
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var i in indices)
            {
                if (key(i) is { Length: > 0 } k)
                {
                    counts[k] = counts.GetValueOrDefault(k) + 1;
                }
            }

            return counts;
        }

        static int Shared(Dictionary<string, int> counts, string? key) => key is { Length: > 0 } && counts.GetValueOrDefault(key) >= 2 ? 1 : 0;
    }

    private string? Template(AccountArtifacts account) =>
        account.DominantTemplate(_options.TemplateShare, _options.TemplateMinRequests) is var t and not 0 ? t.ToString("x16", CultureInfo.InvariantCulture) : null;

    private string? Burst(AccountArtifacts account) =>
        account.Identity?.CreatedAt is { } created ? (created.UtcTicks / _options.SignUpBurst.Ticks).ToString(CultureInfo.InvariantCulture) : null;

    /// <summary>True when every member declares the same organisation: one customer's accounts, not a hidden operator's.</summary>
    private static bool OneDeclaredOrg(AccountArtifacts[] accounts, List<int> members)
    {
        var org = accounts[members[0]].Identity?.Org;
        if (string.IsNullOrEmpty(org))
        {
            return false;
        }

        foreach (var i in members)
        {
            if (!string.Equals(accounts[i].Identity?.Org, org, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>1 − Π (1 − w·coverage) over link kinds: payment ties are strongest, a template and a burst weakest.</summary>
    private static double LinkScore(IReadOnlyList<CampaignLink> links, int members)
    {
        var missing = 1.0;
        foreach (var kind in Enum.GetValues<CampaignLinkKind>())
        {
            var covered = Math.Min(members, links.Where(l => l.Kind == kind).Sum(l => l.Accounts));
            var weight = kind switch { CampaignLinkKind.SharedPayment => 0.9, CampaignLinkKind.NetworkAndTemplate => 0.7, _ => 0.5 };
            missing *= 1 - (weight * covered / members);
        }

        return Math.Round(1 - missing, 4);
    }

    private static string CohortOf(AccountArtifacts[] accounts, List<int> indices) =>
        indices.Select(i => accounts[i].Identity is { } id ? Cohorts.Of(new AccountProfile(id.Tier, id.Verified)) : "standard")
            .GroupBy(c => c, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Key, StringComparer.Ordinal)
            .First().Key;

    /// <summary>A profile whose cohort is <paramref name="cohort"/>, for the pooled engine.</summary>
    private static AccountProfile ProfileOf(string cohort) => cohort switch
    {
        "verified" => new AccountProfile("enterprise", true),
        "edu" => new AccountProfile("edu", false),
        "new" => new AccountProfile("free", false),
        _ => new AccountProfile("standard", false),
    };

    private static string IdOf(string firstMember) =>
        "cmp-" + XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(firstMember)).ToString("x16", CultureInfo.InvariantCulture)[..12];

    private sealed class Snapshot
    {
        public static readonly Snapshot Empty = new([]);

        public Snapshot(List<Campaign> campaigns)
        {
            Campaigns = campaigns;
            ById = campaigns.ToDictionary(c => c.Id, StringComparer.Ordinal);
            Membership = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var campaign in campaigns)
            {
                foreach (var member in campaign.Members)
                {
                    Membership[member] = campaign.Id;
                }
            }
        }

        public IReadOnlyList<Campaign> Campaigns { get; }

        public Dictionary<string, Campaign> ById { get; }

        public Dictionary<string, string> Membership { get; }
    }

    /// <summary>Disjoint sets with union by size and path halving.</summary>
    private sealed class UnionFind
    {
        private readonly int[] _parent;
        private readonly int[] _size;

        public UnionFind(int count)
        {
            _parent = new int[count];
            _size = new int[count];
            for (var i = 0; i < count; i++)
            {
                _parent[i] = i;
                _size[i] = 1;
            }
        }

        public int Find(int i)
        {
            while (_parent[i] != i)
            {
                _parent[i] = _parent[_parent[i]];
                i = _parent[i];
            }

            return i;
        }

        public int SizeOf(int i) => _size[Find(i)];

        public void Union(int a, int b)
        {
            a = Find(a);
            b = Find(b);
            if (a == b)
            {
                return;
            }

            if (_size[a] < _size[b])
            {
                (a, b) = (b, a);
            }

            _parent[b] = a;
            _size[a] += _size[b];
        }
    }
}
