using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using Pcme.Runtime;

namespace Pcme.Modules;

/// <summary>What <see cref="WeightLoader.Load"/> did: which keys were copied, and which did not line up.</summary>
/// <param name="File">The weight file.</param>
/// <param name="Loaded">Module keys that received a tensor.</param>
/// <param name="Missing">Module keys the file has no tensor for (they keep their current values).</param>
/// <param name="Unexpected">File keys the module has no place for (ignored).</param>
public sealed record WeightLoadReport(string File, IReadOnlyList<string> Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected)
{
    /// <summary>One-paragraph summary for logs.</summary>
    public override string ToString() =>
        $"{System.IO.Path.GetFileName(File)}: {Loaded.Count} tensors loaded, {Missing.Count} missing" +
        (Missing.Count > 0 ? $" ({string.Join(", ", Missing.Take(5))}{(Missing.Count > 5 ? ", ..." : "")})" : "") +
        $", {Unexpected.Count} unexpected" +
        (Unexpected.Count > 0 ? $" ({string.Join(", ", Unexpected.Take(5))}{(Unexpected.Count > 5 ? ", ..." : "")})" : "") + ".";
}

/// <summary>A weight file that cannot be used; the message names the file, the key and the fix.</summary>
public sealed class WeightFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Loads PyTorch weights into kit modules: torchvision-style <c>.pth</c>/<c>.pt</c> state dicts (read
/// with TorchSharp.PyBridge's unpickler, which only rebuilds tensors and never executes pickled code)
/// and <c>.safetensors</c>, and ONNX ResNet-18 graphs through <see cref="PretrainedBackbones"/>. Keys are matched by
/// name after prefix mapping; shapes must agree.
/// </summary>
public static class WeightLoader
{
    /// <summary>Reads a state dict: key -> tensor (CPU).</summary>
    public static IReadOnlyDictionary<string, Tensor> Read(string path)
    {
        // An ONNX ResNet-18 (or its nuget: shorthand) is read through its converted, cached .safetensors.
        if (path.StartsWith("nuget:", StringComparison.Ordinal) || path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            path = PretrainedBackbones.Resolve(path).WeightsPath;
        if (!File.Exists(path)) throw new WeightFileException($"Weight file '{path}' does not exist. Pass the path of a .pth/.pt state dict or a .safetensors file.");
        try
        {
            if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                return Safetensors.LoadStateDict(path);
            Hashtable table = PyTorchUnpickler.UnpickleStateDict(path);
            var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (DictionaryEntry e in table)
            {
                if (e.Key is string k && e.Value is Tensor t) dict[k] = t;
                else throw new WeightFileException($"'{path}' is not a plain state dict: entry '{e.Key}' holds {e.Value?.GetType().Name ?? "null"}, not a tensor. Save it with torch.save(model.state_dict(), path).");
            }
            return dict;
        }
        catch (Exception e) when (e is not WeightFileException)
        {
            throw new WeightFileException($"Cannot read weight file '{path}': {e.Message.Split('\n')[0]} (expected a torch.save'd state dict or a .safetensors file).", e);
        }
    }

    /// <summary>
    /// Copies the tensors of <paramref name="path"/> into <paramref name="module"/>. A file key
    /// <c>sourcePrefix + rest</c> goes to module key <c>targetPrefix + rest</c> (e.g. a plain torchvision
    /// ResNet file into <c>img_enc.cnn.</c>; <c>module.</c> from DataParallel checkpoints is stripped).
    /// A shape mismatch is an error naming the key; with <paramref name="strict"/>, missing or
    /// unexpected keys are errors too.
    /// </summary>
    public static WeightLoadReport Load(nn.Module module, string path, string sourcePrefix = "", string targetPrefix = "", bool strict = false)
    {
        var source = Read(path);
        var target = module.state_dict();
        var loaded = new List<string>(); var unexpected = new List<string>();
        var mapped = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in source)
        {
            string k = key.StartsWith("module.", StringComparison.Ordinal) ? key[7..] : key;
            if (!k.StartsWith(sourcePrefix, StringComparison.Ordinal)) { unexpected.Add(key); continue; }
            mapped[targetPrefix + k[sourcePrefix.Length..]] = tensor;
        }
        using (no_grad())
        {
            foreach (var (key, tensor) in mapped)
            {
                if (!target.TryGetValue(key, out var dest)) { unexpected.Add(key); continue; }
                if (!dest.shape.SequenceEqual(tensor.shape))
                    throw new WeightFileException(
                        $"Weight file '{path}': '{key}' has shape [{string.Join(", ", tensor.shape)}] but the model expects [{string.Join(", ", dest.shape)}]. " +
                        "The file is for another architecture or size (check the backbone kind, embedding dimension and vocabulary).");
                dest.copy_(tensor);
                loaded.Add(key);
            }
        }
        var missing = target.Keys.Where(k => !mapped.ContainsKey(k)).ToList();
        var report = new WeightLoadReport(path, loaded, missing, unexpected);
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new WeightFileException($"Weight file '{path}' does not match the model exactly: {report}");
        return report;
    }

    /// <summary>Saves <paramref name="module"/>'s state dict as .safetensors (or a PyTorch-readable .pth by extension).</summary>
    public static void Save(nn.Module module, string path)
    {
        AtomicFile.Write(path, tmp =>
        {
            if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) module.save_safetensors(tmp);
            else module.save_py(tmp);
        });
    }
}
