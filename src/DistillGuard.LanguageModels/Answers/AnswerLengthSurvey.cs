using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.LanguageModels.Topics;

namespace DistillGuard.LanguageModels.Answers;

/// <summary>Answer lengths of one request group, as the teacher writes them.</summary>
/// <param name="Group">The group's name (the kind of request its prompts are written as).</param>
/// <param name="Answers">Answers generated (prompts × seeds).</param>
/// <param name="Mean">Mean completion tokens.</param>
/// <param name="Median">Median completion tokens.</param>
/// <param name="P90">90th percentile of completion tokens (nearest rank).</param>
/// <param name="SentenceEnds">Share of answers that ended on their own (finish reason <c>stop</c>) rather than at max_tokens.</param>
/// <param name="PlannedAs">How <see cref="AnswerLength"/> classified the group's prompts: kind → prompts.</param>
public sealed record AnswerLengthRow(string Group, int Answers, double Mean, double Median, int P90, double SentenceEnds, IReadOnlyDictionary<AnswerKind, int> PlannedAs);

/// <summary>
/// Measures the teacher's answer lengths per request group over a fixed set of requests written for the purpose
/// (generic assistant requests; none is taken from the simulator or the detector), through the same path as the
/// gateway's chat endpoint: length plan, topic bias, sampler.
/// </summary>
public static class AnswerLengthSurvey
{
    /// <summary>The request groups and their prompts.</summary>
    public static IReadOnlyList<(string Group, string[] Prompts)> Groups { get; } =
    [
        ("label, number or yes/no",
        [
            "Is the Pacific larger than the Atlantic?",
            "Does water boil at a lower temperature on a mountain?",
            "How many legs does a spider have?",
            "Classify the sentiment of this review as positive or negative: the soup was cold and the waiter rude.",
            "Answer yes or no: can a penguin fly?",
            "What year did the first railway open in England?",
            "Which of the following is a mammal? A) shark B) dolphin C) trout",
            "Reply with one word: the opposite of ancient.",
            "Was the treaty signed before the war ended?",
            "Label this sentence as a question or a statement: the river floods every spring.",
        ]),
        ("brief",
        [
            "Briefly, what does a thermostat do?",
            "In one sentence, why do leaves change colour in autumn?",
            "Give me a quick answer: what is inflation?",
            "What is a sonnet? Keep it short.",
            "Concisely, what causes tides?",
            "Summarize the idea of supply and demand in a line.",
            "Briefly describe the role of a jury.",
            "In a nutshell, what does a county sheriff do?",
        ]),
        ("chat question",
        [
            "What should I know before adopting a dog?",
            "Why do some churches have tall spires?",
            "How does a bank decide whether to give someone a loan?",
            "What was life like on a farm in the nineteenth century?",
            "Can you tell me about the history of jazz music?",
            "How do I keep my garden healthy during a dry summer?",
            "What makes a good teacher?",
            "Why is the sea salty?",
            "What are the duties of a state governor?",
            "How do vaccines protect people from disease?",
        ]),
        ("multi-part task",
        [
            "List the main causes of the French Revolution and explain each one.",
            "Compare a lease and a mortgage: what each costs, who carries the risk, and which suits a young family.",
            "Describe how a bill passes the Senate, from the first reading to the signature, and say why each stage exists.",
            "Plan a week of meals for four people on a budget; give the shopping list and the cooking order for each day.",
            "Teach me how a sundial tells time. Start from the motion of the sun, then show how the dial is marked.",
            "Outline the arguments for and against a four-day school week, then give your own view with reasons.",
            "Trace the journey of a letter from the mailbox to the door, naming every step and who does it.",
            "Analyse why the railway towns of the plains grew so fast and why so many emptied after the war.",
        ]),
        ("in depth, step by step, full solution",
        [
            "Explain in depth how the heart pumps blood through the body.",
            "Show every step of solving a quadratic equation by completing the square.",
            "Write a full solution: a train leaves at noon at sixty miles an hour; when does a second train at eighty catch it?",
            "Walk me through the causes of the Civil War, step by step.",
            "Give a thorough explanation of how a democracy makes its laws.",
            "Explain step by step how photosynthesis turns light into sugar.",
            "Write an essay on the role of music in religious worship.",
            "Describe in detail how a steam engine works and why it changed industry.",
            "Think through the problem carefully and show your work: how much paint covers a room twelve by fifteen feet?",
            "Derive the formula for the area of a circle, explaining your reasoning.",
        ]),
    ];

    /// <summary>One answer to <paramref name="prompt"/> as the chat endpoint would write it: its text, tokens and finish reason.</summary>
    public static (string Text, int Tokens, string? FinishReason) Answer(ILanguageModel model, TextTokenizer tokenizer, TopicIndex? topics, string prompt, long seed, int maxTokens = 4096)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        var request = new GenerationRequest
        {
            PromptTokens = [.. tokenizer.Encode(prompt), TextTokenizer.EndOfText],
            MaxTokens = maxTokens,
            Seed = seed,
            Plan = AnswerLength.Plan(prompt, maxTokens, 0, seed),
            Topic = topics?.BiasFor(prompt, model, tokenizer),
        };
        var text = new System.Text.StringBuilder();
        var tokens = 0;
        string? finish = null;
        foreach (var step in new TextGenerator(model, tokenizer).Generate(request))
        {
            text.Append(step.Text);
            tokens += step.Tokens.Count;
            finish = step.FinishReason ?? finish;
        }

        return (text.ToString(), tokens, finish);
    }

    /// <summary>Generates every prompt of every group with each seed and reports the lengths per group.</summary>
    /// <param name="model">The teacher.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="topics">The topic index (null: no topic bias).</param>
    /// <param name="seeds">Seeds per prompt (the length draw and the sampler).</param>
    /// <param name="maxTokens">The requests' max_tokens.</param>
    /// <param name="plan">Follow <see cref="AnswerLength.Plan"/>; false: end where the model samples end-of-text (the baseline).</param>
    /// <param name="cancellationToken">Stops the survey.</param>
    public static IReadOnlyList<AnswerLengthRow> Measure(ILanguageModel model, TextTokenizer tokenizer, TopicIndex? topics, IReadOnlyList<long> seeds, int maxTokens = 4096, bool plan = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(seeds);
        var generator = new TextGenerator(model, tokenizer);
        var rows = new List<AnswerLengthRow>();
        foreach (var (group, prompts) in Groups)
        {
            var lengths = new List<int>();
            var stops = 0;
            var planned = new Dictionary<AnswerKind, int>();
            foreach (var prompt in prompts)
            {
                var kind = AnswerLength.Classify(prompt).Kind;
                planned[kind] = planned.GetValueOrDefault(kind) + 1;
                var topic = topics?.BiasFor(prompt, model, tokenizer);
                int[] promptTokens = [.. tokenizer.Encode(prompt), TextTokenizer.EndOfText];
                foreach (var seed in seeds)
                {
                    var request = new GenerationRequest
                    {
                        PromptTokens = promptTokens,
                        MaxTokens = maxTokens,
                        Seed = seed,
                        Plan = plan ? AnswerLength.Plan(prompt, maxTokens, 0, seed) : null,
                        Topic = topic,
                    };
                    var tokens = 0;
                    string? finish = null;
                    foreach (var step in generator.Generate(request, cancellationToken))
                    {
                        tokens += step.Tokens.Count;
                        finish = step.FinishReason ?? finish;
                    }

                    lengths.Add(tokens);
                    stops += finish == FinishReasons.Stop ? 1 : 0;
                }
            }

            lengths.Sort();
            var median = lengths.Count % 2 == 1 ? lengths[lengths.Count / 2] : (lengths[(lengths.Count / 2) - 1] + lengths[lengths.Count / 2]) / 2.0;
            var p90 = lengths[Math.Max(0, (int)Math.Ceiling(0.9 * lengths.Count) - 1)];
            rows.Add(new AnswerLengthRow(group, lengths.Count, lengths.Average(), median, p90, stops / (double)lengths.Count, planned));
        }

        return rows;
    }
}
