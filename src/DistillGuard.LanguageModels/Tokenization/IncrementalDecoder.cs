using System.Text;

namespace DistillGuard.LanguageModels.Tokenization;

/// <summary>Turns a growing sequence of GPT-2 token ids into text deltas that never split a UTF-8 character.</summary>
/// <remarks>
/// GPT-2 is byte-level BPE, so one character (an emoji, an accented letter) may span several tokens; the bytes of an
/// unfinished character are held until the token that completes it arrives. Not thread-safe: one instance per sequence.
/// </remarks>
public sealed class IncrementalDecoder
{
    private readonly TextTokenizer _tokenizer;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private char[] _chars = new char[64];

    internal IncrementalDecoder(TextTokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>Appends one token and returns the text it completes (empty while a character is unfinished).</summary>
    public string Append(int tokenId)
    {
        var count = Decode(tokenId, flush: false);
        return count == 0 ? string.Empty : new string(_chars, 0, count);
    }

    /// <summary>Appends one token and writes the text it completes to <paramref name="output"/>.</summary>
    public void Append(int tokenId, StringBuilder output)
    {
        var count = Decode(tokenId, flush: false);
        output.Append(_chars, 0, count);
    }

    /// <summary>Writes the completed characters of one more token into <paramref name="output"/> and returns how many.</summary>
    /// <remarks>Allocation-free; <paramref name="output"/> needs room for the token's byte count plus three.</remarks>
    public int Append(int tokenId, Span<char> output)
    {
        var bytes = _tokenizer.TokenBytes(tokenId);
        return _utf8.GetChars(bytes, output, flush: false);
    }

    /// <summary>Ends the sequence: an unfinished character becomes U+FFFD.</summary>
    public void Flush(StringBuilder output)
    {
        var count = _utf8.GetChars(ReadOnlySpan<byte>.Empty, _chars, flush: true);
        output.Append(_chars, 0, count);
    }

    /// <summary>Ends the sequence and returns what was held back (U+FFFD for an unfinished character, else empty).</summary>
    public string Flush()
    {
        var count = _utf8.GetChars(ReadOnlySpan<byte>.Empty, _chars, flush: true);
        return count == 0 ? string.Empty : new string(_chars, 0, count);
    }

    private int Decode(int tokenId, bool flush)
    {
        var bytes = _tokenizer.TokenBytes(tokenId);
        var needed = bytes.Length + 4;
        if (_chars.Length < needed)
        {
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        }

        return _utf8.GetChars(bytes, _chars, flush);
    }
}
