using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DistillGuard.Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// Gateway overhead, measured as a ratio in one run: the same open-loop load sent to a fake upstream
// directly and through the gateway (auth, validation, forwarding, usage log into SQLite), interleaved in rounds.
// With --processes 1 the upstream and the gateway run as child processes pinned to their own cores (taskset), as a
// gateway is deployed: the gateway alone on --gateway-cpus, the load generator and the upstream on --driver-cpus.
var rate = IntArg("--rate", 1000);
var seconds = IntArg("--seconds", 10);
var rounds = IntArg("--rounds", 3);
var streamSamples = IntArg("--stream-samples", 300);
var warmup = IntArg("--warmup", 2);
var inlineScheduling = IntArg("--inline-scheduling", 1) == 1;

// As `serve` does, before the first socket; the switch is process-wide, so in one process it also applies to the load
// generator and the fake upstream (the direct path), and child processes inherit it.
var inlineCompletions = SocketCompletions.Apply(IntArg("--inline-completions", new GatewayOptions().InlineSocketCompletions ? 1 : 0) == 1);
const string AdminToken = "load-driver-admin-token-0123456789";

switch (StringArg("--role", "driver"))
{
    case "upstream":
        await using (var served = await FakeUpstream.StartAsync())
        {
            Console.WriteLine("READY " + served.BaseUrl);
            await Console.In.ReadToEndAsync();
        }

        return 0;
    case "gateway":
        await using (var served = await LoadGateway.StartAsync(new Uri(StringArg("--upstream", "")), inlineScheduling, AdminToken))
        {
            Console.WriteLine("READY " + served.App.BaseAddress);
            await Console.In.ReadToEndAsync();
            await Task.Delay(500);
            Console.WriteLine($"EVENTS {served.App.UsageLog.Written} {served.App.UsageLog.Dropped}");
        }

        return 0;
}

switch (StringArg("--scenario", "overhead"))
{
    case "events":
        return await EventThroughput.RunAsync(StringArg("--postgres", ""), IntArg("--events", 500_000), IntArg("--batch", 512), rounds);
    case "shared-limits":
        return await SharedLimits.RunAsync(StringArg("--store", "redis"), IntArg("--replicas", 3), IntArg("--runs", 10), IntArg("--limit", 200), rate, seconds, rounds);
}

var separate = IntArg("--processes", 0) == 1;
var gatewayCpus = StringArg("--gateway-cpus", "0");
var driverCpus = StringArg("--driver-cpus", "1");
if (separate && Environment.GetEnvironmentVariable("DG_LOAD_DRIVER_PINNED") is null)
{
    // Re-run this driver pinned to its cores; its children are pinned by their own taskset.
    using var pinned = Process.Start(Pinned(driverCpus, args, ("DG_LOAD_DRIVER_PINNED", "1")))!;
    await pinned.WaitForExitAsync();
    return pinned.ExitCode;
}

Child? upstreamChild = null;
Child? gatewayChild = null;
FakeUpstream? upstream = null;
LoadGateway? gateway = null;
Uri upstreamUrl;
Uri gatewayUrl;
if (separate)
{
    upstreamChild = await Child.StartAsync(Pinned(driverCpus, ["--role", "upstream"]));
    upstreamUrl = upstreamChild.Url;
    gatewayChild = await Child.StartAsync(Pinned(gatewayCpus, ["--role", "gateway", "--upstream", upstreamUrl.ToString(), "--inline-scheduling", inlineScheduling ? "1" : "0"]));
    gatewayUrl = gatewayChild.Url;
}
else
{
    upstream = await FakeUpstream.StartAsync();
    upstreamUrl = upstream.BaseUrl;
    gateway = await LoadGateway.StartAsync(upstreamUrl, inlineScheduling, AdminToken);
    gatewayUrl = gateway.App.BaseAddress;
}

using var admin = new HttpClient { BaseAddress = gatewayUrl };
admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
// The load comes from many accounts, each with its own key. Machine-regular traffic at this rate is what the detector
// exists to flag, and a flagged account's answers are reshaped: as a provider does with its own load tests, an
// analyst allowlists the accounts (detection still scores every request; the ladder leaves them alone).
var apiKeys = new string[IntArg("--accounts", 100)];
for (var a = 0; a < apiKeys.Length; a++)
{
    using var created = await admin.PostAsJsonAsync("admin/v1/accounts", new { id = $"load-driver-{a}", tier = "load-test" });
    created.EnsureSuccessStatusCode();
    apiKeys[a] = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("apiKey").GetString()!;
    using var allowlisted = await admin.PostAsJsonAsync($"admin/v1/accounts/load-driver-{a}/actions", new { action = "allowlist", reason = "the provider's own load test", actor = "load-driver" });
    allowlisted.EnsureSuccessStatusCode();
}

using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = TimeSpan.FromMinutes(10) });
string[] questions =
[
    "Summarise the history of the county in two sentences.", "What should I pack for a week of hiking in the rain?",
    "Explain how a bill becomes law, briefly.", "Give me three ideas for a vegetarian dinner tonight.",
    "How do I politely decline a meeting invitation?", "What is the difference between weather and climate?",
    "Suggest a name for a small bakery by the sea.", "Why does bread go stale?",
    "Write a short thank-you note to a colleague who helped me move.", "How far is the moon, roughly?",
    "What are good habits for learning a new language?", "Describe the plot of a detective story in one paragraph.",
];
var requests = questions.Select(q => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { model = "bench-model", messages = new[] { new { role = "user", content = q } }, max_tokens = 64 }))).ToArray();
var streamBody = Encoding.UTF8.GetBytes("""{"model":"bench-model","messages":[{"role":"user","content":"Summarise the history of the county in two sentences."}],"max_tokens":64,"stream":true}""");
var direct = new Uri(upstreamUrl, "v1/chat/completions");
var viaGateway = new Uri(gatewayUrl, "v1/chat/completions");

Console.Error.WriteLine($"warm-up, then {rounds} rounds of {seconds} s at {rate} req/s per target");
await OpenLoop.RunAsync(client, direct, requests, apiKeys, rate, warmup);
await OpenLoop.RunAsync(client, viaGateway, requests, apiKeys, rate, warmup);

var directLatencies = new List<double>();
var gatewayLatencies = new List<double>();
var errors = 0L;
var directCpu = TimeSpan.Zero;
var gatewayCpu = TimeSpan.Zero;
var gatewayOwnCpu = TimeSpan.Zero;
using var self = Process.GetCurrentProcess();
for (var round = 0; round < rounds; round++)
{
    // CPU time of every process (load generator, upstream and gateway) per phase: steadier than latency on shared
    // cores; in separate processes, also the gateway's own.
    var cpu0 = TotalCpu();
    var d = await OpenLoop.RunAsync(client, direct, requests, apiKeys, rate, seconds);
    var cpu1 = TotalCpu();
    var own1 = gatewayChild?.Cpu ?? TimeSpan.Zero;
    var g = await OpenLoop.RunAsync(client, viaGateway, requests, apiKeys, rate, seconds);
    directCpu += cpu1 - cpu0;
    gatewayCpu += TotalCpu() - cpu1;
    gatewayOwnCpu += (gatewayChild?.Cpu ?? TimeSpan.Zero) - own1;
    directLatencies.AddRange(d.Latencies);
    gatewayLatencies.AddRange(g.Latencies);
    errors += d.Errors + g.Errors;
    Console.Error.WriteLine($"round {round + 1}: direct p50 {OpenLoop.Percentile(d.Latencies, 50):F3} ms, gateway p50 {OpenLoop.Percentile(g.Latencies, 50):F3} ms");
}

var directTtft = new List<double>();
var gatewayTtft = new List<double>();
for (var i = 0; i < streamSamples; i++)
{
    directTtft.Add(await FirstChunkAsync(client, direct, streamBody, apiKeys[i % apiKeys.Length]));
    gatewayTtft.Add(await FirstChunkAsync(client, viaGateway, streamBody, apiKeys[i % apiKeys.Length]));
}

long written;
long dropped;
if (gatewayChild is not null)
{
    (written, dropped) = await gatewayChild.StopAsync();
    await upstreamChild!.StopAsync();
}
else
{
    await Task.Delay(500);
    written = gateway!.App.UsageLog.Written;
    dropped = gateway.App.UsageLog.Dropped;
}

var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"| measure | direct (ms) | via gateway (ms) | added (ms) | ratio |");
report.AppendLine("|---|---|---|---|---|");
foreach (var p in new[] { 50, 90, 99 })
{
    var a = OpenLoop.Percentile(directLatencies, p);
    var b = OpenLoop.Percentile(gatewayLatencies, p);
    report.AppendLine(CultureInfo.InvariantCulture, $"| non-streaming latency p{p} at {rate} req/s | {a:F3} | {b:F3} | {b - a:F3} | {b / a:F2} |");
}

foreach (var p in new[] { 50, 99 })
{
    var a = OpenLoop.Percentile(directTtft, p);
    var b = OpenLoop.Percentile(gatewayTtft, p);
    report.AppendLine(CultureInfo.InvariantCulture, $"| streaming time to first chunk p{p} | {a:F3} | {b:F3} | {b - a:F3} | {b / a:F2} |");
}

var directCpuPerRequest = directCpu.TotalMicroseconds / directLatencies.Count;
var gatewayCpuPerRequest = gatewayCpu.TotalMicroseconds / gatewayLatencies.Count;
report.AppendLine(CultureInfo.InvariantCulture, $"| process CPU per request (all parts) | {directCpuPerRequest / 1000:F3} | {gatewayCpuPerRequest / 1000:F3} | {(gatewayCpuPerRequest - directCpuPerRequest) / 1000:F3} | {gatewayCpuPerRequest / directCpuPerRequest:F2} |");
if (gatewayChild is not null)
{
    report.AppendLine(CultureInfo.InvariantCulture, $"| gateway process CPU per request (cores {gatewayCpus}; load generator and upstream on {driverCpus}) | | {gatewayOwnCpu.TotalMicroseconds / gatewayLatencies.Count / 1000:F3} | | |");
}

report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture, $"Requests per target: {directLatencies.Count:N0} non-streaming, {streamSamples} streaming; failed requests: {errors}; usage events written: {written:N0}, dropped: {dropped}; inline scheduling {(inlineScheduling ? "on" : "off")}, inline socket completions {(inlineCompletions ? "on" : "off")}.");
Console.WriteLine(report.ToString());

if (gateway is not null)
{
    await gateway.DisposeAsync();
    await upstream!.DisposeAsync();
}

gatewayChild?.Dispose();
upstreamChild?.Dispose();

return errors == 0 ? 0 : 1;

TimeSpan TotalCpu()
{
    self.Refresh();
    return self.TotalProcessorTime + (upstreamChild?.Cpu ?? TimeSpan.Zero) + (gatewayChild?.Cpu ?? TimeSpan.Zero);
}

// This driver again, under taskset on the given cores.
static ProcessStartInfo Pinned(string cpus, IEnumerable<string> arguments, params (string Name, string Value)[] environment)
{
    var start = new ProcessStartInfo("taskset") { UseShellExecute = false };
    start.ArgumentList.Add("-c");
    start.ArgumentList.Add(cpus);
    start.ArgumentList.Add(Environment.ProcessPath!);
    if (!Path.GetFileNameWithoutExtension(Environment.ProcessPath!).Equals("DistillGuard.LoadDriver", StringComparison.Ordinal))
    {
        start.ArgumentList.Add(typeof(FakeUpstream).Assembly.Location);
    }

    foreach (var argument in arguments)
    {
        start.ArgumentList.Add(argument);
    }

    foreach (var (name, value) in environment)
    {
        start.Environment[name] = value;
    }

    return start;
}

static async Task<double> FirstChunkAsync(HttpClient client, Uri target, byte[] body, string apiKey)
{
    var start = Stopwatch.GetTimestamp();
    using var content = new ByteArrayContent(body);
    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
    using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = content };
    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    await using var stream = await response.Content.ReadAsStreamAsync();
    var buffer = new byte[4096];
    var text = new StringBuilder();

    // The first chunk with content: the second data event (the first carries the role only).
    while (true)
    {
        var read = await stream.ReadAsync(buffer);
        if (read == 0)
        {
            break;
        }

        text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        if (text.ToString().Contains("\"content\":\"Hello", StringComparison.Ordinal))
        {
            break;
        }
    }

    var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    await stream.CopyToAsync(Stream.Null);
    return elapsed;
}

int IntArg(string name, int fallback) => int.Parse(StringArg(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

string StringArg(string name, string fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}

/// <summary>The gateway under test, in front of the fake upstream, with its own data directory (deleted after).</summary>
internal sealed class LoadGateway(GatewayApp app, string data) : IAsyncDisposable
{
    public GatewayApp App { get; } = app;

    public static async Task<LoadGateway> StartAsync(Uri upstream, bool inlineScheduling, string adminToken, Action<GatewayOptions>? configure = null)
    {
        var options = new GatewayOptions
        {
            Port = 0,
            DataDirectory = Path.Combine(Path.GetTempPath(), "dg-load-" + Guid.NewGuid().ToString("N")),
            AdminToken = adminToken,
            BuiltInModel = { Enabled = false },
            InlineScheduling = inlineScheduling,
            Upstreams = { new UpstreamOptions { Name = "fake", BaseUrl = upstream + "v1", Models = ["bench-model"] } },
        };

        // Limits high enough never to refuse, so the measured path includes the limiter's bookkeeping.
        options.RateLimits.Tiers["load-test"] = new DistillGuard.Policy.RateLimiting.RateLimits { RequestsPerMinute = 100_000_000, TokensPerMinute = 100_000_000_000 };
        configure?.Invoke(options);
        var app = GatewayApp.Create(options, new GatewayHostOptions { ConfigureLogging = l => l.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole() });
        await app.StartAsync();
        return new LoadGateway(app, options.DataDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        try
        {
            Directory.Delete(data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A part of the benchmark in its own process: prints <c>READY url</c>, runs until its standard input closes.</summary>
internal sealed class Child : IDisposable
{
    private readonly Process _process;

    private Child(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    public Uri Url { get; }

    public TimeSpan Cpu
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public static async Task<Child> StartAsync(ProcessStartInfo start)
    {
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + start.FileName);
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("READY ", StringComparison.Ordinal))
            {
                return new Child(process, new Uri(line["READY ".Length..]));
            }
        }

        throw new InvalidOperationException("a child process of the load driver exited before it was ready");
    }

    /// <summary>Closes its input and returns the counts it reports on the way out (<c>EVENTS written dropped</c>), if any.</summary>
    public async Task<(long Written, long Dropped)> StopAsync()
    {
        _process.StandardInput.Close();
        (long, long) counts = default;
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            var parts = line.Split(' ');
            if (parts is ["EVENTS", var written, var dropped])
            {
                counts = (long.Parse(written, CultureInfo.InvariantCulture), long.Parse(dropped, CultureInfo.InvariantCulture));
            }
        }

        await _process.WaitForExitAsync();
        return counts;
    }

    public void Dispose() => _process.Dispose();
}

/// <summary>A minimal OpenAI-compatible upstream with a fixed answer; streams with a small pause between chunks.</summary>
internal sealed class FakeUpstream : IAsyncDisposable
{
    private static readonly byte[] s_completion = Encoding.UTF8.GetBytes("""{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"The county was settled in the eighteenth century and grew with the railway."},"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":16,"total_tokens":30}}""");

    private readonly WebApplication _app;

    private FakeUpstream(WebApplication app) => _app = app;

    public Uri BaseUrl => new(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First() + "/");

    public static async Task<FakeUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", async context =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            if (document.RootElement.TryGetProperty("stream", out var s) && s.GetBoolean())
            {
                context.Response.ContentType = "text/event-stream";
                await context.Response.WriteAsync("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
                await context.Response.Body.FlushAsync();
                await context.Response.WriteAsync("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n");
                await context.Response.Body.FlushAsync();
                await Task.Delay(5);
                await context.Response.WriteAsync("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n");
                await context.Response.WriteAsync("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench-model\",\"choices\":[],\"usage\":{\"prompt_tokens\":14,\"completion_tokens\":1,\"total_tokens\":15}}\n\n");
                await context.Response.WriteAsync("data: [DONE]\n\n");
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(s_completion);
        });
        await app.StartAsync();
        return new FakeUpstream(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
