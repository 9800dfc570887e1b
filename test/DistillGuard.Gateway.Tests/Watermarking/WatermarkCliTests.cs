using System.ClientModel;
using System.CommandLine;
using System.Text;
using System.Text.Json;
using DistillGuard.Cli.Commands;
using DistillGuard.Gateway.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.

namespace DistillGuard.Gateway.Tests.Watermarking;

/// <summary><c>distillguard watermark detect</c> against the key a real gateway created.</summary>
[Collection(nameof(ConsoleCollection))]
public sealed class WatermarkCliTests
{
    private static async Task<(int Exit, string Output)> RunAsync(params string[] args)
    {
        var root = new RootCommand { WatermarkCommands.Create() };
        var original = Console.Out;
        using var capture = new StringWriter();
        Console.SetOut(capture);
        try
        {
            var exit = await root.Parse(args).InvokeAsync();
            return (exit, capture.ToString());
        }
        finally
        {
            Console.SetOut(original);
        }
    }

    [Fact]
    public async Task Detect_TeacherAnswerFile_Json_SaysWatermarked_Exit0()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = await gateway.CreateAccountAsync("cli-alice");
        var chat = new ChatClient("dg-teacher", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = gateway.V1 });
        var text = new StringBuilder();
        for (var seed = 1; text.Length < 1500; seed++)
        {
            ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("The river")], new ChatCompletionOptions { MaxOutputTokenCount = 200, Seed = seed });
            text.Append(completion.Content[0].Text).Append(' ');
        }

        var file = Path.Combine(gateway.DataDirectory, "answer.txt");
        await File.WriteAllTextAsync(file, text.ToString());

        var (exit, output) = await RunAsync("watermark", "detect", file, "--data", gateway.DataDirectory, "--json");
        var (plainExit, plainOutput) = await RunAsync("watermark", "detect", file, "--data", gateway.DataDirectory);

        Assert.Equal(0, exit);
        var json = output[output.IndexOf('{', StringComparison.Ordinal)..];
        using var document = JsonDocument.Parse(json[..(json.LastIndexOf('}') + 1)]);
        Assert.True(document.RootElement.GetProperty("watermarked").GetBoolean());
        Assert.True(document.RootElement.GetProperty("scoredTokens").GetInt32() > 100);
        Assert.Equal(0, plainExit);
        Assert.Contains("watermarked: p = ", plainOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Detect_WithoutKey_Exit2()
    {
        var directory = Path.Combine(Path.GetTempPath(), "dg-nokey-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "t.txt");
        await File.WriteAllTextAsync(file, "Some text.");
        try
        {
            var (exit, _) = await RunAsync("watermark", "detect", file, "--data", directory);
            Assert.Equal(2, exit);
            Assert.False(File.Exists(Path.Combine(directory, "watermark-key")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Detect_WithModel_TestsTheEngineWatermark_WithoutADataDirectory()
    {
        const ulong Key = 4242;
        var variable = "DG_TEST_CLI_ENGINE_KEY_" + Guid.NewGuid().ToString("N");
        var directory = Directory.CreateTempSubdirectory("dg-cli-engine-");
        Environment.SetEnvironmentVariable(variable, Key.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var config = Path.Combine(directory.FullName, "gateway.json");
            await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
            {
                upstreams = new object[]
                {
                    new
                    {
                        name = "engine",
                        baseUrl = "http://127.0.0.1:9/v1",
                        models = new[] { FakeVllmEngine.Model },
                        watermark = new { keyEnvironmentVariable = variable, tokenizer = FakeVllmEngine.Tokenizer },
                    },
                },
            }));
            var marked = Path.Combine(directory.FullName, "marked.txt");
            await File.WriteAllTextAsync(marked, FakeVllmEngine.Qwen3.Decode(FakeVllmEngine.Generate(new DistillGuard.Watermarking.Engines.VllmPhiloxPrf(Key), 200, seed: 3)));
            var plain = Path.Combine(directory.FullName, "plain.txt");
            await File.WriteAllTextAsync(plain, FakeVllmEngine.Qwen3.Decode(FakeVllmEngine.Generate(null, 200, seed: 3)));

            var (exit, output) = await RunAsync("watermark", "detect", marked, "--config", config, "--model", FakeVllmEngine.Model, "--json");
            Assert.Equal(0, exit);
            var json = output[output.IndexOf('{', StringComparison.Ordinal)..];
            using var document = JsonDocument.Parse(json[..(json.LastIndexOf('}') + 1)]);
            Assert.True(document.RootElement.GetProperty("watermarked").GetBoolean(), output);
            Assert.Equal("vllm-gumbel", document.RootElement.GetProperty("scheme").GetString());

            var (plainExit, plainOutput) = await RunAsync("watermark", "detect", plain, "--config", config, "--model", FakeVllmEngine.Model);
            Assert.Equal(0, plainExit);
            Assert.Contains("not watermarked: p = ", plainOutput, StringComparison.Ordinal);

            var (unknownExit, _) = await RunAsync("watermark", "detect", plain, "--config", config, "--model", "no-such-model");
            Assert.Equal(2, unknownExit);
            var (noConfigExit, _) = await RunAsync("watermark", "detect", plain, "--model", FakeVllmEngine.Model);
            Assert.Equal(2, noConfigExit);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
            directory.Delete(recursive: true);
        }
    }
}

/// <summary>Tests that redirect the console run one at a time.</summary>
[CollectionDefinition(nameof(ConsoleCollection), DisableParallelization = true)]
public sealed class ConsoleCollection;
