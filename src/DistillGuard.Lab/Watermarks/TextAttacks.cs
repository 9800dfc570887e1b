using System.Text;
using System.Text.RegularExpressions;
using DistillGuard.Watermarking.Lexical;

namespace DistillGuard.Lab.Watermarks;

/// <summary>The edits of the robustness evaluation, modelled on MarkLLM's WordDeletion and SynonymSubstitution editors.</summary>
public static partial class TextAttacks
{
    [GeneratedRegex(@"\S+")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"[A-Za-z]+")]
    private static partial Regex LettersPattern();

    /// <summary>Drops each whitespace-separated word independently with probability <paramref name="ratio"/>.</summary>
    public static string DeleteWords(string text, double ratio, Random random)
    {
        var kept = WordPattern().Matches(text).Select(m => m.Value).Where(_ => random.NextDouble() >= ratio);
        return string.Join(' ', kept);
    }

    /// <summary>
    /// Replaces <paramref name="ratio"/> of the words (or every replaceable one, if fewer) with a random WordNet
    /// synonym over all senses; returns the text and the fraction of words actually replaced.
    /// </summary>
    public static (string Text, double Replaced) SubstituteSynonyms(string text, double ratio, Random random, SynonymTable? table = null)
    {
        table ??= SynonymTable.Shared;
        var matches = LettersPattern().Matches(text);
        var candidates = new List<int>();
        for (var i = 0; i < matches.Count; i++)
        {
            if (table.TryGetSynonyms(matches[i].Value.ToLowerInvariant(), out _))
            {
                candidates.Add(i);
            }
        }

        var wanted = (int)Math.Round(ratio * matches.Count);
        var chosen = candidates.OrderBy(_ => random.Next()).Take(wanted).ToHashSet();
        var builder = new StringBuilder(text.Length + 16);
        var last = 0;
        for (var i = 0; i < matches.Count; i++)
        {
            if (!chosen.Contains(i))
            {
                continue;
            }

            var match = matches[i];
            table.TryGetSynonyms(match.Value.ToLowerInvariant(), out var synonyms);
            var replacement = synonyms[random.Next(synonyms.Length)];
            builder.Append(text, last, match.Index - last);
            builder.Append(char.IsUpper(match.Value[0]) ? char.ToUpperInvariant(replacement[0]) + replacement[1..] : replacement);
            last = match.Index + match.Length;
        }

        builder.Append(text, last, text.Length - last);
        return (builder.ToString(), matches.Count == 0 ? 0 : chosen.Count / (double)matches.Count);
    }
}
