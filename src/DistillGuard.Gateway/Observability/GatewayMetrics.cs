using DistillGuard.Storage.Usage;
using Prometheus;

namespace DistillGuard.Gateway.Observability;

/// <summary>The gateway's Prometheus metrics, in a registry of its own (several gateways may share a process in tests).</summary>
internal sealed class GatewayMetrics
{
    private readonly Counter _requests;
    private readonly Histogram _duration;
    private readonly Counter _tokens;
    private readonly Counter _eventsRejected;
    private readonly Histogram _timeToFirstToken;
    private readonly Counter _upstreamFailures;

    public GatewayMetrics(UsageLog usageLog)
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        _requests = factory.CreateCounter("distillguard_requests_total", "Inference API requests by endpoint, model and status.", "endpoint", "model", "status");
        _duration = factory.CreateHistogram("distillguard_request_duration_seconds", "Time from request start to its last byte.", new HistogramConfiguration
        {
            LabelNames = ["endpoint"],
            Buckets = Histogram.ExponentialBuckets(0.0005, 2, 18),
        });
        _timeToFirstToken = factory.CreateHistogram("distillguard_time_to_first_token_seconds", "Streaming: time from request start to the first content chunk.", new HistogramConfiguration
        {
            LabelNames = ["model"],
            Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16),
        });
        _tokens = factory.CreateCounter("distillguard_tokens_total", "Tokens by direction (prompt or completion).", "direction");
        _eventsRejected = factory.CreateCounter("distillguard_usage_events_rejected_total", "Usage events the gateway could not hand to the log (channel full).");
        _upstreamFailures = factory.CreateCounter("distillguard_upstream_failures_total", "Upstream calls that failed, by upstream and kind.", "upstream", "kind");

        var enqueued = factory.CreateGauge("distillguard_usage_events_enqueued", "Usage events accepted into the log's channel since start.");
        var written = factory.CreateGauge("distillguard_usage_events_written", "Usage events committed to the store since start.");
        var dropped = factory.CreateGauge("distillguard_usage_events_dropped", "Usage events dropped because the log's channel was full, since start.");
        var failed = factory.CreateGauge("distillguard_usage_store_failed_attempts", "Failed attempts to write a batch to the store (retried), since start.");
        var pending = factory.CreateGauge("distillguard_usage_events_pending", "Usage events waiting in the log's channel.");
        Registry.AddBeforeCollectCallback(() =>
        {
            enqueued.Set(usageLog.Enqueued);
            written.Set(usageLog.Written);
            dropped.Set(usageLog.Dropped);
            failed.Set(usageLog.FailedAttempts);
            pending.Set(usageLog.Pending);
        });
    }

    public CollectorRegistry Registry { get; }

    /// <summary>The model label of requests naming a model no backend serves: the label set stays bounded by the catalog.</summary>
    public const string UnknownModel = "unknown";

    public void RecordRequest(string endpoint, string? model, int status, TimeSpan elapsed, int promptTokens, int completionTokens, bool eventAccepted)
    {
        _requests.WithLabels(endpoint, model ?? "", StatusLabel(status)).Inc();
        _duration.WithLabels(endpoint).Observe(elapsed.TotalSeconds);
        if (promptTokens > 0)
        {
            _tokens.WithLabels("prompt").Inc(promptTokens);
        }

        if (completionTokens > 0)
        {
            _tokens.WithLabels("completion").Inc(completionTokens);
        }

        if (!eventAccepted)
        {
            _eventsRejected.Inc();
        }
    }

    public void RecordFirstToken(string model, TimeSpan elapsed) => _timeToFirstToken.WithLabels(model).Observe(elapsed.TotalSeconds);

    public void RecordUpstreamFailure(string upstream, string kind) => _upstreamFailures.WithLabels(upstream, kind).Inc();

    private static string StatusLabel(int status) => status switch
    {
        200 => "200",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        413 => "413",
        429 => "429",
        499 => "499",
        502 => "502",
        504 => "504",
        _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
