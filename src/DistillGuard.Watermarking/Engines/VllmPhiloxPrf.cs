using System.Runtime.CompilerServices;

namespace DistillGuard.Watermarking.Engines;

/// <summary>vLLM's watermark PRF <c>philox4x32-10-v1</c>: a keyed 32-bit word per (context, token), bit for bit as vLLM computes it.</summary>
/// <remarks>
/// <para>
/// The context (the previous <c>context_width</c> token ids, −1 before the start) is absorbed four ids at a time:
/// the state starts as (<c>"WMCX"</c>, width, 0, 0); each block of four ids (padded with 2³² − 1 − i past the end)
/// is xored into it and the result is encrypted under the key with its first word xored with the block's offset.
/// The token's word is then Philox of (token ≫ 2, s₀, s₁, s₂) under (k₀ ⊕ s₃ ⊕ stream_hi, k₁ ⊕ <c>"WMTK"</c> ⊕ stream_lo),
/// output word token &amp; 3 — one block serves four neighbouring token ids. The uniform is
/// ((word ≫ 8) + 1) / (2²⁴ + 1) rounded to float32, which is never 0 or 1.
/// </para>
/// <para>Immutable and thread-safe; nothing is allocated.</para>
/// </remarks>
public sealed class VllmPhiloxPrf
{
    /// <summary>The PRF's version name as vLLM publishes it.</summary>
    public const string Version = "philox4x32-10-v1";

    private const uint ContextDomain = 0x574D4358; // "WMCX"
    private const uint TokenDomain = 0x574D544B; // "WMTK"

    private readonly uint _key0;
    private readonly uint _key1;

    /// <summary>Creates the PRF for a 64-bit key (vLLM's <c>--watermark-config</c> <c>key</c>, or a derived dual-key key).</summary>
    public VllmPhiloxPrf(ulong key)
    {
        _key0 = (uint)key;
        _key1 = (uint)(key >> 32);
    }

    /// <summary>The state after absorbing <paramref name="context"/> (token ids, −1 for positions before the start).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PhiloxBlock Absorb(ReadOnlySpan<int> context)
    {
        var state = new PhiloxBlock(ContextDomain, (uint)context.Length, 0, 0);
        for (var offset = 0; offset < context.Length; offset += 4)
        {
            var block = new PhiloxBlock(
                Id(context, offset, 0),
                Id(context, offset, 1),
                Id(context, offset, 2),
                Id(context, offset, 3));
            state = Philox4x32.Encrypt(
                new PhiloxBlock(state.X0 ^ block.X0, state.X1 ^ block.X1, state.X2 ^ block.X2, state.X3 ^ block.X3),
                _key0 ^ (uint)offset,
                _key1);
        }

        return state;
    }

    /// <summary>The raw 32-bit word of <paramref name="token"/> after a context absorbed into <paramref name="state"/>.</summary>
    /// <param name="state">From <see cref="Absorb"/>.</param>
    /// <param name="token">The scored or candidate token id.</param>
    /// <param name="stream">vLLM's stream argument (0 for the watermark itself).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Word(in PhiloxBlock state, int token, ulong stream = 0)
    {
        var id = (uint)token;
        var output = Philox4x32.Encrypt(
            new PhiloxBlock(id >> 2, state.X0, state.X1, state.X2),
            _key0 ^ state.X3 ^ (uint)(stream >> 32),
            _key1 ^ TokenDomain ^ (uint)stream);
        return output[(int)(id & 3)];
    }

    /// <summary>The raw 32-bit word of (<paramref name="context"/>, <paramref name="token"/>).</summary>
    public uint Word(ReadOnlySpan<int> context, int token) => Word(Absorb(context), token);

    /// <summary>vLLM's uniform of a word: ((word ≫ 8) + 1) / (2²⁴ + 1), computed in double and rounded to float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Uniform(uint word) => (float)(((word >> 8) + 1.0) / 16_777_217.0);

    /// <summary>A token's detection score −ln(1 − u) for vLLM's float32 uniform u.</summary>
    /// <remarks>
    /// u has 24 significant bits and is at least 2⁻²⁴, so 1 − u is exact in a double and ln(1 − u) equals vLLM's
    /// log1p(−u) up to the last-bit rounding of the two library functions.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Score(float uniform) => -Math.Log(1.0 - uniform);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Id(ReadOnlySpan<int> context, int offset, int index)
    {
        var position = offset + index;
        return position < context.Length ? (uint)context[position] : uint.MaxValue - (uint)index;
    }
}
