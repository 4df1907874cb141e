using Plotly.NET;
using Plotly.NET.CSharp;
using CsChart = Plotly.NET.CSharp.Chart;

namespace Pcme.Plots;

/// <summary>One training run's curves, e.g. "PCME" or "mu-only".</summary>
/// <param name="Name">Legend name of the run.</param>
/// <param name="Loss">Training loss per epoch; entry e belongs to epoch e + 1.</param>
/// <param name="Validation">Optional validation metric (e.g. R@1 or RSUM), one value per entry of <paramref name="ValidationEpochs"/>.</param>
/// <param name="ValidationEpochs">The (1-based) epochs at which <paramref name="Validation"/> was measured; null = 1, 2, .. like the loss.</param>
public sealed record TrainingCurve(string Name, double[] Loss, double[]? Validation = null, int[]? ValidationEpochs = null);

/// <summary>Where <see cref="Figures.LossCurves"/> draws the validation metric.</summary>
public enum ValidationPlacement
{
    /// <summary>On a second y axis at the right of the loss plot (dashed lines).</summary>
    SecondAxis,
    /// <summary>In its own subplot below the loss plot, sharing the epoch axis.</summary>
    SeparatePlot,
}

public static partial class Figures
{
    /// <summary>
    /// Training loss per epoch for several runs, one solid line each; runs with a validation metric get
    /// a dashed line of the same colour on a second y axis (or in a subplot below, see <paramref name="placement"/>).
    /// </summary>
    /// <param name="runs">The runs, in legend order.</param>
    /// <param name="title">Figure title.</param>
    /// <param name="lossLabel">Y axis title of the loss.</param>
    /// <param name="validationLabel">Y axis title and legend suffix of the validation metric.</param>
    /// <param name="placement">Second axis (default) or a separate subplot.</param>
    public static GenericChart LossCurves(IReadOnlyList<TrainingCurve> runs, string title = "Training loss",
        string lossLabel = "training loss", string validationLabel = "validation", ValidationPlacement placement = ValidationPlacement.SecondAxis)
    {
        Require(runs.Count > 0, nameof(runs), "Need at least one run.");
        var lossTraces = new List<GenericChart>();
        var validationTraces = new List<GenericChart>();
        for (int r = 0; r < runs.Count; r++)
        {
            var run = runs[r];
            Require(run.Loss.Length > 0, nameof(runs), $"Run '{run.Name}' has no loss values.");
            RequireFinite(run.Loss, nameof(runs));
            var color = PaletteColor(r);
            lossTraces.Add(CsChart.Line<int, double, string>(Enumerable.Range(1, run.Loss.Length), run.Loss,
                    ShowMarkers: run.Loss.Length <= 50, Name: run.Name, LineColor: color, MarkerColor: color)
                .WithTraceInfo(LegendGroup: run.Name));
            if (run.Validation is null) continue;
            var epochs = run.ValidationEpochs ?? [.. Enumerable.Range(1, run.Validation.Length)];
            Require(epochs.Length == run.Validation.Length, nameof(runs),
                $"Run '{run.Name}' has {run.Validation.Length} validation values but {epochs.Length} validation epochs.");
            RequireFinite(run.Validation, nameof(runs));
            validationTraces.Add(CsChart.Line<int, double, string>(epochs, run.Validation, ShowMarkers: true,
                    Name: $"{run.Name} ({validationLabel})", LineColor: color, MarkerColor: color, LineDash: StyleParam.DrawingStyle.Dash)
                .WithTraceInfo(LegendGroup: run.Name));
        }

        var loss = CsChart.Combine(lossTraces);
        if (validationTraces.Count == 0)
            return loss.WithAxisTitles("epoch", lossLabel).WithTitle(title).WithSize(DefaultWidth, DefaultHeight);

        var validation = CsChart.Combine(validationTraces);
        if (placement == ValidationPlacement.SecondAxis)
        {
            return CsChart.Combine([loss, validation.OnYAxis(2)])
                .WithAxisTitles("epoch", lossLabel)
                .WithYAxisStyle<double, double, string>(TitleText: validationLabel, Side: StyleParam.Side.Right,
                    Overlaying: StyleParam.LinearAxisId.NewY(1), ShowGrid: false, Id: StyleParam.SubPlotId.NewYAxis(2))
                .WithLegendStyle(X: 1.1)   // clear of the right axis' tick labels
                .WithTitle(title)
                .WithSize(DefaultWidth, DefaultHeight);
        }

        return CsChart.Grid([loss, validation], nRows: 2, nCols: 1)
            .WithAxisTitles("epoch", lossLabel)
            .WithAxisTitles("epoch", validationLabel, axis: 2)
            .WithTitle(title)
            .WithSize(DefaultWidth, DefaultHeight + 200);
    }
}
