using System.Text;

namespace Pcme.Runtime;

/// <summary>Thrown when the file system refuses a write or a folder the kit needs; the message names the path and the fix.</summary>
public sealed class FileSystemException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Every file the kit writes goes through here: the content is written to a temporary file beside the
/// target and renamed over it, so a crash, a full disk or a smaller new file never leaves a half-written
/// or over-long file (rename is atomic on one file system). File-system failures become one
/// <see cref="FileSystemException"/> naming the path.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes UTF-8 text (no BOM) atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, tmp => File.WriteAllText(tmp, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)));

    /// <summary>Writes lines (each followed by '\n') atomically.</summary>
    public static void WriteAllLines(string path, IEnumerable<string> lines) =>
        WriteAllText(path, string.Concat(lines.Select(l => l + "\n")));

    /// <summary>Writes bytes atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, tmp => File.WriteAllBytes(tmp, bytes));

    /// <summary>
    /// Calls <paramref name="write"/> with a temporary path beside <paramref name="path"/> and renames the
    /// result over it; the temporary file is removed when anything fails.
    /// </summary>
    public static void Write(string path, Action<string> write) => WriteOrProbe(path, write);

    /// <summary>With <paramref name="write"/> null, only creates and removes the temporary file.</summary>
    static void WriteOrProbe(string path, Action<string>? write)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new FileSystemException($"'{full}' is a folder; give a file path to write to (e.g. {Path.Combine(full, "out" + Path.GetExtension(full))}).");
        string dir = Path.GetDirectoryName(full)!;
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}");
        try
        {
            CreateFolder(dir, "the folder of " + full);
            if (write is null) { File.WriteAllBytes(tmp, []); File.Delete(tmp); return; }
            write(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(tmp);
            throw new FileSystemException($"Cannot write '{full}': {Describe(e)}", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>
    /// Fails early, with the same one-line errors as <see cref="Write"/>, when <paramref name="path"/> cannot be
    /// written (a folder, a read-only or full location): probes by creating and removing a temporary file beside it.
    /// </summary>
    public static void RequireWritable(string path) => WriteOrProbe(path, null);

    /// <summary>Creates a folder (and its parents); a file in the way, a read-only or full file system is one clear error.</summary>
    public static void CreateFolder(string path, string what)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full))
            throw new FileSystemException($"'{full}' ({what}) is a file, not a folder; choose another path or move the file away.");
        try { Directory.CreateDirectory(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FileSystemException($"Cannot create '{full}' ({what}): {Describe(e)}", e);
        }
    }

    /// <summary>Why a file-system call failed, with the fix, in words (no exception type names).</summary>
    public static string Describe(Exception e)
    {
        const int ENOSPC = 28, EROFS = 30, EDQUOT = 122;
        int errno = e.HResult & 0xFFFF;
        string msg = e.Message.TrimEnd('.');
        if (e is UnauthorizedAccessException || msg.Contains("Permission denied", StringComparison.OrdinalIgnoreCase))
            return "permission denied (read-only or not yours); choose a writable location.";
        if (errno == EROFS || msg.Contains("Read-only file system", StringComparison.OrdinalIgnoreCase))
            return "the file system is read-only; choose a writable location.";
        if (errno == ENOSPC || errno == EDQUOT || msg.Contains("No space left", StringComparison.OrdinalIgnoreCase) || msg.Contains("quota", StringComparison.OrdinalIgnoreCase))
            return "the disk is full (no space left on device); free space or choose another location.";
        return msg + ".";
    }

    static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
