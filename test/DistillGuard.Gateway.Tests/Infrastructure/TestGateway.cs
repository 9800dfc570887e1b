using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Detection;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Tests.Infrastructure;

/// <summary>A real gateway on a loopback port with a temporary data directory, and clients for it.</summary>
internal sealed class TestGateway : IAsyncDisposable
{
    public const string AdminTokenValue = "test-admin-token-0123456789abcdef";

    private TestGateway(GatewayApp app, GatewayOptions options, CapturingLoggerProvider logs)
    {
        App = app;
        Options = options;
        Logs = logs;
        Http = new HttpClient { BaseAddress = app.BaseAddress };
        Admin = new HttpClient { BaseAddress = app.BaseAddress };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminTokenValue);
    }

    public GatewayApp App { get; }
    public GatewayOptions Options { get; }
    public CapturingLoggerProvider Logs { get; }
    public HttpClient Http { get; }
    public HttpClient Admin { get; }
    public Uri BaseAddress => App.BaseAddress;
    public Uri V1 => new(App.BaseAddress, "v1");
    public string DataDirectory => Options.DataDirectory;

    /// <summary>
    /// Waits until the detection worker has folded in <paramref name="events"/> usage events (one per /v1 request), so
    /// a test reads the engine's state after the fact instead of polling for it. The minute is a safety net only.
    /// </summary>
    public Task DetectionObservedAsync(long events) =>
        App.Services.GetRequiredService<DetectionWorker>().WhenObservedAsync(events).WaitAsync(TimeSpan.FromMinutes(1));

    /// <summary>Runs one policy pass now, at the gateway's clock, as the worker's timer would.</summary>
    public Task PolicyPassAsync() =>
        App.Services.GetRequiredService<PolicyWorker>().EvaluateAsync(App.Services.GetRequiredService<TimeProvider>().GetUtcNow(), CancellationToken.None);

    /// <param name="policy">The policy worker's options; by default it decides within a second (tests cannot wait an hour between decisions).</param>
    /// <param name="time">The gateway's clock (a FakeTimeProvider to control what the limits and workers see); the system clock by default.</param>
    /// <param name="keepData">Leave the data directory in place on dispose (a test that restarts a gateway on it deletes it itself).</param>
    /// <param name="detection">The detection worker's options (the defaults otherwise).</param>
    public static async Task<TestGateway> StartAsync(Action<GatewayOptions>? configure = null, PolicyHostOptions? policy = null, TimeProvider? time = null, bool keepData = false, DetectionHostOptions? detection = null)
    {
        var options = new GatewayOptions
        {
            Port = 0,
            Host = "localhost",
            DataDirectory = Path.Combine(Path.GetTempPath(), "dg-gw-" + Guid.NewGuid().ToString("N")),
            AdminToken = AdminTokenValue,
            // The embedding model (90 MB, about a second to load) only where a test asks for it.
            Semantics = { Enabled = false },
        };
        configure?.Invoke(options);
        var logs = new CapturingLoggerProvider();
        var app = GatewayApp.Create(options, new GatewayHostOptions
        {
            BuiltInModel = TestModel.Instance,
            TimeProvider = time ?? TimeProvider.System,

            // Tests cannot wait an hour between decisions; the ladder decides within a second here.
            ConfigureServices = services =>
            {
                services.AddSingleton(policy ?? new PolicyHostOptions { Interval = TimeSpan.FromMilliseconds(200), DecisionInterval = TimeSpan.FromSeconds(1) });
                if (detection is not null)
                {
                    services.AddSingleton(detection);
                }
            },
            ConfigureLogging = logging =>
            {
                logging.SetMinimumLevel(LogLevel.Trace);
                logging.AddProvider(logs);
            },
        });
        await app.StartAsync();
        return new TestGateway(app, options, logs) { KeepData = keepData };
    }

    /// <summary>Creates an account through the admin API and returns its API key.</summary>
    public async Task<string> CreateAccountAsync(string id, string? apiKey = null, string tier = "standard")
    {
        using var response = await Admin.PostAsJsonAsync("admin/v1/accounts", new { id, apiKey, org = "test-org", tier });
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("apiKey").GetString()!;
    }

    /// <summary>Creates <paramref name="count"/> free-tier accounts <c>fleet-0</c>… of separate shell orgs paying with one card; returns their keys.</summary>
    public async Task<string[]> CreateFleetAsync(int count, string paymentFingerprint)
    {
        var keys = new string[count];
        for (var i = 0; i < count; i++)
        {
            using var created = await Admin.PostAsJsonAsync("admin/v1/accounts", new { id = $"fleet-{i}", org = $"shell-co-{i}", tier = "free", paymentFingerprint });
            created.EnsureSuccessStatusCode();
            using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
            keys[i] = body.RootElement.GetProperty("apiKey").GetString()!;
        }

        return keys;
    }

    public HttpRequestMessage Post(string path, string body, string? apiKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        if (apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return request;
    }

    private bool KeepData { get; init; }

    /// <summary>A Messages API request as Anthropic's clients send it: <c>x-api-key</c> and <c>anthropic-version</c>.</summary>
    public static HttpRequestMessage PostMessages(string body, string apiKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", apiKey);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Admin.Dispose();
        await App.DisposeAsync();
        if (KeepData)
        {
            return;
        }

        try
        {
            Directory.Delete(Options.DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Keeps every log line, so tests can prove what never reaches a log.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(LogLevel Level, string Category, string Message)> _entries = new();

    public IReadOnlyCollection<(LogLevel Level, string Category, string Message)> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<(LogLevel, string, string)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            if (state is IEnumerable<KeyValuePair<string, object?>> properties)
            {
                message += " | " + string.Join(", ", properties.Select(p => $"{p.Key}={p.Value}"));
            }

            entries.Enqueue((logLevel, category, message + (exception is null ? "" : " " + exception)));
        }
    }
}
