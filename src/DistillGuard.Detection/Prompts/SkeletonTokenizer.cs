using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace DistillGuard.Detection.Prompts;

/// <summary>What a skeleton token stands for.</summary>
internal enum SkeletonTokenKind : byte
{
    Word,
    Number,
    Quoted,
    Url,
    Name,
    Punctuation,
}

/// <summary>
/// Splits prompt text into skeleton tokens: lower-cased words, with numbers, quoted spans, URLs/e-mails and
/// capitalised mid-sentence words (names, entities) masked, so that one template filled with different values
/// gives one skeleton.
/// </summary>
/// <remarks>Allocation-free: the current word is lower-cased into a caller buffer. Reads at most <see cref="MaxChars"/> characters.</remarks>
internal ref struct SkeletonTokenizer
{
    /// <summary>Only the head of a prompt is read; templates show themselves early (research notes §5.2: first ~2 KB).</summary>
    public const int MaxChars = 4096;

    /// <summary>Longest word kept; longer words are cut (their hash still differs from shorter ones).</summary>
    public const int MaxWordChars = 48;

    private readonly ReadOnlySpan<char> _text;
    private readonly Span<char> _word;
    private int _position;
    private bool _sentenceStart;
    private bool _lineStart;

    public SkeletonTokenizer(ReadOnlySpan<char> text, Span<char> wordBuffer)
    {
        _text = text.Length > MaxChars ? text[..MaxChars] : text;
        _word = wordBuffer;
        _position = 0;
        _sentenceStart = true;
        _lineStart = true;
        LineStart = false;
        Kind = SkeletonTokenKind.Word;
        WordLength = 0;
        Punctuation = '\0';
    }

    public SkeletonTokenKind Kind { get; private set; }

    /// <summary>True when the current token is the first of its line (the text's first token included).</summary>
    public bool LineStart { get; private set; }

    /// <summary>Length of the lower-cased word in the buffer (for <see cref="SkeletonTokenKind.Word"/>).</summary>
    public int WordLength { get; private set; }

    /// <summary>The punctuation character (for <see cref="SkeletonTokenKind.Punctuation"/>).</summary>
    public char Punctuation { get; private set; }

    /// <summary>The current lower-cased word.</summary>
    public readonly ReadOnlySpan<char> Word => _word[..WordLength];

    /// <summary>A 64-bit hash of the current token (words by content, masked tokens by kind).</summary>
    public readonly ulong Hash => Kind switch
    {
        SkeletonTokenKind.Word => HashWord(Word),
        SkeletonTokenKind.Punctuation => 0x50C7_0000UL + Punctuation,
        _ => 0xA5A5_0000UL + (ulong)Kind,
    };

    /// <summary>The same hash as a word token with this text (for building lexicons).</summary>
    public static ulong HashWord(ReadOnlySpan<char> lowerCaseWord) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(lowerCaseWord));

    /// <summary>Moves to the next token; false at the end.</summary>
    public bool MoveNext()
    {
        var text = _text;
        while (_position < text.Length)
        {
            var c = text[_position];
            if (char.IsWhiteSpace(c))
            {
                if (c == '\n')
                {
                    _sentenceStart = true;
                    _lineStart = true;
                }

                _position++;
                continue;
            }

            if (char.IsDigit(c))
            {
                // Digits with inner separators (3.14, 2026-11-26, 1,000, 10:30) are one number.
                _position++;
                while (_position < text.Length && (char.IsDigit(text[_position]) || (IsNumberJoiner(text[_position]) && _position + 1 < text.Length && char.IsDigit(text[_position + 1]))))
                {
                    _position++;
                }

                return Emit(SkeletonTokenKind.Number);
            }

            if (c is '"' or '“' or '«' or '`' && TrySkipQuoted(c))
            {
                return Emit(SkeletonTokenKind.Quoted);
            }

            if (char.IsLetter(c))
            {
                var start = _position;
                while (_position < text.Length && (char.IsLetterOrDigit(text[_position]) || text[_position] is '_' or '\'' or '’' || (text[_position] == '-' && _position + 1 < text.Length && char.IsLetter(text[_position + 1]))))
                {
                    _position++;
                }

                // A word glued to '@', "://" or "www." is an address: mask it with everything up to the next space.
                if (_position < text.Length && (text[_position] == '@' || (text[_position] == ':' && text[(_position + 1)..].StartsWith("//", StringComparison.Ordinal)) || (text[_position] == '.' && text[start.._position].Equals("www", StringComparison.OrdinalIgnoreCase))))
                {
                    while (_position < text.Length && !char.IsWhiteSpace(text[_position]))
                    {
                        _position++;
                    }

                    // Sentence punctuation after an address belongs to the sentence.
                    while (text[_position - 1] is '.' or ',' or ';' or ':' or '!' or '?' or ')')
                    {
                        _position--;
                    }

                    return Emit(SkeletonTokenKind.Url);
                }

                var raw = text[start.._position];
                if (char.IsUpper(raw[0]) && !_sentenceStart && raw.Length > 1)
                {
                    return Emit(SkeletonTokenKind.Name);
                }

                var length = Math.Min(raw.Length, Math.Min(MaxWordChars, _word.Length));
                for (var i = 0; i < length; i++)
                {
                    _word[i] = char.ToLowerInvariant(raw[i]);
                }

                WordLength = length;
                return Emit(SkeletonTokenKind.Word);
            }

            _position++;
            if (char.IsPunctuation(c) || char.IsSymbol(c))
            {
                Punctuation = c;
                Kind = SkeletonTokenKind.Punctuation;
                LineStart = _lineStart;
                _lineStart = false;
                _sentenceStart = c is '.' or '!' or '?' or ':' or ';' or '(' or '[' or '-' or '*' or '#' or '>';
                return true;
            }
        }

        return false;
    }

    private bool Emit(SkeletonTokenKind kind)
    {
        Kind = kind;
        LineStart = _lineStart;
        _lineStart = false;
        if (kind != SkeletonTokenKind.Word)
        {
            WordLength = 0;
        }

        _sentenceStart = false;
        return true;
    }

    private static bool IsNumberJoiner(char c) => c is '.' or ',' or ':' or '-' or '/';

    /// <summary>Skips a quoted span of at most 400 characters; false (nothing skipped but the mark) when it never closes.</summary>
    private bool TrySkipQuoted(char open)
    {
        var close = open switch { '“' => '”', '«' => '»', _ => open };
        var limit = Math.Min(_text.Length, _position + 401);
        for (var i = _position + 1; i < limit; i++)
        {
            if (_text[i] == close || (open == '“' && _text[i] == '"'))
            {
                _position = i + 1;
                return true;
            }
        }

        return false;
    }
}
