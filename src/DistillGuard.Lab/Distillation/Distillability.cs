using System.Buffers;
using DistillGuard.Lab.ModelQuality;
using DistillGuard.Lab.Simulation;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Lab.Distillation;

/// <summary>A student's quality under one harvesting condition, and what that defence costs a legitimate user.</summary>
/// <param name="Condition">The harvesting condition (defence).</param>
/// <param name="Requests">Requests (distinct prompts) the distiller spent.</param>
/// <param name="ChoicesPerRequest">Answers it got per request (n).</param>
/// <param name="Answers">Answers it received.</param>
/// <param name="HarvestTokens">Tokens of prompt and answer text it trained on.</param>
/// <param name="SoftLabels">Whether the student trained on the teacher's top-k log-probabilities.</param>
/// <param name="HeldOutPerplexity">Perplexity on held-out human text (Brown).</param>
/// <param name="TeacherAgreement">Share of held-out positions where the student's most likely next token is the teacher's.</param>
/// <param name="TeacherAnswerPerplexity">Perplexity on the (unwatermarked) teacher's answers to held-out prompts: how well it imitates the teacher.</param>
/// <param name="LegitimateCost">What the defence costs a legitimate user, measured.</param>
public sealed record DistillabilityRow(string Condition, int Requests, int ChoicesPerRequest, int Answers, long HarvestTokens, bool SoftLabels, double HeldOutPerplexity, double TeacherAgreement, double TeacherAnswerPerplexity, string LegitimateCost);

/// <summary>Measures students against the teacher: top-1 agreement on held-out text, and the cost of defences to legitimate users.</summary>
public static class Distillability
{
    /// <summary>
    /// Held-out contexts (every <c>stride</c>-th position of <paramref name="heldOut"/>, at most <paramref name="positions"/>)
    /// and the teacher's most likely next token after each.
    /// </summary>
    public static (int[][] Contexts, int[] TeacherTop1) Reference(ILanguageModel teacher, IReadOnlyList<int[]> heldOut, int positions)
    {
        var total = heldOut.Sum(s => (long)s.Length);
        var stride = Math.Max(1, (int)(total / positions));
        var contexts = new List<int[]>();
        long index = 0;
        foreach (var sequence in heldOut)
        {
            for (var i = 0; i < sequence.Length && contexts.Count < positions; i++, index++)
            {
                if (index % stride == 0)
                {
                    // The boundary token then the sequence up to i, as perplexity sees it.
                    var start = Math.Max(0, i - (teacher.Order - 1));
                    contexts.Add(i - start < teacher.Order - 1 ? [TextTokenizer.EndOfText, .. sequence[start..i]] : sequence[start..i]);
                }
            }
        }

        var contextArray = contexts.ToArray();
        return (contextArray, Top1(teacher, contextArray));
    }

    /// <summary>Share of <paramref name="contexts"/> where <paramref name="student"/>'s most likely token is <paramref name="teacherTop1"/>'s.</summary>
    public static double Agreement(ILanguageModel student, int[][] contexts, int[] teacherTop1)
    {
        var top = Top1(student, contexts);
        return contexts.Length == 0 ? double.NaN : top.Where((t, i) => t == teacherTop1[i]).Count() / (double)contexts.Length;
    }

    /// <summary>Perplexity of <paramref name="model"/> on <paramref name="answers"/> (each tokenised on its own).</summary>
    public static double AnswerPerplexity(ILanguageModel model, IEnumerable<string> answers) =>
        ModelEvaluation.Perplexity(model, answers.Select(a => TextTokenizer.Gpt2.Encode(a)).Where(t => t.Length > 0));

    /// <summary>Share of <paramref name="answers"/> longer than <paramref name="cap"/> tokens, and the share of all answer tokens past the cap.</summary>
    public static (double Truncated, double TokensLost) CapCost(IEnumerable<string> answers, int cap)
    {
        var lengths = answers.Select(a => TextTokenizer.Gpt2.CountTokens(a)).ToArray();
        var total = lengths.Sum(l => (long)l);
        return lengths.Length == 0 || total == 0
            ? (0, 0)
            : (lengths.Count(l => l > cap) / (double)lengths.Length, lengths.Sum(l => (long)Math.Max(0, l - cap)) / (double)total);
    }

    /// <summary>
    /// What n = 1 and dropped logprobs take from the simulator's legitimate accounts: requests that asked for logprobs,
    /// requests that asked for more than one choice, and the share of all legitimate choices beyond the first of a request.
    /// </summary>
    public static (long Requests, double LogprobRequests, double MultiChoiceRequests, double ChoicesLost) LegitimateTrafficCost(ScenarioOptions scenario)
    {
        long requests = 0, logprobs = 0, multi = 0, choices = 0, lost = 0;
        foreach (var e in TrafficSimulator.Generate(scenario))
        {
            if (e.IsAttacker || e.Event.Status != 200)
            {
                continue;
            }

            requests++;
            logprobs += e.Event.Logprobs ? 1 : 0;
            multi += e.Event.N > 1 ? 1 : 0;
            choices += e.Event.N;
            lost += e.Event.N - 1;
        }

        return requests == 0 ? (0, 0, 0, 0) : (requests, logprobs / (double)requests, multi / (double)requests, lost / (double)choices);
    }

    private static int[] Top1(ILanguageModel model, int[][] contexts)
    {
        var top = new int[contexts.Length];
        Parallel.For(0, contexts.Length, () => ArrayPool<float>.Shared.Rent(model.VocabularySize), (i, _, scores) =>
        {
            var span = scores.AsSpan(0, model.VocabularySize);
            var context = contexts[i];
            model.GetLogProbabilities(context.AsSpan(Math.Max(0, context.Length - (model.Order - 1))), span);
            top[i] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax<float>(span);
            return scores;
        }, scores => ArrayPool<float>.Shared.Return(scores));
        return top;
    }
}
