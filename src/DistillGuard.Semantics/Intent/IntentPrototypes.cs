namespace DistillGuard.Semantics.Intent;

/// <summary>
/// Plain descriptions of what a reasoning-trace or solution harvest asks for, written for this detector in ordinary
/// words; a prompt's intent is its embedding's nearness to them, not a match on any phrase.
/// </summary>
/// <remarks>
/// They are deliberately not the lexicon's phrases (<c>DistillGuard.Detection.Prompts.Lexicons</c>): the lexical detector
/// and this one should fail differently, so that rewording a harvest to dodge one leaves it near the other.
/// </remarks>
public static class IntentPrototypes
{
    /// <summary>The prototypes.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        "Go through the problem one stage at a time and tell me what you are thinking at each stage before you give the answer.",
        "I want the complete worked solution with all the in-between calculations written out, not only the final result.",
        "Before answering, lay out your whole line of thought in detail so I can follow how you got there.",
        "Give me a thorough explanation of how to derive this, covering each step of the argument from start to finish.",
        "Write out a full, detailed solution to this exercise and justify every step along the way.",
        "Consider this with care and show all of your internal deliberation, then state your conclusion.",
        "Solve this problem and write out all of the working, one move at a time.",
        "Show me how you reason about this question in detail before answering.",
        "Work out the answer to this maths question and explain each calculation.",
        "Explain your thinking at length: what do you consider first, then next, and why?",
        "Prove this and justify each line of the proof.",
        "Write the full program and explain what every part of it does and why.",
    ];
}
