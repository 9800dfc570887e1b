using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DistillGuard.Gateway.Admin;

namespace DistillGuard.Gateway.Hosting;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(CreateAccountRequest))]
[JsonSerializable(typeof(AccountView))]
[JsonSerializable(typeof(CreatedAccountView))]
[JsonSerializable(typeof(AccountList))]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;
