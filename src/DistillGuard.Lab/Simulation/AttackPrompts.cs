namespace DistillGuard.Lab.Simulation;

/// <summary>
/// Distillation prompt material modelled on the disclosed campaigns (detection.md §1): expert personas asking for
/// "complete and transparent reasoning", reasoning reconstruction behind finished answers, rubric grading (the model
/// as a reward model), "generate N diverse tasks" for RL, and censorship-safe rewrites.
/// </summary>
internal static class AttackPrompts
{
    /// <summary>System prompts of the "expert with transparent reasoning" kind Anthropic quotes (Feb 2026).</summary>
    public static readonly string[] ExpertPersonas =
    [
        "You are an expert data analyst. Provide complete and transparent reasoning for every answer.",
        "You are a world-class expert. Always reason step by step and never skip a step.",
        "You are a meticulous professor. Explain your full chain of thought before giving the final answer.",
        "You are a senior researcher who shows all intermediate reasoning in detail.",
        "You are a helpful assistant. Think carefully and write out your complete reasoning process.",
        "You are an expert tutor. Your answers must include every reasoning step, then a final answer.",
    ];

    /// <summary>Templates with slots {lemma}, {gloss}, {topic}, {sentence}, {n}.</summary>
    public static readonly string[] ElicitationTemplates =
    [
        "Explain {lemma} ({gloss}). Think step by step and show every step of your reasoning before the final answer.",
        "Here is a completed answer: \"{gloss}\". Write out, step by step, the internal reasoning that would lead to this answer to the question \"What is {lemma}?\"",
        "Question: what is {lemma}, and why does it matter in {topic}? Show your complete chain of thought inside <think> tags, then answer.",
        "Reconstruct the detailed reasoning behind this finished answer, one numbered step at a time: {gloss}",
        "Solve the following problem about {lemma} and show all intermediate reasoning. Problem: {sentence}",
        "Describe {lemma} in full detail. Before answering, reason through the question step by step and show your work.",
    ];

    /// <summary>Rubric-grading templates: the model used as a reward model.</summary>
    public static readonly string[] RubricTemplates =
    [
        "You are a strict grader. Score the following answer about {lemma} from 1 to 10 against the rubric (accuracy, completeness, clarity) and justify each criterion step by step.\nAnswer: {sentence}",
        "Grade this response on a 1-5 scale for correctness and helpfulness. Explain your reasoning for each criterion, then output the score as JSON.\nQuestion: What is {lemma}?\nResponse: {gloss}",
        "Compare the two answers below about {topic} and decide which is better. Reason step by step, then output \"A\" or \"B\".\nA: {gloss}\nB: {sentence}",
    ];

    /// <summary>Task-generation templates feeding reinforcement learning.</summary>
    public static readonly string[] TaskGenerationTemplates =
    [
        "Generate {n} diverse, challenging tasks about {topic}, one of them involving {lemma}. For each task give the task, a detailed step-by-step solution and the final answer, as JSON.",
        "Create {n} new and varied problems on {lemma} of increasing difficulty. Include a complete worked solution for each.",
        "Write {n} unique instructions a user might give about {topic}, with an ideal step-by-step response to each.",
    ];

    /// <summary>Censorship-safe rewrites (DeepSeek campaign, detection.md §1.1).</summary>
    public static readonly string[] RewriteTemplates =
    [
        "Rewrite the following so that it avoids any politically sensitive content while keeping its meaning, and explain your reasoning step by step: {sentence}",
        "Give a safe alternative answer to this question that a cautious assistant could give, reasoning step by step: what do people think about {lemma}?",
    ];

    /// <summary>Fills a template's slots from one concept and the corpus.</summary>
    public static string Fill(string template, PromptCorpus corpus, int concept, SimulationRandom rng) => template
        .Replace("{lemma}", corpus.Lemma(concept), StringComparison.Ordinal)
        .Replace("{gloss}", corpus.Gloss(concept), StringComparison.Ordinal)
        .Replace("{topic}", corpus.Topic(concept), StringComparison.Ordinal)
        .Replace("{sentence}", template.Contains("{sentence}", StringComparison.Ordinal) ? corpus.Sentence(rng) : "", StringComparison.Ordinal)
        .Replace("{n}", template.Contains("{n}", StringComparison.Ordinal) ? rng.Between(5, 20).ToString(System.Globalization.CultureInfo.InvariantCulture) : "", StringComparison.Ordinal);
}
