using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Storage.Tests.Usage;

/// <summary>Builds usage events for tests.</summary>
internal static class UsageEvents
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static UsageEvent Make(string requestId, DateTimeOffset? at = null, string? account = "acct-1", string? prompt = "Explain step by step") => new()
    {
        RequestId = requestId,
        Timestamp = at ?? Epoch,
        AccountId = account,
        KeyId = "key_0123456789ab",
        ClientAddress = "203.0.113.7",
        UserAgent = "test/1.0",
        Endpoint = "chat.completions",
        Api = "messages",
        Model = "dg-ngram",
        Stream = true,
        Temperature = 0.7,
        TopP = 0.9,
        MaxTokens = 256,
        N = 1,
        Logprobs = true,
        TopLogprobs = 5,
        Echo = true,
        Seed = 42,
        StopCount = 1,
        PromptTokens = 12,
        CompletionTokens = 100,
        LatencyMs = 123.5,
        TimeToFirstTokenMs = 20.25,
        Status = 200,
        FinishReason = "stop",
        PromptText = prompt,
    };

    public static List<UsageEvent> Range(int from, int count, DateTimeOffset? at = null) =>
        Enumerable.Range(from, count).Select(i => Make($"req-{i}", at)).ToList();
}
