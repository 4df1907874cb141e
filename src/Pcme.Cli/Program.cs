using System.CommandLine;
using Pcme.Cli.Commands;
using Pcme.Runtime;

namespace Pcme.Cli;

/// <summary>Entry point of the <c>pcme</c> command.</summary>
public static class Program
{
    /// <summary>Builds the command tree (also used by tests).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("pcme — probabilistic cross-modal embeddings (PCME, PCME++) on TorchSharp.");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(AblateCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(IndexCommand.Create());
        root.Subcommands.Add(SearchCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        return root;
    }

    /// <summary>Runs the command line; returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        try
        {
            // Exceptions reach the handlers below: one clear line, no stack trace.
            var parse = BuildRoot().Parse(args);
            // An unknown or missing option is bad input like any other (System.CommandLine's own code is 1).
            if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
            {
                Console.Error.WriteLine($"pcme: {string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')))}. See `pcme{(parse.CommandResult.Command is RootCommand ? "" : " " + parse.CommandResult.Command.Name)} --help`.");
                return ExitCodes.BadInput;
            }
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (TorchRuntimeException e)
        {
            Console.Error.WriteLine("pcme: " + e.Message);
            return ExitCodes.RuntimeUnavailable;
        }
        catch (Exception e) when (e is UserInputException or Pcme.Data.DataException or Pcme.Training.ConfigException or Pcme.Modules.WeightFileException
                                       or Pcme.Training.RunFolderException or FileSystemException)
        {
            Console.Error.WriteLine("pcme: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (Pcme.Training.NonFiniteLossException e)
        {
            Console.Error.WriteLine("pcme: " + e.Message);
            return ExitCodes.TrainingDiverged;
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            // libtorch errors carry a C++ backtrace after their first line; a user gets the first line only.
            string first = e.Message.Split('\n', 2)[0].Trim();
            Console.Error.WriteLine($"pcme: libtorch failed: {first} (this is a bug or an unsupported input: please report it with the command line)");
            return ExitCodes.InternalError;
        }
        catch (Pcme.Training.TrainingInterruptedException e)
        {
            Console.Error.WriteLine("pcme: " + e.Message);
            return ExitCodes.Interrupted;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A write the kit did not wrap itself (read-only, full or vanished file system): still one line.
            Console.Error.WriteLine($"pcme: {e.Message.TrimEnd('.')}: {AtomicFile.Describe(e)}");
            return ExitCodes.BadInput;
        }
    }
}

/// <summary>Process exit codes of <c>pcme</c>.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>Bad input: a path, option, config key or file the user gave.</summary>
    public const int BadInput = 2;
    /// <summary>The native runtime (libtorch) cannot work on this machine.</summary>
    public const int RuntimeUnavailable = 3;
    /// <summary>Training stopped on a NaN or infinite loss (the last good checkpoint is kept).</summary>
    public const int TrainingDiverged = 4;
    /// <summary>An internal failure (e.g. inside libtorch) that no check caught; reported in one line.</summary>
    public const int InternalError = 70;
    /// <summary>Interrupted (Ctrl-C / SIGINT) after the last checkpoint; continue with --resume (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}

/// <summary>A user mistake; the message names the input and the fix.</summary>
public sealed class UserInputException(string message) : Exception(message);
