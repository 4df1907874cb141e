namespace Pcme.Analysis;

/// <summary>A 2-D Gaussian with diagonal covariance, N((MeanX, MeanY), diag(SigmaX², SigmaY²)).</summary>
/// <param name="Label">Name in the legend and beside the mean, e.g. a caption.</param>
/// <param name="MeanX">Mean, first coordinate.</param>
/// <param name="MeanY">Mean, second coordinate.</param>
/// <param name="SigmaX">Standard deviation along x (&gt; 0).</param>
/// <param name="SigmaY">Standard deviation along y (&gt; 0).</param>
public sealed record Gaussian2D(string Label, double MeanX, double MeanY, double SigmaX, double SigmaY);
