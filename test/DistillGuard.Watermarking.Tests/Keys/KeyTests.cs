using System.Buffers.Binary;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Watermarking.Tests.Keys;

public sealed class KeyTests
{
    [Fact]
    public void SipHash_MatchesReferenceVector()
    {
        // Aumasson and Bernstein, "SipHash: a fast short-input PRF" (2012), appendix A: key 00..0f, message 00..0e.
        var message = Enumerable.Range(0, 15).Select(i => (byte)i).ToArray();
        Assert.Equal(0xa129ca6149be45e5UL, SipHash.Hash(0x0706050403020100UL, 0x0f0e0d0c0b0a0908UL, message));
    }

    [Fact]
    public void HashWords_EqualsHashOfTheSameBytes_AtEveryLength()
    {
        var random = new Random(5);
        for (var length = 0; length < 32; length++)
        {
            var message = new byte[32];
            random.NextBytes(message.AsSpan(0, length));
            var words = Enumerable.Range(0, 4).Select(w => BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(8 * w))).ToArray();

            Assert.Equal(SipHash.Hash(1, 2, message.AsSpan(0, length)), SipHash.HashWords(1, 2, words[0], words[1], words[2], words[3], length));
        }
    }

    [Fact]
    public void WindowSeed_IsSipHashOfTagWidthAndLittleEndianIds_AtEveryWidth()
    {
        var key = new WatermarkKey(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        for (var width = 0; width <= 9; width++)
        {
            var window = Enumerable.Range(0, width).Select(i => 50_000 - (i * 7_919)).ToArray();
            var message = new byte[2 + (4 * width)];
            message[0] = (byte)'E';
            message[1] = (byte)width;
            for (var i = 0; i < width; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(2 + (4 * i)), window[i]);
            }

            Assert.Equal(SipHash.Hash(0x0706050403020100UL, 0x0f0e0d0c0b0a0908UL, message), key.WindowSeed((byte)'E', window));
        }
    }

    [Fact]
    public void DeriveEpoch_IsDeterministic_AndEpochsDiffer()
    {
        var master = new WatermarkKey(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        var window = new[] { 464, 3290 };

        Assert.Equal(master.DeriveEpoch(0).WindowSeed((byte)'G', window), master.DeriveEpoch(0).WindowSeed((byte)'G', window));
        Assert.NotEqual(master.DeriveEpoch(0).WindowSeed((byte)'G', window), master.DeriveEpoch(1).WindowSeed((byte)'G', window));
        Assert.NotEqual(master.WindowSeed((byte)'G', window), master.DeriveEpoch(0).WindowSeed((byte)'G', window));
    }

    [Fact]
    public void ToString_NeverShowsKeyMaterial()
    {
        var material = Enumerable.Repeat((byte)0xAB, 32).ToArray();
        var key = new WatermarkKey(material);

        Assert.DoesNotContain("AB", key.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("WatermarkKey(epoch 3)", key.DeriveEpoch(3).ToString());
    }

    [Fact]
    public void KeyFile_CreatedOnce_OwnerOnly_SameKeyOnReload()
    {
        var directory = Path.Combine(Path.GetTempPath(), "dg-wm-" + Guid.NewGuid().ToString("N"));
        try
        {
            var first = WatermarkKeyFile.LoadOrCreate(directory);
            var second = WatermarkKeyFile.LoadOrCreate(directory);
            var path = Path.Combine(directory, WatermarkKeyFile.FileName);

            Assert.Equal(first.WindowSeed((byte)'G', [1, 2]), second.WindowSeed((byte)'G', [1, 2]));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Keyring_DetectionKeys_AreNewestFirstAndBounded()
    {
        var keyring = new WatermarkKeyring(new WatermarkKey(new byte[32]), currentEpoch: 5, detectEpochs: 3);

        Assert.Equal([5, 4, 3], keyring.DetectionKeys.Select(k => k.Epoch));
        Assert.Equal(5, keyring.Current.Epoch);
    }
}
