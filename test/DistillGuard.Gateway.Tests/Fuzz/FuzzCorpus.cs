using System.Text;
using CsCheck;

namespace DistillGuard.Gateway.Tests.Fuzz;

/// <summary>
/// The fixed seed inputs under <c>Fuzz/Corpus/</c> and a CsCheck generator of their mutations: bytes flipped, set,
/// deleted, duplicated and spliced, and tokens that break parsers (escapes, lone surrogates, huge numbers, SSE field
/// names) inserted. Mutations are generated from integers, so CsCheck shrinks a failing input towards its seed.
/// </summary>
internal static class FuzzCorpus
{
    /// <summary>Iterations per property; <c>DG_FUZZ_ITERATIONS</c> raises it for a longer campaign.</summary>
    public static long Iterations(long quick) =>
        long.TryParse(Environment.GetEnvironmentVariable("DG_FUZZ_ITERATIONS"), out var n) && n > 0 ? Math.Max(n, quick) : quick;

    private static readonly byte[][] s_tokens = [.. new[]
    {
        "\"", "{", "}", "[", "]", ",", ":", "\\", "\\u0000", "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\\"", "1e999", "-0",
        "-1", "0.5", "2147483648", "9223372036854775808", "1e-400", "null", "true", "false", "\"\"", "[]", "{}",
        "\"model\":", "\"messages\":", "\"content\":", "\"max_tokens\":", "\"n\":", "\"stream\":", "\"role\":\"user\"",
        "\"type\":\"text\"", "\"logprobs\":", "\"usage\":", "\"choices\":", "\"delta\":", "/*", "*/", "//", "\n", "\r\n",
        "\n\n", "\r", "data: ", "data:", "data: [DONE]\n\n", "event: ", "id: ", "retry: ", ": ", "\u00e9", "\u2028",
        "\ud83d\ude00", "<think>", "</think>", "\t", " ",
    }.Select(Encoding.UTF8.GetBytes), [0xff], [0xc3], [0xed, 0xa0, 0x80], [0x00]];

    /// <summary>Every seed file of one corpus folder, by file name.</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> Seeds(string folder) =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fuzz", "Corpus", folder)).Order(StringComparer.Ordinal)
            .Select(path => (Path.GetFileName(path), File.ReadAllBytes(path)))];

    /// <summary>A seed of <paramref name="seeds"/> with up to eight mutations applied.</summary>
    public static Gen<byte[]> Mutants(IReadOnlyList<(string Name, byte[] Bytes)> seeds)
    {
        var mutation = Gen.Select(Gen.Int[0, 6], Gen.Int[0, int.MaxValue], Gen.Int[0, 64], Gen.Int[0, 1023]);
        return Gen.Select(Gen.Int[0, seeds.Count - 1], mutation.Array[0, 8],
            (seed, mutations) => Apply(seeds[seed].Bytes, mutations, seeds));
    }

    /// <summary>Shows a failing input as text with its non-printable bytes escaped.</summary>
    public static string Print(byte[] input)
    {
        var text = new StringBuilder(input.Length);
        foreach (var b in input)
        {
            _ = b is >= 0x20 and < 0x7f ? text.Append((char)b) : text.Append($"\\x{b:x2}");
        }

        return text.ToString();
    }

    private static byte[] Apply(byte[] seed, (int Op, int Position, int Length, int Value)[] mutations, IReadOnlyList<(string Name, byte[] Bytes)> seeds)
    {
        var bytes = new List<byte>(seed);
        foreach (var (op, position, length, value) in mutations)
        {
            var at = bytes.Count == 0 ? 0 : position % (bytes.Count + 1);
            var span = Math.Min(length, bytes.Count - at);
            switch (op)
            {
                case 0 when at < bytes.Count:
                    bytes[at] ^= (byte)(1 << (value % 8));
                    break;
                case 1 when at < bytes.Count:
                    bytes[at] = (byte)value;
                    break;
                case 2:
                    bytes.InsertRange(at, s_tokens[value % s_tokens.Length]);
                    break;
                case 3:
                    bytes.RemoveRange(at, span);
                    break;
                case 4:
                    bytes.InsertRange(at, bytes.GetRange(at, span));
                    break;
                case 5:
                    // Splice: this input up to here, then another seed from the same relative place on.
                    var other = seeds[value % seeds.Count].Bytes;
                    var from = other.Length == 0 ? 0 : (int)((long)at * other.Length / Math.Max(1, bytes.Count));
                    bytes.RemoveRange(at, bytes.Count - at);
                    bytes.AddRange(other.AsSpan(Math.Min(from, other.Length)));
                    break;
                default:
                    // A run of one digit: numbers far beyond every cap and every integer type.
                    bytes.InsertRange(at, Enumerable.Repeat((byte)('0' + (value % 10)), length + 1));
                    break;
            }
        }

        return [.. bytes];
    }
}
