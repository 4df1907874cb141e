using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TorchSharp;

namespace Pcme.Runtime;

/// <summary>What <see cref="TorchRuntime.Initialize"/> found and did.</summary>
/// <param name="Loaded">libtorch and LibTorchSharp are loaded and usable.</param>
/// <param name="FixNeeded">The host libstdc++ lacks a version that libLibTorchSharp.so requires.</param>
/// <param name="FixActive">A copy with those version needs marked weak was loaded instead of the original.</param>
/// <param name="OriginalLibrary">The libLibTorchSharp.so shipped by the TorchSharp package, if found.</param>
/// <param name="LoadedLibrary">The LibTorchSharp file actually in use (the fixed copy when the fix is active).</param>
/// <param name="NativeDirectory">Where libtorch's own libraries were loaded from.</param>
/// <param name="Libstdcxx">The host libstdc++ that was inspected.</param>
/// <param name="MissingVersions">Versions the host libstdc++ lacks, with the symbols that need them.</param>
/// <param name="Error">Why the runtime cannot work, in one paragraph; null when it works.</param>
public sealed record TorchRuntimeStatus(
    bool Loaded, bool FixNeeded, bool FixActive,
    string? OriginalLibrary, string? LoadedLibrary, string? NativeDirectory, string? Libstdcxx,
    IReadOnlyList<string> MissingVersions, string? Error);

/// <summary>Thrown when libtorch cannot be loaded; the message says what failed and what to do.</summary>
public sealed class TorchRuntimeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Makes TorchSharp's native libraries load on any Linux host, Debian 12 included, without
/// touching the system or the NuGet cache (shared/DESIGN.md §5).
/// <para>
/// libLibTorchSharp.so (TorchSharp 0.107) needs GLIBCXX_3.4.32 only for
/// <c>_ZSt21ios_base_library_initv</c>, a reference emitted by &lt;iostream&gt; that is never called.
/// When the host libstdc++ lacks that version we write a copy of the library with VER_FLG_WEAK set
/// on that one version-need entry into a per-user cache, load libtorch from its usual folder, load
/// the copy, and point TorchSharp's P/Invokes at it with a DllImport resolver. Hosts whose
/// libstdc++ has the version are left exactly as they are.
/// </para>
/// Works for <c>dotnet run</c>/<c>dotnet test</c> (natives listed in deps.json) and in notebook
/// kernels (no deps.json: natives are found next to TorchSharp.dll or in the NuGet cache).
/// </summary>
public static class TorchRuntime
{
    /// <summary>Symbols known to be referenced but never called, so their version may be weak.</summary>
    static readonly HashSet<string> NeverCalledSymbols = ["_ZSt21ios_base_library_initv"];

    /// <summary>Environment variable: <c>auto</c> (default), <c>off</c> (never patch), <c>force</c> (patch even when not needed).</summary>
    public const string FixVariable = "PCME_NATIVE_FIX";

    static readonly object Gate = new();
    static TorchRuntimeStatus? status;
    static readonly Dictionary<string, IntPtr> Preloaded = new(StringComparer.Ordinal);

    /// <summary>The status of the last <see cref="Initialize"/>, initializing on first use.</summary>
    public static TorchRuntimeStatus Status => Initialize();

    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The native fix must be in place before any TorchSharp call made through this library.")]
    internal static void OnLoad()
    {
        try { Initialize(); } catch { /* reported by EnsureLoaded */ }
    }

    /// <summary>Throws <see cref="TorchRuntimeException"/> with one clear message if libtorch cannot be used.</summary>
    public static TorchRuntimeStatus EnsureLoaded()
    {
        var s = Initialize();
        if (!s.Loaded) throw new TorchRuntimeException(s.Error ?? "libtorch could not be loaded.");
        return s;
    }

    /// <summary>Loads the native runtime once (idempotent, thread-safe) and reports what happened.</summary>
    public static TorchRuntimeStatus Initialize()
    {
        lock (Gate)
        {
            if (status is not null) return status;
            status = InitializeCore();
            return status;
        }
    }

    static TorchRuntimeStatus InitializeCore()
    {
        OpenMpWait.Apply();   // libgomp reads its wait policy once, when libtorch loads it
        string mode = (Environment.GetEnvironmentVariable(FixVariable) ?? "auto").Trim().ToLowerInvariant();
        string? original = null, nativeDir = null, libstdcxx = null, loaded = null;
        var missing = new List<string>();
        bool fixNeeded = false, fixActive = false;

        if (OperatingSystem.IsLinux())
        {
            try
            {
                original = FindLibTorchSharp();
                if (original is not null)
                {
                    libstdcxx = FindLibstdcxx();
                    var lib = ElfVersionTable.Read(original);
                    var missingNeeds = libstdcxx is null ? [] : lib.MissingFrom("libstdc++.so.6", ElfVersionTable.Read(libstdcxx));
                    missing.AddRange(missingNeeds.Select(v => $"{v.Name} ({string.Join(", ", v.Symbols)})"));
                    fixNeeded = missingNeeds.Count > 0;
                    if ((fixNeeded && mode != "off") || mode == "force")
                    {
                        var blocking = missingNeeds.Where(v => v.Symbols.Any(s => !NeverCalledSymbols.Contains(s))).ToArray();
                        if (blocking.Length > 0)
                            return Fail($"The host libstdc++ ({libstdcxx}) lacks {string.Join(", ", blocking.Select(v => v.Name))}, " +
                                        $"which {Path.GetFileName(original)} needs for symbols it really calls ({string.Join(", ", blocking.SelectMany(v => v.Symbols).Take(5))}). " +
                                        "Install a newer libstdc++ (GCC 13 or later) or use the devcontainer (Ubuntu 24.04).",
                                        original, libstdcxx, missing);
                        var toWeaken = mode == "force"
                            ? lib.Needed.Where(v => v.File == "libstdc++.so.6" && v.Symbols.All(NeverCalledSymbols.Contains) && v.Symbols.Count > 0).ToArray()
                            : missingNeeds.ToArray();
                        nativeDir = FindNativeDirectory(original);
                        string patched = WriteFixedCopy(original, toWeaken);
                        PreloadTorch(nativeDir);
                        IntPtr handle = NativeLibrary.Load(patched);
                        Preloaded["LibTorchSharp"] = handle;
                        InstallResolver();
                        loaded = patched;
                        fixActive = true;
                    }
                }
            }
            catch (Exception e) when (e is not TorchRuntimeException)
            {
                return Fail($"Preparing the native TorchSharp library failed: {FirstLine(e)}", original, libstdcxx, missing);
            }
        }

        try
        {
            // First real call into LibTorchSharp: loads the backend through TorchSharp's own path.
            torch.InitializeDeviceType(DeviceType.CPU);
            _ = torch.get_num_threads();
        }
        catch (Exception e)
        {
            string why = FirstLine(e);
            // TorchSharp's own message blames a missing package reference even when the file is
            // there but the dynamic linker refused it; ask the linker directly for the real reason.
            if (original is not null && !fixActive)
            {
                try { NativeLibrary.Load(original); }
                catch (DllNotFoundException dl)
                {
                    // The linker's own words (dlerror) are the message's last line.
                    string last = dl.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last().Trim();
                    why = $"{original} does not load: {last.TrimEnd('.')}.";
                }
            }
            string advice = fixNeeded && mode == "off"
                ? $" The kit's libstdc++ fix is switched off ({FixVariable}=off); unset it so the kit loads its fixed copy."
                : original is null
                    ? " No libLibTorchSharp.so was found: reference TorchSharp-cpu (or TorchSharp-cuda-linux with -p:TorchBackend=cuda) from the app."
                    : $" Run `pcme doctor` for details; if your libstdc++ is older than GCC 13's, try {FixVariable}=force.";
            return Fail("libtorch could not be loaded: " + why + advice, original, libstdcxx, missing);
        }

        loaded ??= LoadedPathOf("libLibTorchSharp") ?? original;
        nativeDir ??= Path.GetDirectoryName(LoadedPathOf("libtorch_cpu") ?? loaded ?? "");
        return new TorchRuntimeStatus(true, fixNeeded, fixActive, original, loaded, nativeDir, libstdcxx, missing, null);
    }

    static TorchRuntimeStatus Fail(string error, string? original, string? libstdcxx, List<string> missing) =>
        new(false, missing.Count > 0, false, original, null, null, libstdcxx, missing, error);

    static string FirstLine(Exception e)
    {
        var inner = e;
        while (inner.InnerException is not null) inner = inner.InnerException;
        string text = inner.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? inner.GetType().Name;
        return text.EndsWith('.') ? text : text + ".";
    }

    /// <summary>Folders that may hold the native libraries, most specific first.</summary>
    internal static IEnumerable<string> CandidateNativeDirectories()
    {
        // 1. deps.json-driven apps and test hosts list their native folders here.
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string dirs)
            foreach (var d in dirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)) yield return d;
        // 2. Beside TorchSharp.dll (published apps, TorchSharp's own notebook fallback copies to cpu/ or cuda/).
        string tsDir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        string rid = "linux-" + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        yield return tsDir;
        yield return Path.Combine(tsDir, "runtimes", rid, "native");
        yield return Path.Combine(tsDir, "cpu");
        yield return Path.Combine(tsDir, "cuda");
        // 3. The NuGet cache the package came from (lib/net8.0/TorchSharp.dll -> ../../runtimes/...).
        string pkgRoot = Path.GetFullPath(Path.Combine(tsDir, "..", ".."));
        yield return Path.Combine(pkgRoot, "runtimes", rid, "native");
        string packages = Path.GetFullPath(Path.Combine(pkgRoot, "..", ".."));
        foreach (var pkg in new[] { "libtorch-cpu-" + rid, "libtorch-cpu" })
        {
            string p = Path.Combine(packages, pkg);
            if (Directory.Exists(p))
                foreach (var v in Directory.GetDirectories(p).OrderByDescending(x => x, StringComparer.Ordinal))
                    yield return Path.Combine(v, "runtimes", rid, "native");
        }
    }

    static string? FindLibTorchSharp() =>
        CandidateNativeDirectories().Select(d => Path.Combine(d, "libLibTorchSharp.so")).FirstOrDefault(File.Exists);

    static string FindNativeDirectory(string libTorchSharp)
    {
        string own = Path.GetDirectoryName(libTorchSharp)!;
        return new[] { own }.Concat(CandidateNativeDirectories())
                   .FirstOrDefault(d => File.Exists(Path.Combine(d, "libtorch.so")))
               ?? throw new TorchRuntimeException(
                   $"Found {libTorchSharp} but no libtorch.so next to it or in the NuGet cache. " +
                   "Reference TorchSharp-cpu (default) or TorchSharp-cuda-linux (-p:TorchBackend=cuda) from the app.");
    }

    /// <summary>The host's libstdc++.so.6, as the dynamic linker resolves it.</summary>
    internal static string? FindLibstdcxx()
    {
        if (!NativeLibrary.TryLoad("libstdc++.so.6", out _)) return null;
        return LoadedPathOf("libstdc++.so.6");
    }

    /// <summary>The path of a loaded shared object whose file name starts with <paramref name="prefix"/>.</summary>
    internal static string? LoadedPathOf(string prefix)
    {
        if (!File.Exists("/proc/self/maps")) return null;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/');
            if (slash < 0) continue;
            string path = line[slash..].Trim();
            if (Path.GetFileName(path).StartsWith(prefix, StringComparison.Ordinal)) return path;
        }
        return null;
    }

    /// <summary>Folder for fixed copies: $PCME_CACHE, else $XDG_CACHE_HOME/pcme, else ~/.cache/pcme, else the temp folder.</summary>
    public static string CacheDirectory()
    {
        string? root = Environment.GetEnvironmentVariable("PCME_CACHE");
        if (string.IsNullOrEmpty(root))
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            root = !string.IsNullOrEmpty(xdg) ? Path.Combine(xdg, "pcme")
                 : !string.IsNullOrEmpty(home) ? Path.Combine(home, ".cache", "pcme")
                 : Path.Combine(Path.GetTempPath(), "pcme");
        }
        return root;
    }

    /// <summary>Writes (once, atomically) the weak-versioned copy of <paramref name="original"/>; returns its path.</summary>
    internal static string WriteFixedCopy(string original, IReadOnlyCollection<VersionNeed> toWeaken)
    {
        string key = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(original)))[..16].ToLowerInvariant()
                     + "-" + string.Join("_", toWeaken.Select(v => v.Name)).Replace('.', '_');
        string dir = Path.Combine(CacheDirectory(), "native", key);
        string target = Path.Combine(dir, "libLibTorchSharp.so");
        if (File.Exists(target)) return target;
        try { Directory.CreateDirectory(dir); }
        catch (Exception) { dir = Path.Combine(Path.GetTempPath(), "pcme", "native", key); Directory.CreateDirectory(dir); target = Path.Combine(dir, "libLibTorchSharp.so"); }
        string temp = target + "." + Environment.ProcessId + ".tmp";
        ElfVersionTable.WriteWithWeakVersions(original, temp, toWeaken);
        File.Move(temp, target, overwrite: true);
        return target;
    }

    static void PreloadTorch(string nativeDir)
    {
        // Absolute-path loads, dependencies first; later DT_NEEDED lookups by soname then find them.
        foreach (var name in new[] { "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so" })
        {
            string p = Path.Combine(nativeDir, name);
            if (File.Exists(p)) Preloaded[Path.GetFileNameWithoutExtension(name)[3..]] = NativeLibrary.Load(p);
        }
    }

    static void InstallResolver()
    {
        foreach (var asm in new[] { typeof(torch).Assembly }.Concat(AppDomain.CurrentDomain.GetAssemblies()
                     .Where(a => a.GetName().Name == "TorchVision")).Distinct())
        {
            try { NativeLibrary.SetDllImportResolver(asm, Resolve); }
            catch (InvalidOperationException) { /* a resolver is already set (e.g. a second AppDomain load) */ }
        }
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        string key = Path.GetFileNameWithoutExtension(name);
        if (key.StartsWith("lib", StringComparison.Ordinal) && key != "libtorch") key = key[3..];
        if (key == "libtorch") key = "torch";
        return Preloaded.TryGetValue(key, out var h) ? h : IntPtr.Zero;
    }
}
