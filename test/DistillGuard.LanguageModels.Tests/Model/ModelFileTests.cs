using DistillGuard.LanguageModels.Model;

namespace DistillGuard.LanguageModels.Tests.Model;

public sealed class ModelFileTests(SmallModelFixture fixture) : IClassFixture<SmallModelFixture>
{
    private byte[] Saved()
    {
        using var stream = new MemoryStream();
        ModelFile.Save(fixture.Model, stream);
        return stream.ToArray();
    }

    [Fact]
    public void SaveLoad_RoundTrip_GivesIdenticalDistributions()
    {
        var path = Path.Combine(Path.GetTempPath(), $"dg-model-{Guid.NewGuid():N}.dgm");
        try
        {
            ModelFile.Save(fixture.Model, path);
            var loaded = ModelFile.Load(path);
            Assert.Equal(fixture.Model.Id, loaded.Id);
            Assert.Equal(fixture.Model.Order, loaded.Order);
            Assert.Equal(fixture.Model.NgramCounts, loaded.NgramCounts);
            var expected = new float[loaded.VocabularySize];
            var actual = new float[loaded.VocabularySize];
            foreach (var context in new[] { new[] { 50256 }, new[] { 464, 3336 }, new[] { 1, 2, 3 } })
            {
                fixture.Model.GetLogProbabilities(context, expected);
                loaded.GetLogProbabilities(context, actual);
                Assert.Equal(expected, actual);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_FlippedByte_IsRejected()
    {
        var bytes = Saved();
        bytes[bytes.Length / 2] ^= 0x40;
        var error = Assert.Throws<InvalidDataException>(() => ModelFile.Load(bytes));
        Assert.Contains("corrupted", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(1000)]
    public void Load_TruncatedFile_IsRejected(int keep)
    {
        var bytes = Saved();
        Assert.Throws<InvalidDataException>(() => ModelFile.Load(bytes.AsSpan(0, Math.Min(keep, bytes.Length - 1))));
        Assert.Throws<InvalidDataException>(() => ModelFile.Load(bytes.AsSpan(0, bytes.Length - 1)));
    }

    [Fact]
    public void Load_OtherFormatVersion_IsRejectedWithVersionInMessage()
    {
        var bytes = Saved();
        bytes[4] = 99;
        var error = Assert.Throws<InvalidDataException>(() => ModelFile.Load(bytes));
        Assert.Contains("version 99", error.Message, StringComparison.Ordinal);
    }
}
