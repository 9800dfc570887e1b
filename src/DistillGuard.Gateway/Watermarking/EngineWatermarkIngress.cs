using System.Text.Json;
using System.Text.Json.Nodes;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Usage;
using DistillGuard.Policy.Ladder;
using DistillGuard.Storage.Policy;

namespace DistillGuard.Gateway.Watermarking;

/// <summary>
/// The ingress rule for an engine's watermark: a request's <c>"watermarking": false</c> is forwarded, stripped or
/// refused by the caller's tier (<see cref="EngineOptOutOptions"/>), and stripped for any account whose ladder
/// decision includes the watermark step; every strip and refusal is written to the audit log.
/// </summary>
/// <remarks>
/// <c>watermarking</c> is the only request field vLLM reads to skip its mark; the gateway refuses every field it does
/// not know (including <c>vllm_xargs</c> and other extension bags), so nothing else reaches an engine that could.
/// <c>"watermarking": true</c> is harmless and forwarded. The built-in model ignores the field: its mark follows the
/// watermark policy alone. The audit record names the account, tier, model and rule, never prompt text.
/// </remarks>
internal sealed class EngineWatermarkIngress(WatermarkOptions options, IPolicyStore store, TimeProvider time)
{
    /// <summary>vLLM's per-request opt-out field.</summary>
    public const string Field = "watermarking";

    /// <summary>Applies the rule to <paramref name="request"/>, changing the body it forwards; throws a 400 when the caller's tier refuses the opt-out.</summary>
    public async ValueTask ApplyAsync(InferenceRequest request, RequestUsage usage, CancellationToken cancellationToken)
    {
        if (!request.Body.TryGetPropertyValue(Field, out var value))
        {
            return;
        }

        if (value is not JsonValue flag || flag.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw OpenAIErrorException.InvalidRequest($"'{Field}' must be a boolean.", Field);
        }

        if (flag.GetValueKind() == JsonValueKind.True)
        {
            return;
        }

        var account = usage.Caller?.Account;
        var tier = account?.Tier ?? "";
        var forced = usage.Decision?.Has(LadderAction.WatermarkBoost) == true;
        var rule = forced ? EngineOptOutRule.Strip : options.EngineOptOut.For(tier);
        if (rule == EngineOptOutRule.Allow)
        {
            return;
        }

        var refused = rule == EngineOptOutRule.Refuse;
        var reason = forced
            ? "'watermarking': false stripped: the account's ladder decision includes the watermark step"
            : $"'watermarking': false {(refused ? "refused" : "stripped")} for tier '{tier}'";
        var evidence = new JsonObject { ["model"] = request.Model, ["tier"] = tier, ["rule"] = rule, ["forced"] = forced }.ToJsonString();
        await store.AppendAuditAsync(
            new AuditRecord(0, time.GetUtcNow(), account?.Id, "system", refused ? "watermark:opt-out-refused" : "watermark:opt-out-stripped", reason, evidence),
            cancellationToken);

        if (refused)
        {
            throw OpenAIErrorException.InvalidRequest(
                $"'{Field}' cannot be set to false by this account: the served models' watermark stays on.", Field, "watermarking_not_allowed");
        }

        request.Body.Remove(Field);
        request.RawBody = default; // the body changed: the upstream gets it re-serialised, not the bytes as received
    }
}
