namespace DistillGuard.Gateway.Policy;

/// <summary>Removes <c>&lt;think&gt;…&lt;/think&gt;</c> reasoning blocks from text that arrives in pieces (a stream).</summary>
/// <remarks>One instance per choice of one response; holds back at most a partial tag between pieces.</remarks>
internal sealed class ThinkBlockFilter
{
    private const string Open = "<think>";
    private const string Close = "</think>";

    private bool _inside;
    private string _pending = "";

    /// <summary>The visible part of <paramref name="piece"/>; a tag split across pieces is held back until it is whole.</summary>
    /// <param name="piece">The next piece of text.</param>
    /// <param name="hidden">Receives the text inside think blocks (to seal it); null drops it.</param>
    public string Filter(string piece, System.Text.StringBuilder? hidden = null)
    {
        var text = _pending + piece;
        _pending = "";
        var visible = new System.Text.StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var tag = _inside ? Close : Open;
            var at = text.IndexOf(tag, i, StringComparison.Ordinal);
            if (at >= 0)
            {
                (_inside ? hidden : visible)?.Append(text, i, at - i);
                i = at + tag.Length;
                _inside = !_inside;
                continue;
            }

            var keep = PartialTagSuffix(text, i, tag);
            (_inside ? hidden : visible)?.Append(text, i, text.Length - keep - i);
            _pending = text[(text.Length - keep)..];
            break;
        }

        return visible.ToString();
    }

    /// <summary>What is still held back when the text ends (a partial tag that never completed is text).</summary>
    public string Flush(System.Text.StringBuilder? hidden = null)
    {
        if (_inside)
        {
            hidden?.Append(_pending);
        }

        var rest = _inside ? "" : _pending;
        _pending = "";
        return rest;
    }

    private static int PartialTagSuffix(string text, int from, string tag)
    {
        for (var length = Math.Min(tag.Length - 1, text.Length - from); length > 0; length--)
        {
            if (string.CompareOrdinal(text, text.Length - length, tag, 0, length) == 0)
            {
                return length;
            }
        }

        return 0;
    }
}
