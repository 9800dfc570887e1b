using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace DistillGuard.LanguageModels.Model;

/// <summary>Reads and writes the binary <c>.dgm</c> format of <see cref="KneserNeyModel"/>.</summary>
/// <remarks>
/// Layout (little-endian): magic <c>DGLM</c>, format version (int32), header (id, vocabulary size, boundary token,
/// order, discounts, entries per order), then the trie arrays of each order, then the XxHash64 of everything before
/// it. Loading verifies length and checksum before it trusts any array.
/// </remarks>
public static class ModelFile
{
    /// <summary>The format version written by <see cref="Save"/>; older or newer files are refused.</summary>
    public const int FormatVersion = 1;

    private static ReadOnlySpan<byte> Magic => "DGLM"u8;

    /// <summary>Writes a model to <paramref name="path"/> (replacing it).</summary>
    public static void Save(KneserNeyModel model, string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Save(model, stream);
    }

    /// <summary>Writes a model to a stream.</summary>
    public static void Save(KneserNeyModel model, Stream stream)
    {
        var hash = new XxHash64();
        void Write(ReadOnlySpan<byte> bytes)
        {
            hash.Append(bytes);
            stream.Write(bytes);
        }

        void WriteInt(int value)
        {
            Span<byte> buffer = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(buffer, value);
            Write(buffer);
        }

        void WriteArray<T>(T[] values)
            where T : struct
        {
            WriteInt(values.Length);
            Write(MemoryMarshal.AsBytes(values.AsSpan()));
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Model files are written on little-endian machines only.");
        }

        Write(Magic);
        WriteInt(FormatVersion);
        var id = Encoding.UTF8.GetBytes(model.Id);
        WriteInt(id.Length);
        Write(id);
        WriteInt(model.VocabularySize);
        WriteInt(model.BoundaryToken);
        WriteInt(model.Order);
        foreach (var d in model.Discounts)
        {
            WriteArray(d);
        }

        foreach (var level in model.Levels)
        {
            WriteArray(level.Words ?? []);
            WriteArray(level.Probabilities);
            WriteArray(level.Backoffs ?? []);
            WriteArray(level.ChildStarts ?? []);
        }

        Span<byte> digest = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(digest, hash.GetCurrentHashAsUInt64());
        stream.Write(digest);
    }

    /// <summary>Loads a model written by <see cref="Save(KneserNeyModel, string)"/>.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, or not a model file of this version.</exception>
    public static KneserNeyModel Load(string path) => Load(File.ReadAllBytes(path), path);

    /// <summary>Loads a model from its bytes; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="InvalidDataException">The bytes are truncated, corrupted, or not a model file of this version.</exception>
    public static KneserNeyModel Load(ReadOnlySpan<byte> bytes, string source = "model")
    {
        if (bytes.Length < Magic.Length + 4 + 8 || !bytes[..Magic.Length].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{source} is not a DistillGuard language model file.");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes[Magic.Length..]);
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"{source} has format version {version}; this build reads version {FormatVersion}.");
        }

        var body = bytes[..^8];
        if (XxHash64.HashToUInt64(body) != BinaryPrimitives.ReadUInt64LittleEndian(bytes[^8..]))
        {
            throw new InvalidDataException($"{source} is truncated or corrupted (checksum mismatch).");
        }

        var reader = new SpanReader(body, Magic.Length + 4, source);
        var id = Encoding.UTF8.GetString(reader.ReadBytes(reader.ReadInt()));
        var vocabularySize = reader.ReadInt();
        var boundary = reader.ReadInt();
        var order = reader.ReadInt();
        if (order is < 1 or > KneserNeyTrainer.MaxOrder || vocabularySize is < 1 or > 1 << 16 || (uint)boundary >= (uint)vocabularySize)
        {
            throw new InvalidDataException($"{source} has an invalid header.");
        }

        var discounts = new float[order][];
        for (var k = 0; k < order; k++)
        {
            discounts[k] = reader.ReadArray<float>();
        }

        var levels = new NgramLevel[order];
        for (var k = 0; k < order; k++)
        {
            var words = reader.ReadArray<ushort>();
            var probabilities = reader.ReadArray<float>();
            var backoffs = reader.ReadArray<float>();
            var childStarts = reader.ReadArray<int>();
            var top = k == order - 1;
            var expected = k == 0 ? vocabularySize : words.Length;
            if (probabilities.Length != expected || (k > 0 && words.Length != expected)
                || (top ? backoffs.Length != 0 || childStarts.Length != 0 : backoffs.Length != expected || childStarts.Length != expected + 1))
            {
                throw new InvalidDataException($"{source} has inconsistent array sizes at order {k + 1}.");
            }

            levels[k] = new NgramLevel(k == 0 ? null : words, probabilities, top ? null : backoffs, top ? null : childStarts);
        }

        for (var k = 0; k < order - 1; k++)
        {
            var starts = levels[k].ChildStarts!;
            if (starts[0] != 0 || starts[^1] != levels[k + 1].Count)
            {
                throw new InvalidDataException($"{source} has an invalid trie at order {k + 1}.");
            }

            for (var i = 1; i < starts.Length; i++)
            {
                if (starts[i] < starts[i - 1])
                {
                    throw new InvalidDataException($"{source} has an invalid trie at order {k + 1}.");
                }
            }
        }

        if (!reader.AtEnd)
        {
            throw new InvalidDataException($"{source} has trailing bytes.");
        }

        return new KneserNeyModel(id, vocabularySize, boundary, levels, discounts);
    }

    private ref struct SpanReader(ReadOnlySpan<byte> data, int position, string source)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position = position;

        public readonly bool AtEnd => _position == _data.Length;

        public int ReadInt() => BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4));

        public ReadOnlySpan<byte> ReadBytes(int count)
        {
            if (count < 0 || count > _data.Length - _position)
            {
                throw new InvalidDataException($"{source} is truncated.");
            }

            var slice = _data.Slice(_position, count);
            _position += count;
            return slice;
        }

        public T[] ReadArray<T>()
            where T : unmanaged
        {
            var length = ReadInt();
            var size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
            if (length < 0 || (long)length * size > _data.Length - _position)
            {
                throw new InvalidDataException($"{source} is truncated.");
            }

            var result = new T[length];
            ReadBytes(length * size).CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }
    }
}
