using DistillGuard.Detection.Prompts;
using DistillGuard.Detection.Sketches;

namespace DistillGuard.Detection.Accounts;

/// <summary>One half of an account's 7-day content window: counters and sketches over 3.5 days of requests.</summary>
/// <remarks>Two generations (current and previous) together cover between 3.5 and 7 days; sketches merge by union.</remarks>
internal sealed class WindowGeneration
{
    /// <summary>Topic buckets: the top bits of a prompt's content SimHash (CAP uses 2,048 random-hyperplane buckets; 1,024 fit a 128-byte bitmap).</summary>
    public const int TopicBits = 10;

    public readonly HyperLogLog Skeletons = new(8);
    public readonly CountMinSketch Templates = new(64, 3);
    public readonly MinHashSignature Topics = new(64);
    public readonly ulong[] TopicBuckets = new ulong[(1 << TopicBits) / 64];
    public readonly int[] Capabilities = new int[Lexicons.CapabilityNames.Length];

    public long Index = long.MinValue;
    public int Requests;
    public int TextRequests;
    public int Elicited;
    public int ElicitedLong;
    public int LongOutputs;
    public int Logprobs;
    public int MultiChoice;
    public int AtCeiling;
    public int FollowUps;
    public int NearDuplicates;
    public int Repeats;

    /// <summary>Requests whose sampling settings were not among the account's few most recently used ones.</summary>
    public int NovelSettings;
    public int RepeatLogprobs;

    /// <summary>Log-probabilities returned to new requests (soft labels), and all information returned (every choice's tokens plus those).</summary>
    public long LogprobEntries;
    public long HarvestedTokens;

    /// <summary>First turns that asked for reasoning or a structured answer and returned logprobs.</summary>
    public int ElicitedLogprobs;

    /// <summary>Requests that brought a prompt to a third or later distinct sampling setting.</summary>
    public int PromptSweeps;

    /// <summary>New requests asking for n &gt; 1 samples with logprobs.</summary>
    public int SampledLogprobs;
    public int RepeatMultiChoice;
    public int Errors;
    public long PromptTokens;
    public long CompletionTokens;
    public int TopTemplate;
    public int GapCount;
    public double GapMean;
    public double GapM2;

    /// <summary>Bytes of state held by this generation (arrays and fields, excluding object headers).</summary>
    public int SizeBytes => Skeletons.SizeBytes + Templates.SizeBytes + Topics.SizeBytes + (TopicBuckets.Length * 8) + (Capabilities.Length * 4) + 140;

    /// <summary>Adds one gap (seconds) to the running inter-arrival statistics (Welford).</summary>
    public void AddGap(double seconds)
    {
        GapCount++;
        var delta = seconds - GapMean;
        GapMean += delta / GapCount;
        GapM2 += delta * (seconds - GapMean);
    }

    public int TopicBucketCount()
    {
        var count = 0;
        foreach (var word in TopicBuckets)
        {
            count += System.Numerics.BitOperations.PopCount(word);
        }

        return count;
    }

    /// <summary>Empties the generation and gives it a new index.</summary>
    public void Reset(long index)
    {
        Index = index;
        Skeletons.Clear();
        Templates.Clear();
        Topics.Clear();
        Array.Clear(TopicBuckets);
        Array.Clear(Capabilities);
        Requests = TextRequests = Elicited = ElicitedLong = LongOutputs = Logprobs = MultiChoice = AtCeiling = FollowUps = NearDuplicates = Errors = Repeats = RepeatLogprobs = RepeatMultiChoice = 0;
        PromptTokens = CompletionTokens = 0;
        NovelSettings = ElicitedLogprobs = PromptSweeps = SampledLogprobs = 0;
        LogprobEntries = HarvestedTokens = 0;
        TopTemplate = 0;
        GapCount = 0;
        GapMean = GapM2 = 0;
    }
}
