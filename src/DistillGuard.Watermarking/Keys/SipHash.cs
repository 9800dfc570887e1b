using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace DistillGuard.Watermarking.Keys;

/// <summary>SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit pseudo-random function, portable bit for bit.</summary>
internal static class SipHash
{
    /// <summary>SipHash-2-4 of <paramref name="message"/> under the 128-bit key (<paramref name="k0"/>, <paramref name="k1"/>).</summary>
    public static ulong Hash(ulong k0, ulong k1, ReadOnlySpan<byte> message)
    {
        var state = new State(k0, k1);
        var full = message.Length & ~7;
        for (var i = 0; i < full; i += 8)
        {
            state.Compress(BinaryPrimitives.ReadUInt64LittleEndian(message.Slice(i, 8)));
        }

        var last = (ulong)message.Length << 56;
        var tail = message[full..];
        for (var i = 0; i < tail.Length; i++)
        {
            last |= (ulong)tail[i] << (8 * i);
        }

        state.Compress(last);
        return state.Finish();
    }

    /// <summary>SipHash-2-4 of a message of <paramref name="length"/> ≤ 31 bytes given as four little-endian words, zero after the message.</summary>
    public static ulong HashWords(ulong k0, ulong k1, ulong w0, ulong w1, ulong w2, ulong w3, int length)
    {
        var state = new State(k0, k1);
        var full = length >> 3;
        var last = full switch { 0 => w0, 1 => w1, 2 => w2, _ => w3 } | ((ulong)length << 56);
        if (full > 0)
        {
            state.Compress(w0);
        }

        if (full > 1)
        {
            state.Compress(w1);
        }

        if (full > 2)
        {
            state.Compress(w2);
        }

        state.Compress(last);
        return state.Finish();
    }

    /// <summary>The four state words; a struct of four fields, so the JIT keeps them in registers.</summary>
    private struct State(ulong k0, ulong k1)
    {
        private ulong _v0 = k0 ^ 0x736f6d6570736575UL;
        private ulong _v1 = k1 ^ 0x646f72616e646f6dUL;
        private ulong _v2 = k0 ^ 0x6c7967656e657261UL;
        private ulong _v3 = k1 ^ 0x7465646279746573UL;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Compress(ulong m)
        {
            _v3 ^= m;
            Round();
            Round();
            _v0 ^= m;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ulong Finish()
        {
            _v2 ^= 0xff;
            Round();
            Round();
            Round();
            Round();
            return _v0 ^ _v1 ^ _v2 ^ _v3;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Round()
        {
            _v0 += _v1;
            _v1 = BitOperations.RotateLeft(_v1, 13);
            _v1 ^= _v0;
            _v0 = BitOperations.RotateLeft(_v0, 32);
            _v2 += _v3;
            _v3 = BitOperations.RotateLeft(_v3, 16);
            _v3 ^= _v2;
            _v0 += _v3;
            _v3 = BitOperations.RotateLeft(_v3, 21);
            _v3 ^= _v0;
            _v2 += _v1;
            _v1 = BitOperations.RotateLeft(_v1, 17);
            _v1 ^= _v2;
            _v2 = BitOperations.RotateLeft(_v2, 32);
        }
    }
}
