using System.Runtime.Loader;
using Pcme.Runtime;

namespace Pcme.Interactive;

/// <summary>
/// The first call of every notebook: makes libtorch load inside the kernel (no deps.json there,
/// shared/DESIGN.md §5), lets Plotly.NET find FSharp.Core in the final .NET Interactive engine, and
/// registers the kit's formatters (<see cref="PcmeFormatters"/>).
/// </summary>
public static class NotebookRuntime
{
    static int fsharpFixInstalled;

    /// <summary>
    /// Installs the FSharp.Core redirect, loads the native runtime (libstdc++ fix included), registers
    /// the formatters when running in a .NET Interactive kernel, and returns the runtime's status;
    /// throws one clear <see cref="TorchRuntimeException"/> if libtorch cannot work.
    /// </summary>
    public static TorchRuntimeStatus Bootstrap()
    {
        InstallFSharpCoreRedirect();
        var status = TorchRuntime.EnsureLoaded();
        PcmeFormatters.Register();
        return status;
    }

    /// <summary>
    /// Plotly.NET 6 is compiled against FSharp.Core 10.1 while the kernel ships 10.0; answer any
    /// FSharp.Core request with the one already loaded (same API surface Plotly.NET uses).
    /// </summary>
    public static void InstallFSharpCoreRedirect()
    {
        if (Interlocked.Exchange(ref fsharpFixInstalled, 1) == 1) return;
        AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            if (name.Name != "FSharp.Core") return null;
            return AppDomain.CurrentDomain.GetAssemblies()
                .Where(a => a.GetName().Name == "FSharp.Core")
                .OrderByDescending(a => a.GetName().Version)
                .FirstOrDefault();
        };
    }
}
