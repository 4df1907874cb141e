using System.Runtime.InteropServices;

namespace Pcme.Runtime;

/// <summary>What the kit did about libgomp's wait policy, for <c>pcme doctor</c> and bench records.</summary>
/// <param name="Mode">short, passive, active or libgomp (the kit's <see cref="OpenMpWait.ModeVariable"/>; <c>user</c> when OMP_WAIT_POLICY or GOMP_SPINCOUNT was already set).</param>
/// <param name="WaitPolicy">OMP_WAIT_POLICY as libgomp sees it (null: unset).</param>
/// <param name="SpinCount">GOMP_SPINCOUNT as libgomp sees it (null: unset, libgomp's 300,000).</param>
/// <param name="SetByKit">Whether the kit set them (before libtorch loaded), rather than the user.</param>
public sealed record OpenMpWaitSettings(string Mode, string? WaitPolicy, string? SpinCount, bool SetByKit)
{
    /// <summary>One line for people.</summary>
    public override string ToString() =>
        $"{Mode}: OMP_WAIT_POLICY={WaitPolicy ?? "(unset)"}, GOMP_SPINCOUNT={SpinCount ?? "(unset: libgomp's 300000)"} " +
        (SetByKit ? "(set by the kit before libtorch loaded)" : Mode == "user" ? "(set by the user)" : "(libgomp's own defaults)");
}

/// <summary>
/// libtorch's CPU build uses GNU OpenMP, whose idle threads spin (GOMP_SPINCOUNT = 300,000 iterations by
/// default) before they sleep. Alone, spinning saves a wake-up per parallel region; but two kit processes
/// on the same cores (a notebook beside a training run, parallel tests) burn each other's time spinning:
/// measured 7x slower each (DESIGN §5). The kit therefore shortens the spin before libtorch loads
/// (libgomp reads its settings once, at load; .NET's Environment.SetEnvironmentVariable does not reach the
/// native environment on Linux, so this calls libc's <c>setenv</c>). <see cref="ModeVariable"/> chooses:
/// <c>passive</c> (default: sleep at once; measured on the shared 2-core machine, one busy kit process beside
/// others: 99 ms per step vs. 617 ms with the short spin and 6,776 ms with libgomp's default),
/// <c>short</c> (GOMP_SPINCOUNT=<see cref="ShortSpinCount"/>),
/// <c>active</c> (spin long), <c>libgomp</c> (leave libgomp's defaults). A user's own OMP_WAIT_POLICY or
/// GOMP_SPINCOUNT always wins. <c>pcme bench contention</c> measures the modes alone and side by side.
/// </summary>
public static class OpenMpWait
{
    /// <summary>Environment variable choosing the mode.</summary>
    public const string ModeVariable = "PCME_OMP_WAIT";
    /// <summary>The modes <see cref="ModeVariable"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Modes = ["short", "passive", "active", "libgomp"];
    /// <summary>The default mode.</summary>
    public const string DefaultMode = "passive";
    /// <summary>GOMP_SPINCOUNT in the short mode (libgomp's default is 300,000).</summary>
    public const int ShortSpinCount = 10_000;

    static OpenMpWaitSettings? applied;

    /// <summary>What is in effect (after <see cref="Apply"/>, which the runtime calls before libtorch loads).</summary>
    public static OpenMpWaitSettings Current => applied ?? Apply();

    /// <summary>Sets the native environment for libgomp once; later calls return the first result.</summary>
    public static OpenMpWaitSettings Apply()
    {
        if (applied is not null) return applied;
        string? policy = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"), spin = Environment.GetEnvironmentVariable("GOMP_SPINCOUNT");
        if (policy is not null || spin is not null) return applied = new OpenMpWaitSettings("user", policy, spin, false);
        string mode = (Environment.GetEnvironmentVariable(ModeVariable) ?? DefaultMode).Trim().ToLowerInvariant();
        if (!Modes.Contains(mode)) mode = DefaultMode;   // a typo must not stop the runtime; doctor shows the mode in use
        (string? p, string? s) = mode switch
        {
            "short" => ((string?)null, (string?)ShortSpinCount.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            "passive" => ("PASSIVE", null),
            "active" => ("ACTIVE", null),
            _ => (null, null),
        };
        bool set = false;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            if (p is not null) set |= SetNative("OMP_WAIT_POLICY", p);
            if (s is not null) set |= SetNative("GOMP_SPINCOUNT", s);
        }
        return applied = new OpenMpWaitSettings(mode, p, s, set);
    }

    static bool SetNative(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);   // child processes and managed readers see it too
        try { return setenv(name, value, 0) == 0; }
        catch (DllNotFoundException) { return false; }
        catch (EntryPointNotFoundException) { return false; }
    }

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi)]
    static extern int setenv(string name, string value, int overwrite);
}
