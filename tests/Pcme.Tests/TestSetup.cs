using System.Runtime.CompilerServices;
using Pcme.Runtime;

namespace Pcme.Tests;

static class TestSetup
{
    /// <summary>Loads the native runtime (with the libstdc++ fix where needed) before any test touches torch.</summary>
    [ModuleInitializer]
    internal static void Init() => TorchRuntime.Initialize();
}

/// <summary>Serializes tests that use torch's global RNG or thread settings.</summary>
[CollectionDefinition("torch-global", DisableParallelization = true)]
public sealed class TorchGlobalCollection;
