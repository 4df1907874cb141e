using System.Runtime.InteropServices;
using Pcme.Runtime;

namespace Pcme.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void Runtime_loads_and_fix_matches_what_the_host_libstdcxx_provides()
    {
        var s = TorchRuntime.EnsureLoaded();
        Assert.True(s.Loaded, s.Error);
        Assert.NotNull(s.OriginalLibrary);
        Assert.NotNull(s.Libstdcxx);

        var lib = ElfVersionTable.Read(s.OriginalLibrary!);
        var host = ElfVersionTable.Read(s.Libstdcxx!);
        bool hostHas32 = host.Defined.Contains("GLIBCXX_3.4.32");
        // The fix is active exactly when the host lacks a version the shipped library needs.
        Assert.Equal(!hostHas32, s.FixNeeded);
        Assert.Equal(!hostHas32, s.FixActive);
        if (s.FixActive)
        {
            Assert.NotEqual(s.OriginalLibrary, s.LoadedLibrary);
            // The process really uses the fixed copy.
            Assert.Contains(File.ReadLines("/proc/self/maps"), l => l.EndsWith(s.LoadedLibrary!, StringComparison.Ordinal));
            Assert.Contains(lib.MissingFrom("libstdc++.so.6", host), v => v.Name == "GLIBCXX_3.4.32");
        }
        else
        {
            Assert.Empty(lib.MissingFrom("libstdc++.so.6", host));
        }
    }

    [Fact]
    public void Shipped_library_needs_GLIBCXX_3_4_32_only_for_the_never_called_ios_init_symbol()
    {
        var lib = ElfVersionTable.Read(TorchRuntime.Status.OriginalLibrary!);
        var need = Assert.Single(lib.Needed, v => v.Name == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.False(need.IsWeak);
        Assert.Equal(["_ZSt21ios_base_library_initv"], need.Symbols);
    }

    [Fact]
    public void Fixed_copy_differs_from_the_original_by_exactly_the_weak_bit_and_is_detected_as_loadable()
    {
        string original = TorchRuntime.Status.OriginalLibrary!;
        var lib = ElfVersionTable.Read(original);
        var need = lib.Needed.Single(v => v.Name == "GLIBCXX_3.4.32");
        string copy = Path.Combine(Path.GetTempPath(), $"pcme-test-{Guid.NewGuid():N}.so");
        try
        {
            ElfVersionTable.WriteWithWeakVersions(original, copy, [need]);
            byte[] a = File.ReadAllBytes(original), b = File.ReadAllBytes(copy);
            Assert.Equal(a.Length, b.Length);
            var diffs = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToArray();
            int at = Assert.Single(diffs);
            Assert.Equal(need.FlagsOffset, at);
            Assert.Equal(ElfVersionTable.VerFlagWeak, a[at] ^ b[at]);

            var fixedTable = ElfVersionTable.Read(copy);
            Assert.True(fixedTable.Needed.Single(v => v.Name == "GLIBCXX_3.4.32").IsWeak);
            // A libstdc++ without 3.4.32 (simulated by the host's table minus that version, or the host itself).
            var host = ElfVersionTable.Read(TorchRuntime.Status.Libstdcxx!);
            Assert.Empty(fixedTable.MissingFrom("libstdc++.so.6", host));
        }
        finally { File.Delete(copy); }
    }

    [Fact]
    public void Unfixed_original_really_fails_to_load_on_a_host_without_GLIBCXX_3_4_32()
    {
        var s = TorchRuntime.Status;
        var host = ElfVersionTable.Read(s.Libstdcxx!);
        if (host.Defined.Contains("GLIBCXX_3.4.32"))
        {
            // Newer hosts: the shipped library is what is in use, unchanged.
            Assert.Equal(s.OriginalLibrary, s.LoadedLibrary);
            return;
        }
        // Copy the original to a fresh path (so dlopen does not reuse a loaded object) and load it.
        string copy = Path.Combine(Path.GetTempPath(), $"pcme-orig-{Guid.NewGuid():N}.so");
        File.Copy(s.OriginalLibrary!, copy);
        try
        {
            var e = Assert.ThrowsAny<DllNotFoundException>(() => NativeLibrary.Load(copy));
            Assert.Contains("GLIBCXX_3.4.32", e.Message);
        }
        finally { File.Delete(copy); }
    }

    [Fact]
    public void Libstdcxx_version_definitions_are_read()
    {
        var host = ElfVersionTable.Read(TorchRuntime.Status.Libstdcxx!);
        Assert.Contains("GLIBCXX_3.4", host.Defined);
        Assert.Contains("CXXABI_1.3", host.Defined);
        Assert.DoesNotContain("GLIBCXX_9.9.99", host.Defined);
    }

    [Fact]
    public void Reading_a_non_elf_file_names_the_file()
    {
        string path = Path.Combine(Path.GetTempPath(), $"pcme-notelf-{Guid.NewGuid():N}.so");
        File.WriteAllText(path, "this is not a shared library, just some text that is long enough to parse...");
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ElfVersionTable.Read(path));
            Assert.Contains(path, e.Message);
        }
        finally { File.Delete(path); }
    }
}
