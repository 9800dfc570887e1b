using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Gateway.ThreatIntel;
using DistillGuard.Storage.ThreatIntel;
using DistillGuard.ThreatIntel.Exchange;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;
using DistillGuard.Usage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Gateway.Tests.ThreatIntel;

/// <summary>One gateway with two partners: <c>writer</c> (read indicators, write submissions, signs) and <c>reader</c> (read only).</summary>
public sealed class TaxiiFixture : IAsyncLifetime
{
    internal TestGateway Gateway { get; private set; } = null!;

    public SigningKey WriterKey { get; } = SigningKey.Generate();

    public string WriterToken { get; private set; } = "";

    public string ReaderToken { get; private set; } = "";

    public VerificationKey ServerKey { get; private set; } = null!;

    /// <summary>The objects seeded into the indicators collection (one export of two operators).</summary>
    public IReadOnlyList<ImportedObject> Seeded { get; private set; } = [];

    internal SqliteIntelStore Store => Gateway.App.Services.GetRequiredService<SqliteIntelStore>();

    public async Task InitializeAsync()
    {
        Gateway = await TestGateway.StartAsync();
        WriterToken = await AddPartnerAsync(new { id = "writer", name = "Provider W", publicKey = WriterKey.PublicKey.ExportPem(), trust = "high", read = true, write = true });
        ReaderToken = await AddPartnerAsync(new { id = "reader", read = true, write = false });
        using var keys = JsonDocument.Parse(await Gateway.Admin.GetStringAsync("admin/v1/intel/keys"));
        ServerKey = VerificationKey.FromPem(keys.RootElement.GetProperty("publicKey").GetString()!);

        var bundle = IndicatorExport.Build([Operator("cmp-a", "203.0.113"), Operator("cmp-b", "198.51.100")], SharingKey.Generate(),
            new IndicatorExportOptions { IdSecret = new byte[32] }, DateTimeOffset.UtcNow);
        Seeded = SignedContent.Objects(StixJson.Canonical(bundle), "bundle");
        await Store.AddObjectsAsync(IntelCollections.Indicators, "self", [.. Seeded.Select(o => (o.Id, o.Type, o.Version, o.Json))], default);
    }

    public async Task DisposeAsync()
    {
        WriterKey.Dispose();
        await Gateway.DisposeAsync();
    }

    internal static FlaggedOperator Operator(string id, string network)
    {
        var traits = new OperatorTraits();
        for (var i = 0; i < 20; i++)
        {
            traits.Observe(new UsageEvent
            {
                RequestId = $"{id}-{i}",
                Timestamp = new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero).AddMinutes(i),
                AccountId = $"{id}-acct-{i % 4}",
                Endpoint = "chat.completions",
                ClientAddress = $"{network}.{i % 4}",
                UserAgent = "bot/1",
                PromptText = $"Explain step by step, with all reasoning, problem {i}",
            });
        }

        return new FlaggedOperator(id, traits, 0.8, "friction");
    }

    private async Task<string> AddPartnerAsync(object body)
    {
        using var response = await Gateway.Admin.PostAsJsonAsync("admin/v1/intel/partners", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("token").GetString()!;
    }
}

public sealed class TaxiiServerTests(TaxiiFixture fixture) : IClassFixture<TaxiiFixture>
{
    private static readonly string Objects = $"taxii2/api/collections/{IntelCollections.Indicators}/objects/";
    private static readonly string Submissions = $"taxii2/api/collections/{IntelCollections.Submissions}/objects/";

    private async Task<HttpResponseMessage> GetAsync(string path, string? token = null, string accept = "application/taxii+json;version=2.1")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        if ((token ?? fixture.ReaderToken) is { Length: > 0 } t)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t);
        }

        return await fixture.Gateway.Http.SendAsync(request);
    }

    private static async Task<JsonElement> TaxiiJsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/taxii+json;version=2.1", response.Content.Headers.ContentType!.ToString().Replace(" ", "", StringComparison.Ordinal));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    private static async Task AssertTaxiiErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var error = await TaxiiJsonAsync(response, status);
        Assert.False(string.IsNullOrEmpty(error.GetProperty("title").GetString()));
        Assert.Equal(((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture), error.GetProperty("http_status").GetString());
    }

    [Fact]
    public async Task Discovery_WithoutToken_Gets401TaxiiError()
    {
        using var response = await GetAsync("taxii2/", token: "");
        await AssertTaxiiErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Discovery_WrongToken_Gets401()
    {
        using var response = await GetAsync("taxii2/", token: "dgp-not-a-partner");
        await AssertTaxiiErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Discovery_ListsTheApiRoot_SignedByTheServer()
    {
        using var response = await GetAsync("taxii2/");
        var body = await TaxiiJsonAsync(response, HttpStatusCode.OK);
        var root = body.GetProperty("api_roots")[0].GetString()!;
        Assert.EndsWith("/taxii2/api/", root, StringComparison.Ordinal);
        Assert.Equal(root, body.GetProperty("default").GetString());
        var signature = response.Headers.GetValues(DetachedSignature.Header).Single();
        Assert.True(fixture.ServerKey.Verify(await response.Content.ReadAsByteArrayAsync(), signature));
    }

    [Fact]
    public async Task ApiRoot_AnnouncesTaxii21AndMaxContentLength()
    {
        var body = await TaxiiJsonAsync(await GetAsync("taxii2/api/"), HttpStatusCode.OK);
        Assert.Equal("application/taxii+json;version=2.1", body.GetProperty("versions")[0].GetString());
        Assert.True(body.GetProperty("max_content_length").GetInt32() > 0);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/taxii+json;version=2.0")]
    public async Task Accept_OtherMediaType_Gets406(string accept)
    {
        await AssertTaxiiErrorAsync(await GetAsync("taxii2/api/", accept: accept), HttpStatusCode.NotAcceptable);
    }

    [Fact]
    public async Task Collections_ShowThePartnersRights()
    {
        var writer = await TaxiiJsonAsync(await GetAsync("taxii2/api/collections/", fixture.WriterToken), HttpStatusCode.OK);
        var reader = await TaxiiJsonAsync(await GetAsync("taxii2/api/collections/"), HttpStatusCode.OK);
        Assert.Equal(2, writer.GetProperty("collections").GetArrayLength());
        var only = Assert.Single(reader.GetProperty("collections").EnumerateArray());
        Assert.Equal(IntelCollections.Indicators, only.GetProperty("id").GetString());
        Assert.True(only.GetProperty("can_read").GetBoolean());
        Assert.False(only.GetProperty("can_write").GetBoolean());
        Assert.Equal("application/stix+json;version=2.1", only.GetProperty("media_types")[0].GetString());
        var one = await TaxiiJsonAsync(await GetAsync($"taxii2/api/collections/{IntelCollections.Indicators}/"), HttpStatusCode.OK);
        Assert.Equal(IntelCollections.Indicators, one.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Collection_UnknownOrNotShared_Gets404()
    {
        await AssertTaxiiErrorAsync(await GetAsync("taxii2/api/collections/4f1e0b2c-0000-4000-8000-000000000000/objects/"), HttpStatusCode.NotFound);
        await AssertTaxiiErrorAsync(await GetAsync(Submissions), HttpStatusCode.NotFound);
        await AssertTaxiiErrorAsync(await GetAsync("taxii2/api/nothing-here/"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Objects_PagedWithLimitAndNext_ReturnEveryObjectOnceWithDateHeaders()
    {
        var seen = new List<string>();
        string? next = null;
        var pages = 0;
        do
        {
            using var response = await GetAsync(Objects + "?limit=5" + (next is null ? "" : "&next=" + Uri.EscapeDataString(next)));
            var body = await TaxiiJsonAsync(response, HttpStatusCode.OK);
            var first = StixTimestampConverter.Parse(response.Headers.GetValues("X-TAXII-Date-Added-First").Single());
            var last = StixTimestampConverter.Parse(response.Headers.GetValues("X-TAXII-Date-Added-Last").Single());
            Assert.True(first <= last);
            Assert.True(body.GetProperty("objects").GetArrayLength() <= 5);
            seen.AddRange(body.GetProperty("objects").EnumerateArray().Select(o => o.GetProperty("id").GetString()!));
            next = body.GetProperty("more").GetBoolean() ? body.GetProperty("next").GetString() : null;
            pages++;
        }
        while (next is not null);

        Assert.True(pages > 1);
        Assert.Equal(fixture.Seeded.Select(o => o.Id).Order(), seen.Order());
    }

    [Fact]
    public async Task Objects_AddedAfterTheLastDateAdded_ReturnsNothingNew()
    {
        using var all = await GetAsync(Objects + "?limit=1000");
        var last = all.Headers.GetValues("X-TAXII-Date-Added-Last").Single();
        var later = await TaxiiJsonAsync(await GetAsync(Objects + "?added_after=" + Uri.EscapeDataString(last)), HttpStatusCode.OK);
        Assert.False(later.GetProperty("more").GetBoolean());
        Assert.False(later.TryGetProperty("objects", out _));
    }

    [Fact]
    public async Task Objects_MatchTypeAndId_Filter()
    {
        var indicators = await TaxiiJsonAsync(await GetAsync(Objects + "?match[type]=indicator"), HttpStatusCode.OK);
        Assert.Equal(2, indicators.GetProperty("objects").GetArrayLength());
        Assert.All(indicators.GetProperty("objects").EnumerateArray(), o => Assert.Equal("indicator", o.GetProperty("type").GetString()));
        var id = fixture.Seeded.First(o => o.Type == "campaign").Id;
        var one = await TaxiiJsonAsync(await GetAsync(Objects + "?match[id]=" + id), HttpStatusCode.OK);
        Assert.Equal(id, Assert.Single(one.GetProperty("objects").EnumerateArray()).GetProperty("id").GetString());
        var none = await TaxiiJsonAsync(await GetAsync(Objects + "?match[spec_version]=2.0"), HttpStatusCode.OK);
        Assert.False(none.TryGetProperty("objects", out _));
    }

    [Theory]
    [InlineData("?next=AAAAAAAAAAE.bm90LW91cnM")]
    [InlineData("?next=garbage")]
    [InlineData("?limit=0")]
    [InlineData("?limit=ten")]
    [InlineData("?added_after=yesterday")]
    [InlineData("?match[version]=sometime")]
    public async Task Objects_BadParameters_Get400(string query)
    {
        await AssertTaxiiErrorAsync(await GetAsync(Objects + query), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Objects_NextFromAnotherFilter_Gets400()
    {
        var page = await TaxiiJsonAsync(await GetAsync(Objects + "?limit=2"), HttpStatusCode.OK);
        var next = page.GetProperty("next").GetString()!;
        await AssertTaxiiErrorAsync(await GetAsync(Objects + "?limit=2&match[type]=indicator&next=" + Uri.EscapeDataString(next)), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Manifest_ListsIdVersionDateAddedAndMediaType()
    {
        using var response = await GetAsync($"taxii2/api/collections/{IntelCollections.Indicators}/manifest/?limit=1000");
        var body = await TaxiiJsonAsync(response, HttpStatusCode.OK);
        Assert.True(response.Headers.Contains("X-TAXII-Date-Added-Last"));
        var entries = body.GetProperty("objects").EnumerateArray().ToList();
        Assert.Equal(fixture.Seeded.Count, entries.Count);
        Assert.All(entries, e =>
        {
            Assert.Equal("application/stix+json;version=2.1", e.GetProperty("media_type").GetString());
            StixTimestampConverter.Parse(e.GetProperty("date_added").GetString()!);
            StixTimestampConverter.Parse(e.GetProperty("version").GetString()!);
        });
    }

    [Fact]
    public async Task Object_ByIdAndVersions_AndUnknownId404()
    {
        var indicator = fixture.Seeded.First(o => o.Type == "indicator");
        var one = await TaxiiJsonAsync(await GetAsync(Objects + indicator.Id + "/"), HttpStatusCode.OK);
        Assert.Equal(indicator.Id, Assert.Single(one.GetProperty("objects").EnumerateArray()).GetProperty("id").GetString());
        var versions = await TaxiiJsonAsync(await GetAsync(Objects + indicator.Id + "/versions/"), HttpStatusCode.OK);
        Assert.Equal(indicator.Version, Assert.Single(versions.GetProperty("versions").EnumerateArray()).GetString());
        await AssertTaxiiErrorAsync(await GetAsync(Objects + "indicator--2ed6657d-e927-568b-95e1-2665a8aea6a2/"), HttpStatusCode.NotFound);
        await AssertTaxiiErrorAsync(await GetAsync(Objects + "indicator--2ed6657d-e927-568b-95e1-2665a8aea6a2/versions/"), HttpStatusCode.NotFound);
    }

    private static byte[] Envelope(params FlaggedOperator[] operators)
    {
        var bundle = IndicatorExport.Build(operators, SharingKey.Generate(), new IndicatorExportOptions { IdSecret = Encoding.UTF8.GetBytes("partner w id secret, 32 bytes..") }, DateTimeOffset.UtcNow);
        var objects = bundle.Objects.Select(o => o.GetRawText());
        return CanonicalJson.Serialize(Encoding.UTF8.GetBytes("{\"objects\":[" + string.Join(",", objects) + "]}"));
    }

    private async Task<HttpResponseMessage> PostAsync(byte[] body, string? signature, string token, string contentType = "application/taxii+json;version=2.1")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Submissions) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        request.Headers.TryAddWithoutValidation("Accept", "application/taxii+json;version=2.1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation(DetachedSignature.Header, signature);
        }

        return await fixture.Gateway.Http.SendAsync(request);
    }

    private int Submitted() => fixture.Store.ReadObjects(new IntelObjectQuery(IntelCollections.Submissions, Versions: ["all"], Limit: 10_000)).Count;

    [Fact]
    public async Task Post_SignedEnvelope_Gets202StatusAndIsStored()
    {
        var body = Envelope(TaxiiFixture.Operator("w-1", "192.0.2"));
        var before = Submitted();
        using var response = await PostAsync(body, fixture.WriterKey.SignDetached(body), fixture.WriterToken);
        var status = await TaxiiJsonAsync(response, HttpStatusCode.Accepted);
        Assert.Equal("complete", status.GetProperty("status").GetString());
        var total = status.GetProperty("total_count").GetInt32();
        Assert.Equal(total, status.GetProperty("success_count").GetInt32());
        Assert.Equal(0, status.GetProperty("failure_count").GetInt32());
        Assert.True(Submitted() > before);
        var again = await TaxiiJsonAsync(await GetAsync($"taxii2/api/status/{status.GetProperty("id").GetString()}/", fixture.WriterToken), HttpStatusCode.OK);
        Assert.Equal(total, again.GetProperty("total_count").GetInt32());
        await AssertTaxiiErrorAsync(await GetAsync($"taxii2/api/status/{status.GetProperty("id").GetString()}/"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Post_WrongContentType_Gets415()
    {
        var body = Envelope(TaxiiFixture.Operator("w-2", "192.0.2"));
        await AssertTaxiiErrorAsync(await PostAsync(body, fixture.WriterKey.SignDetached(body), fixture.WriterToken, "application/json"), HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Post_WithoutWriteRight_Gets403()
    {
        var body = Envelope(TaxiiFixture.Operator("w-3", "192.0.2"));
        using var request = new HttpRequestMessage(HttpMethod.Post, Objects) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/taxii+json;version=2.1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.WriterToken);
        request.Headers.TryAddWithoutValidation(DetachedSignature.Header, fixture.WriterKey.SignDetached(body));
        await AssertTaxiiErrorAsync(await fixture.Gateway.Http.SendAsync(request), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Post_UnsignedBadlySignedOrMalformed_Gets422AndImportsNothing()
    {
        var body = Envelope(TaxiiFixture.Operator("w-4", "192.0.2"));
        var before = Submitted();
        using var other = SigningKey.Generate();
        var unsigned = await TaxiiJsonAsync(await PostAsync(body, null, fixture.WriterToken), HttpStatusCode.UnprocessableEntity);
        Assert.Equal("unsigned", unsigned.GetProperty("error_code").GetString());
        var badly = await TaxiiJsonAsync(await PostAsync(body, other.SignDetached(body), fixture.WriterToken), HttpStatusCode.UnprocessableEntity);
        Assert.Equal("bad_signature", badly.GetProperty("error_code").GetString());

        // One malformed object among good ones: the whole envelope is refused.
        var text = Encoding.UTF8.GetString(body);
        var malformed = Encoding.UTF8.GetBytes(text.Replace("{\"objects\":[", "{\"objects\":[{\"type\":\"indicator\",\"id\":\"indicator--x\",\"spec_version\":\"2.1\"},", StringComparison.Ordinal));
        var bad = await TaxiiJsonAsync(await PostAsync(malformed, fixture.WriterKey.SignDetached(CanonicalJson.Serialize(malformed)), fixture.WriterToken), HttpStatusCode.UnprocessableEntity);
        Assert.Equal("malformed_stix", bad.GetProperty("error_code").GetString());
        Assert.Equal(before, Submitted());
    }

    [Fact]
    public async Task Pull_FromThisServer_ImportsEverythingThenResumes()
    {
        var directory = Path.Combine(Path.GetTempPath(), "dg-pull-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var local = SqliteIntelStore.Open(directory, TimeProvider.System, NullLogger.Instance);
            var puller = new TaxiiPuller(fixture.Gateway.Http, local);
            var url = new Uri(fixture.Gateway.BaseAddress, $"taxii2/api/collections/{IntelCollections.Indicators}/");
            var first = await puller.PullAsync(url, fixture.ReaderToken, fixture.ServerKey, "gateway", limit: 4);
            Assert.True(first.Pages > 1);
            Assert.True(first.Objects >= fixture.Seeded.Count);
            Assert.Null(first.AddedAfter);
            var again = await puller.PullAsync(url, fixture.ReaderToken, fixture.ServerKey, "gateway", limit: 4);
            Assert.Equal(first.Cursor, again.AddedAfter);
            Assert.Equal(0, again.NewVersions);

            using var wrong = SigningKey.Generate();
            await using var other = SqliteIntelStore.Open(directory + "-2", TimeProvider.System, NullLogger.Instance);
            await Assert.ThrowsAsync<TaxiiPullException>(() => new TaxiiPuller(fixture.Gateway.Http, other).PullAsync(url, fixture.ReaderToken, wrong.PublicKey, "gateway"));
            Assert.Empty(other.ReadObjects(new IntelObjectQuery(IntelCollections.Imported, Versions: ["all"])));
        }
        finally
        {
            foreach (var d in new[] { directory, directory + "-2" })
            {
                try
                {
                    Directory.Delete(d, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }
}
