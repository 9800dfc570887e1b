using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DistillGuard.Lab.ModelQuality;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Answers;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.LanguageModels.Topics;

namespace DistillGuard.Cli.Commands;

/// <summary><c>distillguard model build|eval|lengths</c>: builds the built-in teacher, measures its held-out perplexity and its answer lengths.</summary>
public static class ModelCommands
{
    /// <summary>Creates the <c>model</c> command with its <c>build</c> and <c>eval</c> subcommands.</summary>
    public static Command Create()
    {
        var command = new Command("model", "Build and evaluate the built-in language model (dg-teacher).");
        command.Subcommands.Add(CreateBuild());
        command.Subcommands.Add(CreateEval());
        command.Subcommands.Add(CreateLengths());
        return command;
    }

    private static Command CreateLengths()
    {
        var data = DataOption();
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per prompt (1..1000).", DefaultValueFactory = _ => 5 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "max_tokens of every request (1..100000).", DefaultValueFactory = _ => 4096 };
        var noTopic = new Option<bool>("--no-topic") { Description = "Generate without the topic bias." };
        var show = new Option<bool>("--show") { Description = "Also print the first seed's answer to each prompt." };
        var command = new Command("lengths", "Answer lengths of dg-teacher per kind of request (mean, median, p90 tokens), through the chat endpoint's length plan and topic bias.") { data, json, seeds, maxTokens, noTopic, show };
        command.SetAction(parse =>
        {
            var seedCount = parse.GetValue(seeds);
            var limit = parse.GetValue(maxTokens);
            if (seedCount is < 1 or > 1000 || limit is < 1 or > 100_000)
            {
                Console.Error.WriteLine("--seeds must be in 1..1000 and --max-tokens in 1..100000.");
                return 2;
            }

            var asJson = parse.GetValue(json);
            var teacher = BuiltInModels.LoadOrBuildTeacher(ModelDirectory(parse.GetValue(data)), asJson ? null : Console.WriteLine);
            var topics = parse.GetValue(noTopic) ? null : TopicIndex.Shipped;
            long[] seedList = [.. Enumerable.Range(1, seedCount).Select(i => (long)i)];
            if (parse.GetValue(show) && !asJson)
            {
                foreach (var (group, prompts) in AnswerLengthSurvey.Groups)
                {
                    foreach (var prompt in prompts)
                    {
                        var (text, tokens, finish) = AnswerLengthSurvey.Answer(teacher, TextTokenizer.Gpt2, topics, prompt, seedList[0], limit);
                        Console.WriteLine($"[{group}] {prompt}\n  ({AnswerLength.Classify(prompt).Kind}, {tokens} tokens, {finish}) {text}\n");
                    }
                }
            }

            var watch = Stopwatch.StartNew();
            var rows = AnswerLengthSurvey.Measure(teacher, TextTokenizer.Gpt2, topics, seedList, limit);
            if (asJson)
            {
                using var writer = new Utf8JsonWriter(Console.OpenStandardOutput(), new JsonWriterOptions { Indented = true });
                writer.WriteStartObject();
                writer.WriteNumber("seeds", seedCount);
                writer.WriteNumber("max_tokens", limit);
                writer.WriteBoolean("topic_bias", topics is not null);
                writer.WriteNumber("reference_mean_tokens_lmsys_chat_1m", 214.5);
                writer.WriteStartArray("groups");
                foreach (var row in rows)
                {
                    writer.WriteStartObject();
                    writer.WriteString("group", row.Group);
                    writer.WriteNumber("answers", row.Answers);
                    writer.WriteNumber("mean", Math.Round(row.Mean, 1));
                    writer.WriteNumber("median", row.Median);
                    writer.WriteNumber("p90", row.P90);
                    writer.WriteNumber("ended_on_their_own", Math.Round(row.SentenceEnds, 3));
                    writer.WriteStartObject("planned_as");
                    foreach (var (kind, count) in row.PlannedAs.OrderBy(e => e.Key))
                    {
                        writer.WriteNumber(kind.ToString().ToLowerInvariant(), count);
                    }

                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
                writer.Flush();
                Console.WriteLine();
            }
            else
            {
                Console.WriteLine($"Answer lengths (completion tokens), {seedCount} seeds per prompt, max_tokens {limit}, topic bias {(topics is null ? "off" : "on")}, {watch.Elapsed.TotalSeconds:F1} s:");
                foreach (var row in rows)
                {
                    Console.WriteLine($"  {row.Group,-40} n {row.Answers,4}  mean {row.Mean,7:F1}  median {row.Median,7:F1}  p90 {row.P90,5}  ended on their own {row.SentenceEnds:P0}");
                }

                Console.WriteLine("  reference: LMSYS-Chat-1M, 214.5 tokens per response on average (Zheng et al. 2023, table 1)");
            }

            return 0;
        });
        return command;
    }

    private static Option<string?> DataOption() =>
        new("--data") { Description = "Data directory; the model lives in <data>/models (default ./data)." };

    private static string ModelDirectory(string? data) => Path.Combine(Path.GetFullPath(data ?? "data"), "models");

    private static Command CreateBuild()
    {
        var data = DataOption();
        var force = new Option<bool>("--force") { Description = "Rebuild even if a valid model file exists." };
        var command = new Command("build", "Train dg-teacher from the embedded corpus and save it (or load and verify the saved file).") { data, force };
        command.SetAction(parse =>
        {
            var directory = ModelDirectory(parse.GetValue(data));
            if (parse.GetValue(force))
            {
                File.Delete(Path.Combine(directory, BuiltInModels.TeacherFileName));
            }

            var watch = Stopwatch.StartNew();
            var model = BuiltInModels.LoadOrBuildTeacher(directory, Console.WriteLine);
            Console.WriteLine($"{model.Id}: order {model.Order}, n-grams {string.Join(" / ", model.NgramCounts)}, ready in {watch.Elapsed.TotalSeconds:F1} s.");
            return 0;
        });
        return command;
    }

    private static Command CreateEval()
    {
        var data = DataOption();
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("eval", "Held-out perplexity of dg-teacher against unigram and bigram baselines on the Brown held-out split.") { data, json };
        command.SetAction(parse =>
        {
            var asJson = parse.GetValue(json);
            Action<string>? progress = asJson ? null : Console.WriteLine;
            var teacher = BuiltInModels.LoadOrBuildTeacher(ModelDirectory(parse.GetValue(data)), progress);
            var training = CorpusSplits.Tokenize(CorpusSplits.TrainingTexts());
            var heldOut = CorpusSplits.Tokenize(CorpusSplits.HeldOutBrown());
            var results = new List<(string Name, int Order, double Perplexity)>
            {
                ("unigram", 1, ModelEvaluation.Perplexity(KneserNeyTrainer.Train(training, 1), heldOut)),
                ("bigram", 2, ModelEvaluation.Perplexity(KneserNeyTrainer.Train(training, 2), heldOut)),
                (teacher.Id, teacher.Order, ModelEvaluation.Perplexity(teacher, heldOut)),
            };
            var tokens = heldOut.Sum(s => s.Length + 1L);
            if (asJson)
            {
                using var writer = new Utf8JsonWriter(Console.OpenStandardOutput(), new JsonWriterOptions { Indented = true });
                writer.WriteStartObject();
                writer.WriteString("split", $"Brown held-out (every {CorpusSplits.HeldOutEvery}th document)");
                writer.WriteNumber("sequences", heldOut.Length);
                writer.WriteNumber("tokens", tokens);
                writer.WriteStartArray("models");
                foreach (var (name, order, perplexity) in results)
                {
                    writer.WriteStartObject();
                    writer.WriteString("model", name);
                    writer.WriteNumber("order", order);
                    writer.WriteNumber("perplexity", Math.Round(perplexity, 2));
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
                writer.Flush();
                Console.WriteLine();
            }
            else
            {
                Console.WriteLine($"Held-out Brown: {heldOut.Length:N0} paragraphs, {tokens:N0} predicted tokens (incl. end of text).");
                foreach (var (name, order, perplexity) in results)
                {
                    Console.WriteLine($"  {name,-12} order {order}  perplexity {perplexity,9:F1}");
                }
            }

            return 0;
        });
        return command;
    }
}
