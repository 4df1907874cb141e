using Pcme.Probabilistic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pcme.Modules;

/// <summary>What an encoder returns: the Gaussian embedding and both attention maps (for pictures).</summary>
/// <param name="Embedding">mu [B, D] (L2-normalised) and h [B, D].</param>
/// <param name="MeanAttention">Attention of the mean head over grid cells or words, [B, L, 1].</param>
/// <param name="VarianceAttention">Attention of the log-variance head, [B, L, 1]; null for a mu-only model.</param>
public sealed record EncoderOutput(GaussianEmbedding Embedding, Tensor MeanAttention, Tensor? VarianceAttention)
{
    /// <summary>
    /// With K &gt; 1 embeddings per item (PVSE), the K unit vectors [B, K, D]; <see cref="Embedding"/> then holds them
    /// concatenated ([B, K D], a point mass) so that every set-level tool (embedding files, the max-cosine scorer) sees one row per item.
    /// </summary>
    public Tensor? Set { get; init; }

    /// <summary>The output for K mean vectors [B, K, D] (no sigma heads).</summary>
    public static EncoderOutput FromSet(Tensor set, Tensor attention) =>
        new(GaussianEmbedding.PointMass(set.flatten(1)), attention, null) { Set = set };
}

/// <summary>
/// The PCME image encoder (paper Fig. 3; official <c>EncoderImage</c>): backbone grid, g = fc(GAP(grid)),
/// mu from <see cref="MeanHead"/> (<c>pie_net</c>), h from <see cref="ImageLogVarianceHead"/>
/// (<c>uncertain_net</c>). The backbone (<c>cnn</c>) is frozen unless fine-tuning is switched on.
/// </summary>
public sealed class ImageEncoder : nn.Module<Tensor, EncoderOutput>
{
    /// <summary>The grid backbone.</summary>
    public readonly GridBackbone cnn;
    /// <summary>fc: C -> D on the average-pooled grid (the global feature g).</summary>
    public readonly Linear fc;
    /// <summary>The mean head.</summary>
    public readonly MeanHead pie_net;
    /// <summary>The log-variance head (null for a mu-only model).</summary>
    public readonly ImageLogVarianceHead? uncertain_net;

    /// <summary>Creates the encoder around <paramref name="backbone"/>.</summary>
    /// <remarks><paramref name="embeddings"/> &gt; 1 gives PVSE's K embeddings per item (K attention heads in the mean head, no sigma).</remarks>
    public ImageEncoder(GridBackbone backbone, long embedDim, bool probabilistic = true, bool finetuneBackbone = false, int embeddings = 1) : base(nameof(ImageEncoder))
    {
        if (embeddings > 1 && probabilistic) throw new ArgumentException("K embeddings per item (PVSE) come without sigma heads.");
        cnn = backbone;
        long c = backbone.Channels;
        fc = nn.Linear(c, embedDim);
        nn.init.xavier_uniform_(fc.weight);
        nn.init.zeros_(fc.bias);
        pie_net = new MeanHead(c, embedDim, c / 2, embeddings);
        uncertain_net = probabilistic ? new ImageLogVarianceHead(c, embedDim, c / 2) : null;
        RegisterComponents();
        SetBackboneTrainable(finetuneBackbone);
    }

    /// <summary>Freezes (false) or unfreezes (true) the backbone's parameters.</summary>
    public void SetBackboneTrainable(bool trainable)
    {
        foreach (var p in cnn.parameters()) p.requires_grad = trainable;
    }

    /// <summary>Encodes images [B, 3, H, W].</summary>
    public override EncoderOutput forward(Tensor images) => FromGrid(cnn.forward(images));

    /// <summary>Encodes from a precomputed grid [B, C, h, w] (the feature cache path).</summary>
    public EncoderOutput FromGrid(Tensor grid)
    {
        var cells = grid.flatten(2).transpose(1, 2);          // [B, h*w, C]
        var averagePooled = grid.mean([2, 3]);                 // GAP [B, C]
        var (mu, attn) = pie_net.forward(fc.forward(averagePooled), cells, null);
        if (pie_net.Embeddings > 1) return EncoderOutput.FromSet(mu, attn);
        if (uncertain_net is null) return new EncoderOutput(GaussianEmbedding.PointMass(mu), attn, null);
        var (h, vattn) = uncertain_net.forward(averagePooled, cells);
        return new EncoderOutput(new GaussianEmbedding(mu, h), attn, vattn);
    }
}

/// <summary>
/// The PCME caption encoder (official <c>EncoderText</c>): word vectors (<c>embed</c>, frozen GloVe by
/// default), a bi-GRU (<c>rnn</c>, D/2 per direction) over packed sequences whose output at the last
/// valid step is g, mu from <see cref="MeanHead"/> over the word vectors, h from
/// <see cref="CaptionLogVarianceHead"/> with its own bi-GRU.
/// </summary>
public sealed class CaptionEncoder : nn.Module<Tensor, Tensor, EncoderOutput>
{
    /// <summary>Word vectors [V, W].</summary>
    public readonly Embedding embed;
    /// <summary>The sentence bi-GRU.</summary>
    public readonly GRU rnn;
    /// <summary>The mean head.</summary>
    public readonly MeanHead pie_net;
    /// <summary>The log-variance head (null for a mu-only model).</summary>
    public readonly CaptionLogVarianceHead? uncertain_net;

    /// <summary>Creates the encoder for a vocabulary of <paramref name="vocabularySize"/> words of width <paramref name="wordDim"/>.</summary>
    /// <remarks><paramref name="embeddings"/> &gt; 1 gives PVSE's K embeddings per item (no sigma).</remarks>
    public CaptionEncoder(long vocabularySize, long wordDim, long embedDim, bool probabilistic = true, bool finetuneWords = false, int embeddings = 1) : base(nameof(CaptionEncoder))
    {
        if (embeddings > 1 && probabilistic) throw new ArgumentException("K embeddings per item (PVSE) come without sigma heads.");
        if (embedDim % 2 != 0) throw new ArgumentException($"The embedding dimension must be even for a bi-GRU (got {embedDim}).");
        embed = nn.Embedding(vocabularySize, wordDim);
        nn.init.xavier_uniform_(embed.weight);
        rnn = nn.GRU(wordDim, embedDim / 2, bidirectional: true, batchFirst: true);
        pie_net = new MeanHead(wordDim, embedDim, wordDim / 2, embeddings);
        uncertain_net = probabilistic ? new CaptionLogVarianceHead(wordDim, embedDim, wordDim / 2) : null;
        RegisterComponents();
        SetWordVectorsTrainable(finetuneWords);
    }

    /// <summary>Freezes (false) or unfreezes (true) the word vectors.</summary>
    public void SetWordVectorsTrainable(bool trainable)
    {
        // parameters() hands out the registered tensors; the Embedding.weight getter would wrap a new handle each call.
        foreach (var p in embed.parameters()) p.requires_grad = trainable;
    }

    /// <summary>Replaces the word vectors with <paramref name="vectors"/> [V, W] (e.g. from GloVe).</summary>
    public void LoadWordVectors(Tensor vectors)
    {
        var weight = embed.parameters().Single();
        if (!vectors.shape.SequenceEqual(weight.shape))
            throw new ArgumentException($"Word vectors must be [{string.Join(", ", weight.shape)}]; got [{string.Join(", ", vectors.shape)}].");
        using var _ = no_grad();
        weight.copy_(vectors);
    }

    /// <summary>Encodes token ids [B, L] (padding = 0 past each length) with true <paramref name="lengths"/> [B].</summary>
    public override EncoderOutput forward(Tensor tokens, Tensor lengths)
    {
        var words = embed.forward(tokens);                              // [B, L, W]
        var padMask = Sequences.PadMask(lengths, tokens.shape[1], tokens.device);
        var g = Sequences.LastValidStep(rnn, words, lengths);           // [B, D]
        var (mu, attn) = pie_net.forward(g, words, padMask);
        if (pie_net.Embeddings > 1) return EncoderOutput.FromSet(mu, attn);
        if (uncertain_net is null) return new EncoderOutput(GaussianEmbedding.PointMass(mu), attn, null);
        var (h, vattn) = uncertain_net.forward(words, lengths, padMask);
        return new EncoderOutput(new GaussianEmbedding(mu, h), attn, vattn);
    }
}

/// <summary>
/// PCME = image encoder (<c>img_enc</c>) + caption encoder (<c>txt_enc</c>), each returning Gaussian
/// embeddings and attention maps.
/// </summary>
public sealed class PcmeModel : nn.Module
{
    /// <summary>The image side.</summary>
    public readonly ImageEncoder img_enc;
    /// <summary>The caption side.</summary>
    public readonly CaptionEncoder txt_enc;

    /// <summary>Wraps two encoders.</summary>
    public PcmeModel(ImageEncoder imageEncoder, CaptionEncoder captionEncoder) : base(nameof(PcmeModel))
    {
        img_enc = imageEncoder;
        txt_enc = captionEncoder;
        RegisterComponents();
    }

    /// <summary>Encodes images [B, 3, H, W].</summary>
    public EncoderOutput EncodeImages(Tensor images) => img_enc.forward(images);
    /// <summary>Encodes cached grids [B, C, h, w].</summary>
    public EncoderOutput EncodeGrids(Tensor grids) => img_enc.FromGrid(grids);
    /// <summary>Encodes captions (token ids [B, L] and lengths [B]).</summary>
    public EncoderOutput EncodeCaptions(Tensor tokens, Tensor lengths) => txt_enc.forward(tokens, lengths);

    /// <summary>
    /// Sets the bias of both log-variance heads' <c>fc</c> to <paramref name="logVariance"/>, so training starts
    /// with sigma ~ exp(h0 / 2) instead of ~1 (the official zero init). With small D and few epochs a
    /// sigma of 1 per dimension drowns the means in sampling noise, and Adam's bounded steps need many
    /// epochs to shrink it; starting lower lets the heads spend them on telling items apart.
    /// </summary>
    public void InitializeLogVariance(double logVariance)
    {
        using var _ = no_grad();
        if (img_enc.uncertain_net is { } i) i.fc.bias!.fill_(logVariance);
        if (txt_enc.uncertain_net is { } t) t.fc.bias!.fill_(logVariance);
    }
}
