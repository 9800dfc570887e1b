using System.Buffers;
using System.Numerics.Tensors;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.LanguageModels.Sampling;

/// <summary>Samples text from a language model: temperature, top-p, the logits hook, stop sequences and log-probabilities.</summary>
/// <remarks>
/// Thread-safe: each call to <see cref="Generate"/> owns its buffers (rented once per generation, not per token).
/// Order per token: model log-probabilities → temperature → top-p nucleus → <see cref="ILogitsProcessor"/> on the
/// survivors → draw. A seeded generation draws from <see cref="Xoshiro256StarStar"/>, one number per sampled token.
/// </remarks>
public sealed class TextGenerator
{
    private readonly ILanguageModel _model;
    private readonly TextTokenizer _tokenizer;
    private readonly int[] _allIds;
    private readonly int _paragraphToken;

    /// <summary>Creates a generator over a model and the tokenizer of its vocabulary.</summary>
    public TextGenerator(ILanguageModel model, TextTokenizer tokenizer)
    {
        _model = model;
        _tokenizer = tokenizer;
        if (model.VocabularySize > tokenizer.VocabularySize)
        {
            throw new ArgumentException("The model scores more tokens than the tokenizer knows.", nameof(model));
        }

        // A planned answer turns an early end-of-text into a paragraph break: a blank line in the text.
        var blankLine = tokenizer.Encode("\n\n");
        _paragraphToken = blankLine.Length == 1 && blankLine[0] < model.VocabularySize ? blankLine[0] : -1;
        _allIds = new int[model.VocabularySize];
        for (var i = 0; i < _allIds.Length; i++)
        {
            _allIds[i] = i;
        }
    }

    /// <summary>Token that ends a generation when sampled (and starts the model's context).</summary>
    public int EndOfTextToken { get; init; } = TextTokenizer.EndOfText;

    /// <summary>Generates one choice, step by step; the last step carries the finish reason.</summary>
    /// <exception cref="ArgumentException">The request is invalid (checked before the first step).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; checked before every token.</exception>
    public IEnumerable<GenerationStep> Generate(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        return Run(request, cancellationToken);
    }

    private IEnumerable<GenerationStep> Run(GenerationRequest request, CancellationToken cancellationToken)
    {
        var vocabulary = _model.VocabularySize;
        var greedy = request.Temperature == 0;
        var inverseTemperature = greedy ? 1.0 : 1.0 / request.Temperature;
        var truncate = request.TopP < 1;
        var processor = request.LogitsProcessor;
        var topK = request.Logprobs ? request.TopLogprobs : 0;
        var random = new Xoshiro256StarStar(request.Seed ?? Random.Shared.NextInt64());
        var stops = request.Stop;
        var decoder = _tokenizer.CreateIncrementalDecoder();
        var plan = _paragraphToken >= 0 ? request.Plan : null;

        // The sequence buffer holds the boundary, the prompt and the generated tokens, so the processor's "previous
        // tokens" are a slice of it; the model's context is the same but with a sequence boundary where the text has a
        // paragraph break (the corpus has no newline tokens, paragraphs are sequences).
        var sequence = ArrayPool<int>.Shared.Rent(1 + request.PromptTokens.Count + request.MaxTokens);
        var modelSequence = ArrayPool<int>.Shared.Rent(1 + request.PromptTokens.Count + request.MaxTokens);
        var enumeratedIds = ArrayPool<int>.Shared.Rent(vocabulary);
        var enumeratedProbabilities = ArrayPool<float>.Shared.Rent(vocabulary);
        var weights = ArrayPool<float>.Shared.Rent(vocabulary);
        var text = ArrayPool<char>.Shared.Rent(256);
        var ranking = new CandidateRanking(_model) { Topic = request.Topic };
        try
        {
            sequence[0] = EndOfTextToken;
            modelSequence[0] = EndOfTextToken;
            var length = 1;
            foreach (var token in request.PromptTokens)
            {
                if ((uint)token >= (uint)vocabulary)
                {
                    throw new ArgumentException($"Prompt token {token} is outside the vocabulary.", nameof(request));
                }

                modelSequence[length] = token;
                sequence[length++] = token;
            }

            var textLength = 0;
            var emitted = 0;
            var paragraphStart = true;
            var closing = false;
            for (var generated = 0; generated < request.MaxTokens; generated++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var contextStart = Math.Max(0, length - (_model.Order - 1));
                ranking.Prepare(modelSequence.AsSpan(contextStart, length - contextStart));
                var enumerated = 0;
                var context = new LogitsContext(sequence.AsSpan(1, length - 1), generated, greedy);
                // Below the request's floor the end-of-text token is masked out of every path's distribution; a planned
                // answer never starts with it nor puts two paragraph breaks in a row.
                var banned = (plan is null && generated < request.MinTokens) || (plan is not null && paragraphStart) ? EndOfTextToken : -1;
                var walked = false;
                int chosen;
                if (greedy && processor is null)
                {
                    ranking.TryNext(out chosen, out var p);
                    while (chosen == banned && ranking.TryNext(out chosen, out p))
                    {
                        walked = true;
                    }

                    enumeratedIds[0] = chosen;
                    enumeratedProbabilities[0] = p;
                    enumerated = 1;
                }
                else if (truncate && NucleusWithout(ranking, request.TopP, inverseTemperature, enumeratedIds, enumeratedProbabilities, weights, banned, out enumerated, out var mass))
                {
                    chosen = processor is null
                        ? enumeratedIds[CandidateRanking.Scan(weights.AsSpan(0, enumerated), random.NextDouble() * mass)]
                        : ProcessAndDraw(processor, context, enumeratedIds.AsSpan(0, enumerated), enumeratedProbabilities.AsSpan(0, enumerated), weights.AsSpan(0, enumerated), inverseTemperature, greedy, ref random, banned);
                }
                else if (processor is null && inverseTemperature == 1 && !truncate && DrawWithout(ranking, banned, ref random, out chosen))
                {
                }
                else
                {
                    // Also the fallback of a nucleus that held nothing but the banned token.
                    var all = weights.AsSpan(0, vocabulary);
                    ranking.WriteProbabilities(all);
                    chosen = ProcessAndDraw(processor, context, _allIds, all, all, inverseTemperature, greedy, ref random, banned);
                }

                var logProbability = MathF.Log(ranking.Probability(chosen));
                IReadOnlyList<TokenLogProbability> alternatives = [];
                if (topK > 0)
                {
                    // The nucleus is unordered, so the alternatives come from the ordered walk (cheap for 20); a greedy
                    // walk past a banned end-of-text starts again, so the alternatives still list it where it ranks.
                    if (walked)
                    {
                        ranking.Prepare(modelSequence.AsSpan(contextStart, length - contextStart));
                    }

                    var ordered = greedy && processor is null && !walked ? 1 : 0;
                    var top = new TokenLogProbability[topK];
                    if (ordered == 1)
                    {
                        top[0] = new TokenLogProbability(enumeratedIds[0], _tokenizer.GetTokenText(enumeratedIds[0]), MathF.Log(enumeratedProbabilities[0]));
                    }

                    while (ordered < topK && ranking.TryNext(out var id, out var p))
                    {
                        top[ordered++] = new TokenLogProbability(id, _tokenizer.GetTokenText(id), MathF.Log(p));
                    }

                    alternatives = ordered == topK ? top : top[..ordered];
                }

                var paragraph = plan is not null && chosen == EndOfTextToken && generated < plan.Tokens;
                var emittedId = paragraph ? _paragraphToken : chosen;
                // A planned answer past its length ends after its sentence (taking a closing quote or bracket along),
                // and a short one also at the first word boundary after its hard end: the token drawn there is dropped.
                var endBefore = chosen == EndOfTextToken && !paragraph;
                if (plan is not null && !endBefore && !paragraph)
                {
                    var tokenText = _tokenizer.GetTokenText(chosen);
                    endBefore = closing ? !IsClosingMark(tokenText) : generated >= plan.HardEnd && StartsWord(tokenText);
                }

                if (endBefore)
                {
                    // The end-of-text token is not part of the completion: flush and finish.
                    textLength = AppendFlush(decoder, ref text, textLength);
                    yield return new GenerationStep(new string(text, emitted, textLength - emitted), [], FinishReasons.Stop);
                    yield break;
                }

                modelSequence[length] = chosen;
                sequence[length++] = emittedId;
                paragraphStart = paragraph;
                var bytes = _tokenizer.GetTokenBytes(emittedId);
                EnsureCapacity(ref text, textLength + bytes.Length + 4);
                textLength += decoder.Append(emittedId, text.AsSpan(textLength));
                var endAfter = closing;
                closing = plan is not null && !closing && generated + 1 >= plan.Tokens && EndsSentence(sequence.AsSpan(0, length));
                var last = generated + 1 == request.MaxTokens || endAfter;
                if (last)
                {
                    textLength = AppendFlush(decoder, ref text, textLength);
                }

                var tokens = new[] { new GeneratedToken(emittedId, _tokenizer.GetTokenText(emittedId), bytes, logProbability, alternatives) };
                var stopAt = FindStop(text.AsSpan(0, textLength), emitted, stops);
                if (stopAt >= 0)
                {
                    yield return new GenerationStep(new string(text, emitted, stopAt - emitted), tokens, FinishReasons.Stop);
                    yield break;
                }

                if (endAfter)
                {
                    yield return new GenerationStep(new string(text, emitted, textLength - emitted), tokens, FinishReasons.Stop);
                    yield break;
                }

                var safeEnd = last ? textLength : textLength - HeldBack(text.AsSpan(emitted, textLength - emitted), stops);
                var delta = safeEnd > emitted ? new string(text, emitted, safeEnd - emitted) : string.Empty;
                emitted = Math.Max(emitted, safeEnd);
                yield return new GenerationStep(delta, tokens, last ? FinishReasons.Length : null);
            }
        }
        finally
        {
            ranking.Dispose();
            ArrayPool<int>.Shared.Return(sequence);
            ArrayPool<int>.Shared.Return(modelSequence);
            ArrayPool<int>.Shared.Return(enumeratedIds);
            ArrayPool<float>.Shared.Return(enumeratedProbabilities);
            ArrayPool<float>.Shared.Return(weights);
            ArrayPool<char>.Shared.Return(text);
        }
    }

    /// <summary>
    /// Draws from the model's distribution without <paramref name="banned"/> (-1: none) by drawing again when the draw
    /// is the banned token, which samples the renormalised distribution; false after 64 draws of it, and the caller
    /// masks it in the whole distribution instead.
    /// </summary>
    private static bool DrawWithout(CandidateRanking ranking, int banned, ref Xoshiro256StarStar random, out int chosen)
    {
        for (var attempt = 0; attempt < 64; attempt++)
        {
            chosen = ranking.Draw(random.NextDouble());
            if (chosen != banned)
            {
                return true;
            }
        }

        chosen = -1;
        return false;
    }

    /// <summary>
    /// The top-p nucleus without <paramref name="banned"/> (-1: none): false when nothing else is left in it, and the
    /// caller draws from the whole distribution instead.
    /// </summary>
    private static bool NucleusWithout(CandidateRanking ranking, float topP, double inverseTemperature, int[] ids, float[] probabilities, float[] weights, int banned, out int count, out double mass)
    {
        count = ranking.SelectNucleus(topP, inverseTemperature, ids, probabilities, weights, out mass);
        if (banned < 0)
        {
            return true;
        }

        var at = ids.AsSpan(0, count).IndexOf(banned);
        if (at < 0)
        {
            return true;
        }

        // Move the last candidate into its place: the nucleus is unordered.
        mass -= weights[at];
        count--;
        ids[at] = ids[count];
        probabilities[at] = probabilities[count];
        weights[at] = weights[count];
        return count > 0 && mass > 0;
    }

    /// <summary>Turns probabilities into tempered logits, lets the processor adjust them, then takes the argmax or draws.</summary>
    /// <param name="banned">A token id left out (its logit set to −∞ after the processor), or -1.</param>
    private static int ProcessAndDraw(ILogitsProcessor? processor, in LogitsContext context, ReadOnlySpan<int> ids, ReadOnlySpan<float> probabilities, Span<float> logits, double inverseTemperature, bool greedy, ref Xoshiro256StarStar random, int banned = -1)
    {
        TensorPrimitives.Log(probabilities, logits);
        if (inverseTemperature != 1)
        {
            TensorPrimitives.Multiply(logits, (float)inverseTemperature, logits);
        }

        processor?.Process(context, ids, logits);
        if (banned >= 0 && ids.IndexOf(banned) is var at and >= 0)
        {
            logits[at] = float.NegativeInfinity;
        }

        if (greedy)
        {
            // Ties go to the more probable token before processing, then to the lower id.
            var best = 0;
            for (var i = 1; i < logits.Length; i++)
            {
                if (logits[i] > logits[best] || (logits[i] == logits[best]
                    && (probabilities[i] > probabilities[best] || (probabilities[i] == probabilities[best] && ids[i] < ids[best]))))
                {
                    best = i;
                }
            }

            return ids[best];
        }

        var max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, logits);
        TensorPrimitives.Exp(logits, logits);
        double total = 0;
        foreach (var w in logits)
        {
            total += w;
        }

        return ids[CandidateRanking.Scan(logits, random.NextDouble() * total)];
    }

    /// <summary>Whether the last token of <paramref name="tokens"/> ends a sentence (not an abbreviation or an initial).</summary>
    private bool EndsSentence(ReadOnlySpan<int> tokens)
    {
        var text = _tokenizer.GetTokenText(tokens[^1]).AsSpan().TrimEnd("\"')] ");
        if (text.Length == 0 || text[^1] is not ('.' or '!' or '?'))
        {
            return false;
        }

        if (text[^1] != '.' || text.Length > 1 || tokens.Length < 2)
        {
            return true;
        }

        // "Mr." and "J." end words, not sentences.
        var before = _tokenizer.GetTokenText(tokens[^2]).AsSpan().Trim();
        return !(before.Length == 1 && char.IsUpper(before[0])) && !IsAbbreviation(before);
    }

    private static bool IsAbbreviation(ReadOnlySpan<char> word) =>
        word is "Mr" or "Mrs" or "Ms" or "Dr" or "St" or "Jr" or "Sr" or "Prof" or "Gen" or "Col" or "Rev" or "vs" or "etc" or "No" or "Co" or "Inc" or "Lt" or "Sgt" or "Capt" or "Gov" or "Sen" or "Rep" or "Mt" or "Ft" or "U.S" or "e.g" or "i.e";

    private static bool IsClosingMark(string token) => token is "\"" or "'" or ")" or "]" or "\u201D" or "\u2019" or "''";

    private static bool StartsWord(string token) => token.Length > 0 && (char.IsWhiteSpace(token[0]) || token[0] == '\u0120');

    /// <summary>Earliest start of a stop sequence at or after <paramref name="from"/>, or -1.</summary>
    /// <remarks>Text before <paramref name="from"/> was emitted only after no stop could start there, so searching from it suffices.</remarks>
    private static int FindStop(ReadOnlySpan<char> text, int from, IReadOnlyList<string> stops)
    {
        var best = -1;
        for (var s = 0; s < stops.Count; s++)
        {
            var at = text[from..].IndexOf(stops[s], StringComparison.Ordinal);
            if (at >= 0 && (best < 0 || from + at < best))
            {
                best = from + at;
            }
        }

        return best;
    }

    /// <summary>Length of the longest suffix of <paramref name="pending"/> that could still grow into a stop sequence.</summary>
    private static int HeldBack(ReadOnlySpan<char> pending, IReadOnlyList<string> stops)
    {
        var hold = 0;
        for (var s = 0; s < stops.Count; s++)
        {
            var stop = stops[s].AsSpan();
            for (var n = Math.Min(stop.Length - 1, pending.Length); n > hold; n--)
            {
                if (pending.EndsWith(stop[..n], StringComparison.Ordinal))
                {
                    hold = n;
                    break;
                }
            }
        }

        // Never split a surrogate pair between two deltas.
        var end = pending.Length - hold;
        if (end > 0 && char.IsHighSurrogate(pending[end - 1]))
        {
            hold++;
        }

        return hold;
    }

    private static int AppendFlush(IncrementalDecoder decoder, ref char[] text, int textLength)
    {
        var rest = decoder.Flush();
        EnsureCapacity(ref text, textLength + rest.Length);
        rest.CopyTo(text.AsSpan(textLength));
        return textLength + rest.Length;
    }

    private static void EnsureCapacity(ref char[] buffer, int needed)
    {
        if (buffer.Length >= needed)
        {
            return;
        }

        var larger = ArrayPool<char>.Shared.Rent(Math.Max(needed, buffer.Length * 2));
        buffer.AsSpan().CopyTo(larger);
        ArrayPool<char>.Shared.Return(buffer);
        buffer = larger;
    }
}
