using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Lab.Radioactivity;

/// <summary>
/// Has a suspect read our watermarked text through the legacy completions endpoint (<c>echo</c>, <c>logprobs</c>,
/// <c>max_tokens</c> 0) and turns its top-1 prediction at every position into our token ids: the reading-mode test's input.
/// </summary>
/// <remarks>
/// The OpenAI .NET client has no legacy completions client, so this one speaks plain JSON. A suspect that does not
/// return prompt log-probabilities (a 4xx, or no <c>top_logprobs</c>) makes <see cref="ReadAsync"/> report it unavailable.
/// A prediction is kept only where the suspect's token starts at one of our token boundaries and its text is exactly
/// one of our tokens, so a suspect with another tokenizer is read at the positions both tokenisations share.
/// </remarks>
public sealed class ReadingProbe : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _model;
    private readonly TextTokenizer _tokenizer;

    /// <summary>Creates a probe of <paramref name="model"/> at <paramref name="baseUrl"/> (the URL before <c>/completions</c>, e.g. <c>http://host/v1</c>).</summary>
    public ReadingProbe(Uri baseUrl, string apiKey, string model, TextTokenizer? tokenizer = null)
    {
        var root = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
        _http = new HttpClient { BaseAddress = root, Timeout = TimeSpan.FromSeconds(120) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        _model = model;
        _tokenizer = tokenizer ?? TextTokenizer.Gpt2;
    }

    /// <summary>Tokens per request (the radioactivity paper reads 256-token chunks).</summary>
    public int ChunkTokens { get; init; } = 256;

    /// <summary>Requests in flight at once.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Splits <paramref name="texts"/> into chunks of at most <see cref="ChunkTokens"/> of our tokens, up to <paramref name="maxTokens"/> in all.</summary>
    public IReadOnlyList<string> Chunks(IEnumerable<string> texts, int maxTokens)
    {
        var chunks = new List<string>();
        var total = 0;
        foreach (var text in texts)
        {
            var ids = _tokenizer.Encode(text);
            for (var start = 0; start < ids.Length && total < maxTokens; start += ChunkTokens)
            {
                var length = Math.Min(ChunkTokens, Math.Min(ids.Length - start, maxTokens - total));
                if (length < 8)
                {
                    break;
                }

                chunks.Add(_tokenizer.Decode(ids.AsSpan(start, length)));
                total += length;
            }

            if (total >= maxTokens)
            {
                break;
            }
        }

        return chunks;
    }

    /// <summary>Reads every chunk; <paramref name="progress"/> gets the number done. <c>Unavailable</c> says why no row came back.</summary>
    public async Task<(IReadOnlyList<ReadingRow> Rows, int Failed, string? Unavailable, TimeSpan Elapsed)> ReadAsync(IReadOnlyList<string> chunks, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        var rows = new ReadingRow?[chunks.Count];
        int done = 0, failed = 0;
        string? unavailable = null;
        await Parallel.ForAsync(0, chunks.Count, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken }, async (i, token) =>
        {
            if (Volatile.Read(ref unavailable) is null)
            {
                try
                {
                    rows[i] = await ReadOneAsync(chunks[i], token).ConfigureAwait(false);
                }
                catch (ReadingUnavailableException e)
                {
                    Interlocked.CompareExchange(ref unavailable, e.Message, null);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failed);
                }
            }

            progress?.Invoke(Interlocked.Increment(ref done));
        }).ConfigureAwait(false);
        return (unavailable is null ? [.. rows.OfType<ReadingRow>()] : [], failed, unavailable, watch.Elapsed);
    }

    /// <summary>
    /// The reading-mode test in one call: reads up to <paramref name="maxTokens"/> tokens of <paramref name="texts"/> and
    /// audits the predictions for <paramref name="key"/>'s watermark; the report is null (with the reason) when the
    /// suspect returns no prompt log-probabilities. <paramref name="progress"/> gets (chunks done, chunks).
    /// </summary>
    public async Task<(RadioactivityReport? Report, string? Unavailable)> AuditAsync(IEnumerable<string> texts, int maxTokens, WatermarkKey key, AuditOptions options, string suspect, Action<int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        var chunks = Chunks(texts, maxTokens);
        var (rows, _, unavailable, elapsed) = await ReadAsync(chunks, progress is null ? null : done => progress(done, chunks.Count), cancellationToken).ConfigureAwait(false);
        if (unavailable is not null || rows.Count == 0)
        {
            return (null, unavailable ?? "the suspect answered none of the reading requests");
        }

        return (RadioactivityAudit.RunReading(rows, key, options, suspect + " (reading)") with { CollectionSeconds = elapsed.TotalSeconds }, null);
    }

    private async Task<ReadingRow> ReadOneAsync(string text, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object> { ["model"] = _model, ["prompt"] = text, ["max_tokens"] = 0, ["echo"] = true, ["logprobs"] = 1, ["temperature"] = 0 };
        using var response = await _http.PostAsJsonAsync("completions", body, cancellationToken).ConfigureAwait(false);
        var json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode is >= 400 and < 500)
        {
            throw new ReadingUnavailableException($"the suspect refused an echo/logprobs completion ({(int)response.StatusCode}): {Truncate(json)}");
        }

        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(json);
        if (!document.RootElement.TryGetProperty("choices", out var choices) || choices.GetArrayLength() == 0
            || !choices[0].TryGetProperty("logprobs", out var logprobs) || logprobs.ValueKind != JsonValueKind.Object
            || !logprobs.TryGetProperty("top_logprobs", out var top) || !logprobs.TryGetProperty("text_offset", out var offsets))
        {
            throw new ReadingUnavailableException("the suspect returned no prompt log-probabilities for an echo completion");
        }

        return Map(text, offsets, top);
    }

    /// <summary>Our tokens of <paramref name="text"/> and, at each, the suspect's top-1 prediction where it maps to exactly one of our tokens.</summary>
    private ReadingRow Map(string text, JsonElement offsets, JsonElement top)
    {
        var ids = _tokenizer.Encode(text);
        var predicted = new int[ids.Length];
        Array.Fill(predicted, -1);
        var byOffset = new Dictionary<int, int>(ids.Length);
        var offset = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            byOffset.TryAdd(offset, i);
            offset += _tokenizer.GetTokenText(ids[i]).Length;
        }

        var count = Math.Min(offsets.GetArrayLength(), top.GetArrayLength());
        for (var p = 0; p < count; p++)
        {
            var alternatives = top[p];
            if (alternatives.ValueKind != JsonValueKind.Object || !byOffset.TryGetValue(offsets[p].GetInt32(), out var at))
            {
                continue;
            }

            string? best = null;
            var bestLogProbability = double.NegativeInfinity;
            foreach (var alternative in alternatives.EnumerateObject())
            {
                var value = alternative.Value.GetDouble();
                if (value > bestLogProbability)
                {
                    best = alternative.Name;
                    bestLogProbability = value;
                }
            }

            if (best is not null && _tokenizer.Encode(best) is [var id])
            {
                predicted[at] = id;
            }
        }

        return new ReadingRow(ids, predicted);
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private sealed class ReadingUnavailableException(string message) : Exception(message);
}
