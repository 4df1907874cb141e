using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pcme.Modules;

/// <summary>
/// The mean head (paper Fig. 3; official <c>PIENet</c>): mu = l2norm(LayerNorm(g + sigmoid(fc(pooled)))),
/// pooled = self-attention pooling of the local features, g = the global feature. With K > 1
/// attention heads it is PVSE's K-embedding head: K means per item, [B, K, D].
/// </summary>
public sealed class MeanHead : nn.Module<Tensor, Tensor, Tensor?, (Tensor Mean, Tensor Attention)>
{
    /// <summary>Attention pooling over the local features.</summary>
    public readonly SelfAttentionPooling attention;
    /// <summary>fc: d_in -> D.</summary>
    public readonly Linear fc;
    /// <summary>LayerNorm over D.</summary>
    public readonly LayerNorm layer_norm;
    /// <summary>Dropout on the residual (official default 0).</summary>
    public readonly Dropout dropout;

    /// <summary>Number of embeddings per item (1 for PCME).</summary>
    public int Embeddings { get; }

    /// <summary>Creates the head: local features of width <paramref name="dIn"/>, output width <paramref name="dOut"/>.</summary>
    public MeanHead(long dIn, long dOut, long dHidden, int embeddings = 1, double dropoutRate = 0) : base(nameof(MeanHead))
    {
        Embeddings = embeddings;
        attention = new SelfAttentionPooling(dIn, dHidden, embeddings);
        fc = nn.Linear(dIn, dOut);
        nn.init.xavier_uniform_(fc.weight);
        nn.init.zeros_(fc.bias);
        layer_norm = nn.LayerNorm(dOut);
        dropout = nn.Dropout(dropoutRate);
        RegisterComponents();
    }

    /// <summary>
    /// <paramref name="global"/> [B, D], <paramref name="local"/> [B, L, d_in], <paramref name="padMask"/> [B, L] (true = pad).
    /// Returns mu [B, D] (or [B, K, D]) and the attention [B, L, K].
    /// </summary>
    public override (Tensor Mean, Tensor Attention) forward(Tensor global, Tensor local, Tensor? padMask)
    {
        var (pooled, attn) = attention.forward(local, padMask);
        var residual = dropout.forward(fc.forward(pooled).sigmoid());
        var g = Embeddings > 1 ? global.unsqueeze(1) : global;
        var mu = nn.functional.normalize(layer_norm.forward(g.add(residual)), p: 2, dim: -1);
        return (mu, attn);
    }
}

/// <summary>
/// The image log-variance head (official <c>UncertaintyModuleImage</c>): h = fc(attention-pooled grid) +
/// fc2(global average pool). No sigmoid, no LayerNorm, no L2 (DESIGN §1).
/// </summary>
public sealed class ImageLogVarianceHead : nn.Module<Tensor, Tensor, (Tensor LogVariance, Tensor Attention)>
{
    /// <summary>Attention pooling over the grid cells.</summary>
    public readonly SelfAttentionPooling attention;
    /// <summary>fc: C -> D on the attention-pooled grid.</summary>
    public readonly Linear fc;
    /// <summary>fc2: C -> D on the average-pooled grid.</summary>
    public readonly Linear fc2;

    /// <summary>Creates the head for grids with <paramref name="channels"/> channels.</summary>
    public ImageLogVarianceHead(long channels, long dOut, long dHidden) : base(nameof(ImageLogVarianceHead))
    {
        attention = new SelfAttentionPooling(channels, dHidden);
        fc = nn.Linear(channels, dOut);
        nn.init.xavier_uniform_(fc.weight);
        nn.init.zeros_(fc.bias);
        fc2 = nn.Linear(channels, dOut);
        RegisterComponents();
    }

    /// <summary><paramref name="averagePooled"/> [B, C], <paramref name="grid"/> [B, L, C] -> h [B, D], attention [B, L, 1].</summary>
    public override (Tensor LogVariance, Tensor Attention) forward(Tensor averagePooled, Tensor grid)
    {
        var (pooled, attn) = attention.forward(grid, null);
        return (fc.forward(pooled).add(fc2.forward(averagePooled)), attn);
    }
}

/// <summary>
/// The caption log-variance head (official <c>UncertaintyModuleText</c>): h = fc(attention-pooled word
/// vectors) + the output of its own bi-GRU at the last valid step. No sigmoid, LayerNorm or L2.
/// </summary>
public sealed class CaptionLogVarianceHead : nn.Module<Tensor, Tensor, Tensor, (Tensor LogVariance, Tensor Attention)>
{
    /// <summary>Attention pooling over the words.</summary>
    public readonly SelfAttentionPooling attention;
    /// <summary>fc: word dim -> D.</summary>
    public readonly Linear fc;
    /// <summary>The head's own bi-GRU, D/2 per direction.</summary>
    public readonly GRU rnn;

    /// <summary>Creates the head for word vectors of width <paramref name="wordDim"/>; <paramref name="dOut"/> must be even.</summary>
    public CaptionLogVarianceHead(long wordDim, long dOut, long dHidden) : base(nameof(CaptionLogVarianceHead))
    {
        if (dOut % 2 != 0) throw new ArgumentException($"The embedding dimension must be even for a bi-GRU (got {dOut}).");
        attention = new SelfAttentionPooling(wordDim, dHidden);
        fc = nn.Linear(wordDim, dOut);
        nn.init.xavier_uniform_(fc.weight);
        nn.init.zeros_(fc.bias);
        rnn = nn.GRU(wordDim, dOut / 2, bidirectional: true, batchFirst: true);
        RegisterComponents();
    }

    /// <summary><paramref name="words"/> [B, L, W], <paramref name="lengths"/> [B] (int64, CPU or device), <paramref name="padMask"/> [B, L].</summary>
    public override (Tensor LogVariance, Tensor Attention) forward(Tensor words, Tensor lengths, Tensor padMask)
    {
        var (pooled, attn) = attention.forward(words, padMask);
        return (fc.forward(pooled).add(Sequences.LastValidStep(rnn, words, lengths)), attn);
    }
}

/// <summary>Packed-sequence helpers shared by the caption encoder and its variance head.</summary>
public static class Sequences
{
    /// <summary>Pad mask [B, L], true where position >= length.</summary>
    public static Tensor PadMask(Tensor lengths, long maxLength, Device device) =>
        arange(maxLength, device: device).unsqueeze(0).ge(lengths.to(device).unsqueeze(1));

    /// <summary>
    /// Runs <paramref name="rnn"/> over packed sequences (true lengths, so padding never enters the
    /// recurrence) and returns its output at position length - 1 of each sequence, [B, hidden * dirs]:
    /// the official "last step" read-out.
    /// </summary>
    public static Tensor LastValidStep(GRU rnn, Tensor x, Tensor lengths)
    {
        var cpuLengths = lengths.to(int64).cpu();
        var packed = nn.utils.rnn.pack_padded_sequence(x, cpuLengths, batch_first: true, enforce_sorted: false);
        var (output, _) = rnn.call(packed, null);
        var (padded, _) = nn.utils.rnn.pad_packed_sequence(output, batch_first: true);
        var index = cpuLengths.sub(1).to(x.device).view(-1, 1, 1).expand(-1, 1, padded.shape[2]);
        return padded.gather(1, index).squeeze(1);
    }
}
