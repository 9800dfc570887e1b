namespace DistillGuard.Lab.Simulation;

/// <summary>How people phrase everyday questions: many shapes, filled from WordNet concepts and Brown sentences.</summary>
internal static class ChatPrompts
{
    private static readonly string[] s_people = ["boss", "sister", "landlord", "friend", "teacher", "neighbour", "colleague", "dad", "coach"];

    /// <summary>Target languages of everyday and pipeline translation.</summary>
    public static readonly string[] Languages = ["French", "German", "Spanish", "Portuguese", "Italian", "Japanese", "Korean", "Chinese", "Dutch", "Polish", "Turkish", "Arabic", "Hindi", "Indonesian", "Swedish"];

    private static readonly string[] s_languages = Languages;

    private static readonly Func<PromptCorpus, SimulationRandom, string>[] s_openings =
    [
        (c, r) => $"What does \"{c.Lemma(c.Concept(r))}\" mean?",
        (c, r) => Concept(c, r, (l, g) => $"Can you explain what {Article(l)} {l} is? I read that it's {g} but I don't really get it."),
        (c, r) => $"I came across this sentence: \"{c.Sentence(r)}\" What is the author trying to say?",
        (c, r) => $"Help me write a short message to my {r.Pick(s_people)} about {c.Lemma(c.Concept(r))}.",
        (c, r) => $"{c.Sentence(r)} Do you agree?",
        (c, r) => $"Give me a few ideas for {c.Lemma(c.Concept(r))}-themed gifts.",
        (c, r) => $"how do i {c.Lemma(c.ConceptIn(r, c.LexfileIndex("verb.creation")))} something properly",
        (c, r) => $"Summarize this for me: {c.Paragraph(r)}",
        (c, r) => $"is {c.Lemma(c.Concept(r))} the same thing as {c.Lemma(c.Concept(r))}?",
        (c, r) => $"Tell me something interesting about {c.Lemma(c.Concept(r))}.",
        (c, r) => $"My {r.Pick(s_people)} said \"{c.Sentence(r)}\" - how should I reply?",
        (c, r) => $"what's a good way to learn about {c.Topic(c.Concept(r))} stuff, especially {c.Lemma(c.Concept(r))}",
        (c, r) => $"Write a short poem about {c.Lemma(c.Concept(r))}.",
        (c, r) => $"Can you fix the grammar in this: {c.Sentence(r).ToLowerInvariant()}",
        (c, r) => Concept(c, r, (l, g) => $"Why is {l} called {l}?"),
        (c, r) => $"Plan a weekend for me around {c.Lemma(c.ConceptIn(r, c.LexfileIndex("noun.act")))}.",
        (c, r) => $"Translate \"{c.Sentence(r)}\" into {r.Pick(s_languages)}",
        (c, r) => $"I'm trying to decide between {c.Lemma(c.Concept(r))} and {c.Lemma(c.Concept(r))}. Thoughts?",
    ];

    private static readonly Func<PromptCorpus, SimulationRandom, string>[] s_followUps =
    [
        (c, r) => "why?",
        (c, r) => "Can you make it shorter?",
        (c, r) => $"What about {c.Lemma(c.Concept(r))}?",
        (c, r) => "Can you give me an example?",
        (c, r) => $"thanks! also, {c.Sentence(r).ToLowerInvariant()}",
        (c, r) => $"Sorry, I meant {c.Lemma(c.Concept(r))}.",
        (c, r) => "That doesn't sound right to me.",
        (c, r) => "ok, explain it like I'm five",
        (c, r) => $"And how does that relate to {c.Topic(c.Concept(r))}?",
        (c, r) => "Can you put that in a table?",
        (c, r) => "great, thanks",
    ];

    /// <summary>A first message of a conversation.</summary>
    public static string Opening(PromptCorpus corpus, SimulationRandom rng) => Casual(rng, rng.Pick(s_openings)(corpus, rng));

    /// <summary>A later message of a conversation.</summary>
    public static string FollowUp(PromptCorpus corpus, SimulationRandom rng) => rng.Pick(s_followUps)(corpus, rng);

    /// <summary>Text standing in for the model's earlier answer in a conversation history (follow-ups resend it).</summary>
    public static string AnswerStandIn(PromptCorpus corpus, SimulationRandom rng, int tokens)
    {
        // Keep the history realistic in size (about four characters a token) but bounded, so long sessions stay cheap.
        var target = Math.Min(tokens * 4, 1600);
        var text = new System.Text.StringBuilder();
        while (text.Length < target)
        {
            text.Append(corpus.Sentence(rng)).Append(' ');
        }

        return text.ToString(0, Math.Min(text.Length, target)).TrimEnd();
    }

    public static string Article(string word) => word.Length > 0 && "aeiouAEIOU".Contains(word[0], StringComparison.Ordinal) ? "an" : "a";

    private static string Concept(PromptCorpus c, SimulationRandom r, Func<string, string, string> shape)
    {
        var row = c.Concept(r);
        return shape(c.Lemma(row), c.Gloss(row));
    }

    // People type sloppily: some drop capitals or the final punctuation.
    private static string Casual(SimulationRandom rng, string text)
    {
        if (rng.Chance(0.2))
        {
            text = text.ToLowerInvariant();
        }

        if (rng.Chance(0.15) && text.EndsWith('?'))
        {
            text = text[..^1];
        }

        return text;
    }
}
