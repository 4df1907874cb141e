using System.Text.Json.Nodes;
using Pcme.Cli;

namespace Pcme.Tests.Cli;

/// <summary><c>pcme ablate</c> killed with SIGKILL in the middle of its second run, then run again in a new process.</summary>
[Collection("child-processes")]
public sealed class AblateProcessTests
{
    static string[] Args(string folder) =>
        ["ablate", "--methods", "pcme,soft-contrastive", "--seeds", "2", "--synthetic-images", "60", "--out", folder, "--json",
         "--set", "train.pretrain_epochs=3", "--set", "train.val_epochs=1", "--set", "model.embed_dim=8", "--set", "model.cnn_type=small-4", "--set", "train.device=cpu"];

    static JsonArray Runs(string json) => JsonNode.Parse(json)!["runs"]!.AsArray();

    [Fact]
    public void A_killed_ablate_resumes_at_its_first_unfinished_run_and_ends_as_an_uninterrupted_one()
    {
        string root = Path.Combine(Path.GetTempPath(), $"pcme-ablate-kill-{Guid.NewGuid():N}");
        string whole = Path.Combine(root, "whole"), killed = Path.Combine(root, "killed");
        try
        {
            var reference = CliProcess.Run(null, Args(whole));
            Assert.True(reference.Code == ExitCodes.Ok, reference.Err);

            var child = CliProcess.Start(null, Args(killed));
            CocoRun.WaitForCheckpoint(Path.Combine(killed, "soft-contrastive", "same_image", "seed-2"), 1, child);   // run 1 done, run 2 one epoch in
            CliProcess.Signal(child.Process, 9);
            Assert.Equal(128 + 9, CliProcess.Wait(child).Code);
            string first = Path.Combine(killed, "pcme", "same_image", "seed-2", "result.json");
            Assert.True(File.Exists(first));
            var stamp = File.GetLastWriteTimeUtc(first);

            var again = CliProcess.Run(null, Args(killed));
            Assert.True(again.Code == ExitCodes.Ok, again.Err);
            Assert.Equal(stamp, File.GetLastWriteTimeUtc(first));                 // the finished run was not retrained
            var (expected, actual) = (Runs(reference.Out), Runs(again.Out));
            Assert.Equal(2, actual.Count);
            for (int i = 0; i < 2; i++)
            {
                Assert.Equal(expected[i]!["loss"]!.ToJsonString(), actual[i]!["loss"]!.ToJsonString());       // bit for bit, also the resumed run
                Assert.Equal(expected[i]!["metrics"]!.ToJsonString(), actual[i]!["metrics"]!.ToJsonString());
            }
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, true); }
    }
}
