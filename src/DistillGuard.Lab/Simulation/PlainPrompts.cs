namespace DistillGuard.Lab.Simulation;

/// <summary>
/// Prompt material of the held-out families in the simulator's own phrasing: reasoning harvests that never use the
/// detector's elicitation lexicon (no "step by step", "chain of thought", "show your work", "reasoning behind", …),
/// soft-label short answers, a support vendor's shared system prompt and a varied human's asks. The committed
/// held-out set (HeldOut/templates.txt) is a second, independent source for the same slots.
/// </summary>
internal static class PlainPrompts
{
    /// <summary>System prompts asking for the derivation without naming it the way the disclosures do.</summary>
    public static readonly string[] Personas =
    [
        "You are a professor who never states a result without deriving it first, one line per move.",
        "You are a careful analyst. Every conclusion you write comes after the evidence and the inferences that lead to it.",
        "You are a tutor. Spell out how each idea follows from the previous one; the learner will study your derivations.",
        "You are a specialist writing worked examples for a textbook: premises, each deduction, then the result.",
    ];

    /// <summary>Long reasoning asks with slots {lemma}, {gloss}, {topic}, {sentence}.</summary>
    public static readonly string[] Reasoning =
    [
        "Derive, one numbered line at a time, why {lemma} ({gloss}) matters in {topic}. Justify every line before moving on, and state the conclusion last.",
        "Work out from first principles what {lemma} is. Write down each assumption, each deduction and why it follows, then the conclusion.",
        "Consider this: {sentence} Argue from it to a claim about {lemma}, listing every inference and the fact it rests on.",
        "How would a specialist in {topic} decide whether this is right: {gloss}? Narrate the whole derivation, then give a verdict.",
        "Teach me {lemma} by deriving it: start from facts a beginner knows, add one inference per line, explain each, end with a summary.",
        "Solve this as a worked example about {lemma}, writing out every move from the givens to the result: {sentence}",
    ];

    /// <summary>Short-answer asks for soft labels (one word, yes/no, a category).</summary>
    public static readonly string[] ShortAnswers =
    [
        "Classify the topic of this sentence in one word: {sentence}",
        "Does {lemma} belong to {topic}? Yes or no.",
        "Sentiment of this sentence (positive, negative or neutral): {sentence}",
        "One-word category for {lemma}:",
        "Is this a correct definition of {lemma}? {gloss} Answer true or false.",
    ];

    /// <summary>A helpdesk vendor's system prompt, shipped unchanged to every customer account that deploys its bot.</summary>
    public static readonly string[] SupportSystems =
    [
        "You are HelpDesk Pro's virtual agent for an online shop. Greet the customer, answer questions about orders, shipping and returns, keep replies under 120 words, and offer a human agent when you cannot help.",
    ];

    /// <summary>Customer turns to a shop's support bot; {lemma} is a product.</summary>
    public static readonly string[] SupportTurns =
    [
        "Where is my order? It was a {lemma}.",
        "I need to return a {lemma}, how does that work?",
        "Do you ship to Canada?",
        "The {lemma} arrived broken.",
        "Can I change my delivery address?",
        "How long does a refund take?",
        "hi is anyone there",
    ];

    /// <summary>What one person asks over a week: errands, curiosity, writing, sometimes a long explanation.</summary>
    public static readonly string[] HumanAsks =
    [
        "what does {lemma} mean?",
        "Can you help me plan meals for a week on a budget?",
        "Write a short birthday message for my sister.",
        "I'm reading about {topic}. Where should a beginner start?",
        "Is this grammatically correct? \"{sentence}\"",
        "Explain {lemma} to me like I'm new to {topic}, with an example.",
        "Give me a packing list for three days of hiking.",
        "Summarise this for me: {sentence}",
        "How do I politely decline a meeting invitation?",
        "Tell me a fun fact about {lemma}.",
    ];
}
