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
        var (answers, failed, elapsed) = await CollectWithLogprobsAsync(prompts, maxTokens, 0, progress, cancellationToken).ConfigureAwait(false);
        return ([.. answers.Select(a => new AuditSample(a.Prompt, a.Answer))], failed, elapsed);
    }

    /// <summary>
    /// As <see cref="CollectAsync"/>, and with <paramref name="topLogprobs"/> above 0 asks for each answer token's most
    /// likely alternatives (<c>logprobs</c>, <c>top_logprobs</c>): what a distiller that trains on soft labels collects.
    /// </summary>
    public async Task<(IReadOnlyList<ProbeAnswer> Answers, int Failed, TimeSpan Elapsed)> CollectWithLogprobsAsync(IReadOnlyList<string> prompts, int maxTokens, int topLogprobs, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        var answers = new ProbeAnswer?[prompts.Count];
        int done = 0, failed = 0;
        await Parallel.ForAsync(0, prompts.Count, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken }, async (i, token) =>
        {
            try
            {
                var options = new ChatCompletionOptions { MaxOutputTokenCount = maxTokens, Temperature = Temperature, TopP = TopP };
                if (topLogprobs > 0)
                {
                    options.IncludeLogProbabilities = true;
                    options.TopLogProbabilityCount = topLogprobs;
                }

#pragma warning disable OPENAI001 // seed is in OpenAI's API and our contract; the client marks it experimental.
                options.Seed = Seed + i;
#pragma warning restore OPENAI001
                ChatCompletion completion = await _client.CompleteChatAsync([new UserChatMessage(prompts[i])], options, token).ConfigureAwait(false);
                var text = string.Concat(completion.Content.Select(c => c.Text));
                IReadOnlyList<TokenAlternatives>? logprobs = topLogprobs > 0
                    ? [.. completion.ContentTokenLogProbabilities.Select(t => new TokenAlternatives(t.Token, [.. t.TopLogProbabilities.Select(a => (a.Token, a.LogProbability))]))]
                    : null;
                answers[i] = new ProbeAnswer(prompts[i], text, logprobs);
            }
            catch (ClientResultException)
            {
                Interlocked.Increment(ref failed);
            }

            progress?.Invoke(Interlocked.Increment(ref done));
        }).ConfigureAwait(false);
        return ([.. answers.OfType<ProbeAnswer>()], failed, watch.Elapsed);
    }
}

/// <summary>An answer and, when asked for, each of its tokens' most likely alternatives.</summary>
/// <param name="Prompt">The prompt sent.</param>
/// <param name="Answer">The answer's text.</param>
/// <param name="Logprobs">Per answer token: the token and its top alternatives with natural-log probabilities; null when not asked for.</param>
public sealed record ProbeAnswer(string Prompt, string Answer, IReadOnlyList<TokenAlternatives>? Logprobs);

/// <summary>One generated token and the model's most likely tokens at its position.</summary>
public sealed record TokenAlternatives(string Token, IReadOnlyList<(string Token, float LogProbability)> Top);
