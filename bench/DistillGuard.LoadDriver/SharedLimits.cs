using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DistillGuard.Policy.RateLimiting;
using DistillGuard.SharedState.Tests.Servers;

/// <summary>
/// Gateway replicas sharing one Redis-protocol store: how far one account's limits are overshot when its concurrent
/// requests are spread over every replica (worst of many runs), against the same replicas with limits in memory, and
/// the latency the shared store adds under open-loop load.
/// </summary>
internal static class SharedLimits
{
    private const string AdminToken = "load-driver-admin-token-0123456789";
    private const string LimitedTier = "scale-limited";
    private const string TokenTier = "scale-tokens";
    private const int TokenLimit = 6_000;

    private static readonly byte[] Body = Encoding.UTF8.GetBytes(
        """{"model":"bench-model","messages":[{"role":"user","content":"Summarise the history of the county in two sentences."}],"max_tokens":64}""");

    public static async Task<int> RunAsync(string store, int replicas, int runs, int limit, int rate, int seconds, int rounds)
    {
        using var redis = store == "redis" ? RedisServerProcess.Start() : null;
        using var garnet = store == "garnet" ? GarnetInProcess.Start() : null;
        var configuration = redis?.Configuration ?? garnet?.Configuration ?? store;
        var storeName = redis is not null ? "redis-server " + RedisVersion() : garnet is not null ? "Garnet 2.2.12 (in this process, Lua transaction mode)" : store;
        await using var upstream = await FakeUpstream.StartAsync();

        void Tiers(DistillGuard.Gateway.Hosting.GatewayOptions o)
        {
            // Per-day limits: a run lasts seconds, so what refills meanwhile (limit × seconds / 86,400) is below one request.
            o.RateLimits.Tiers[LimitedTier] = new RateLimits { RequestsPerDay = limit };
            o.RateLimits.Tiers[TokenTier] = new RateLimits { TokensPerDay = TokenLimit };
        }

        var shared = new List<LoadGateway>();
        var local = new List<LoadGateway>();
        try
        {
            for (var i = 0; i < replicas; i++)
            {
                shared.Add(await LoadGateway.StartAsync(upstream.BaseUrl, true, AdminToken, o => { Tiers(o); o.SharedState.Redis = configuration; }));
                local.Add(await LoadGateway.StartAsync(upstream.BaseUrl, true, AdminToken, Tiers));
            }

            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512 });
            var report = new StringBuilder();
            report.AppendLine(CultureInfo.InvariantCulture, $"Store: {storeName}; {replicas} replicas in one process; {runs} runs per row; request limit {limit}/day, token limit {TokenLimit:N0}/day.");
            report.AppendLine();
            report.AppendLine("| limits | replicas | admitted of the limit, worst run | overshoot, worst run | runs |");
            report.AppendLine("|---|---|---|---|---|");
            foreach (var (name, fleet) in new[] { ("shared", shared), ("shared", shared.Take(1).ToList()), ("in memory", local) })
            {
                var requests = new List<int>();
                var tokens = new List<int>();
                for (var run = 0; run < runs; run++)
                {
                    requests.Add(await AdmittedRequestsAsync(client, fleet, limit * 3));
                    tokens.Add(await ServedTokensAsync(client, fleet, TokenLimit / 30 * 3));
                }

                report.AppendLine(Row($"{name}, requests", fleet.Count, requests, limit));
                report.AppendLine(Row($"{name}, tokens", fleet.Count, tokens, TokenLimit));
            }

            // Latency: the same open-loop load over all replicas, with the shared store and with limits in memory, in rounds.
            var keys = await CreateLoadAccountsAsync(client, shared.Concat(local).ToList(), 30);
            var sharedUrls = shared.Select(g => new Uri(g.App.BaseAddress, "v1/chat/completions")).ToArray();
            var localUrls = local.Select(g => new Uri(g.App.BaseAddress, "v1/chat/completions")).ToArray();
            await OpenLoop.RunAsync(client, sharedUrls, [Body], keys, rate, 2);
            await OpenLoop.RunAsync(client, localUrls, [Body], keys, rate, 2);
            var withStore = new List<double>();
            var without = new List<double>();
            var errors = 0L;
            for (var round = 0; round < rounds; round++)
            {
                var s = await OpenLoop.RunAsync(client, sharedUrls, [Body], keys, rate, seconds);
                var l = await OpenLoop.RunAsync(client, localUrls, [Body], keys, rate, seconds);
                withStore.AddRange(s.Latencies);
                without.AddRange(l.Latencies);
                errors += s.Errors + l.Errors;
                Console.Error.WriteLine($"round {round + 1}: p99 shared {OpenLoop.Percentile(s.Latencies, 99):F2} ms, in memory {OpenLoop.Percentile(l.Latencies, 99):F2} ms");
            }

            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"| latency at {rate} req/s over {replicas} replicas | limits in memory (ms) | shared store (ms) | added (ms) |");
            report.AppendLine("|---|---|---|---|");
            foreach (var p in new[] { 50, 99 })
            {
                var a = OpenLoop.Percentile(without, p);
                var b = OpenLoop.Percentile(withStore, p);
                report.AppendLine(CultureInfo.InvariantCulture, $"| p{p} | {a:F2} | {b:F2} | {b - a:F2} |");
            }

            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"Requests per side: {without.Count:N0} in {rounds} rounds of {seconds} s; failed: {errors}.");
            Console.WriteLine(report.ToString());
            return errors == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var gateway in shared.Concat(local))
            {
                await gateway.DisposeAsync();
            }
        }
    }

    private static string Row(string what, int replicas, List<int> admitted, int limit)
    {
        var worst = admitted.Max();
        var overshoot = Math.Max(0, worst - limit) / (double)limit;
        return string.Create(CultureInfo.InvariantCulture, $"| {what} | {replicas} | {worst:N0} of {limit:N0} | {overshoot:P1} | {string.Join(", ", admitted)} |");
    }

    // A fresh account (fresh buckets) on every replica, its requests fired 64 at a time, round-robin over the replicas.
    private static async Task<int> AdmittedRequestsAsync(HttpClient client, List<LoadGateway> fleet, int requests)
    {
        var key = await CreateAccountAsync(client, fleet, LimitedTier);
        var statuses = await FireAsync(client, fleet, key, requests);
        return statuses.Count(s => s.Status == HttpStatusCode.OK);
    }

    private static async Task<int> ServedTokensAsync(HttpClient client, List<LoadGateway> fleet, int requests)
    {
        var key = await CreateAccountAsync(client, fleet, TokenTier);
        var statuses = await FireAsync(client, fleet, key, requests);
        return statuses.Sum(s => s.Tokens);
    }

    private static async Task<(HttpStatusCode Status, int Tokens)[]> FireAsync(HttpClient client, List<LoadGateway> fleet, string key, int requests)
    {
        using var gate = new SemaphoreSlim(64);
        return await Task.WhenAll(Enumerable.Range(0, requests).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                using var content = new ByteArrayContent(Body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fleet[i % fleet.Count].App.BaseAddress, "v1/chat/completions")) { Content = content };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                using var response = await client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.TooManyRequests))
                {
                    throw new InvalidOperationException($"unexpected {(int)response.StatusCode}: {body}");
                }

                var tokens = response.StatusCode == HttpStatusCode.OK
                    ? JsonDocument.Parse(body).RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt32()
                    : 0;
                return (response.StatusCode, tokens);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    // The same account and key on every replica (each has its own accounts.db here), allowlisted so the response ladder
    // leaves this machine-regular traffic alone and only the limits answer.
    private static async Task<string> CreateAccountAsync(HttpClient client, List<LoadGateway> fleet, string tier)
    {
        var id = "scale-" + Guid.NewGuid().ToString("N")[..12];
        var key = "dg-scale-" + Guid.NewGuid().ToString("N");
        foreach (var gateway in fleet)
        {
            using var created = await SendAdminAsync(client, gateway, $"admin/v1/accounts", new { id, apiKey = key, tier });
            using var allowlisted = await SendAdminAsync(client, gateway, $"admin/v1/accounts/{id}/actions", new { action = "allowlist", reason = "the provider's own load test", actor = "load-driver" });
        }

        return key;
    }

    private static async Task<string[]> CreateLoadAccountsAsync(HttpClient client, List<LoadGateway> fleet, int count)
    {
        var keys = new string[count];
        for (var i = 0; i < count; i++)
        {
            var id = "scale-load-" + i.ToString(CultureInfo.InvariantCulture);
            keys[i] = "dg-scale-load-" + Guid.NewGuid().ToString("N");
            foreach (var gateway in fleet)
            {
                using var created = await SendAdminAsync(client, gateway, "admin/v1/accounts", new { id, apiKey = keys[i], tier = "load-test" });
                using var allowlisted = await SendAdminAsync(client, gateway, $"admin/v1/accounts/{id}/actions", new { action = "allowlist", reason = "the provider's own load test", actor = "load-driver" });
            }
        }

        return keys;
    }

    private static async Task<HttpResponseMessage> SendAdminAsync(HttpClient client, LoadGateway gateway, string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.App.BaseAddress, path)) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return response;
    }

    private static string RedisVersion()
    {
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("redis-server", "--version") { RedirectStandardOutput = true })!;
            var text = process.StandardOutput.ReadToEnd();
            var at = text.IndexOf("v=", StringComparison.Ordinal);
            return at < 0 ? "" : text[(at + 2)..].Split(' ')[0];
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }
}
