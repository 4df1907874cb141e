using System.Buffers.Binary;
using System.Text;

namespace Pcme.Runtime;

/// <summary>One version a shared library requires from another (an entry of <c>.gnu.version_r</c>).</summary>
/// <param name="File">The library the version is needed from, e.g. <c>libstdc++.so.6</c>.</param>
/// <param name="Name">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="IsWeak">Whether the entry carries VER_FLG_WEAK (a missing version is then not fatal).</param>
/// <param name="Index">The version index (<c>vna_other</c>) that symbols refer to.</param>
/// <param name="FlagsOffset">File offset of the entry's <c>vna_flags</c> field.</param>
/// <param name="Symbols">Dynamic symbols bound to this version.</param>
public sealed record VersionNeed(string File, string Name, bool IsWeak, int Index, long FlagsOffset, IReadOnlyList<string> Symbols);

/// <summary>
/// The symbol-versioning tables of a 64-bit little-endian ELF shared library: the versions it
/// defines (<c>.gnu.version_d</c>) and the versions it needs (<c>.gnu.version_r</c>), with the
/// dynamic symbols bound to each. Enough to decide whether a library will load against a given
/// libstdc++ and to set VER_FLG_WEAK on one entry (shared/DESIGN.md §5).
/// </summary>
public sealed class ElfVersionTable
{
    /// <summary>VER_FLG_WEAK from elf.h.</summary>
    public const ushort VerFlagWeak = 0x2;

    const uint ShtDynsym = 11, ShtVerdef = 0x6ffffffd, ShtVerneed = 0x6ffffffe, ShtVersym = 0x6fffffff;

    /// <summary>The file that was read.</summary>
    public string Path { get; }
    /// <summary>Version names this library defines (for libstdc++: GLIBCXX_3.4, ..., CXXABI_1.3.x).</summary>
    public IReadOnlySet<string> Defined { get; }
    /// <summary>Every version this library needs, per providing library.</summary>
    public IReadOnlyList<VersionNeed> Needed { get; }

    ElfVersionTable(string path, IReadOnlySet<string> defined, IReadOnlyList<VersionNeed> needed)
    {
        Path = path; Defined = defined; Needed = needed;
    }

    /// <summary>Reads the version tables of <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">Not a 64-bit little-endian ELF file.</exception>
    public static ElfVersionTable Read(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            throw new InvalidDataException($"{path} is not an ELF file.");
        if (b[4] != 2 || b[5] != 1)
            throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file (class {b[4]}, data {b[5]}).");

        long shoff = (long)U64(b, 0x28);
        int shentsize = U16(b, 0x3A), shnum = U16(b, 0x3C);
        var sections = new (uint Type, long Offset, long Size, int Link, int Info)[shnum];
        for (int i = 0; i < shnum; i++)
        {
            long s = shoff + (long)i * shentsize;
            sections[i] = (U32(b, s + 4), (long)U64(b, s + 24), (long)U64(b, s + 32), (int)U32(b, s + 40), (int)U32(b, s + 44));
        }

        var defined = new HashSet<string>(StringComparer.Ordinal);
        var needs = new List<(string File, string Name, ushort Flags, int Index, long FlagsOffset)>();
        string[] symbolNames = [];
        ushort[] versym = [];

        foreach (var sec in sections)
        {
            switch (sec.Type)
            {
                case ShtVerdef:
                {
                    long strtab = sections[sec.Link].Offset, p = sec.Offset;
                    for (int n = 0; n < sec.Info; n++)
                    {
                        uint aux = U32(b, p + 12), next = U32(b, p + 16);
                        defined.Add(CString(b, strtab + U32(b, p + aux)));
                        if (next == 0) break;
                        p += next;
                    }
                    break;
                }
                case ShtVerneed:
                {
                    long strtab = sections[sec.Link].Offset, p = sec.Offset;
                    for (int n = 0; n < sec.Info; n++)
                    {
                        int cnt = U16(b, p + 2);
                        string file = CString(b, strtab + U32(b, p + 4));
                        long a = p + U32(b, p + 8);
                        for (int k = 0; k < cnt; k++)
                        {
                            needs.Add((file, CString(b, strtab + U32(b, a + 8)), U16(b, a + 4), U16(b, a + 6), a + 4));
                            uint anext = U32(b, a + 12);
                            if (anext == 0) break;
                            a += anext;
                        }
                        uint next = U32(b, p + 12);
                        if (next == 0) break;
                        p += next;
                    }
                    break;
                }
                case ShtDynsym:
                {
                    long strtab = sections[sec.Link].Offset;
                    int count = (int)(sec.Size / 24);
                    symbolNames = new string[count];
                    for (int i = 0; i < count; i++) symbolNames[i] = CString(b, strtab + U32(b, sec.Offset + 24L * i));
                    break;
                }
                case ShtVersym:
                {
                    int count = (int)(sec.Size / 2);
                    versym = new ushort[count];
                    for (int i = 0; i < count; i++) versym[i] = U16(b, sec.Offset + 2L * i);
                    break;
                }
            }
        }

        var needed = needs.Select(v => new VersionNeed(
            v.File, v.Name, (v.Flags & VerFlagWeak) != 0, v.Index, v.FlagsOffset,
            Enumerable.Range(0, Math.Min(versym.Length, symbolNames.Length))
                .Where(i => (versym[i] & 0x7fff) == v.Index)
                .Select(i => symbolNames[i]).ToArray())).ToArray();
        return new ElfVersionTable(path, defined, needed);
    }

    /// <summary>
    /// The non-weak versions this library needs from <paramref name="providerSoname"/> that
    /// <paramref name="provider"/> does not define: the reasons a load would fail.
    /// </summary>
    public IReadOnlyList<VersionNeed> MissingFrom(string providerSoname, ElfVersionTable provider) =>
        Needed.Where(v => v.File == providerSoname && !v.IsWeak && !provider.Defined.Contains(v.Name)).ToArray();

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destination"/> with VER_FLG_WEAK set on
    /// the given version-need entries (one bit each; nothing else in the file changes).
    /// </summary>
    public static void WriteWithWeakVersions(string source, string destination, IEnumerable<VersionNeed> entries)
    {
        byte[] b = File.ReadAllBytes(source);
        foreach (var v in entries)
        {
            ushort flags = U16(b, v.FlagsOffset);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan((int)v.FlagsOffset), (ushort)(flags | VerFlagWeak));
        }
        File.WriteAllBytes(destination, b);
    }

    static ushort U16(byte[] b, long o) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)o));
    static uint U32(byte[] b, long o) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)o));
    static ulong U64(byte[] b, long o) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)o));
    static string CString(byte[] b, long o)
    {
        int end = Array.IndexOf(b, (byte)0, (int)o);
        return Encoding.ASCII.GetString(b, (int)o, end - (int)o);
    }
}
