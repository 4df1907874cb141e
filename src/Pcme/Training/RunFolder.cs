using System.Diagnostics;
using System.Globalization;
using Pcme.Runtime;

namespace Pcme.Training;

/// <summary>Thrown when a run folder cannot be used as asked (it holds another run, is in use, or has nothing to resume); the message says what to do.</summary>
public sealed class RunFolderException(string message) : Exception(message);

/// <summary>
/// A run folder owned by one writer. <see cref="Acquire"/> creates it, takes its lock file
/// (<c>train.lock</c>, holding the owner's pid, start time and command line) and repairs what a killed
/// run can leave behind: a checkpoint swap cut between its two renames (<c>last.old-PID</c> without
/// <c>last</c>) is restored, and half-written <c>*.tmp-PID</c> folders and files of dead writers are
/// removed (a disk-full save used to leave them, and every later resume failed). A lock whose process
/// is gone is stale and is taken over; a live one refuses the second writer, which is how an orphaned
/// trainer (its <c>dotnet run</c> parent killed) becomes visible.
/// </summary>
public sealed class RunFolder : IDisposable
{
    /// <summary>The lock file's name inside the run folder.</summary>
    public const string LockFileName = "train.lock";

    static readonly HashSet<string> HeldInThisProcess = new(StringComparer.Ordinal);

    /// <summary>The run folder (full path).</summary>
    public string Directory { get; }
    /// <summary>checkpoints/last.</summary>
    public string LastCheckpoint => Path.Combine(Directory, "checkpoints", "last");
    /// <summary>checkpoints/best.</summary>
    public string BestCheckpoint => Path.Combine(Directory, "checkpoints", "best");
    /// <summary>metrics.jsonl.</summary>
    public string MetricsPath => Path.Combine(Directory, "metrics.jsonl");
    /// <summary>What <see cref="Acquire"/> repaired, one sentence each (empty when the folder was clean).</summary>
    public IReadOnlyList<string> Repairs { get; }

    string LockPath => Path.Combine(Directory, LockFileName);
    bool disposed;

    RunFolder(string directory, IReadOnlyList<string> repairs) { Directory = directory; Repairs = repairs; }

    /// <summary>
    /// Checks, without touching anything, that <paramref name="directory"/> may be trained into: a folder
    /// that already holds a run is refused unless <paramref name="resume"/>; <paramref name="resume"/> where
    /// no checkpoint exists is refused instead of silently starting fresh; a folder in use by a live run is refused.
    /// </summary>
    public static void CheckOwnership(string directory, bool resume)
    {
        string full = Path.GetFullPath(directory);
        if (File.Exists(full))
            throw new FileSystemException($"--out '{full}' is a file, not a folder; choose a new folder for the run (or a run folder with --resume).");
        RefuseIfLocked(full);
        bool holds = HoldsRun(full);
        if (!resume && holds)
            throw new RunFolderException($"'{full}' already holds a run ({Describe(full)}). Continue it with --resume, or choose a new --out; nothing was changed.");
        if (resume && !HasCheckpoint(full))
            throw new RunFolderException(holds
                ? $"Nothing to resume in '{full}': it holds a run but no checkpoint (checkpoints/last); the run died before its first epoch ended. Remove the folder or choose a new --out, without --resume."
                : $"Nothing to resume in '{full}' (no checkpoints/last). Drop --resume to start a new run there.");
    }

    /// <summary>True when the folder has any trace of a run (checkpoints, metrics, config, lock).</summary>
    public static bool HoldsRun(string directory)
    {
        if (!System.IO.Directory.Exists(directory)) return false;
        string cp = Path.Combine(directory, "checkpoints");
        return (System.IO.Directory.Exists(cp) && System.IO.Directory.EnumerateFileSystemEntries(cp).Any())
               || File.Exists(Path.Combine(directory, "metrics.jsonl")) || File.Exists(Path.Combine(directory, "config.json"));
    }

    /// <summary>True when checkpoints/last exists or can be recovered from an interrupted swap.</summary>
    public static bool HasCheckpoint(string directory)
    {
        string cp = Path.Combine(directory, "checkpoints");
        if (!System.IO.Directory.Exists(cp)) return false;
        return File.Exists(Path.Combine(cp, "last", "state.json"))
               || System.IO.Directory.EnumerateDirectories(cp, "last.old-*").Any(d => File.Exists(Path.Combine(d, "state.json")));
    }

    /// <summary>Creates the folder if needed, takes its lock and repairs what a killed run left behind. Dispose to release the lock.</summary>
    public static RunFolder Acquire(string directory)
    {
        string full = Path.GetFullPath(directory);
        AtomicFile.CreateFolder(full, "the run folder");
        TakeLock(full);
        try { return new RunFolder(full, Repair(full)); }
        catch { ReleaseLock(full); throw; }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        ReleaseLock(Directory);
    }

    static void TakeLock(string dir)
    {
        string path = Path.Combine(dir, LockFileName);
        var me = Process.GetCurrentProcess();
        string content = $"pid={Environment.ProcessId}\nstarted={me.StartTime.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)}\n" +
                         $"command={string.Join(' ', Environment.GetCommandLineArgs())}\n";
        for (int attempt = 0; attempt < 3; attempt++)
        {
            lock (HeldInThisProcess)
            {
                if (HeldInThisProcess.Contains(dir))
                    throw new RunFolderException($"'{dir}' is already being trained into by this process; wait for that run to finish.");
                try
                {
                    // CreateNew is atomic: of two writers starting at once exactly one gets the file.
                    using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
                    using (var writer = new StreamWriter(stream)) writer.Write(content);
                    HeldInThisProcess.Add(dir);
                    return;
                }
                catch (IOException) when (File.Exists(path)) { }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new FileSystemException($"Cannot write the lock file '{path}': {AtomicFile.Describe(e)}", e);
                }
            }
            RefuseIfLocked(dir);
            // The owner is dead: the lock is stale (a killed run). Take it over.
            try { File.Delete(path); } catch (IOException) { }
        }
        throw new RunFolderException($"Could not take the lock '{path}' (another process keeps recreating it); make sure only one run writes to '{dir}'.");
    }

    static void RefuseIfLocked(string dir)
    {
        string path = Path.Combine(dir, LockFileName);
        if (!File.Exists(path)) return;
        var owner = ReadOwner(path);
        if (owner is null || !IsAlive(owner.Value.Pid, owner.Value.Started)) return;
        if (owner.Value.Pid == Environment.ProcessId && !HeldInThisProcess.Contains(dir)) return;
        throw new RunFolderException($"'{dir}' is in use by process {owner.Value.Pid} (started {owner.Value.Started:yyyy-MM-dd HH:mm:ss} UTC: {owner.Value.Command}); " +
            $"two writers would interleave their epochs. Wait for it to finish or stop it (kill {owner.Value.Pid}) — if you killed a `dotnet run` parent, this trainer is its orphan.");
    }

    static (int Pid, DateTime Started, string Command)? ReadOwner(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); } catch (IOException) { return null; }
        string? Value(string key) => lines.FirstOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal))?[(key.Length + 1)..];
        if (!int.TryParse(Value("pid"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid)) return null;
        DateTime.TryParse(Value("started"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var started);
        return (pid, started, Value("command") ?? "?");
    }

    /// <summary>The process exists and is the one that wrote the lock (a recycled pid has another start time).</summary>
    static bool IsAlive(int pid, DateTime started)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            if (p.HasExited) return false;
            return started == default || Math.Abs((p.StartTime.ToUniversalTime() - started).TotalSeconds) < 2;
        }
        catch (ArgumentException) { return false; }            // no such process
        catch (InvalidOperationException) { return false; }
        catch (System.ComponentModel.Win32Exception) { return true; } // exists, not ours to inspect
    }

    static void ReleaseLock(string dir)
    {
        lock (HeldInThisProcess)
        {
            if (!HeldInThisProcess.Remove(dir)) return;
            string path = Path.Combine(dir, LockFileName);
            var owner = ReadOwner(path);
            try { if (owner?.Pid == Environment.ProcessId) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Runs under the lock, so every temporary or half-swapped entry found belongs to a dead writer.</summary>
    static List<string> Repair(string dir)
    {
        var repairs = new List<string>();
        string cp = Path.Combine(dir, "checkpoints");
        if (System.IO.Directory.Exists(cp))
        {
            foreach (var name in new[] { "last", "best" })
            {
                string target = Path.Combine(cp, name);
                var olds = System.IO.Directory.GetDirectories(cp, name + ".old-*").Where(d => File.Exists(Path.Combine(d, "state.json")))
                    .OrderByDescending(NextEpochOf).ToList();
                if (!System.IO.Directory.Exists(target) && olds.Count > 0)
                {
                    System.IO.Directory.Move(olds[0], target);
                    repairs.Add($"restored checkpoints/{name} from {Path.GetFileName(olds[0])} (a save was cut between its two renames)");
                    olds.RemoveAt(0);
                }
                foreach (var stale in olds.Concat(System.IO.Directory.GetDirectories(cp, name + ".old-*")).Concat(System.IO.Directory.GetDirectories(cp, name + ".tmp-*")).Distinct())
                {
                    if (!System.IO.Directory.Exists(stale)) continue;
                    System.IO.Directory.Delete(stale, recursive: true);
                    repairs.Add($"removed checkpoints/{Path.GetFileName(stale)} left by a dead run");
                }
            }
        }
        foreach (var tmp in System.IO.Directory.GetFiles(dir, ".*.tmp-*"))
        {
            File.Delete(tmp);
            repairs.Add($"removed {Path.GetFileName(tmp)} left by a dead run");
        }
        return repairs;
    }

    static int NextEpochOf(string checkpoint)
    {
        try { return Checkpoint.ReadState(checkpoint).NextEpoch; } catch (ConfigException) { return -1; }
    }

    static string Describe(string dir)
    {
        string last = Path.Combine(dir, "checkpoints", "last");
        if (File.Exists(Path.Combine(last, "state.json")))
        {
            try { return $"checkpoints/last after epoch {Checkpoint.ReadState(last).NextEpoch}"; } catch (ConfigException) { }
        }
        return "metrics.jsonl, config.json or checkpoints/";
    }
}
