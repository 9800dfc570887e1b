namespace DistillGuard.Watermarking.Schemes;

/// <summary>Whether the current context window already seeded a token earlier in the same response.</summary>
internal static class ResponseWindows
{
    /// <summary>True when the last <paramref name="width"/> tokens of <paramref name="previous"/> occurred as the window of an earlier generated token.</summary>
    /// <remarks>
    /// Scans the response (O(generated · h), no state), so one processor instance can serve concurrent requests.
    /// Not marking a repeated window keeps the repeated text from carrying the same biased choice twice (SynthID and
    /// vLLM do the same); the detector scores each (window, token) once.
    /// </remarks>
    public static bool IsRepeated(ReadOnlySpan<int> previous, int generatedCount, int width)
    {
        var length = previous.Length;
        var current = previous[(length - width)..];
        var first = Math.Max(width, length - generatedCount);
        var last = current[^1];
        for (var end = first; end < length; end++)
        {
            // Most windows differ in their last token: test it before comparing the whole window.
            if (previous[end - 1] == last && previous.Slice(end - width, width).SequenceEqual(current))
            {
                return true;
            }
        }

        return false;
    }
}
