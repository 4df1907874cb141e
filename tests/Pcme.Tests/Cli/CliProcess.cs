namespace Pcme.Tests.Cli;

/// <summary>Runs the built <c>pcme</c> (Pcme.Cli.dll next to the tests) as a child process: for exit codes, and for crashes that must not take the test host down.</summary>
static class CliProcess
{
    public static (int Code, string Out, string Err) Run(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Wait(Start(environment, args));

    /// <summary>
    /// Like <see cref="Run"/>, but inside a private mount namespace (<c>unshare -m</c>, root only) where a
    /// tmpfs of <paramref name="kilobytes"/> KB is mounted on <paramref name="mountPoint"/>, read-only when asked:
    /// a full or read-only file system without touching the host's. Null when this host cannot (not root, no unshare).
    /// </summary>
    /// <param name="after">A shell command run inside the namespace after pcme exits (its stdout follows pcme's); the exit code stays pcme's.</param>
    public static (int Code, string Out, string Err)? RunWithTmpfs(string mountPoint, int kilobytes, bool readOnly, string[] args, string after = "true")
    {
        if (!CanMount) return null;
        Directory.CreateDirectory(mountPoint);
        string script = $"mount -t tmpfs -o size={kilobytes}k{(readOnly ? ",ro" : "")} tmpfs '{mountPoint}' || exit 99; dotnet \"$@\"; code=$?; {after}; exit $code";
        return Wait(StartProcess("unshare", ["-m", "sh", "-c", script, "sh", Path.Combine(AppContext.BaseDirectory, "Pcme.Cli.dll"), .. args], null));
    }

    /// <summary>Root with unshare: the file-system fault cases can mount their own tmpfs.</summary>
    public static bool CanMount { get; } = OperatingSystem.IsLinux() && Environment.UserName == "root" && File.Exists("/usr/bin/unshare");

    /// <summary>Starts the CLI; stdout and stderr are drained in the background (read them with <see cref="Wait"/>).</summary>
    public static RunningCli Start(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        StartProcess("dotnet", [Path.Combine(AppContext.BaseDirectory, "Pcme.Cli.dll"), .. args], environment);

    static RunningCli StartProcess(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = System.Diagnostics.Process.Start(psi)!;
        // Both pipes drain at once: no deadlock on a full one.
        return new RunningCli(p, p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync());
    }

    public static (int Code, string Out, string Err) Wait(RunningCli cli)
    {
        using var p = cli.Process;
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(); throw new TimeoutException("pcme child did not finish in 5 minutes"); }
        p.WaitForExit();
        return (p.ExitCode, cli.Out.Result, cli.Err.Result);
    }

    /// <summary>Sends a POSIX signal (SIGINT = 2, SIGKILL = 9) to a child.</summary>
    public static void Signal(System.Diagnostics.Process p, int signal)
    {
        if (kill(p.Id, signal) != 0) throw new InvalidOperationException($"kill({p.Id}, {signal}) failed");
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);
}

/// <summary>A started CLI child and its output, read to the end in the background.</summary>
sealed record RunningCli(System.Diagnostics.Process Process, Task<string> Out, Task<string> Err)
{
}
