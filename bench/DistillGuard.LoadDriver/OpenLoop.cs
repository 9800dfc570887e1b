using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

/// <summary>Open-loop load: each request leaves at its scheduled time, whether or not earlier ones have finished.</summary>
internal static class OpenLoop
{
    public static Task<(List<double> Latencies, long Errors)> RunAsync(HttpClient client, Uri target, byte[][] requests, string[] apiKeys, int rate, int seconds) =>
        RunAsync(client, [target], requests, apiKeys, rate, seconds);

    /// <summary><paramref name="rate"/> requests a second for <paramref name="seconds"/>, request i to <c>targets[i % n]</c>.</summary>
    public static async Task<(List<double> Latencies, long Errors)> RunAsync(HttpClient client, Uri[] targets, byte[][] requests, string[] apiKeys, int rate, int seconds)
    {
        var total = rate * seconds;
        var latencies = new double[total];
        var errors = 0L;
        var tasks = new Task[total];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            var index = i;
            tasks[i] = Task.Run(async () =>
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    using var content = new ByteArrayContent(requests[index % requests.Length]);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    using var request = new HttpRequestMessage(HttpMethod.Post, targets[index % targets.Length]) { Content = content };
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKeys[index * 7 % apiKeys.Length]);
                    using var response = await client.SendAsync(request);
                    await response.Content.ReadAsByteArrayAsync();
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }

                latencies[index] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            });
        }

        await Task.WhenAll(tasks);
        return ([.. latencies], errors);
    }

    public static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
