using System.Security.Cryptography;

namespace DistillGuard.Watermarking.Keys;

/// <summary>The master watermark key in a data directory: created once on first start, readable only by its owner.</summary>
public static class WatermarkKeyFile
{
    /// <summary>File name of the master key inside the data directory.</summary>
    public const string FileName = "watermark-key";

    /// <summary>Loads the master key from <paramref name="dataDirectory"/>, creating it on first use.</summary>
    /// <remarks>Two processes starting at once agree: the file is created exclusively and the loser reads the winner's key.</remarks>
    public static WatermarkKey LoadOrCreate(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
        {
            var material = RandomNumberGenerator.GetBytes(WatermarkKey.Length);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            try
            {
                using var writer = new StreamWriter(new FileStream(path, options));
                writer.Write(Convert.ToHexString(material));
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first; use theirs.
            }
        }

        var text = File.ReadAllText(path).Trim();
        byte[] bytes;
        try
        {
            bytes = Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"{path} does not hold a hex-encoded watermark key.");
        }

        if (bytes.Length != WatermarkKey.Length)
        {
            throw new InvalidDataException($"{path} must hold {WatermarkKey.Length} bytes of key material.");
        }

        return new WatermarkKey(bytes);
    }
}
