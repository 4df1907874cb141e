namespace Pcme.Tests.Cli;

/// <summary>Runs the built <c>pcme</c> (Pcme.Cli.dll next to the tests) as a child process: for exit codes, and for crashes that must not take the test host down.</summary>
static class CliProcess
{
    public static (int Code, string Out, string Err) Run(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Pcme.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();   // both pipes drain at once: no deadlock on a full one
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
    }
}
