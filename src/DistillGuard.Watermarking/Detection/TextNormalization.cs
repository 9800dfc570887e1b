using System.Text;

namespace DistillGuard.Watermarking.Detection;

/// <summary>Undoes cheap character-level evasions before a text is re-tokenized for detection.</summary>
public static class TextNormalization
{
    /// <summary>NFC, then drops invisible format characters (zero-width spaces and joiners, BOM, soft hyphen) that insert-then-delete tricks use.</summary>
    /// <remarks>KGW's detector normalises Unicode the same way before tokenizing (Kirchenbauer et al., normalizers.py).</remarks>
    public static string Normalize(string text)
    {
        string composed;
        try
        {
            composed = text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            // Unpaired surrogates cannot be normalised; the text is still scored as it is.
            composed = text;
        }

        var builder = new StringBuilder(composed.Length);
        foreach (var c in composed)
        {
            if (c is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF' or '\u00AD')
            {
                continue;
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}
