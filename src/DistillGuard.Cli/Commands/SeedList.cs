using System.CommandLine;
using System.Globalization;

namespace DistillGuard.Cli.Commands;

/// <summary>A comma-separated list of simulator seeds as an option: refused at parse time with a message when it is not one.</summary>
internal static class SeedList
{
    /// <summary>An option holding seeds such as <c>1,2,3</c>, validated as the command line is parsed.</summary>
    public static Option<string> Option(string name, string defaults, string description)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaults };
        option.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string>();
            if (!TryParse(text, out _))
            {
                result.AddError($"{name} takes a comma-separated list of integer seeds (e.g. {defaults}), not '{text}'.");
            }
        });
        return option;
    }

    /// <summary>The seeds of a list <see cref="Option"/> has validated.</summary>
    public static int[] Parse(string text) =>
        TryParse(text, out var seeds) ? seeds : throw new ArgumentException($"Not a list of seeds: '{text}'.", nameof(text));

    private static bool TryParse(string? text, out int[] seeds)
    {
        seeds = [];
        var parts = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var parsed = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out parsed[i]))
            {
                return false;
            }
        }

        seeds = parsed;
        return parts.Length > 0;
    }
}
