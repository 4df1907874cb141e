using System.CommandLine;
using Pcme.Data;

namespace Pcme.Cli.Commands;

/// <summary>Which part of a data set a command works on.</summary>
public enum DatasetRole
{
    /// <summary>Training data.</summary>
    Train,
    /// <summary>Validation data (best-checkpoint selection).</summary>
    Validation,
    /// <summary>Evaluation data.</summary>
    Test,
}

/// <summary>
/// The dataset options shared by train, eval and embed, for every supported format:
/// <c>--dataset synthetic</c>; <c>--dataset coco --captions FILE --images DIR [--val-captions FILE] [--instances FILE]...</c>;
/// <c>--dataset karpathy --karpathy FILE --images DIR</c>; <c>--dataset cub --root DIR [--captions-root DIR] --split-file FILE [--val-split-file FILE]</c>.
/// </summary>
public sealed class DatasetArguments
{
    /// <summary>--dataset.</summary>
    public readonly Option<string> Kind = new("--dataset") { Description = "synthetic, coco, karpathy or cub.", DefaultValueFactory = _ => "synthetic" };
    /// <summary>--captions.</summary>
    public readonly Option<FileInfo?> Captions = new("--captions") { Description = "COCO captions JSON (captions_*.json layout)." };
    /// <summary>--val-captions.</summary>
    public readonly Option<FileInfo?> ValCaptions = new("--val-captions") { Description = "COCO captions JSON for validation." };
    /// <summary>--images.</summary>
    public readonly Option<DirectoryInfo?> Images = new("--images") { Description = "Image folder (COCO: the folder holding file_name; Karpathy: the root holding filepath/filename)." };
    /// <summary>--instances.</summary>
    public readonly Option<FileInfo[]> Instances = new("--instances") { Description = "COCO instances_*.json (multi-hot labels for PMRP); repeatable.", AllowMultipleArgumentsPerToken = true };
    /// <summary>--karpathy.</summary>
    public readonly Option<FileInfo?> Karpathy = new("--karpathy") { Description = "Karpathy dataset_coco.json." };
    /// <summary>--root.</summary>
    public readonly Option<DirectoryInfo?> Root = new("--root") { Description = "CUB_200_2011 root (images/, images.txt, classes.txt)." };
    /// <summary>--captions-root.</summary>
    public readonly Option<DirectoryInfo?> CaptionsRoot = new("--captions-root") { Description = "Reed et al.'s text_c10/ folder or the folder holding it (default: --root)." };
    /// <summary>--split-file.</summary>
    public readonly Option<FileInfo?> SplitFile = new("--split-file") { Description = "CUB class list for this command (e.g. trainvalclasses.txt, testclasses.txt)." };
    /// <summary>--val-split-file.</summary>
    public readonly Option<FileInfo?> ValSplitFile = new("--val-split-file") { Description = "CUB class list for validation while training." };
    /// <summary>--synthetic-images.</summary>
    public readonly Option<int> SyntheticImages = new("--synthetic-images") { Description = "Images in the synthetic set (all splits).", DefaultValueFactory = _ => 1000 };
    /// <summary>--data-seed.</summary>
    public readonly Option<int> DataSeed = new("--data-seed") { Description = "Seed of the synthetic set.", DefaultValueFactory = _ => 0 };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Kind, Captions, ValCaptions, Images, Instances, Karpathy, Root, CaptionsRoot, SplitFile, ValSplitFile, SyntheticImages, DataSeed })
            command.Options.Add(o);
    }

    /// <summary>Whether the chosen data set is the generated one (its images need no crop pipeline).</summary>
    public static bool IsSynthetic(ParseResult r, DatasetArguments a) => r.GetValue(a.Kind) == "synthetic";

    /// <summary>Loads the data set for <paramref name="role"/>; null when that role has no data (e.g. no validation file given).</summary>
    public ICrossModalDataset? Load(ParseResult r, DatasetRole role)
    {
        var data = LoadAny(r, role);
        // Skips are reported and the run goes on, but a set left with nothing is a wrong path, not data to train on.
        if (data is { Images.Count: 0, Skipped: [var first, ..] })
            throw new DataException($"{data.Name}: every image was skipped ({data.Skipped.Count}); the first: {first.Source}: {first.Reason}. Check the data set paths.");
        if (data is { Images.Count: 0 } or { Captions.Count: 0 })
            throw new DataException($"{data.Name} is empty ({data.Images.Count} images, {data.Captions.Count} captions): check that the files given for the {role.ToString().ToLowerInvariant()} split are the right ones and not empty.");
        return data;
    }

    ICrossModalDataset? LoadAny(ParseResult r, DatasetRole role)
    {
        string kind = r.GetValue(Kind)!;
        switch (kind)
        {
            case "synthetic":
                return new SyntheticDataset(new SyntheticOptions { Seed = r.GetValue(DataSeed), ImageCount = r.GetValue(SyntheticImages) },
                    role switch { DatasetRole.Train => SyntheticSplit.Train, DatasetRole.Validation => SyntheticSplit.Validation, _ => SyntheticSplit.Test });
            case "coco":
            {
                var file = role == DatasetRole.Validation ? r.GetValue(ValCaptions) : r.GetValue(Captions);
                if (file is null)
                {
                    if (role == DatasetRole.Validation) return null;
                    throw new UserInputException("--dataset coco needs --captions FILE (captions_*.json) and --images DIR.");
                }
                var ds = CocoCaptionsDataset.LoadCaptions(Existing(file), Folder(r.GetValue(Images), "--images"));
                var inst = r.GetValue(Instances) ?? [];
                return inst.Length > 0 ? ds.WithLabels(CocoInstances.Load(inst.Select(Existing).ToArray())) : ds;
            }
            case "karpathy":
            {
                var file = r.GetValue(Karpathy) ?? throw new UserInputException("--dataset karpathy needs --karpathy FILE (dataset_coco.json) and --images DIR.");
                var split = role switch { DatasetRole.Train => KarpathySplit.Train, DatasetRole.Validation => KarpathySplit.Val, _ => KarpathySplit.Test };
                var ds = CocoCaptionsDataset.LoadKarpathy(Existing(file), Folder(r.GetValue(Images), "--images"), split);
                var inst = r.GetValue(Instances) ?? [];
                return inst.Length > 0 ? ds.WithLabels(CocoInstances.Load(inst.Select(Existing).ToArray())) : ds;
            }
            case "cub":
            {
                var root = Folder(r.GetValue(Root), "--root");
                var split = role == DatasetRole.Validation ? r.GetValue(ValSplitFile) : r.GetValue(SplitFile);
                if (split is null)
                {
                    if (role == DatasetRole.Validation) return null;
                    throw new UserInputException("--dataset cub needs --root DIR and --split-file FILE (e.g. trainvalclasses.txt).");
                }
                return CubDataset.Load(root, r.GetValue(CaptionsRoot)?.FullName ?? root, Existing(split));
            }
            default:
                throw new UserInputException($"Unknown --dataset '{kind}'. Use synthetic, coco, karpathy or cub.");
        }
    }

    static string Existing(FileInfo f) => f.Exists ? f.FullName : throw new UserInputException($"File '{f.FullName}' does not exist.");

    static string Folder(DirectoryInfo? d, string option) =>
        d is null ? throw new UserInputException($"{option} DIR is required for this data set.")
        : d.Exists ? d.FullName : throw new UserInputException($"Folder '{d.FullName}' ({option}) does not exist.");
}
