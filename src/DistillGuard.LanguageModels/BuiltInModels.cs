using System.Diagnostics;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;

namespace DistillGuard.LanguageModels;

/// <summary>The models that ship with DistillGuard, built from the embedded corpus on first use.</summary>
public static class BuiltInModels
{
    /// <summary>Model id of the built-in teacher.</summary>
    public const string TeacherId = "dg-teacher";

    /// <summary>N-gram order of the teacher: 4-grams stay small (tens of MB) and fast on this corpus.</summary>
    public const int TeacherOrder = 4;

    /// <summary>File name of the teacher inside the model directory.</summary>
    public const string TeacherFileName = TeacherId + ".dgm";

    /// <summary>
    /// Loads <c>dg-teacher.dgm</c> from <paramref name="modelDirectory"/>, or trains it from the embedded corpus and
    /// saves it atomically when the file is missing or invalid.
    /// </summary>
    public static KneserNeyModel LoadOrBuildTeacher(string modelDirectory, Action<string>? progress = null)
    {
        var path = Path.Combine(modelDirectory, TeacherFileName);
        if (File.Exists(path))
        {
            var load = Stopwatch.StartNew();
            try
            {
                var model = ModelFile.Load(path);
                progress?.Invoke($"Loaded {TeacherId} from {path} in {load.Elapsed.TotalSeconds:F2} s.");
                return model;
            }
            catch (InvalidDataException ex)
            {
                progress?.Invoke($"{path} is unusable ({ex.Message}); rebuilding it.");
            }
        }

        var teacher = BuildTeacher(progress);
        Directory.CreateDirectory(modelDirectory);

        // Write beside the target and rename, so a concurrent reader never sees half a file.
        var temporary = Path.Combine(modelDirectory, $".{TeacherFileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            ModelFile.Save(teacher, temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }

        progress?.Invoke($"Saved {TeacherId} to {path} ({new FileInfo(path).Length / 1e6:F1} MB).");
        return teacher;
    }

    /// <summary>Trains the teacher from the embedded training split (no file I/O).</summary>
    public static KneserNeyModel BuildTeacher(Action<string>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        var sequences = CorpusSplits.Tokenize(CorpusSplits.TrainingTexts());
        var tokens = sequences.Sum(s => (long)s.Length);
        progress?.Invoke($"Tokenized {sequences.Length:N0} training texts ({tokens:N0} tokens) in {watch.Elapsed.TotalSeconds:F1} s.");
        var model = KneserNeyTrainer.Train(sequences, TeacherOrder, new KneserNeyOptions { Id = TeacherId });
        progress?.Invoke($"Built {TeacherId} (order {model.Order}, n-grams {string.Join('/', model.NgramCounts)}) in {watch.Elapsed.TotalSeconds:F1} s.");
        return model;
    }
}
