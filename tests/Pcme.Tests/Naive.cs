namespace Pcme.Tests;

/// <summary>
/// Independent reference implementations in plain double arithmetic with explicit loops over pairs,
/// samples and dimensions. Probabilities are handled in log space where the test needs huge |l|.
/// </summary>
static class Naive
{
    public static double Distance(double[] x, double[] y, double eps = 1e-6)
    {
        double s = 0;
        for (int d = 0; d < x.Length; d++) s += (x[d] - y[d]) * (x[d] - y[d]);
        return Math.Sqrt(s + eps);
    }

    /// <summary>log s(x), stable for any x.</summary>
    public static double LogSigmoid(double x) => x >= 0 ? -Math.Log(1 + Math.Exp(-x)) : x - Math.Log(1 + Math.Exp(x));

    public static double LogMeanExp(IList<double> v)
    {
        double m = v.Max(), s = 0;
        foreach (var x in v) s += Math.Exp(x - m);
        return m + Math.Log(s / v.Count);
    }

    /// <summary>-log p(m = matched) for one pair of sample sets, standard sigmoid, l = -a d + b.</summary>
    public static double PairNll(double[][] za, double[][] zb, double a, double b, bool matched)
    {
        var terms = new List<double>();
        foreach (var x in za)
            foreach (var y in zb)
            {
                double l = -a * Distance(x, y) + b;
                terms.Add(LogSigmoid(matched ? l : -l));
            }
        return -LogMeanExp(terms);
    }

    /// <summary>The same pair NLL, computed directly as -log(mean s(+-l)) without log-space tricks.</summary>
    public static double PairNllDirect(double[][] za, double[][] zb, double a, double b, bool matched)
    {
        double p = 0; int n = 0;
        foreach (var x in za)
            foreach (var y in zb)
            {
                double l = -a * Distance(x, y) + b;
                p += 1 / (1 + Math.Exp(-l)); n++;
            }
        p /= n;
        return -Math.Log(matched ? p : 1 - p);
    }

    /// <summary>The official naver-ai/pcme loss: sigmoid e^x/(e^x+e^-x), i2t sum + t2i sum.</summary>
    public static double OfficialLoss(double[][][] zi, double[][][] zc, bool[][] match, double aOff, double bOff)
    {
        double total = 0;
        for (int dir = 0; dir < 2; dir++)
        {
            var anchors = dir == 0 ? zi : zc;
            var cands = dir == 0 ? zc : zi;
            for (int i = 0; i < anchors.Length; i++)
                for (int j = 0; j < cands.Length; j++)
                {
                    bool m = dir == 0 ? match[i][j] : match[j][i];
                    double p = 0; int n = 0;
                    // official batchwise_cdist: samples1.unsqueeze(1) - samples2.unsqueeze(2)
                    foreach (var y in cands[j])
                        foreach (var x in anchors[i])
                        {
                            double l = -aOff * Distance(x, y) + bOff;
                            // exp(l m) / (exp(l) + exp(-l)), m = +-1, as the official soft_contrastive_nll.
                            p += Math.Exp(m ? l : -l) / (Math.Exp(l) + Math.Exp(-l)); n++;
                        }
                    total += -Math.Log(p / n);
                }
        }
        return total;
    }

    public static double Kl(double[][] mu, double[][] h)
    {
        double s = 0;
        for (int i = 0; i < mu.Length; i++)
            for (int d = 0; d < mu[i].Length; d++)
                s += 1 + h[i][d] - mu[i][d] * mu[i][d] - Math.Exp(h[i][d]);
        return -0.5 * s;
    }

    public static double Uniformity(IList<double[]> points, double t = 2)
    {
        double s = 0; int n = 0;
        for (int i = 0; i < points.Count; i++)
            for (int j = 0; j < points.Count; j++)
            {
                if (i == j) continue;
                double d2 = 0;
                for (int d = 0; d < points[i].Length; d++) d2 += (points[i][d] - points[j][d]) * (points[i][d] - points[j][d]);
                s += Math.Exp(-t * d2); n++;
            }
        return Math.Log(s / n);
    }
}
