using System.Diagnostics;
using DistillGuard.Detection.Engine;
using DistillGuard.Semantics;
using DistillGuard.Semantics.Embeddings;
using DistillGuard.Threading;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Semantics;

/// <summary>
/// Loads the sentence-embedding model and embeds sampled prompts, on a lower-priority thread of its own: the request
/// path never waits for it, and the detection worker only hands it prompts through a bounded queue.
/// </summary>
internal sealed class SemanticWorker(DetectionEngine engine, GatewaySemanticOptions settings, ILogger<SemanticWorker> logger) : BackgroundService
{
    private volatile SemanticFeatures? _features;

    /// <summary>The semantic features once the model has loaded; null before.</summary>
    public SemanticFeatures? Features => _features;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => BackgroundThread.Run("semantic worker", () => RunAsync(stoppingToken));

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        MiniLmEmbedder embedder;
        var watch = Stopwatch.StartNew();
        try
        {
            embedder = new MiniLmEmbedder(settings.MaxTokens);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            SemanticLog.ModelFailed(logger, e);
            return;
        }

        using (embedder)
        {
            var features = new SemanticFeatures(new EmbeddingCache(embedder), new SemanticOptions
            {
                FirstPerHour = settings.FirstPerHour,
                EveryNth = settings.EveryNth,
                QueueCapacity = settings.QueueCapacity,
            }, queued: true);
            _features = features;
            engine.Extension = features;
            SemanticLog.ModelLoaded(logger, watch.Elapsed.TotalMilliseconds, settings.MaxTokens);
            var reported = 0L;
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    tick.CancelAfter(TimeSpan.FromSeconds(30));
                    await features.ProcessPendingAsync(tick.Token);
                }
                catch (OperationCanceledException)
                {
                    // The half-minute tick: report drops, then carry on until the host stops.
                }
                catch (Exception e)
                {
                    SemanticLog.EmbedFailed(logger, e);
                }

                if (features.Dropped > reported)
                {
                    reported = features.Dropped;
                    SemanticLog.PromptsDropped(logger, reported);
                }
            }
        }
    }
}
