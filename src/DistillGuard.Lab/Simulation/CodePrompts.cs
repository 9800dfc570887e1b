using System.Globalization;

namespace DistillGuard.Lab.Simulation;

/// <summary>Programming requests (developers, agent harnesses, capability farmers), with identifiers drawn from WordNet lemmas.</summary>
internal static class CodePrompts
{
    public static readonly string[] Languages = ["Python", "TypeScript", "C#", "Go", "Rust", "Java", "SQL", "Bash"];

    private static readonly string[] s_errors =
    [
        "KeyError", "NullReferenceException", "TypeError: undefined is not a function", "index out of range", "deadlock",
        "borrow of moved value", "ConcurrentModificationException", "segmentation fault", "timeout", "permission denied",
    ];

    /// <summary>An identifier made of one or two lemmas ("river_bank", "riverBank").</summary>
    public static string Identifier(PromptCorpus corpus, SimulationRandom rng, bool camel)
    {
        var words = corpus.Lemma(corpus.ConceptIn(rng, rng.Chance(0.5) ? corpus.LexfileIndex("noun.artifact") : corpus.LexfileIndex("noun.communication")))
            .ToLowerInvariant().Split(' ', '-', '\'', '.', ',');
        words = [.. words.Where(w => w.Length > 0).Take(2)];
        if (words.Length == 0)
        {
            return "value";
        }

        return camel
            ? words[0] + string.Concat(words.Skip(1).Select(w => char.ToUpperInvariant(w[0]) + w[1..]))
            : string.Join('_', words);
    }

    /// <summary>A short code snippet with real-looking names.</summary>
    public static string Snippet(PromptCorpus corpus, SimulationRandom rng, string language)
    {
        var f = Identifier(corpus, rng, language is not "Python");
        var a = Identifier(corpus, rng, language is not "Python");
        var b = Identifier(corpus, rng, language is not "Python");
        var n = rng.Between(2, 100).ToString(CultureInfo.InvariantCulture);
        return language switch
        {
            "Python" => $"def {f}({a}):\n    result = {{}}\n    for item in {a}:\n        result[item.{b}] = item\n    return result[{n}]",
            "SQL" => $"SELECT {a}, COUNT(*) FROM {f} WHERE {b} > {n} GROUP BY {a} ORDER BY 2 DESC;",
            "Bash" => $"for f in ./{a}/*; do\n  grep -c \"{b}\" \"$f\" >> {f}.log\ndone",
            _ => $"function {f}({a}) {{\n  const {b} = {a}.filter(x => x.size > {n});\n  return {b}[0].{f};\n}}",
        };
    }

    /// <summary>A developer's question: debugging, how-to, tests, refactoring, explanations.</summary>
    public static string Question(PromptCorpus corpus, SimulationRandom rng, string language) => rng.Next(7) switch
    {
        0 => $"Why does this {language} code throw {rng.Pick(s_errors)}?\n```\n{Snippet(corpus, rng, language)}\n```",
        1 => $"How do I {corpus.Lemma(corpus.ConceptIn(rng, corpus.LexfileIndex("verb.change")))} a {Identifier(corpus, rng, false).Replace('_', ' ')} in {language}?",
        2 => $"Write a unit test for this:\n```\n{Snippet(corpus, rng, language)}\n```",
        3 => $"Refactor this to be more readable:\n```\n{Snippet(corpus, rng, language)}\n```",
        4 => $"what's the difference between {Identifier(corpus, rng, true)} and {Identifier(corpus, rng, true)} in my {language} code? {corpus.Sentence(rng)}",
        5 => $"Is there a library in {language} for {corpus.Lemma(corpus.ConceptIn(rng, corpus.LexfileIndex("noun.act")))}?",
        _ => $"Explain what this does:\n```\n{Snippet(corpus, rng, language)}\n```",
    };

    /// <summary>A developer's follow-up within a debugging session.</summary>
    public static string FollowUp(PromptCorpus corpus, SimulationRandom rng, string language) => rng.Next(5) switch
    {
        0 => $"Still failing with {rng.Pick(s_errors)}.",
        1 => "That works, thanks. Can you also add error handling?",
        2 => $"Now I get this:\n```\n{Snippet(corpus, rng, language)}\n```",
        3 => "Can you explain why that fixes it?",
        _ => $"What if {Identifier(corpus, rng, true)} is empty?",
    };

    /// <summary>An agentic coding task (a user's goal for a tool loop).</summary>
    public static string AgentTask(PromptCorpus corpus, SimulationRandom rng) => rng.Next(4) switch
    {
        0 => $"Add a {Identifier(corpus, rng, false).Replace('_', ' ')} option to the {Identifier(corpus, rng, false)} module and update the tests.",
        1 => $"The build fails in {Identifier(corpus, rng, false)}.py with {rng.Pick(s_errors)}. Find and fix the cause.",
        2 => $"Rename {Identifier(corpus, rng, true)} to {Identifier(corpus, rng, true)} across the repository.",
        _ => $"Write a script that reads {Identifier(corpus, rng, false)}.csv and reports the {corpus.Lemma(corpus.ConceptIn(rng, corpus.LexfileIndex("noun.quantity")))} per {Identifier(corpus, rng, false).Replace('_', ' ')}.",
    };

    /// <summary>A tool result fed back to an agent.</summary>
    public static string ToolResult(PromptCorpus corpus, SimulationRandom rng) => rng.Next(3) switch
    {
        0 => $"Tool result (read_file):\n{Snippet(corpus, rng, "Python")}",
        1 => $"Tool result (run_shell): exit code {rng.Pick(new[] { 0, 0, 1, 2 })}\n{rng.Pick(s_errors)} in {Identifier(corpus, rng, false)}.py line {rng.Between(1, 400)}",
        _ => $"Tool result (search): {rng.Between(0, 12)} matches for {Identifier(corpus, rng, true)}",
    };
}
