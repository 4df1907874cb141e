using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pcme.Modules;

/// <summary>
/// Structured self-attention pooling (Lin et al., ICLR 2017): A = softmax_seq(W2 tanh(W1 x)),
/// pooled = A^T x, with padded positions masked out before the softmax. Field names follow the
/// official <c>MultiHeadSelfAttention</c> (<c>w_1</c>, <c>w_2</c>, no biases).
/// </summary>
public sealed class SelfAttentionPooling : nn.Module<Tensor, Tensor?, (Tensor Pooled, Tensor Attention)>
{
    /// <summary>W1: d_in -> d_hidden.</summary>
    public readonly Linear w_1;
    /// <summary>W2: d_hidden -> heads.</summary>
    public readonly Linear w_2;

    /// <summary>Number of attention heads (pooled vectors per item).</summary>
    public int Heads { get; }

    /// <summary>Creates the pooling for inputs of width <paramref name="dIn"/>.</summary>
    public SelfAttentionPooling(long dIn, long dHidden, int heads = 1) : base(nameof(SelfAttentionPooling))
    {
        Heads = heads;
        w_1 = nn.Linear(dIn, dHidden, hasBias: false);
        w_2 = nn.Linear(dHidden, heads, hasBias: false);
        nn.init.xavier_uniform_(w_1.weight);
        nn.init.xavier_uniform_(w_2.weight);
        RegisterComponents();
    }

    /// <summary>
    /// Pools <paramref name="x"/> [B, L, d_in]; <paramref name="padMask"/> [B, L] is true at padding.
    /// Returns pooled [B, d_in] (one head) or [B, heads, d_in], and the attention [B, L, heads].
    /// </summary>
    public override (Tensor Pooled, Tensor Attention) forward(Tensor x, Tensor? padMask)
    {
        var scores = w_2.forward(w_1.forward(x).tanh());                     // [B, L, H]
        if (padMask is not null) scores = scores.masked_fill(padMask.unsqueeze(-1), double.NegativeInfinity);
        var attention = scores.softmax(1);
        var pooled = attention.transpose(1, 2).bmm(x);                       // [B, H, d_in]
        return (Heads == 1 ? pooled.squeeze(1) : pooled, attention);
    }
}
