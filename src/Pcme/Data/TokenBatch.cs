using static TorchSharp.torch;

namespace Pcme.Data;

/// <summary>Token id sequences as one padded batch, the input of the caption encoder.</summary>
public static class TokenBatch
{
    /// <summary>Right-pads token id arrays with 0 into [B, L] (on <paramref name="device"/>) and returns their lengths [B] (int64, CPU, as packed sequences need).</summary>
    public static (Tensor Tokens, Tensor Lengths) Pad(IReadOnlyList<long[]> captions, Device? device = null)
    {
        if (captions.Count == 0) throw new ArgumentException("A batch needs at least one caption.", nameof(captions));
        int max = captions.Max(c => c.Length);
        var flat = new long[captions.Count * max];
        for (int i = 0; i < captions.Count; i++) captions[i].CopyTo(flat, i * max);
        return (tensor(flat, [captions.Count, max], device: device), tensor(captions.Select(c => (long)c.Length).ToArray()));
    }
}
