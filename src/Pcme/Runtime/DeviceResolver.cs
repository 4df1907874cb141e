using TorchSharp;

namespace Pcme.Runtime;

/// <summary>
/// The one place that turns a device name into a <see cref="torch.Device"/>:
/// <c>auto</c> (CUDA when available, else CPU), <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>.
/// </summary>
public static class DeviceResolver
{
    /// <summary>Resolves <paramref name="name"/> (case-insensitive; null or empty means auto).</summary>
    /// <exception cref="ArgumentException">Unknown name, or CUDA asked for but not available.</exception>
    public static torch.Device Resolve(string? name = "auto")
    {
        TorchRuntime.EnsureLoaded();
        string n = string.IsNullOrWhiteSpace(name) ? "auto" : name.Trim().ToLowerInvariant();
        if (n == "auto") return torch.cuda.is_available() ? new torch.Device(DeviceType.CUDA, 0) : torch.CPU;
        if (n == "cpu") return torch.CPU;
        if (n == "cuda" || n.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (n.Length > 4 && (!int.TryParse(n[5..], out index) || index < 0))
                throw new ArgumentException($"Device '{name}': the CUDA index must be a non-negative integer, e.g. cuda:0.");
            if (!torch.cuda.is_available())
                throw new ArgumentException(
                    $"Device '{name}' was requested but CUDA is not available: this build uses the " +
                    $"{(BuildInfo.TorchBackend == "cuda" ? "CUDA backend but no GPU or driver was found" : "CPU backend (TorchSharp-cpu)")}. " +
                    "Use --device cpu or auto, or build with -p:TorchBackend=cuda on a machine with an NVIDIA driver.");
            int count = torch.cuda.device_count();
            if (index >= count)
                throw new ArgumentException($"Device '{name}' does not exist: {count} CUDA device(s) are visible (cuda:0..cuda:{count - 1}).");
            return new torch.Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"Unknown device '{name}'. Use auto, cpu, cuda or cuda:N.");
    }
}

/// <summary>Facts about the loaded TorchSharp build.</summary>
public static class BuildInfo
{
    /// <summary>TorchSharp's managed assembly version.</summary>
    public static string TorchSharpVersion =>
        typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    /// <summary><c>cuda</c> when a CUDA libtorch is loaded, else <c>cpu</c>.</summary>
    public static string TorchBackend =>
        TorchRuntime.LoadedPathOf("libtorch_cuda") is not null ? "cuda" : "cpu";
}
