using System.CommandLine;
using System.Text;
using DistillGuard.Cli.Commands;
using DistillGuard.Gateway.Hosting;

namespace DistillGuard.Gateway.Tests.Hosting;

public sealed class GatewayConfigFileTests
{
    [Fact]
    public void Parse_ValidFile_ReadsEverySection()
    {
        var options = GatewayConfigFile.Parse("""
            {
              // comments are allowed
              "port": 9090,
              "dataDirectory": "/tmp/dg",
              "limits": { "maxRequestBodyBytes": 2048, "maxCompletionTokens": 100, "maxChoices": 2, "defaultMaxTokens": 50 },
              "accounts": { "selfRegister": true },
              "trustedProxies": ["10.0.0.1", "192.168.0.0/16"],
              "upstreams": [ { "name": "vllm", "baseUrl": "http://127.0.0.1:8000/v1", "models": ["llama"], "timeoutSeconds": 30 } ]
            }
            """u8, "test.json");
        Assert.Equal(9090, options.Port);
        Assert.True(options.Accounts.SelfRegister);
        Assert.Equal(2, options.Limits.MaxChoices);
        Assert.Equal("llama", options.Upstreams[0].Models[0]);
    }

    [Theory]
    [InlineData("{\n  \"port\": 70000\n}", 2, "$.port")]
    [InlineData("{\n  \"port\": 80,\n  \"limits\": {\n    \"maxChoices\": 0\n  }\n}", 4, "$.limits.maxChoices")]
    [InlineData("{\n  \"upstreams\": [\n    { \"name\": \"a\", \"baseUrl\": \"ftp://x\", \"models\": [\"m\"] }\n  ]\n}", 3, "$.upstreams[0].baseUrl")]
    [InlineData("{\n  \"upstreams\": [\n    { \"name\": \"a\", \"baseUrl\": \"http://x/v1\", \"models\": [\"dg-teacher\"] }\n  ]\n}", 3, "$.upstreams[0].models")]
    [InlineData("{\n  \"trustedProxies\": [\"not-an-ip\"]\n}", 2, "$.trustedProxies[0]")]
    public void Parse_InvalidValue_NamesTheLineAndThePath(string json, int line, string path)
    {
        var error = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Parse(Encoding.UTF8.GetBytes(json), "bad.json"));
        Assert.StartsWith($"bad.json:{line}: {path}:", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\n  \"port\": 80,\n  \"prot\": 81\n}", 3, "prot")]
    [InlineData("{\n  \"port\": \"eighty\"\n}", 2, "port")]
    [InlineData("{\n  \"port\": 80,\n  \"limits\": { \n", 4, "")]
    public void Parse_MalformedOrUnknown_NamesTheLine(string json, int line, string mention)
    {
        var error = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Parse(Encoding.UTF8.GetBytes(json), "bad.json"));
        Assert.StartsWith($"bad.json:{line}:", error.Message, StringComparison.Ordinal);
        Assert.Contains(mention, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WithABrokenConfig_ExitsWith2AndTheLine()
    {
        var path = Path.Combine(Path.GetTempPath(), "dg-bad-" + Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(path, "{\n  \"port\": -1\n}");
        var error = new StringWriter();
        var original = Console.Error;
        try
        {
            Console.SetError(error);
            var root = new RootCommand { ServeCommand.Create() };
            var exit = await root.Parse(["serve", "--config", path]).InvokeAsync();
            Assert.Equal(2, exit);
        }
        finally
        {
            Console.SetError(original);
            File.Delete(path);
        }

        Assert.Contains($"{path}:2: $.port:", error.ToString(), StringComparison.Ordinal);
    }
}
