using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using OpenAI;
using OpenAI.Chat;

namespace DistillGuard.Lab.Radioactivity;

/// <summary>Sends probe prompts to any OpenAI-compatible chat endpoint with the official client and collects the answers.</summary>
public sealed class SuspectProbe
{
    private readonly ChatClient _client;

    /// <summary>Creates a probe of <paramref name="model"/> at <paramref name="baseUrl"/> (the URL before <c>/chat/completions</c>, e.g. <c>http://host/v1</c>).</summary>
    public SuspectProbe(Uri baseUrl, string apiKey, string model)
    {
        var options = new OpenAIClientOptions { Endpoint = baseUrl, NetworkTimeout = TimeSpan.FromSeconds(120), RetryPolicy = new ClientRetryPolicy(3) };
        _client = new ChatClient(model, new ApiKeyCredential(apiKey), options);
    }

    /// <summary>Sampling of the probes: the radioactivity paper's closed-model defaults (temperature 0.8, top-p 0.95).</summary>
    public float Temperature { get; init; } = 0.8f;

    /// <summary>Nucleus mass of the probes.</summary>
    public float TopP { get; init; } = 0.95f;

    /// <summary>When set, probe <c>i</c> asks for seed <c>Seed + i</c>, so a run can be repeated answer for answer.</summary>
    public long? Seed { get; init; }

    /// <summary>Requests in flight at once.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Answers every prompt (failed requests are skipped and counted); <paramref name="progress"/> gets the number done.</summary>
    public async Task<(IReadOnlyList<AuditSample> Samples, int Failed, TimeSpan Elapsed)> CollectAsync(IReadOnlyList<string> prompts, int maxTokens, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        var answers = new AuditSample?[prompts.Count];
        int done = 0, failed = 0;
        await Parallel.ForAsync(0, prompts.Count, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken }, async (i, token) =>
        {
            try
            {
                var options = new ChatCompletionOptions { MaxOutputTokenCount = maxTokens, Temperature = Temperature, TopP = TopP };
#pragma warning disable OPENAI001 // seed is in OpenAI's API and our contract; the client marks it experimental.
                options.Seed = Seed + i;
#pragma warning restore OPENAI001
                ChatCompletion completion = await _client.CompleteChatAsync([new UserChatMessage(prompts[i])], options, token).ConfigureAwait(false);
                answers[i] = new AuditSample(prompts[i], string.Concat(completion.Content.Select(c => c.Text)));
            }
            catch (ClientResultException)
            {
                Interlocked.Increment(ref failed);
            }

            progress?.Invoke(Interlocked.Increment(ref done));
        }).ConfigureAwait(false);
        return ([.. answers.OfType<AuditSample>()], failed, watch.Elapsed);
    }
}
