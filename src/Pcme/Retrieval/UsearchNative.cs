using System.Runtime.InteropServices;

namespace Pcme.Retrieval;

/// <summary>Metric of the HNSW graph (values of USearch's <c>usearch_metric_kind_t</c>).</summary>
public enum IndexMetric
{
    /// <summary>1 - cosine similarity.</summary>
    Cosine = 1,
    /// <summary>1 - inner product.</summary>
    InnerProduct = 2,
    /// <summary>Squared Euclidean distance.</summary>
    SquaredL2 = 3,
}

/// <summary>How the index stores vectors (values of USearch's <c>usearch_scalar_kind_t</c>).</summary>
public enum IndexQuantization
{
    /// <summary>32-bit floats.</summary>
    F32 = 1,
    /// <summary>16-bit floats.</summary>
    F16 = 3,
    /// <summary>8-bit integers (USearch maps [-1, 1] onto [-127, 127]; the index scales its vectors into that range).</summary>
    I8 = 4,
}

/// <summary>
/// The C API of USearch's native library (libusearch_c, shipped by NuGet <c>Cloud.Unum.USearch</c>), bound
/// directly: the package's managed wrapper exposes neither the search width (expansion), nor thread counts,
/// nor the index's memory, nor a batched add from one buffer, all of which search at scale needs.
/// </summary>
internal static unsafe class UsearchNative
{
    [StructLayout(LayoutKind.Sequential)]
    internal struct InitOptions
    {
        public int MetricKind;
        public IntPtr Metric;
        public int Quantization;
        public nuint Dimensions;
        public nuint Connectivity;
        public nuint ExpansionAdd;
        public nuint ExpansionSearch;
        public byte Multi;
    }

    /// <summary>The package version of Directory.Packages.props (the NuGet-cache fallback looks for it).</summary>
    internal const string PackageVersion = "2.26.6";

    static readonly Lazy<IntPtr> Library = new(LoadLibrary);

    internal static readonly delegate* unmanaged<InitOptions*, IntPtr*, IntPtr> Init = (delegate* unmanaged<InitOptions*, IntPtr*, IntPtr>)Export("usearch_init");
    internal static readonly delegate* unmanaged<IntPtr, IntPtr*, void> Free = (delegate* unmanaged<IntPtr, IntPtr*, void>)Export("usearch_free");
    internal static readonly delegate* unmanaged<IntPtr, byte*, IntPtr*, void> Save = (delegate* unmanaged<IntPtr, byte*, IntPtr*, void>)Export("usearch_save");
    internal static readonly delegate* unmanaged<IntPtr, byte*, IntPtr*, void> Load = (delegate* unmanaged<IntPtr, byte*, IntPtr*, void>)Export("usearch_load");
    internal static readonly delegate* unmanaged<IntPtr, byte*, IntPtr*, void> View = (delegate* unmanaged<IntPtr, byte*, IntPtr*, void>)Export("usearch_view");
    internal static readonly delegate* unmanaged<IntPtr, IntPtr*, nuint> Size = (delegate* unmanaged<IntPtr, IntPtr*, nuint>)Export("usearch_size");
    internal static readonly delegate* unmanaged<IntPtr, IntPtr*, nuint> Dimensions = (delegate* unmanaged<IntPtr, IntPtr*, nuint>)Export("usearch_dimensions");
    internal static readonly delegate* unmanaged<IntPtr, IntPtr*, nuint> MemoryUsage = (delegate* unmanaged<IntPtr, IntPtr*, nuint>)Export("usearch_memory_usage");
    internal static readonly delegate* unmanaged<IntPtr, IntPtr*, nuint> SerializedLength = (delegate* unmanaged<IntPtr, IntPtr*, nuint>)Export("usearch_serialized_length");
    internal static readonly delegate* unmanaged<IntPtr, nuint, IntPtr*, void> Reserve = (delegate* unmanaged<IntPtr, nuint, IntPtr*, void>)Export("usearch_reserve");
    internal static readonly delegate* unmanaged<IntPtr, nuint, IntPtr*, void> ChangeExpansionSearch = (delegate* unmanaged<IntPtr, nuint, IntPtr*, void>)Export("usearch_change_expansion_search");
    internal static readonly delegate* unmanaged<IntPtr, nuint, IntPtr*, void> ChangeThreadsAdd = (delegate* unmanaged<IntPtr, nuint, IntPtr*, void>)Export("usearch_change_threads_add");
    internal static readonly delegate* unmanaged<IntPtr, nuint, IntPtr*, void> ChangeThreadsSearch = (delegate* unmanaged<IntPtr, nuint, IntPtr*, void>)Export("usearch_change_threads_search");
    internal static readonly delegate* unmanaged<IntPtr, ulong, void*, int, IntPtr*, void> Add = (delegate* unmanaged<IntPtr, ulong, void*, int, IntPtr*, void>)Export("usearch_add");
    internal static readonly delegate* unmanaged<IntPtr, void*, int, nuint, ulong*, float*, IntPtr*, nuint> Search =
        (delegate* unmanaged<IntPtr, void*, int, nuint, ulong*, float*, IntPtr*, nuint>)Export("usearch_search");

    /// <summary>Throws the native error message, if any.</summary>
    internal static void Check(IntPtr error, string what)
    {
        if (error != IntPtr.Zero) throw new InvalidOperationException($"USearch {what}: {Marshal.PtrToStringUTF8(error)}");
    }

    /// <summary>A NUL-terminated UTF-8 copy of a path.</summary>
    internal static byte[] Utf8(string s) => [.. System.Text.Encoding.UTF8.GetBytes(s), 0];

    static IntPtr Export(string name) => NativeLibrary.GetExport(Library.Value, name);

    // The app's deps.json resolves the package's runtimes/<rid>/native library; a notebook kernel has none,
    // so fall back to the folder of the managed USearch assembly and to the NuGet cache.
    static IntPtr LoadLibrary()
    {
        var asm = typeof(UsearchNative).Assembly;
        if (NativeLibrary.TryLoad("libusearch_c", asm, null, out var h)) return h;
        string file = OperatingSystem.IsWindows() ? "libusearch_c.dll" : OperatingSystem.IsMacOS() ? "libusearch_c.dylib" : "libusearch_c.so";
        string rid = OperatingSystem.IsWindows() ? "win-x64" : OperatingSystem.IsMacOS() ? "osx-arm64" : "linux-x64";
        var candidates = new List<string>();
        foreach (var dir in new[] { Path.GetDirectoryName(asm.Location), AppContext.BaseDirectory })
            if (!string.IsNullOrEmpty(dir)) { candidates.Add(Path.Combine(dir, file)); candidates.Add(Path.Combine(dir, "runtimes", rid, "native", file)); }
        string nuget = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        candidates.Add(Path.Combine(nuget, "cloud.unum.usearch", PackageVersion, "runtimes", rid, "native", file));
        foreach (var c in candidates)
            if (File.Exists(c) && NativeLibrary.TryLoad(c, out h)) return h;
        throw new DllNotFoundException($"USearch's native library ({file}) was not found; restore NuGet package Cloud.Unum.USearch {PackageVersion} (looked in: {string.Join(", ", candidates)}).");
    }
}
