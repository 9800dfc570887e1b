namespace DistillGuard.Watermarking.Schemes;

/// <summary>Whether the current context window already seeded a token earlier in the same response.</summary>
internal static class ResponseWindows
{
    /// <summary>True when the last <paramref name="width"/> tokens of <paramref name="previous"/> occurred as the window of an earlier generated token.</summary>
    /// <remarks>
    /// Scans the response with no state, so one processor instance can serve concurrent requests. The scan looks for
    /// the window's last token with a vectorised <c>IndexOf</c> and compares whole windows only at its occurrences,
    /// so a 128-token response costs a few dozen nanoseconds. Not marking a repeated window keeps the repeated text
    /// from carrying the same biased choice twice (SynthID and vLLM do the same); the detector scores each
    /// (window, token) once.
    /// </remarks>
    public static bool IsRepeated(ReadOnlySpan<int> previous, int generatedCount, int width)
    {
        var length = previous.Length;
        var current = previous[(length - width)..];
        var first = Math.Max(width, length - generatedCount);

        // searched[j] is previous[first - 1 + j], the last token of the window that seeded the token at first + j.
        var searched = previous[(first - 1)..(length - 1)];
        var offset = 0;
        while (true)
        {
            var at = searched[offset..].IndexOf(current[^1]);
            if (at < 0)
            {
                return false;
            }

            var end = first + offset + at;
            if (previous.Slice(end - width, width).SequenceEqual(current))
            {
                return true;
            }

            offset += at + 1;
        }
    }
}
