using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Lab.Radioactivity;

/// <summary>The watermark windows we actually served (from the usage log or a teacher corpus): the audit's optional evidence filter.</summary>
/// <remarks>
/// The supervised advantage of Sander et al. 2024 (§3.3 step 4 of research/watermark.md): a student can only have
/// learned the green bias of contexts it saw, so scoring only those windows raises the signal per scored token.
/// </remarks>
public sealed class ServedWindows
{
    private readonly HashSet<UInt128> _windows = [];

    /// <summary>Creates an empty set for windows of <paramref name="width"/> tokens.</summary>
    public ServedWindows(int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, 7);
        Width = width;
    }

    /// <summary>Window width h (the watermark's context width).</summary>
    public int Width { get; }

    /// <summary>Number of distinct windows.</summary>
    public int Count => _windows.Count;

    /// <summary>Adds every window of a served answer (token ids as the tokenizer produced them).</summary>
    public void AddTokens(ReadOnlySpan<int> tokens)
    {
        for (var i = Width; i < tokens.Length; i++)
        {
            _windows.Add(TuplePacking.Window(tokens.Slice(i - Width, Width)));
        }
    }

    /// <summary>Adds every window of each text, tokenised with <paramref name="tokenizer"/>.</summary>
    public static ServedWindows FromTexts(IEnumerable<string> texts, int width, TextTokenizer? tokenizer = null)
    {
        tokenizer ??= TextTokenizer.Gpt2;
        var set = new ServedWindows(width);
        foreach (var text in texts)
        {
            set.AddTokens(tokenizer.Encode(text));
        }

        return set;
    }

    /// <summary>Whether the window was served.</summary>
    public bool Contains(ReadOnlySpan<int> window) => _windows.Contains(TuplePacking.Window(window));
}

/// <summary>Packs windows (h ≤ 7) and (window, token) tuples of GPT-2 ids (below 65,536) into 128 bits, 16 bits an id.</summary>
internal static class TuplePacking
{
    public static UInt128 Window(ReadOnlySpan<int> window)
    {
        UInt128 packed = 0;
        for (var i = 0; i < window.Length; i++)
        {
            packed |= (UInt128)(ushort)window[i] << (16 * i);
        }

        return packed;
    }

    // The token goes in the slot after the window; no width tag is needed because one audit uses one width.
    public static UInt128 Tuple(ReadOnlySpan<int> window, int token) => Window(window) | ((UInt128)(ushort)token << (16 * window.Length));
}
