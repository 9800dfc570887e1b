using DistillGuard.Detection.Calibration;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Prompts;
using DistillGuard.Detection.Scoring;
using DistillGuard.Detection.Sketches;
using DistillGuard.Usage;

namespace DistillGuard.Detection.Campaigns;

/// <summary>
/// Links accounts one operator runs (hydra fleets, resellers' account pools) through shared artifacts, and scores each
/// group's pooled traffic with the per-account detector.
/// </summary>
/// <remarks>
/// <para>Links are conjunctions chosen so that legitimate crowds do not satisfy them: a payment instrument shared across
/// declared organisations; one client /24 <em>and</em> one dominant prompt template; one template, one client library
/// <em>and</em> sign-ups in one burst; one template and one client fingerprint <em>in step</em> (SynchroTrap); one client
/// fingerprint, one /24 <em>and</em> one sign-up burst. A university NAT, a company's egress subnet or a popular harness
/// prompt alone never links, and accounts of one declared organisation are one customer, not a hidden campaign.</para>
/// <para>Linking is incremental: <see cref="Link"/> indexes only the accounts observed since the last pass (an inverted
/// index from artifact to accounts, and union-find over accounts), so it runs at every detection pass at a cost
/// proportional to the traffic, not the population. Links only grow between passes; <see cref="Rebuild"/> re-links from
/// scratch (idle accounts forgotten, artifacts an account no longer has dropped) at the decision tick.</para>
/// <para>Pooled traffic: a member's requests also feed a second <see cref="DetectionEngine"/> under the campaign's id, so a
/// fleet of accounts sending ten requests each is scored like one heavy account against the same calibrated thresholds.
/// When a campaign forms or gains members, <see cref="BackfillAsync"/> pools the members' stored history, so a fleet that
/// finished its burst before it was linked is still scored.</para>
/// <para>Thread-safe: observation and linking take one lock (off the request path); readers see an immutable snapshot.</para>
/// </remarks>
public sealed class CampaignGraph
{
    // Synchronised activity is matched by MinHash LSH over bucket sets, then checked exactly against the index entry's
    // first account: 4 bands of 2 rows find a pair at Jaccard 0.5 with probability 1 − (1 − 0.5²)⁴ = 0.68 per pass, at
    // 0.8 with 0.98 (Leskovec, Rajaraman, Ullman, Mining of Massive Datasets, §3.4); a fleet has many pairs, so its
    // components connect.
    private const int SyncBands = 4;
    private const int SyncRows = 2;

    /// <summary>Backfilled request ids are remembered this long, so a request both stored and still queued is pooled once.</summary>
    private static readonly TimeSpan s_recentHorizon = TimeSpan.FromMinutes(5);

    private readonly object _gate = new();
    private readonly Dictionary<string, AccountArtifacts> _accounts = new(StringComparer.Ordinal);
    private readonly CampaignOptions _options;
    private readonly DetectionEngine _pooled;
    private readonly List<AccountArtifacts> _nodes = [];
    private readonly List<int> _parent = [];
    private readonly Dictionary<int, Component> _components = [];
    private readonly Dictionary<LinkKey, KeyGroup> _index = [];
    private readonly HashSet<AccountArtifacts> _dirty = [];
    private readonly HashSet<int> _changed = [];
    private readonly Dictionary<string, PoolState> _pools = new(StringComparer.Ordinal);
    private readonly HashSet<string> _usedIds = new(StringComparer.Ordinal);

    // Campaigns whose pool reached a request-count milestone since the policy worker last asked (see DrainMilestones).
    private readonly HashSet<string> _milestones = new(StringComparer.Ordinal);

    // Accounts indexed under each template-and-client pair (any sign-up bucket), for the sign-up burst's share.
    private readonly Dictionary<ulong, int> _pairAccounts = [];
    private bool _rebuilding;
    private List<UsageEvent> _sinceLink = [];
    private List<UsageEvent> _lastBatch = [];
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

    /// <summary>The campaigns of the last <see cref="Link"/> or <see cref="Rebuild"/>.</summary>
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
            var artifacts = Artifacts(identity.AccountId);
            artifacts.Identity = identity;
            _dirty.Add(artifacts);
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
        if (!DetectionEngine.Counts(usageEvent))
        {
            return;
        }

        // The template key is the skeleton's head (system prompt, instruction opening), as the per-account detector reads it.
        var template = usageEvent.PromptText is { Length: > 0 } text ? PromptAnalysis.Analyse(text, []).PrefixHash : 0;
        string? campaign;
        lock (_gate)
        {
            var artifacts = Artifacts(usageEvent.AccountId!);
            artifacts.Observe(usageEvent, template, _options.SyncBucket);
            _dirty.Add(artifacts);
            _sinceLink.Add(usageEvent);
            campaign = _snapshot.Membership.GetValueOrDefault(usageEvent.AccountId!);
            if (campaign is not null && _pools.TryGetValue(campaign, out var pool) && pool.AlreadyPooled(usageEvent))
            {
                campaign = null;
            }
        }

        if (campaign is not null)
        {
            _pooled.Observe(usageEvent with { AccountId = campaign });
            if (TrafficReplay.IsMilestone(_pooled.RequestCount(campaign)))
            {
                lock (_gate)
                {
                    _milestones.Add(campaign);
                }
            }
        }
    }

    /// <summary>
    /// Takes the campaigns whose pooled request count reached a milestone (10, 14, 20, 28, … as for accounts) since the
    /// last call: the policy worker scores them on its next pass, so a campaign that has stopped growing keeps being
    /// looked at as its members keep sending, not only at the hourly tick.
    /// </summary>
    public IReadOnlyList<string> DrainMilestones()
    {
        lock (_gate)
        {
            if (_milestones.Count == 0)
            {
                return [];
            }

            string[] taken = [.. _milestones];
            _milestones.Clear();
            return taken;
        }
    }

    /// <summary>The campaign an account belongs to (as of the last link pass), or null.</summary>
    public string? CampaignOf(string accountId) => _snapshot.Membership.GetValueOrDefault(accountId);

    /// <summary>The campaign with this id (as of the last link pass), or null.</summary>
    public Campaign? Find(string campaignId) => _snapshot.ById.GetValueOrDefault(campaignId);

    /// <summary>
    /// Links the accounts observed since the last pass into the graph and publishes the campaigns that formed or grew;
    /// returns them, with the members whose history their pools lack (see <see cref="BackfillAsync"/>).
    /// </summary>
    public IReadOnlyList<CampaignChange> Link(DateTimeOffset now)
    {
        lock (_gate)
        {
            foreach (var artifacts in _dirty)
            {
                Index(artifacts);
            }

            _dirty.Clear();
            return Publish(full: false);
        }
    }

    /// <summary>Re-links every account from its current artifacts, forgets idle accounts, and publishes the campaigns.</summary>
    /// <remarks>Campaign ids survive a rebuild: each group keeps the id of the previous campaign most of its members were in.</remarks>
    public IReadOnlyList<Campaign> Rebuild(DateTimeOffset now) => RebuildWithChanges(now).Campaigns;

    /// <summary><see cref="Rebuild"/>, also returning the campaigns that formed or gained members.</summary>
    public (IReadOnlyList<Campaign> Campaigns, IReadOnlyList<CampaignChange> Changes) RebuildWithChanges(DateTimeOffset now)
    {
        IReadOnlyList<CampaignChange> changes;
        lock (_gate)
        {
            foreach (var (id, artifacts) in _accounts)
            {
                if (artifacts.LastSeen != DateTimeOffset.MinValue && artifacts.LastSeen < now - _options.IdleEviction)
                {
                    _accounts.Remove(id);
                }
            }

            _nodes.Clear();
            _parent.Clear();
            _components.Clear();
            _index.Clear();
            _pairAccounts.Clear();
            _dirty.Clear();
            _changed.Clear();
            foreach (var artifacts in _accounts.Values)
            {
                artifacts.Node = -1;
                artifacts.Indexed.Clear();
            }

            // The sign-up burst's share needs every account's pair counted before any group is judged.
            foreach (var artifacts in _accounts.Values)
            {
                foreach (var (key, _) in Keys(artifacts))
                {
                    if (key.Kind == CampaignLinkKind.TemplateAndSignUpBurst)
                    {
                        _pairAccounts[key.Bucket] = _pairAccounts.GetValueOrDefault(key.Bucket) + 1;
                    }
                }
            }

            _rebuilding = true;
            foreach (var artifacts in _accounts.Values)
            {
                Index(artifacts);
            }

            _rebuilding = false;
            changes = Publish(full: true);
        }

        _pooled.Prune(now);
        return (_snapshot.Campaigns, changes);
    }

    /// <summary>
    /// Pools the stored history a campaign's pool lacks: every member's when the pool is new or has grown by
    /// <see cref="CampaignOptions.PoolRebuildGrowth"/> (in time order, into a fresh pool), else the new members' only;
    /// returns the number of events pooled.
    /// </summary>
    /// <remarks>
    /// Requests observed since the last link pass that the history does not hold yet (the usage log writes in batches)
    /// are pooled from memory; requests pooled here and still queued for <see cref="Observe"/> are pooled once. Growth
    /// rebuilds are geometric, so a campaign that grows to n members replays at most about 3n members' histories in all.
    /// </remarks>
    public async Task<long> BackfillAsync(CampaignChange change, IUsageHistory history, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(history);
        string[] accounts;
        string id = change.CampaignId;
        lock (_gate)
        {
            if (Find(id) is not { } campaign)
            {
                return 0;
            }

            ref var pool = ref CollectionsMarshal.GetValueRefOrAddDefault(_pools, id, out var existed);
            if (change.RebuildPool || !existed)
            {
                pool = new PoolState(campaign.Members.Count);
                _pooled.Forget(id);
                accounts = [.. campaign.Members];
            }
            else
            {
                accounts = [.. change.NewMembers];
            }

            _pooled.SetProfile(id, ProfileOf(campaign.Cohort));
        }

        var members = accounts.ToHashSet(StringComparer.Ordinal);
        var recent = new HashSet<string>(StringComparer.Ordinal);
        long pooled = 0;
        await foreach (var e in history.ReadAccountsAsync(accounts, now - _options.HistoryWindow, now + TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false))
        {
            if (!DetectionEngine.Counts(e) || !members.Contains(e.AccountId!))
            {
                continue;
            }

            _pooled.Observe(e with { AccountId = id });
            pooled++;
            if (e.Timestamp >= now - s_recentHorizon)
            {
                recent.Add(e.RequestId);
            }
        }

        lock (_gate)
        {
            foreach (var e in _lastBatch)
            {
                if (members.Contains(e.AccountId!) && recent.Add(e.RequestId))
                {
                    _pooled.Observe(e with { AccountId = id });
                    pooled++;
                }
            }

            if (_pools.TryGetValue(id, out var pool))
            {
                pool.Remember(recent, now + s_recentHorizon);
            }
        }

        return pooled;
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

    /// <summary>Scores every campaign of the last link pass.</summary>
    public IReadOnlyList<CampaignAssessment> AssessAll(DateTimeOffset now) =>
        [.. _snapshot.Campaigns.Select(c => Assess(c.Id, now)!)];

    private AccountArtifacts Artifacts(string accountId)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_accounts, accountId, out _);
        return slot ??= new AccountArtifacts(accountId);
    }

    /// <summary>Adds an account's current artifacts to the index, joining it with the accounts that share them.</summary>
    private void Index(AccountArtifacts account)
    {
        if (account.Node < 0)
        {
            account.Node = _nodes.Count;
            _nodes.Add(account);
            _parent.Add(account.Node);
            _components[account.Node] = new Component(account.Node);
        }

        foreach (var (key, buckets) in Keys(account))
        {
            if (account.Indexed.Contains(key))
            {
                continue;
            }

            ref var group = ref CollectionsMarshal.GetValueRefOrAddDefault(_index, key, out _);
            group ??= new KeyGroup(key, buckets);
            if (buckets is not null && group.Nodes.Count > 0 && !InStep(group.Buckets!, buckets))
            {
                // Not in step with this entry's first account: tried again when the account's activity changes.
                continue;
            }

            account.Indexed.Add(key);
            group.Nodes.Add(account.Node);
            if (key.Kind == CampaignLinkKind.TemplateAndSignUpBurst && !_rebuilding)
            {
                _pairAccounts[key.Bucket] = _pairAccounts.GetValueOrDefault(key.Bucket) + 1;
            }

            var org = account.Identity?.Org;
            if (group.Nodes.Count == 1)
            {
                group.Org = org;
                group.Mixed = string.IsNullOrEmpty(org);
                continue;
            }

            group.Mixed |= string.IsNullOrEmpty(org) || !string.Equals(org, group.Org, StringComparison.Ordinal);
            if (!group.Mixed || !Ready(group))
            {
                // Every account sharing it declares one organisation (one customer, not a hidden operator), or too few share it yet.
                continue;
            }

            if (!group.Joined)
            {
                group.Joined = true;
                foreach (var node in group.Nodes)
                {
                    Union(group.Nodes[0], node);
                }

                _components[Find(group.Nodes[0])].Groups.Add(group);
            }
            else
            {
                Union(group.Nodes[0], account.Node);
            }
        }
    }

    /// <summary>True when enough accounts share an index entry for it to link them.</summary>
    /// <remarks>
    /// Synchronised activity links only once <see cref="CampaignOptions.MinMembers"/> accounts are in step with the
    /// entry's first one: among thousands of users of one harness, a pair busy in the same three buckets happens by
    /// chance, five in step with one another does not (SynchroTrap likewise keeps only large components). A sign-up burst
    /// on one template and client links only when it holds at least <see cref="CampaignOptions.SignUpBurstShare"/> of
    /// every account seen with that template and client: a popular harness signs users up every day of the year, so
    /// each two-day bucket holds a sliver of them, where a fleet is created at once. A fleet that hides behind a popular
    /// harness's prompt and client is left to the other links: linking it by its sign-up day would link the harness's
    /// users who signed up the same days with it.
    /// </remarks>
    private bool Ready(KeyGroup group) => group.Key.Kind switch
    {
        CampaignLinkKind.SynchronizedTemplate => group.Nodes.Count >= _options.MinMembers,
        CampaignLinkKind.TemplateAndSignUpBurst => _pairAccounts.GetValueOrDefault(group.Key.Bucket) is var all
            && all >= _options.MinMembers && group.Nodes.Count >= _options.SignUpBurstShare * all,
        _ => true,
    };

    /// <summary>True when two bucket sets share enough buckets for a high enough Jaccard similarity.</summary>
    private bool InStep(long[] a, long[] b)
    {
        int i = 0, j = 0, shared = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] == b[j])
            {
                shared++;
                i++;
                j++;
            }
            else if (a[i] < b[j])
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return shared >= _options.SyncMinSharedBuckets && shared >= _options.SyncJaccard * (a.Length + b.Length - shared);
    }

    private IEnumerable<(LinkKey Key, long[]? Buckets)> Keys(AccountArtifacts account)
    {
        if (account.Identity?.PaymentFingerprintHash is { Length: > 0 } payment)
        {
            yield return (new LinkKey(CampaignLinkKind.SharedPayment, "payment " + payment), null);
        }

        var client = account.DominantClient(_options.TemplateMinRequests);
        var clientName = client == 0 ? null : client.ToString("x16", CultureInfo.InvariantCulture)[..8];
        var burst = account.Identity?.CreatedAt is { } created ? BurstName(created) : null;
        if (clientName is not null && account.Network is { } net && burst is not null)
        {
            yield return (new LinkKey(CampaignLinkKind.ClientNetworkSignUpBurst, $"client {clientName}, network {net}, signed up {burst}"), null);
        }

        var template = account.DominantTemplate(_options.TemplateShare, _options.TemplateMinRequests);
        if (template == 0)
        {
            yield break;
        }

        var templateName = template.ToString("x16", CultureInfo.InvariantCulture)[..8];
        if (account.Network is { } network)
        {
            yield return (new LinkKey(CampaignLinkKind.NetworkAndTemplate, $"network {network}, template {templateName}"), null);
        }

        if (burst is not null && account.UserAgent is { } agent)
        {
            var pair = HashMix.Mix(template ^ System.IO.Hashing.XxHash64.HashToUInt64(MemoryMarshal.AsBytes(agent.AsSpan())));
            yield return (new LinkKey(CampaignLinkKind.TemplateAndSignUpBurst, $"template {templateName}, client '{agent}', signed up {burst}", pair), null);
        }

        if (clientName is not null && SyncBuckets(account, template) is { } buckets)
        {
            var artifact = string.Create(CultureInfo.InvariantCulture, $"template {templateName}, client {clientName}, in step in {_options.SyncBucket.TotalMinutes:0}-minute buckets");
            for (var band = 0; band < SyncBands; band++)
            {
                var signature = 0UL;
                for (var row = 0; row < SyncRows; row++)
                {
                    var min = ulong.MaxValue;
                    foreach (var b in buckets)
                    {
                        min = Math.Min(min, HashMix.Derive((ulong)b, (band * SyncRows) + row));
                    }

                    signature = HashMix.Mix(signature ^ min);
                }

                yield return (new LinkKey(CampaignLinkKind.SynchronizedTemplate, artifact, HashMix.Mix(signature ^ template ^ client) ^ (ulong)band), buckets);
            }
        }
    }

    /// <summary>The account's buckets on its template when they are enough to compare and not always on; else null.</summary>
    private long[]? SyncBuckets(AccountArtifacts account, ulong template)
    {
        var buckets = account.BucketsOf(template);
        if (buckets.Length < _options.SyncMinSharedBuckets)
        {
            return null;
        }

        var span = buckets[^1] - buckets[0] + 1;
        return buckets.Length > _options.SyncMaxDutyCycle * span ? null : buckets;
    }

    private string BurstName(DateTimeOffset created)
    {
        var bucket = created.UtcTicks / _options.SignUpBurst.Ticks;
        var from = new DateTimeOffset(bucket * _options.SignUpBurst.Ticks, TimeSpan.Zero);
        return string.Create(CultureInfo.InvariantCulture, $"{from:yyyy-MM-dd HH:mm} + {_options.SignUpBurst.TotalHours:0} h");
    }

    private int Find(int node)
    {
        while (_parent[node] != node)
        {
            _parent[node] = _parent[_parent[node]];
            node = _parent[node];
        }

        return node;
    }

    /// <summary>Joins two accounts' groups, the smaller into the larger; when both were campaigns the larger's id and pool survive.</summary>
    private void Union(int a, int b)
    {
        a = Find(a);
        b = Find(b);
        if (a == b)
        {
            return;
        }

        var large = _components[a];
        var small = _components[b];
        if (small.Members.Count > large.Members.Count)
        {
            (a, b, large, small) = (b, a, small, large);
        }

        _parent[b] = a;
        large.Members.AddRange(small.Members);
        large.Groups.AddRange(small.Groups);
        if (large.Id is null)
        {
            large.Id = small.Id;
        }
        else if (small.Id is not null)
        {
            // The absorbed campaign's members are new members of the survivor, and their history is pooled again there.
            _pooled.Forget(small.Id);
            _pools.Remove(small.Id);
            _usedIds.Remove(small.Id);
        }

        _components.Remove(b);
        _changed.Remove(b);
        _changed.Add(a);
    }

    /// <summary>Publishes the changed groups as campaigns and says which formed or grew.</summary>
    private List<CampaignChange> Publish(bool full)
    {
        var previous = _snapshot;
        _lastBatch = _sinceLink;
        _sinceLink = [];
        if (full)
        {
            AssignIds(previous);
        }

        var changes = new List<CampaignChange>();
        var replaced = new Dictionary<string, Campaign>(StringComparer.Ordinal);
        foreach (var root in _changed)
        {
            if (!_components.TryGetValue(root, out var component) || component.Members.Count < _options.MinMembers)
            {
                continue;
            }

            if (component.Id is null)
            {
                var first = component.Members.Select(n => _nodes[n].AccountId).Min(StringComparer.Ordinal)!;
                component.Id = UniqueId(first);
            }

            var campaign = Build(component);
            replaced[campaign.Id] = campaign;
            var before = previous.ById.GetValueOrDefault(campaign.Id);
            var known = before is null ? null : new HashSet<string>(before.Members, StringComparer.Ordinal);
            var added = known is null ? campaign.Members : [.. campaign.Members.Where(m => !known.Contains(m))];
            if (added.Count > 0)
            {
                var pooledAt = _pools.GetValueOrDefault(campaign.Id)?.MembersAtBuild ?? 0;
                changes.Add(new CampaignChange(campaign.Id, added, pooledAt == 0 || campaign.Members.Count >= _options.PoolRebuildGrowth * pooledAt));
            }
        }

        _changed.Clear();
        var live = new HashSet<string>(_components.Values.Where(c => c.Id is not null && c.Members.Count >= _options.MinMembers).Select(c => c.Id!), StringComparer.Ordinal);
        var campaigns = new List<Campaign>(live.Count);
        campaigns.AddRange(replaced.Values);
        if (!full)
        {
            campaigns.AddRange(previous.Campaigns.Where(c => live.Contains(c.Id) && !replaced.ContainsKey(c.Id)));
        }

        foreach (var gone in previous.Campaigns.Where(c => !live.Contains(c.Id)))
        {
            _pooled.Forget(gone.Id);
            _pools.Remove(gone.Id);
            _usedIds.Remove(gone.Id);
        }

        campaigns.Sort(static (a, b) => b.Members.Count != a.Members.Count ? b.Members.Count.CompareTo(a.Members.Count) : string.CompareOrdinal(a.Id, b.Id));
        foreach (var campaign in replaced.Values)
        {
            _pooled.SetProfile(campaign.Id, ProfileOf(campaign.Cohort));
        }

        _snapshot = new Snapshot(campaigns);
        return changes;
    }

    /// <summary>After a rebuild, each group takes the id of the previous campaign most of its members were in (the largest group first).</summary>
    private void AssignIds(Snapshot previous)
    {
        _usedIds.Clear();
        foreach (var component in _components.Values.Where(c => c.Members.Count >= _options.MinMembers).OrderByDescending(c => c.Members.Count))
        {
            var vote = component.Members
                .Select(n => previous.Membership.GetValueOrDefault(_nodes[n].AccountId))
                .Where(id => id is not null && !_usedIds.Contains(id))
                .GroupBy(id => id!, StringComparer.Ordinal)
                .OrderByDescending(g => g.Count())
                .ThenBy(g => g.Key, StringComparer.Ordinal)
                .FirstOrDefault()?.Key;
            if (vote is not null)
            {
                component.Id = vote;
                _usedIds.Add(vote);
            }

            _changed.Add(component.Root);
        }
    }

    private string UniqueId(string firstMember)
    {
        var id = IdOf(firstMember);
        for (var n = 1; !_usedIds.Add(id); n++)
        {
            id = IdOf(firstMember + "#" + n.ToString(CultureInfo.InvariantCulture));
        }

        return id;
    }

    private Campaign Build(Component component)
    {
        var accounts = _nodes;
        var indices = component.Members;
        var members = indices.Select(i => accounts[i].AccountId).Order(StringComparer.Ordinal).ToArray();
        var links = component.Groups
            .GroupBy(g => (g.Key.Kind, g.Key.Artifact))
            .Select(g => new CampaignLink(g.Key.Kind, g.Key.Artifact, g.Max(x => x.Nodes.Count)))
            .OrderByDescending(l => l.Accounts).ThenBy(l => l.Kind).ThenBy(l => l.Artifact, StringComparer.Ordinal)
            .ToArray();
        return new Campaign(component.Id!, members, LinkScore(links, members.Length), links, CohortOf(indices), Fringe(indices));
    }

    /// <summary>
    /// Members corroborated by fewer than two kinds of shared artifact — payment, /24, dominant template, sign-up burst —
    /// within their campaign (guilt by association, discounted: detection.md §5.4). A client fingerprint does not count:
    /// an SDK's defaults are shared by millions.
    /// </summary>
    private HashSet<string> Fringe(List<int> indices)
    {
        var accounts = _nodes;
        Func<int, string?>[] kinds =
        [
            i => accounts[i].Identity?.PaymentFingerprintHash,
            i => accounts[i].Network,
            i => Template(accounts[i]),
            i => Burst(accounts[i]),
        ];
        var counts = kinds.Select(key => Counts(indices, key)).ToArray();
        var fringe = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in indices)
        {
            var shared = 0;
            for (var k = 0; k < kinds.Length; k++)
            {
                shared += kinds[k](i) is { Length: > 0 } value && counts[k].GetValueOrDefault(value) >= 2 ? 1 : 0;
            }

            if (shared < 2)
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
    }

    private string? Template(AccountArtifacts account) =>
        account.DominantTemplate(_options.TemplateShare, _options.TemplateMinRequests) is var t and not 0 ? t.ToString("x16", CultureInfo.InvariantCulture) : null;

    private string? Burst(AccountArtifacts account) =>
        account.Identity?.CreatedAt is { } created ? (created.UtcTicks / _options.SignUpBurst.Ticks).ToString(CultureInfo.InvariantCulture) : null;

    /// <summary>
    /// 1 − Π (1 − w·coverage) over link kinds. The weight is how rarely a legitimate group satisfies the link: a payment
    /// instrument across organisations almost never (0.9); a /24 with a template rarely (0.7); synchronised activity
    /// or a client fingerprint with a /24 and a sign-up day sometimes, on a busy shared network (0.6); a template with a
    /// client and a sign-up day most often (0.5).
    /// </summary>
    private static double LinkScore(IReadOnlyList<CampaignLink> links, int members)
    {
        var missing = 1.0;
        foreach (var kind in Enum.GetValues<CampaignLinkKind>())
        {
            var covered = Math.Min(members, links.Where(l => l.Kind == kind).Sum(l => l.Accounts));
            var weight = kind switch
            {
                CampaignLinkKind.SharedPayment => 0.9,
                CampaignLinkKind.NetworkAndTemplate => 0.7,
                CampaignLinkKind.SynchronizedTemplate or CampaignLinkKind.ClientNetworkSignUpBurst => 0.6,
                _ => 0.5,
            };
            missing *= 1 - (weight * covered / members);
        }

        return Math.Round(1 - missing, 4);
    }

    private string CohortOf(List<int> indices) =>
        indices.Select(i => _nodes[i].Identity is { } id ? Cohorts.Of(new AccountProfile(id.Tier, id.Verified)) : "standard")
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

    /// <summary>One connected group of accounts (keyed by its union-find root).</summary>
    private sealed class Component(int root)
    {
        public int Root { get; } = root;

        public List<int> Members { get; } = [root];

        /// <summary>The index entries that joined accounts of this group.</summary>
        public List<KeyGroup> Groups { get; } = [];

        public string? Id { get; set; }
    }

    /// <summary>The accounts indexed under one artifact.</summary>
    private sealed class KeyGroup(LinkKey key, long[]? buckets)
    {
        public LinkKey Key { get; } = key;

        /// <summary>The first account's bucket set, which later accounts must be in step with (synchronised activity only).</summary>
        public long[]? Buckets { get; } = buckets;

        public List<int> Nodes { get; } = [];

        public string? Org { get; set; }

        /// <summary>True once accounts of more than one (or no) declared organisation share it.</summary>
        public bool Mixed { get; set; }

        public bool Joined { get; set; }
    }

    /// <summary>What a campaign's pool holds: the size it was built at, and the stored requests it pooled lately.</summary>
    private sealed class PoolState(int membersAtBuild)
    {
        private HashSet<string>? _recent;
        private DateTimeOffset _until;

        public int MembersAtBuild { get; } = membersAtBuild;

        public void Remember(HashSet<string> requestIds, DateTimeOffset until)
        {
            if (_recent is null || _until < until - s_recentHorizon)
            {
                _recent = requestIds;
            }
            else
            {
                _recent.UnionWith(requestIds);
            }

            _until = until;
        }

        /// <summary>True when a request arriving live was already pooled from the history.</summary>
        public bool AlreadyPooled(UsageEvent e)
        {
            if (_recent is null)
            {
                return false;
            }

            if (e.Timestamp > _until)
            {
                _recent = null;
                return false;
            }

            return _recent.Contains(e.RequestId);
        }
    }

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
}
