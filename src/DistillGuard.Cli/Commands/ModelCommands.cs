using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DistillGuard.Lab.ModelQuality;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;

namespace DistillGuard.Cli.Commands;

/// <summary><c>distillguard model build|eval</c>: builds the built-in teacher and measures its held-out perplexity.</summary>
public static class ModelCommands
{
    /// <summary>Creates the <c>model</c> command with its <c>build</c> and <c>eval</c> subcommands.</summary>
    public static Command Create()
    {
        var command = new Command("model", "Build and evaluate the built-in language model (dg-teacher).");
        command.Subcommands.Add(CreateBuild());
        command.Subcommands.Add(CreateEval());
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
