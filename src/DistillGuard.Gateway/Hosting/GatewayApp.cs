using System.Net;
using System.Security.Cryptography;
using DistillGuard.Gateway.Admin;
using DistillGuard.Gateway.Dashboard;
using DistillGuard.Gateway.Detection;
using DistillGuard.Gateway.Semantics;
using DistillGuard.Gateway.Inference;
using DistillGuard.Gateway.Observability;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Policy;
using DistillGuard.Gateway.ThreatIntel;
using DistillGuard.Gateway.Usage;
using DistillGuard.Gateway.Watermarking;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Model;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.Policy.RateLimiting;
using DistillGuard.SharedState;
using DistillGuard.SharedState.RateLimiting;
using DistillGuard.Storage;
using DistillGuard.Storage.Accounts;
using DistillGuard.Storage.Usage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace DistillGuard.Gateway.Hosting;

/// <summary>What a host can swap in: the clock, logging, a preloaded model (tests share one).</summary>
public sealed class GatewayHostOptions
{
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Configures logging; by default, console logs at Information (Warning for ASP.NET Core internals).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>A model already loaded, served as the built-in model instead of loading one from disk.</summary>
    public ILanguageModel? BuiltInModel { get; init; }

    /// <summary>Registers services before the gateway's own (its registrations of optional parts then stand aside).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>Receives progress lines while the gateway prepares (model build, storage).</summary>
    public Action<string>? Progress { get; init; }
}

/// <summary>The DistillGuard gateway process: storage, model, usage log and the HTTP server, started and stopped in order.</summary>
/// <remarks>Stopping stops the server first (in-flight requests finish), then drains the usage log, then closes the stores.</remarks>
public sealed class GatewayApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly UsageLog _usageLog;
    private readonly List<IDisposable> _disposables;
    private readonly string _dataDirectory;
    private bool _stopped;

    private GatewayApp(WebApplication app, UsageLog usageLog, AdminToken adminToken, List<IDisposable> disposables, string dataDirectory)
    {
        _app = app;
        _usageLog = usageLog;
        AdminToken = adminToken;
        _disposables = disposables;
        _dataDirectory = dataDirectory;
    }

    /// <summary>Where the admin token came from (never the token itself).</summary>
    public AdminToken AdminToken { get; }

    /// <summary>The address the server listens on, once started.</summary>
    public Uri BaseAddress
    {
        get
        {
            var addresses = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
            return new Uri(addresses.First().Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal));
        }
    }

    /// <summary>The host's services, for tests that drive the background workers one pass at a time or inspect a store.</summary>
    internal IServiceProvider Services => _app.Services;

    /// <summary>The usage log, for hosts that report its counters.</summary>
    public UsageLog UsageLog => _usageLog;

    /// <summary>Builds the gateway from validated <paramref name="options"/>: opens storage, loads or builds the model.</summary>
    public static GatewayApp Create(GatewayOptions options, GatewayHostOptions? settings = null)
    {
        settings ??= new GatewayHostOptions();
        foreach (var (path, reason) in GatewayConfigFile.Validate(options))
        {
            throw new GatewayConfigException($"{path}: {reason}");
        }

        var time = settings.TimeProvider;
        var dataDirectory = DataDirectory.Create(options.DataDirectory);

        // The gateway reads its own config file; ASP.NET Core's appsettings watcher would otherwise watch the working
        // directory, and with it every SQLite write under ./data, on a thread of its own.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(GatewayApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        if (settings.ConfigureLogging is { } configureLogging)
        {
            configureLogging(builder.Logging);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.Limits.MaxRequestBodyBytes;
            RequestHeadLimits.Configure(kestrel.Limits);
            Listen(kestrel, options.Host, options.Port);
        });

        builder.Services.Configure<SocketTransportOptions>(transport => transport.UnsafePreferInlineScheduling = options.InlineScheduling);

        var adminToken = AdminToken.Resolve(dataDirectory, options.AdminToken);
        var disposables = new List<IDisposable>();
        var services = builder.Services;
        settings.ConfigureServices?.Invoke(services);
        services.AddSingleton(options);
        services.AddSingleton(time);

        // A query parameter that does not bind (?limit=abc) throws, so the exception handler answers with an OpenAI error
        // body instead of a bare 400.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddSingleton(adminToken);
        services.AddSingleton(sp => SqliteStorage.Open(dataDirectory, new StorageOptions { PaymentFingerprintKey = InstallSecret(dataDirectory) }, time, sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IAccountStore>(sp => sp.GetRequiredService<SqliteStorage>().Accounts);
        if (options.Storage.Postgres is { } postgres)
        {
            // Replicas write one usage log; usage.db in the data directory stays empty. Opened (and migrated) at the first
            // resolution, which the gateway's start-up does, so an unreachable server stops the start with its reason.
            services.AddSingleton<IUsageEventStore>(sp => PostgresUsageEventStore.OpenAsync(
                new PostgresStorageOptions
                {
                    ConnectionString = postgres,
                    EventRetention = options.Storage.EventRetentionDays is { } days ? TimeSpan.FromDays(days) : null,
                },
                time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("DistillGuard.Storage"), CancellationToken.None).GetAwaiter().GetResult());
        }
        else
        {
            services.AddSingleton<IUsageEventStore>(sp => sp.GetRequiredService<SqliteStorage>().UsageEvents);
        }

        services.AddSingleton(sp => new UsageLog(sp.GetRequiredService<IUsageEventStore>(), new UsageLogOptions
        {
            Capacity = options.UsageLog.ChannelCapacity,
            BatchSize = options.UsageLog.BatchSize,
            PromptRetention = options.UsageLog.PromptRetentionDays is { } days ? TimeSpan.FromDays(days) : null,
        }, time, sp.GetRequiredService<ILogger<UsageLog>>()));
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<ApiKeyAuthentication>();
        services.AddSingleton<InferenceHandler>();
        services.AddSingleton(sp => new ReasoningKeyring(dataDirectory, time, () => sp.GetRequiredService<PolicyProvider>().Current.Sealing));
        if (options.SharedState.Redis is { } redis)
        {
            // Replicas share limits: the store is both the admission store (reserve, settle, leases) and the limiter
            // the response ladder throttles with.
            var connection = RedisConnection.Open(redis);
            disposables.Add(connection);
            var store = new RedisAdmissionStore(connection);
            services.AddSingleton(store);
            services.AddSingleton<IRateLimiter>(store);
            services.AddSingleton<IAdmissionStore>(store);
        }
        else
        {
            services.AddSingleton<IRateLimiter, TokenBucketRateLimiter>();
        }

        services.AddSingleton<RateLimitAdmission>();
        services.AddDistillGuardDetection(dataDirectory);
        if (options.Semantics.Enabled)
        {
            services.AddDistillGuardSemantics(options.Semantics);
        }

        services.TryAddSingleton<IAccountRiskSource, UnscoredRiskSource>();
        services.AddDistillGuardPolicy(options, dataDirectory);
        services.AddDistillGuardWatermarking(options, dataDirectory);
        services.AddDistillGuardThreatIntel(dataDirectory);
        services.AddDistillGuardDashboard(dataDirectory);
        services.AddSingleton(sp =>
        {
            var backends = new List<IModelBackend>();
            if (options.BuiltInModel.Enabled)
            {
                var model = settings.BuiltInModel ?? LoadModel(options, dataDirectory, settings.Progress);
                backends.Add(new BuiltInBackend(model, options.BuiltInModel.Id, TextTokenizer.Gpt2, sp.GetRequiredService<GatewayMetrics>(), time, sp.GetRequiredService<IWatermarkPolicy>())
                {
                    DefaultMaxTokens = options.Limits.DefaultMaxTokens,
                });
            }

            foreach (var upstream in options.Upstreams)
            {
                var backend = new UpstreamBackend(upstream, sp.GetRequiredService<GatewayMetrics>(), time, sp.GetRequiredService<ILogger<UpstreamBackend>>())
                {
                    TextWatermark = WatermarkSetup.UpstreamMark(options.Watermark, sp),
                    Keyring = sp.GetRequiredService<ReasoningKeyring>(),
                };
                disposables.Add(backend);
                backends.Add(backend);
            }

            return new ModelCatalog(backends, time);
        });
        services.Configure<ForwardedHeadersOptions>(forwarded =>
        {
            // Only the configured proxies are believed. ASP.NET Core's default believes loopback (any local process
            // could claim any address), and with both lists empty it believes everyone, so without a configured
            // proxy the middleware is not added at all.
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var entry in options.TrustedProxies)
            {
                if (IPAddress.TryParse(entry, out var address))
                {
                    forwarded.KnownProxies.Add(address);
                }
                else
                {
                    forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(entry));
                }
            }
        });

        var app = builder.Build();
        app.Use(RequestHeadLimits.InvokeAsync);
        if (options.TrustedProxies.Count > 0)
        {
            app.UseForwardedHeaders();
        }

        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = WriteUnhandledAsync, SuppressDiagnosticsCallback = _ => false });
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal), v1 => v1.UseMiddleware<UsageRecordingMiddleware>());
        if (options.InlineScheduling)
        {
            // Admin requests query SQLite synchronously (its async API is synchronous underneath): off the socket thread.
            app.UseWhen(c => c.Request.Path.StartsWithSegments("/admin", StringComparison.Ordinal), admin => admin.Use(async (context, next) =>
            {
                await Task.Yield();
                await next(context);
            }));
        }

        app.MapInferenceApi();
        app.MapAdminApi(adminToken);
        app.MapTaxii();
        app.MapDashboard();
        app.MapMetrics("/metrics", app.Services.GetRequiredService<GatewayMetrics>().Registry);
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapFallback(context => OpenAIError.NotFound(context, $"No route for {context.Request.Method} {context.Request.Path}.", "unknown_url"));

        // A broken policy file stops start-up with the line and the reason, like a broken config file.
        try
        {
            _ = app.Services.GetRequiredService<PolicyProvider>();
        }
        catch (JsonConfigException e)
        {
            throw new GatewayConfigException(e.Message);
        }

        // A broken reasoning keyring too: found at start, not on the first answer to seal.
        _ = app.Services.GetRequiredService<ReasoningKeyring>();

        // Build the model catalog (and so load or build the model) now, not on the first request.
        _ = app.Services.GetRequiredService<ModelCatalog>();
        return new GatewayApp(app, app.Services.GetRequiredService<UsageLog>(), adminToken, disposables, dataDirectory);
    }

    /// <summary>Starts the usage log and the server, then makes the databases they opened readable by their owner only.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _usageLog.StartAsync(cancellationToken);
        await _app.StartAsync(cancellationToken);
        DataDirectory.RestrictDatabaseFiles(_dataDirectory);
    }

    /// <summary>Runs until the process is asked to stop (Ctrl+C, SIGTERM) or <paramref name="cancellationToken"/> fires, then stops cleanly.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        await WaitForShutdownAsync(cancellationToken);
    }

    /// <summary>Waits, once started, until the process is asked to stop or <paramref name="cancellationToken"/> fires, then stops cleanly.</summary>
    public async Task WaitForShutdownAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(_app.Lifetime.ApplicationStopping, cancellationToken);
            await Task.Delay(Timeout.Infinite, stopping.Token).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
        finally
        {
            await StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Stops the server, drains the usage log into the store, and closes the stores.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _app.StopAsync(cancellationToken);
        await _usageLog.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }

        // The container owns the storage and the usage log and disposes them with the app.
        await _app.DisposeAsync();
    }

    private static ILanguageModel LoadModel(GatewayOptions options, string dataDirectory, Action<string>? progress)
    {
        if (options.BuiltInModel.Path is { Length: > 0 } path)
        {
            return ModelFile.Load(path);
        }

        return BuiltInModels.LoadOrBuildTeacher(Path.Combine(dataDirectory, "models"), progress);
    }

    private static void Listen(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, string host, int port)
    {
        switch (host)
        {
            case "*" or "0.0.0.0" or "::":
                kestrel.ListenAnyIP(port);
                break;
            case "localhost" when port != 0:
                kestrel.ListenLocalhost(port);
                break;
            case "localhost":
                kestrel.Listen(IPAddress.Loopback, port);
                break;
            default:
                kestrel.Listen(IPAddress.Parse(host), port);
                break;
        }
    }

    /// <summary>A per-installation secret (payment-fingerprint HMAC key), created once in the data directory.</summary>
    private static byte[] InstallSecret(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, "install-secret");
        if (File.Exists(path))
        {
            return Convert.FromHexString(File.ReadAllText(path).Trim());
        }

        var secret = RandomNumberGenerator.GetBytes(32);
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(new FileStream(path, fileOptions)))
        {
            writer.Write(Convert.ToHexString(secret));
        }

        return secret;
    }

    private static async Task WriteUnhandledAsync(HttpContext context)
    {
        var feature = context.Features.Get<IExceptionHandlerFeature>();
        if (feature?.Error is BadHttpRequestException bad)
        {
            // Minimal APIs throw this for an unbindable query parameter too (ThrowOnBadRequest), naming the parameter.
            await OpenAIError.WriteAsync(context, bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? InferenceEndpoints.BodyError(bad)
                : new OpenAIErrorException(bad.StatusCode, "The request could not be used: " + bad.Message, "invalid_request_error", "invalid_request"));
            return;
        }

        await OpenAIError.WriteAsync(context, StatusCodes.Status500InternalServerError, "The gateway failed while handling this request.", "server_error", "internal_error");
    }
}
