using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>
/// The official code's <c>kl_dist</c> / <c>reverse_kl_dist</c> (naver-ai/pcme, engine/eval_cub.py, the CUB
/// evaluator's <c>'kl'</c> / <c>'reverse_kl'</c> methods) exactly as written, so a published table can be
/// reproduced; it is not a KL divergence. With the query as <c>mu1, log_sigma1</c> and the gallery item as
/// <c>mu2, log_sigma2</c> (how <c>HybridDistanceModule.forward</c> calls it), and the kit's h = log sigma^2 =
/// 2 log_sigma (shared/DESIGN.md §1), <c>official-kl</c> is
/// <code>score(q, g) = -sum_d [ (mu_q - mu_g)^2 / v_g + (h_q - h_g) + v_q / v_g ]</code>
/// and <c>official-reverse-kl</c> the same with q and g exchanged (<c>kl_dist(mu2, mu1, log_sigma2, log_sigma1)</c>).
/// <para>
/// How it differs from the true KL (<see cref="KlScorer"/>, <c>kl</c>: -1/2 sum_d [v_q/v_g + (mu_q - mu_g)^2/v_g - 1 + h_g - h_q]):
/// it is -2 KL(q || g) with the sign of the log term flipped, minus D (the 1/2 and the -1 are dropped), so
/// official = 2 x (true score) - D - 2 sum_d h_q + 2 sum_d h_g. The last term depends on the gallery item: for one
/// query the true -2 KL carries -sum_d h_g (it penalises broad, uncertain gallery items) and the official form
/// +sum_d h_g (it rewards them), so the two rank differently. <c>official-reverse-kl</c> is the same flip of
/// -2 KL(g || q): official = 2 x (true reverse score) - D + 2 sum_d h_q - 2 sum_d h_g, penalising broad gallery
/// items where the true reverse KL rewards them.
/// </para>
/// <para>
/// The official code reaches these methods only with mean embeddings and sigmas passed in: its CUB evaluator passes
/// sigmas only with <c>report_sigma=True</c> (evaluate_cub.py does not; <c>torch.from_numpy(None)</c> then fails), and
/// with <c>n_samples_inference</c> &gt; 0 (the shipped CUB config has 7) the per-sample features do not broadcast
/// against the per-item sigmas. The kit scores the means, which is the only configuration in which they run.
/// </para>
/// <para>
/// It separates over items like <see cref="KlScorer"/>: one GEMM of [mu_p^2 + v_p | mu_p] against
/// [-1/v_r | 2 mu_r/v_r] plus per-item sums, p being <c>mu1</c>'s side and r <c>mu2</c>'s. It has no exact
/// search form in <see cref="SearchAugmentation"/> (not needed to reproduce a table; re-rank with it instead).
/// </para>
/// </summary>
public sealed class OfficialKlScorer(bool reverse) : SeparableScorer
{
    /// <inheritdoc />
    public override string Name => reverse ? "official-reverse-kl" : "official-kl";
    /// <inheritdoc />
    public override bool IsSymmetric => false;
    /// <inheritdoc />
    protected override (Tensor, Tensor) QuerySide(ScoringSet q) => reverse ? Second(q) : First(q);
    /// <inheritdoc />
    protected override (Tensor, Tensor) GallerySide(ScoringSet g) => reverse ? First(g) : Second(g);

    // score = -sum (mu_p^2 + v_p)/v_r + sum 2 mu_p mu_r / v_r - sum mu_r^2/v_r - sum h_p + sum h_r
    //       = [mu_p^2 + v_p | mu_p] . [-1/v_r | 2 mu_r/v_r] + (-sum h_p) + (sum h_r - mu_r^2/v_r).
    // The first argument of kl_dist (mu1, log_sigma1).
    static (Tensor, Tensor) First(ScoringSet p)
    {
        var (f, d) = (Features(p, 2), p.Mean.shape[1]);
        f.narrow(1, 0, d).copy_(p.Mean).pow_(2).add_(p.Variance);
        f.narrow(1, d, d).copy_(p.Mean);
        return (f, p.LogVariance.sum(1).neg_());
    }

    // The second argument of kl_dist (mu2, log_sigma2): the one whose variance divides.
    static (Tensor, Tensor) Second(ScoringSet r)
    {
        var (f, d) = (Features(r, 2), r.Mean.shape[1]);
        var inv = f.narrow(1, 0, d).copy_(r.Variance).reciprocal_();
        var scaledMean = f.narrow(1, d, d).copy_(r.Mean).mul_(inv).mul_(2);          // 2 mu / v
        var bias = r.LogVariance.sub(scaledMean.mul(r.Mean).mul_(0.5)).sum(1);         // sum h - mu^2/v
        inv.neg_();                                                                     // -1/v
        return (f, bias);
    }
}

/// <summary>
/// The official code's <c>min_dist</c> / <c>max_dist</c> (naver-ai/pcme, engine/eval_cub.py, the CUB evaluator's
/// <c>'min'</c> / <c>'max'</c> methods of <c>HybridDistanceModule</c>) exactly as written. Despite the module's
/// name they combine no distances and ignore sigma: they are the smallest / largest per-dimension squared
/// difference of the means,
/// <code>official-min: score(q, g) = -min_d (mu_q,d - mu_g,d)^2      official-max: score(q, g) = -max_d (mu_q,d - mu_g,d)^2</code>
/// (<c>official-max</c> is minus the squared Chebyshev, L-infinity, distance of the means; <c>official-min</c> has
/// no counterpart among the kit's scorers: one coinciding coordinate makes a perfect match). Both are symmetric.
/// They do not separate over items: <see cref="CoordinateExtremes"/> computes them in one fused pass on the CPU.
/// </summary>
public sealed class OfficialCoordinateExtremeScorer(bool largest) : Scorer
{
    /// <inheritdoc />
    public override string Name => largest ? "official-max" : "official-min";
    /// <inheritdoc />
    public override long BytesPerPair(long dim) => 2 * 8 * dim;    // the broadcast form's [Q, G, D] temporaries
    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g) => CoordinateExtremes.Compute(q.Mean, g.Mean, largest).neg_();
}
