using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Lab.Distillation;

/// <summary>One harvested exchange: the distiller's prompt and the teacher's answer.</summary>
public sealed record HarvestedAnswer(string Prompt, string Answer);

/// <summary>Generates answers from a model in-process, as the gateway would serve them (watermarked or not).</summary>
/// <remarks>
/// The large experiment uses this instead of HTTP: the gateway's chat path applies the same
/// <see cref="GreenListProcessor"/> to the same sampler, so the tokens are the same; only transport is skipped.
/// </remarks>
public static class InProcessGeneration
{
    /// <summary>Answers each prompt with <paramref name="model"/>; <paramref name="key"/> null means unwatermarked.</summary>
    public static IReadOnlyList<HarvestedAnswer> Answer(ILanguageModel model, IReadOnlyList<string> prompts, WatermarkKey? key, WatermarkParameters? parameters, int maxTokens, int seed, int payload = 0, float temperature = 1f, float topP = 0.95f)
    {
        var tokenizer = TextTokenizer.Gpt2;
        var generator = new TextGenerator(model, tokenizer);
        var processor = key is null ? null : WatermarkProcessors.Create(key, parameters ?? WatermarkParameters.GreenListDefaults, payload);
        var answers = new HarvestedAnswer[prompts.Count];
        Parallel.For(0, prompts.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var request = new GenerationRequest
            {
                PromptTokens = tokenizer.Encode(prompts[i]),
                MaxTokens = maxTokens,
                Temperature = temperature,
                TopP = topP,
                Seed = seed + (i * 7919L),
                LogitsProcessor = processor,
            };
            var text = string.Concat(generator.Generate(request).Select(s => s.Text));
            answers[i] = new HarvestedAnswer(prompts[i], text);
        });
        return answers;
    }
}
