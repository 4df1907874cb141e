using System.Text.Json;

namespace Pcme.Data;

/// <summary>Options shared by the file-backed loaders.</summary>
public sealed record DatasetLoadOptions
{
    /// <summary>
    /// Check at listing time that every image file exists and skip (and record in
    /// <see cref="ICrossModalDataset.Skipped"/>) those that do not, together with their captions.
    /// Default true. When false the listing trusts the paths (faster for features computed
    /// elsewhere) and <see cref="ICrossModalDataset.LoadImage"/> reports a missing file.
    /// </summary>
    public bool SkipMissingImageFiles { get; init; } = true;
}

/// <summary>
/// Reads the loaders' input files and turns every I/O and JSON failure into a
/// <see cref="DataException"/> that names the file (and for JSON, the line and position), so no
/// loader fails with a bare FileNotFoundException or a JsonException deep inside a parse.
/// </summary>
static class DataFiles
{
    static readonly JsonSerializerOptions Json = new() { AllowTrailingCommas = false };

    /// <summary>Deserializes <paramref name="path"/> as <typeparamref name="T"/> (streamed: annotation files run to hundreds of MB).</summary>
    /// <param name="path">The file.</param>
    /// <param name="layout">What the file should be, for messages ("a COCO captions file (captions_train2014.json)").</param>
    public static T ReadJson<T>(string path, string layout) where T : class
    {
        try
        {
            RequireUtf8(path, layout);
            using var stream = OpenRead(path, layout);
            return JsonSerializer.Deserialize<T>(stream, Json)
                ?? throw new DataException($"'{path}' contains JSON null, not {layout}. Check that this is the right file.");
        }
        catch (JsonException e)
        {
            throw new DataException($"'{path}' cannot be read as {layout}: {Describe(e)}. Check that it is the right file and not truncated (re-download it if in doubt).", e);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new DataException($"'{path}' cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Parses <paramref name="path"/> as a JSON document (for layouts with free-form keys).</summary>
    public static JsonDocument ReadJsonDocument(string path, string layout)
    {
        try
        {
            RequireUtf8(path, layout);
            using var stream = OpenRead(path, layout);
            return JsonDocument.Parse(stream);
        }
        catch (JsonException e)
        {
            throw new DataException($"'{path}' cannot be read as {layout}: {Describe(e)}. Check that it is the right file and not truncated (re-download it if in doubt).", e);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new DataException($"'{path}' cannot be read: {e.Message}", e);
        }
    }

    /// <summary>All lines of a text file.</summary>
    public static string[] ReadLines(string path, string layout)
    {
        RequireUtf8(path, layout);
        try { return File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"'{path}' ({layout}) cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Throws a <see cref="DataException"/> unless <paramref name="path"/> is an existing file.</summary>
    public static void RequireFile(string path, string layout)
    {
        if (File.Exists(path)) return;
        throw new DataException(Directory.Exists(path)
            ? $"'{path}' is a folder; expected {layout}."
            : $"'{path}' does not exist; expected {layout}. Check the path (see data/README.md for where to get the files).");
    }

    /// <summary>Throws a <see cref="DataException"/> unless <paramref name="path"/> is an existing folder.</summary>
    public static void RequireFolder(string path, string what)
    {
        if (Directory.Exists(path)) return;
        throw new DataException($"The folder '{path}' ({what}) does not exist. Check the path (see data/README.md for where to get the files).");
    }

    /// <summary>
    /// Throws a <see cref="DataException"/> naming the line when the file is not valid UTF-8: decoders would
    /// otherwise turn the bad bytes into U+FFFD (text files) or fail deep inside a caption read (JSON), and a
    /// caption would silently change. One streamed pass; files run to hundreds of MB.
    /// </summary>
    public static void RequireUtf8(string path, string layout)
    {
        using var stream = OpenRead(path, layout);
        var decoder = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetDecoder();
        var bytes = new byte[1 << 16];
        var chars = new char[bytes.Length + 4];
        long line = 1;
        int read;
        try
        {
            while ((read = stream.Read(bytes, 0, bytes.Length)) > 0)
            {
                try { decoder.GetChars(bytes, 0, read, chars, 0, flush: false); }
                catch (System.Text.DecoderFallbackException e)
                {
                    int at = Math.Clamp(e.Index, 0, read);
                    line += bytes.AsSpan(0, at).Count((byte)'\n');
                    throw new DataException($"'{path}' ({layout}) is not valid UTF-8 at line {line} (byte 0x{(e.BytesUnknown is { Length: > 0 } b ? b[0] : 0):X2}): " +
                        "save it as UTF-8 (e.g. iconv -f latin1 -t utf-8), or re-download it.");
                }
                line += bytes.AsSpan(0, read).Count((byte)'\n');
            }
            decoder.GetChars([], 0, 0, chars, 0, flush: true);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new DataException($"'{path}' ({layout}) is not valid UTF-8: it ends inside a multi-byte character (truncated?). Re-download it.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"'{path}' ({layout}) cannot be read: {e.Message}", e);
        }
    }

    static FileStream OpenRead(string path, string layout)
    {
        RequireFile(path, layout);
        try { return File.OpenRead(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"'{path}' ({layout}) cannot be read: {e.Message}", e);
        }
    }

    /// <summary>"reason at line L, position P (JSON path $.x)", 1-based (JsonException counts from 0).</summary>
    static string Describe(JsonException e)
    {
        string reason = e.Message;
        // The serializer appends its own 0-based "Path: ... | LineNumber: ... | BytePositionInLine: ..." or
        // "LineNumber: ..."; drop it so the message states the position once, 1-based.
        foreach (var marker in new[] { " Path: $", " LineNumber:", " Path: " })
        {
            int at = reason.IndexOf(marker, StringComparison.Ordinal);
            if (at > 0) { reason = reason[..at]; break; }
        }
        reason = reason.TrimEnd(' ', '.');
        // "could not be converted to System.Nullable`1[System.Int64]" names our internal types; say what JSON was expected.
        const string conversion = "The JSON value could not be converted to ";
        if (reason.StartsWith(conversion, StringComparison.Ordinal))
        {
            string type = reason[conversion.Length..];
            string expected = type.Contains("List`1", StringComparison.Ordinal) || type.EndsWith("[]", StringComparison.Ordinal) ? "a list"
                : type.Contains("Int64", StringComparison.Ordinal) || type.Contains("Int32", StringComparison.Ordinal) ? "an integer"
                : type.Contains("System.String", StringComparison.Ordinal) ? "a string"
                : "an object";
            reason = $"a value has the wrong JSON type (expected {expected})";
        }
        string where = e.LineNumber is long line
            ? $" at line {line + 1}, position {e.BytePositionInLine + 1}"
            : "";
        string jsonPath = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" (JSON path {e.Path})";
        return reason + where + jsonPath;
    }
}
