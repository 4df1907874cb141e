using System.Text;
using Pcme.Cli;
using TorchSharp.PyBridge;

namespace Pcme.Tests.Cli;

/// <summary>One small trained COCO-format run that the fault cases copy and damage.</summary>
public sealed class TrainedCocoRun : IDisposable
{
    internal CocoRun Data { get; } = new(epochs: 1);
    public string Run { get; }

    public TrainedCocoRun()
    {
        Run = Data.Folder.PathOf("base");
        var r = CliProcess.Run(null, Data.Train(Run));
        if (r.Code != ExitCodes.Ok) throw new InvalidOperationException($"the base run failed ({r.Code}): {r.Err}");
    }

    public string Best => Path.Combine(Run, "checkpoints", "best");

    /// <summary>A copy of the base run folder at <paramref name="target"/>.</summary>
    public string CopyTo(string target)
    {
        foreach (var file in Directory.GetFiles(Run, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, Path.GetRelativePath(Run, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return target;
    }

    public void Dispose() => Data.Dispose();
}

/// <summary>
/// The catalogue of bad inputs and faults against the CLI (issue 13), each run in a child process: every
/// failure is exactly one line on stderr, starts with "pcme: ", names what is wrong and the fix, carries no
/// stack trace, and exits with its documented code (2 bad input, 4 diverged, 130 interrupted); nothing the
/// run folder held is lost. Cases that need a full or read-only file system mount a private tmpfs
/// (<c>unshare -m</c>, root; CI runs as root) and are not run on hosts that cannot.
/// </summary>
[Collection("child-processes")]
public sealed class FaultCatalogueTests(TrainedCocoRun trained) : IClassFixture<TrainedCocoRun>
{
    sealed record Case(string Name, Func<TrainedCocoRun, string, (int Code, string Out, string Err)?> Act, int Code, string[] Words, Action<TrainedCocoRun, string>? After = null);

    static (int, string, string)? Cli(params string[] args) => CliProcess.Run(null, args);

    static readonly Case[] Cases =
    [
        new("a folder that holds a run, without --resume", (t, d) => Cli(t.Data.Train(t.CopyTo(Path.Combine(d, "run")))),
            ExitCodes.BadInput, ["already holds a run", "--resume", "nothing was changed"],
            (t, d) => Assert.Equal(File.ReadAllBytes(Path.Combine(t.Run, "metrics.jsonl")), File.ReadAllBytes(Path.Combine(d, "run", "metrics.jsonl")))),
        new("--resume where there is nothing to resume", (t, d) => Cli(t.Data.Train(Path.Combine(d, "new"), "--resume")),
            ExitCodes.BadInput, ["Nothing to resume", "Drop --resume"], (_, d) => Assert.False(Directory.Exists(Path.Combine(d, "new")))),
        new("--out is a file", (t, d) => { File.WriteAllText(Path.Combine(d, "file"), "x"); return Cli(t.Data.Train(Path.Combine(d, "file"))); },
            ExitCodes.BadInput, ["is a file", "--out"]),
        new("a read-only --out", (t, d) => CliProcess.RunWithTmpfs(Path.Combine(d, "ro"), 64, readOnly: true, t.Data.Train(Path.Combine(d, "ro", "run"))),
            ExitCodes.BadInput, ["read-only", "run"]),
        new("a disk that fills while a checkpoint is written", (t, d) => CliProcess.RunWithTmpfs(Path.Combine(d, "full"), 24, readOnly: false,
                t.Data.Train(Path.Combine(d, "full", "run")), after: $"echo LEFT: $(ls -A '{Path.Combine(d, "full", "run", "checkpoints")}' 2>/dev/null)"),
            ExitCodes.BadInput, ["disk is full", "--resume"],
            (_, d) => { }),
        new("an embed target that is a folder", (t, d) => Cli(t.Data.Embed(t.Best, d)), ExitCodes.BadInput, ["is a folder", "file path"]),
        new("an unwritable embed target", (t, d) => CliProcess.RunWithTmpfs(Path.Combine(d, "ro"), 64, readOnly: true, t.Data.Embed(t.Best, Path.Combine(d, "ro", "e.safetensors"))),
            ExitCodes.BadInput, ["read-only", "e.safetensors"]),
        new("an unknown option", (t, d) => Cli("train", "--bogus", "1"), ExitCodes.BadInput, ["--bogus", "--help"]),
        new("a missing required option", (t, d) => Cli("embed", "--checkpoint", t.Best), ExitCodes.BadInput, ["--out", "required"]),
        new("an image over the pixel-count limit", (t, d) => CliProcess.Run(new Dictionary<string, string> { [Pcme.Data.ImageDecoder.MaxPixelsVariable] = "1000" }, t.Data.Train(Path.Combine(d, "run"))),
            ExitCodes.BadInput, ["images/", "48 x 40 = 1,920 pixels, over the limit of 1,000", Pcme.Data.ImageDecoder.MaxPixelsVariable]),
        new("a checkpoint whose weights are NaN", (t, d) =>
            {
                string cp = Path.Combine(t.CopyTo(Path.Combine(d, "run")), "checkpoints", "best");
                FillTensorBytes(Path.Combine(cp, "model.safetensors"), 0xFF);   // 0xFFFFFFFF is a float32 NaN
                return Cli(t.Data.Embed(cp, Path.Combine(d, "e.safetensors")));
            }, ExitCodes.BadInput, ["is damaged", "NaN", "model.safetensors"]),
        new("an empty data set", (t, d) =>
            {
                File.WriteAllText(Path.Combine(d, "empty.json"), """{"images": [], "annotations": []}""");
                var args = t.Data.Embed(t.Best, Path.Combine(d, "e.safetensors"));
                args[Array.IndexOf(args, "--captions") + 1] = Path.Combine(d, "empty.json");
                return Cli(args);
            }, ExitCodes.BadInput, ["empty", "0 images"]),
        new("--protocol coco-1k on a set too small for it", (t, d) =>
                Cli(["eval", .. t.Data.Embed(t.Best, "x").Where(a => a is not ("embed" or "--out" or "x")), "--protocol", "coco-1k"]),
            ExitCodes.BadInput, ["coco-1k needs", "5000", "has 16", "--protocol whole"]),
        new("captions that are not valid UTF-8", (t, d) =>
            {
                var bytes = File.ReadAllBytes(t.Data.Captions);
                int at = Encoding.ASCII.GetString(bytes).IndexOf("picture", StringComparison.Ordinal);
                bytes[at + 3] = 0xC3; bytes[at + 4] = 0x28;   // a lead byte followed by no continuation byte
                File.WriteAllBytes(Path.Combine(d, "bad.json"), bytes);
                var args = t.Data.Train(Path.Combine(d, "run"));
                args[Array.IndexOf(args, "--captions") + 1] = Path.Combine(d, "bad.json");
                return Cli(args);
            }, ExitCodes.BadInput, ["bad.json", "not valid UTF-8 at line 1", "0xC3"]),
        new("an empty config file", (t, d) =>
            {
                File.WriteAllText(Path.Combine(d, "empty.yaml"), "# nothing here\n");
                var args = t.Data.Train(Path.Combine(d, "run"));
                args[Array.IndexOf(args, "--config") + 1] = Path.Combine(d, "empty.yaml");
                return Cli(args);
            }, ExitCodes.BadInput, ["empty.yaml", "is empty"]),
        new("a learning rate of 1e8 (divergence that stays finite or turns NaN)", (t, d) =>
                Cli(t.Data.Train(t.CopyTo(Path.Combine(d, "run")), "--resume", "--set", "train.pretrain_epochs=4", "--set", "optimizer.learning_rate=1e8")),
            ExitCodes.TrainingDiverged, ["diverged", "last good checkpoint", "learning_rate"],
            (t, d) =>
            {
                // best keeps the model with the better validation score; metrics only hold checkpointed epochs.
                Assert.Equal(File.ReadAllBytes(Path.Combine(t.Best, "model.safetensors")), File.ReadAllBytes(Path.Combine(d, "run", "checkpoints", "best", "model.safetensors")));
                int checkpointed = Pcme.Training.Checkpoint.ReadState(Path.Combine(d, "run", "checkpoints", "last")).NextEpoch;
                Assert.Equal(checkpointed, File.ReadAllLines(Path.Combine(d, "run", "metrics.jsonl")).Length);
            }),
        new("a checkpoint save cut between its two renames, with a dead writer's temporaries", (t, d) =>
            {
                string run = t.CopyTo(Path.Combine(d, "run")), cp = Path.Combine(run, "checkpoints");
                Directory.Move(Path.Combine(cp, "last"), Path.Combine(cp, "last.old-999999"));
                File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(cp, "last.tmp-999999")).FullName, "model.safetensors"), "half");
                File.WriteAllText(Path.Combine(run, ".metrics.jsonl.tmp-999999"), "half");
                return Cli(t.Data.Train(run, "--resume", "--set", "train.pretrain_epochs=2"));
            }, ExitCodes.Ok, [],
            (t, d) =>
            {
                string run = Path.Combine(d, "run");
                var metrics = CocoRun.MetricsWithoutTime(run);
                Assert.Equal(2, metrics.Length);   // epoch 1 kept from the recovered checkpoint, epoch 2 added
                Assert.Equal(CocoRun.MetricsWithoutTime(t.Run)[0], metrics[0]);
                Assert.DoesNotContain(Directory.GetFileSystemEntries(Path.Combine(run, "checkpoints")), e => e.Contains(".old-") || e.Contains(".tmp-"));
                Assert.Empty(Directory.GetFiles(run, ".*.tmp-*"));
                Assert.False(File.Exists(Path.Combine(run, Pcme.Training.RunFolder.LockFileName)));
            }),
        new("a lock file left by a killed run", (t, d) =>
            {
                string run = t.CopyTo(Path.Combine(d, "run"));
                using var dead = System.Diagnostics.Process.Start("true")!;
                dead.WaitForExit();
                File.WriteAllText(Path.Combine(run, Pcme.Training.RunFolder.LockFileName), $"pid={dead.Id}\nstarted=2026-01-01T00:00:00Z\ncommand=pcme train\n");
                return Cli(t.Data.Train(run, "--resume", "--set", "train.pretrain_epochs=2"));
            }, ExitCodes.Ok, [], (_, d) => Assert.Equal(2, File.ReadAllLines(Path.Combine(d, "run", "metrics.jsonl")).Length)),
    ];

    public static TheoryData<string> Names => new(Cases.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_fault_is_one_line_naming_the_input_with_its_exit_code(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        string dir = Directory.CreateDirectory(trained.Data.Folder.PathOf("case-" + Array.IndexOf(Cases, c))).FullName;
        var result = c.Act(trained, dir);
        if (result is null) return;   // needs a private tmpfs: root with unshare (CI runs as root)
        var (code, stdout, stderr) = result.Value;
        Assert.True(code == c.Code, $"{name}: exit {code} (expected {c.Code}); stderr: {stderr}");
        Assert.DoesNotContain("   at ", stdout + stderr);
        if (c.Code != ExitCodes.Ok)
        {
            var lines = CocoRun.Lines(stderr);
            Assert.True(lines.Length == 1, $"{name}: {lines.Length} lines on stderr:\n{stderr}");
            Assert.StartsWith("pcme: ", lines[0]);
            foreach (var w in c.Words) Assert.True(lines[0].Contains(w, StringComparison.Ordinal), $"{name}: '{w}' missing in: {lines[0]}");
        }
        if (name.StartsWith("a disk that fills", StringComparison.Ordinal))
        {
            // Inside the namespace, after the failure: no half-written checkpoint folder is left behind.
            string left = stdout.Split('\n').Single(l => l.StartsWith("LEFT:", StringComparison.Ordinal));
            Assert.DoesNotContain(".tmp-", left);
        }
        c.After?.Invoke(trained, dir);
    }

    [Fact]
    public void Embedding_over_a_larger_existing_file_leaves_a_complete_file_and_no_trailing_bytes()
    {
        string dir = Directory.CreateDirectory(trained.Data.Folder.PathOf("embed-over")).FullName;
        string target = Path.Combine(dir, "e.safetensors"), fresh = Path.Combine(dir, "fresh.safetensors");
        File.WriteAllBytes(target, Enumerable.Repeat((byte)0xAB, 1 << 20).ToArray());
        Assert.Equal(ExitCodes.Ok, CliProcess.Run(null, trained.Data.Embed(trained.Best, target)).Code);
        Assert.Equal(ExitCodes.Ok, CliProcess.Run(null, trained.Data.Embed(trained.Best, fresh)).Code);
        Assert.Equal(File.ReadAllBytes(fresh), File.ReadAllBytes(target));
        var tensors = Safetensors.LoadStateDict(target);
        Assert.Equal(["caption_h", "caption_mu", "image_h", "image_mu"], tensors.Keys.Order());
        Assert.Equal(["e.safetensors", "e.safetensors.json", "fresh.safetensors", "fresh.safetensors.json"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_real_image_run_killed_after_epoch_1_and_resumed_in_a_new_process_matches_an_uninterrupted_one_bit_for_bit()
    {
        using var data = new CocoRun(epochs: 3);
        string whole = data.Folder.PathOf("whole"), killed = data.Folder.PathOf("killed");
        Assert.Equal(ExitCodes.Ok, CliProcess.Run(null, data.Train(whole)).Code);

        var child = CliProcess.Start(null, data.Train(killed));
        CocoRun.WaitForCheckpoint(killed, 1, child);
        CliProcess.Signal(child.Process, 9);   // SIGKILL: no clean-up runs
        var (killedCode, _, _) = CliProcess.Wait(child);
        Assert.Equal(128 + 9, killedCode);
        Assert.True(File.Exists(Path.Combine(killed, Pcme.Training.RunFolder.LockFileName)), "the dead run's lock stays behind (stale)");

        var resumed = CliProcess.Run(null, data.Train(killed, "--resume"));
        Assert.True(resumed.Code == ExitCodes.Ok, resumed.Err);
        var (expected, actual) = (CocoRun.MetricsWithoutTime(whole), CocoRun.MetricsWithoutTime(killed));
        for (int i = 0; i < Math.Min(expected.Length, actual.Length); i++) Assert.True(expected[i] == actual[i], $"epoch {i}:\n{expected[i]}\n{actual[i]}");
        Assert.Equal(expected, actual);
        Assert.Equal(3, CocoRun.MetricsWithoutTime(killed).Length);
        foreach (var file in new[] { "last/model.safetensors", "last/criterion.safetensors", "best/model.safetensors" })
            Assert.True(File.ReadAllBytes(Path.Combine(whole, "checkpoints", file)).SequenceEqual(File.ReadAllBytes(Path.Combine(killed, "checkpoints", file))), $"{file} differs");
    }

    [Fact]
    public void A_second_writer_is_refused_naming_the_owner_and_ctrl_c_ends_with_one_line_and_exit_130()
    {
        using var data = new CocoRun(epochs: 40);
        string run = data.Folder.PathOf("run");
        var first = CliProcess.Start(null, data.Train(run));
        CocoRun.WaitForCheckpoint(run, 1, first);

        var second = CliProcess.Run(null, data.Train(run, "--resume"));
        Assert.Equal(ExitCodes.BadInput, second.Code);
        var line = Assert.Single(CocoRun.Lines(second.Err));
        Assert.Contains($"in use by process {first.Process.Id}", line);

        CliProcess.Signal(first.Process, 2);   // SIGINT, as Ctrl-C sends
        var (code, stdout, stderr) = CliProcess.Wait(first);
        Assert.True(code == ExitCodes.Interrupted, $"exit {code}: {stderr}");
        var interrupted = Assert.Single(CocoRun.Lines(stderr));
        var m = System.Text.RegularExpressions.Regex.Match(interrupted, @"^pcme: interrupted after epoch (\d+); continue with --resume");
        Assert.True(m.Success, interrupted);
        int epochs = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(epochs, Pcme.Training.Checkpoint.ReadState(Path.Combine(run, "checkpoints", "last")).NextEpoch);
        Assert.Equal(epochs, File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length);
        Assert.False(File.Exists(Path.Combine(run, Pcme.Training.RunFolder.LockFileName)), "the lock is released");
        Assert.DoesNotContain("\u001b[?25l", stdout);   // redirected output: the cursor is never hidden
    }

    /// <summary>Overwrites every tensor byte of a .safetensors file (after its JSON header).</summary>
    static void FillTensorBytes(string path, byte value)
    {
        var bytes = File.ReadAllBytes(path);
        long header = BitConverter.ToInt64(bytes, 0);
        for (long i = 8 + header; i < bytes.Length; i++) bytes[i] = value;
        File.WriteAllBytes(path, bytes);
    }
}

/// <summary>Tests that train in child processes run alone: two kit processes on the same cores slow each other down.</summary>
[CollectionDefinition("child-processes", DisableParallelization = true)]
public sealed class ChildProcessCollection;
